"""A recorded run of the LLM agent, replayed without the endpoint: the model's messages come from
the transcript in the order it gave them, and everything else (the tools, the checks, the gate)
runs again on this code book. For tests, and for an audit of why a code was suggested.

A transcript is the JSON the agent keeps in `CodingResult.transcript` (`coda code --record`):
its format, the SHA-256 of the note it was recorded on, the model, the budget and the messages.
A replay refuses another note's transcript, and a replay that asks for more answers than were
recorded fails as an endpoint would (the offline codes then stand, with why).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, messages_from_dict
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from agent.reasoners.tool_agent import TRANSCRIPT_FORMAT, AgentBudget, note_digest
from index.errors import DataError, ReasonerError

__all__ = ["ReplayChatModel", "load_transcript", "load_transcripts", "replay_factory", "save_transcript"]


class ReplayChatModel(BaseChatModel):
    """Answers each call with the next model message of the transcript recorded on the note being
    coded (one transcript, or a folder's worth for `coda eval --replay`)."""

    recorded: dict[str, list[AIMessage]]  # note SHA-256 -> the model's messages, in order
    model: str = "replay"
    answers: list[AIMessage] = Field(default_factory=list)
    given: int = 0

    @classmethod
    def of(cls, *transcripts: dict[str, Any]) -> ReplayChatModel:
        """The replay of transcripts (each checked: DataError when one is not a transcript)."""
        recorded = {}
        for transcript in transcripts:
            recorded[str(transcript.get("note_sha256", ""))] = _answers(transcript)
        models = {str(t.get("model", "")) for t in transcripts}
        return cls(recorded=recorded, model=f"replay of {', '.join(sorted(models))}")

    def check_note(self, note: str) -> None:
        """Take up the transcript of `note`; ReasonerError when none was recorded on it."""
        answers = self.recorded.get(note_digest(note))
        if answers is None:
            raise ReasonerError("no transcript was recorded on this note: a replay codes only the notes it was made on")
        self.answers, self.given = answers, 0

    def bind_tools(self, tools: Any, **kwargs: Any) -> ReplayChatModel:
        return self  # the tools' schemas were the recorded run's; the answers are fixed

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        if self.given >= len(self.answers):
            raise ReasonerError(f"the transcript holds {len(self.answers)} model answers; the replay asked for more")
        answer = self.answers[self.given]
        self.given += 1
        return ChatResult(generations=[ChatGeneration(message=answer)])

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        raise ReasonerError("a transcript replays the agent's diagnosis turns only; no other question is answered")

    @property
    def _llm_type(self) -> str:
        return "coda-replay"


def _answers(transcript: dict[str, Any]) -> list[AIMessage]:
    if not isinstance(transcript, dict) or transcript.get("format") != TRANSCRIPT_FORMAT:
        raise DataError(f"not a Coda agent transcript (format {TRANSCRIPT_FORMAT})")
    try:
        messages = messages_from_dict(transcript["messages"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"the transcript's messages cannot be read: {exc}") from None
    return [m for m in messages if isinstance(m, AIMessage)]


def save_transcript(transcript: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(transcript, indent=1), encoding="utf-8")


def load_transcript(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} cannot be read as a transcript: {exc}") from None
    _answers(loaded)  # checked now, not at the first note
    return loaded


def load_transcripts(path: Path) -> list[dict[str, Any]]:
    """The transcript in a file, or every `*.json` transcript in a folder."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"no transcripts (*.json) in {path}")
    return [load_transcript(f) for f in files]


def replay_factory(path: Path, budget: AgentBudget) -> tuple[Callable[[], ReplayChatModel], AgentBudget]:
    """What codes with the transcripts at `path` (a file or a folder): a chat-model factory for
    `open_coder`, and the budget they were recorded under (the largest), so a replay stops where
    the recorded run stopped."""
    transcripts = load_transcripts(path)
    try:
        steps = max(int(t.get("budget", {}).get("steps", budget.steps)) for t in transcripts)
        tokens = max(int(t.get("budget", {}).get("tokens", budget.tokens)) for t in transcripts)
        recorded = AgentBudget(steps, tokens)
    except (AttributeError, TypeError, ValueError) as exc:
        raise DataError(f"a transcript in {path} has a malformed budget: {exc}") from None

    replay = ReplayChatModel.of(*transcripts)  # read once: each note gets a fresh copy of it

    def factory() -> ReplayChatModel:
        return replay.model_copy(update={"answers": [], "given": 0})

    return factory, recorded
