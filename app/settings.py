"""Coda's settings, read once at the edge (CLI or app) from `CODA_*` environment variables
or a `.env` file, and passed down. No other module reads the environment."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.records import ReasonerName, Setting


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".coda"), description="Where built indexes, profiles and the case database live.")
    system: str = Field("icd10cm", description="The code system searched and coded by default.")
    release: str | None = Field(None, description="The release to use; the newest built one when unset.")
    setting: Setting = Field("outpatient", description="Default care setting.")
    reasoner: ReasonerName = Field("offline", description="Default reasoner.")
    profile: str | None = Field(None, description="Learned profile used by default.")

    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1")
    llm_model: str = Field("gpt-4o-mini", description="Model name at that endpoint.")
    llm_api_key: SecretStr = Field(SecretStr("not-needed"), description="API key (local servers ignore it).")
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds one note may spend on the LLM: connecting, reading and retries together."
    )
    llm_max_retries: int = Field(2, ge=0, description="Retries of a transient LLM failure, within that deadline.")
    llm_cooldown: float = Field(
        60.0, ge=0, description="Seconds the LLM endpoint is left alone after a note's call failed (circuit breaker)."
    )
    llm_allow_insecure_http: bool = Field(
        False, description="Send notes over plain http to an endpoint that is not on this machine (notes are PHI)."
    )

    chroma_url: str | None = Field(
        None,
        description="A Chroma server (chroma run) that holds the code vectors for every app, batch and API "
        "process, e.g. http://chroma.internal:8000; unset: the vectors in each release's own folder.",
    )
    chroma_token: SecretStr | None = Field(None, description="A bearer token the Chroma server asks for, if any.")

    llm_agent: bool = Field(
        True,
        description="The LLM reasoner works as an agent with Coda's tools (search, explore, instructions, "
        "guideline, find_in_note, verify); false: one call over the offline candidates.",
    )
    llm_agent_steps: int = Field(12, ge=1, description="Model calls the LLM agent may make per note.")
    llm_agent_tokens: int = Field(
        60_000, ge=1, description="Tokens (prompt and answer, as the endpoint counts them) the agent may use per note."
    )

    server_address: str = Field(
        "127.0.0.1", description="Where `make app` listens; for a team, behind a TLS reverse proxy, never bare."
    )
    database_url: SecretStr | None = Field(
        None,
        description="A PostgreSQL case store that several app servers share, e.g. "
        "postgresql://coda@db.internal/coda; unset: the SQLite file <data_dir>/cases.sqlite.",
    )
    audit_key: SecretStr | None = Field(
        None,
        description="Seals the audit trail (HMAC). Unset: a key made once in <data_dir>/audit.key; a team keeps "
        "it in a secret store, away from whoever can write the database.",
    )
    setup_code: SecretStr | None = Field(
        None, description="Set by `coda app` while the case store has no account: lets the first admin be made."
    )
    session_idle_minutes: int = Field(30, gt=0, description="A workbench session ends after this many idle minutes.")
    lease_minutes: int = Field(15, gt=0, description="How long a coder holds an open case, renewed as they work.")
    sign_in_failures: int = Field(5, gt=0, description="Wrong passwords in a row that lock an account.")
    sign_in_lock_minutes: int = Field(15, gt=0, description="How long a locked account stays locked.")
    api_calls_per_minute: int = Field(120, gt=0, description="Calls of the coding API per account per minute.")
    claim_parties_dir: Path | None = Field(
        None,
        description="A folder with parties.json (submitter, billing provider, payer) and <case id>.json "
        "(subscriber, charges) that the 837I names; unset: no 837I export.",
    )

    def cases_path(self) -> Path:
        """The embedded case store's SQLite file (used when no database URL is set)."""
        return self.data_dir / "cases.sqlite"

    def case_store_target(self) -> str | Path:
        """The case store: cases, decisions, the audit trail and the accounts that sign in; the
        PostgreSQL database of the settings, else the SQLite file in the data folder."""
        if self.database_url is not None and self.database_url.get_secret_value().strip():
            return self.database_url.get_secret_value().strip()
        return self.cases_path()

    def audit_key_bytes(self) -> bytes:
        """The audit trail's key: the setting, else the key file beside the case store (made once,
        readable by its owner only). A shared PostgreSQL store needs the setting: every server
        must seal with the same key, and a key file made by each would break the chain."""
        if self.audit_key is not None and self.audit_key.get_secret_value():
            return self.audit_key.get_secret_value().encode("utf-8")
        if not isinstance(self.case_store_target(), Path):
            from index.errors import DataError

            raise DataError(
                "CODA_DATABASE_URL names a shared case store: set CODA_AUDIT_KEY too, the same on every app "
                "server (each server's own key file would break the audit chain)"
            )
        path = self.data_dir / "audit.key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
        return path.read_text(encoding="ascii").strip().encode("ascii")

    def chroma_server(self) -> Any:
        """The Chroma server of the settings (an `index.chroma.ChromaServer`), or None."""
        if not self.chroma_url or not self.chroma_url.strip():
            return None
        from index.chroma import ChromaServer

        token = self.chroma_token.get_secret_value() if self.chroma_token is not None else None
        return ChromaServer(self.chroma_url.strip().rstrip("/"), token or None)

    def sign_in_policy(self) -> Any:
        from app.review.accounts import SignInPolicy

        return SignInPolicy(self.sign_in_failures, self.sign_in_lock_minutes)

    def llm_limits(self) -> Any:
        """The deadline, retries and circuit breaker of the LLM path."""
        from agent.reasoners.limits import LlmLimits

        return LlmLimits(deadline=self.llm_timeout, max_retries=self.llm_max_retries, cooldown=self.llm_cooldown)

    def agent_budget(self) -> Any:
        """The LLM agent's budget per note: model calls and tokens (the deadline is llm_timeout)."""
        from agent.reasoners.tool_agent import AgentBudget

        return AgentBudget(self.llm_agent_steps, self.llm_agent_tokens)

    def chat_model_factory(self) -> Callable[[], Any] | None:
        """What builds the LLM reasoner's chat model from these settings; None when no
        endpoint is configured (the LLM reasoner is then unavailable). Raises ReasonerError
        for an endpoint the settings do not allow (plain http off this machine)."""
        if not self.llm_base_url:
            return None
        from agent.reasoners.chat_model import check_endpoint, make_chat_model

        base_url = check_endpoint(self.llm_base_url, self.llm_allow_insecure_http)
        model, key, timeout = self.llm_model, self.llm_api_key, self.llm_timeout

        def build() -> Any:
            return make_chat_model(base_url, model, key, timeout)

        return build
