from __future__ import annotations

import pytest

from app.settings import Settings
from index.errors import DataError, ReasonerError


def test_no_endpoint_means_no_llm():
    assert Settings(_env_file=None).chat_model_factory() is None


def test_the_chat_model_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("CODA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("CODA_LLM_MODEL", "local-model")
    monkeypatch.setenv("CODA_LLM_TIMEOUT", "7")
    monkeypatch.setenv("CODA_LLM_MAX_RETRIES", "1")
    monkeypatch.setenv("CODA_LLM_COOLDOWN", "30")
    settings = Settings(_env_file=None)
    model = settings.chat_model_factory()()  # building it sends nothing
    # The model retries nothing itself: the reasoner retries within the note's deadline.
    assert (model.model_name, str(model.openai_api_base), model.request_timeout, model.max_retries) == (
        "local-model",
        "http://127.0.0.1:9/v1",
        7.0,
        0,
    )
    assert model.temperature == 0
    limits = settings.llm_limits()
    assert (limits.deadline, limits.max_retries, limits.cooldown) == (7.0, 1, 30.0)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://[::1]:8000/v1", True),
        ("https://llm.example.org/v1", True),
        ("http://llm.example.org/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("ftp://llm.example.org/v1", False),
        ("not a url", False),
    ],
)
def test_notes_go_over_plain_http_only_to_this_machine(monkeypatch, url, allowed):
    monkeypatch.setenv("CODA_LLM_BASE_URL", url)
    if allowed:
        assert Settings(_env_file=None).chat_model_factory() is not None
        return
    with pytest.raises(ReasonerError, match=r"refusing to send notes over plain http|must be an http"):
        Settings(_env_file=None).chat_model_factory()


def test_plain_http_elsewhere_needs_an_explicit_setting(monkeypatch):
    monkeypatch.setenv("CODA_LLM_BASE_URL", "http://llm.internal:8000/v1")
    monkeypatch.setenv("CODA_LLM_ALLOW_INSECURE_HTTP", "true")
    assert Settings(_env_file=None).chat_model_factory() is not None


def test_the_case_store_is_the_embedded_file_unless_a_database_url_is_set(tmp_path):
    assert Settings(data_dir=tmp_path, _env_file=None).case_store_target() == tmp_path / "cases.sqlite"
    team = Settings(data_dir=tmp_path, database_url=" postgresql://coda@db/coda ", _env_file=None)
    assert team.case_store_target() == "postgresql://coda@db/coda"
    with pytest.raises(DataError, match="set CODA_AUDIT_KEY too"):
        team.audit_key_bytes()
    assert not (tmp_path / "audit.key").exists()
