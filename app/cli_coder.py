"""The coder as the command line opens it: from the settings, with the profile a command asks for."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.settings import Settings
from index.errors import ReasonerError


def open_cli_coder(
    settings: Settings, reasoner: str = "offline", profile: str | None = None, replay: Path | None = None
) -> Any:
    """The coder of the settings' release, with the learned profile `profile` loaded (a bad one stops
    here, before any note is coded). With `replay` (a transcript, or a folder of them), the LLM
    agent's model answers come from the recorded runs, not from an endpoint."""
    from agent.coder import open_coder

    budget = settings.agent_budget()
    chat_model: Callable[[], Any] | None
    if replay is not None:  # the model's answers from recorded runs: no endpoint
        from agent.reasoners.replay import replay_factory

        chat_model, budget = replay_factory(replay, budget)
        reasoner = "llm"
    else:
        chat_model = settings.chat_model_factory() if reasoner == "llm" else None
    if reasoner == "llm" and chat_model is None:
        raise ReasonerError(
            "the LLM reasoner needs an endpoint: set CODA_LLM_BASE_URL (and CODA_LLM_MODEL, CODA_LLM_API_KEY)"
        )
    coder = open_coder(
        settings.data_dir,
        settings.system,
        settings.release,
        chat_model=chat_model,
        llm_limits=settings.llm_limits(),
        chroma=settings.chroma_server(),
        llm_agent=settings.llm_agent or replay is not None,
        agent_budget=budget,
    )
    if profile:
        coder.load_profile(profile)
    return coder


def profile_name(args: argparse.Namespace, settings: Settings) -> str | None:
    """The profile asked for (--profile, else the settings' default), checked to be a name."""
    from agent.learning.profile import check_name

    name = args.profile if args.profile is not None else (settings.profile or None)
    return check_name(name) if name is not None else None
