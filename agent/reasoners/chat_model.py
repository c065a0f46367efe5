"""The chat model behind the LLM reasoner, built from the settings at the edge: any
OpenAI-compatible endpoint through langchain-openai."""

from __future__ import annotations

import ipaddress
from typing import Literal

import httpx
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from index.errors import ReasonerError

__all__ = ["StructuredMethod", "check_endpoint", "make_chat_model"]

StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def check_endpoint(base_url: str, allow_insecure_http: bool = False) -> str:
    """`base_url` when it is an http(s) URL the settings allow: notes are protected health
    information, so plain http is refused unless the endpoint is on this machine (loopback) or
    the settings say so explicitly. Raises ReasonerError saying what to change."""
    url = httpx.URL(base_url.strip()) if base_url and base_url.strip() else None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ReasonerError(f"CODA_LLM_BASE_URL must be an http(s) URL such as https://host/v1, not {base_url!r}")
    local = url.host in LOOPBACK_HOSTS or _is_loopback(url.host)
    if url.scheme == "http" and not local and not allow_insecure_http:
        raise ReasonerError(
            f"refusing to send notes over plain http to {url.host}: notes are protected health information. "
            "Use https, an endpoint on this machine, or set CODA_LLM_ALLOW_INSECURE_HTTP=true"
        )
    return str(url)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_chat_model(
    base_url: str | None,
    model: str,
    api_key: str | SecretStr | None,
    timeout: float,
) -> BaseChatModel:
    """A ChatOpenAI for an OpenAI-compatible endpoint, deterministic (temperature 0), on an HTTP
    client of its own (so that an abandoned call can be closed), with no retries of its own: the
    LLM reasoner retries within the note's deadline (`agent.reasoners.limits`)."""
    from langchain_openai import ChatOpenAI

    key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "not-needed")
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=key,
        timeout=timeout,
        max_retries=0,
        temperature=0,
        http_client=httpx.Client(timeout=timeout),
    )
