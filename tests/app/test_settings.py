from __future__ import annotations

from app.settings import Settings


def test_no_endpoint_means_no_llm():
    assert Settings(_env_file=None).chat_model_factory() is None


def test_the_chat_model_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("CODA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("CODA_LLM_MODEL", "local-model")
    monkeypatch.setenv("CODA_LLM_TIMEOUT", "7")
    monkeypatch.setenv("CODA_LLM_MAX_RETRIES", "1")
    model = Settings(_env_file=None).chat_model_factory()()  # building it sends nothing
    assert (model.model_name, str(model.openai_api_base), model.request_timeout, model.max_retries) == (
        "local-model",
        "http://127.0.0.1:9/v1",
        7.0,
        1,
    )
    assert model.temperature == 0
