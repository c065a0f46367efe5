"""The chat model behind the LLM reasoner, built from the settings at the edge: any
OpenAI-compatible endpoint through langchain-openai."""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

__all__ = ["StructuredMethod", "make_chat_model"]

StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]


def make_chat_model(
    base_url: str | None,
    model: str,
    api_key: str | SecretStr | None,
    timeout: float,
    max_retries: int,
) -> BaseChatModel:
    """A ChatOpenAI for an OpenAI-compatible endpoint, deterministic (temperature 0), with a
    timeout per call and a bounded number of retries (both from the settings)."""
    from langchain_openai import ChatOpenAI

    key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "not-needed")
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=key,
        timeout=timeout,
        max_retries=max(0, max_retries),
        temperature=0,
    )
