"""What a reasoner sees and the one interface both reasoners (offline and LLM) implement.

The graph's shared nodes analyze the note and locate candidate codes; a reasoner then
decides which candidates the note supports and with which evidence. Guideline checks and
reconciliation are shared again, so both reasoners are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agent.reading.segment import Analysis
from agent.records import Candidate, ModelUsage, Proposal, Setting, Statement


@dataclass(frozen=True)
class CodingContext:
    note_id: str
    note: str
    analysis: Analysis
    statements: tuple[Statement, ...]
    candidates: tuple[Candidate, ...]
    setting: Setting = "outpatient"
    note_vector: tuple[float, ...] | None = None  # the note's embedding, when the dense index is in use


@dataclass(frozen=True)
class Outcome:
    """What a reasoner decided: proposals, candidates it rejected and why, and, for the LLM
    reasoner, why it fell back to the offline one if it did, the codes the model itself named
    (so the graph can tell how much of its answer survived the checks), the seconds the model
    took, what it cost (calls, tool calls, tokens) and, for the LLM agent, its steps and the
    transcript that replays them."""

    proposals: Sequence[Proposal] = ()
    rejections: Sequence[tuple[str, str]] = ()  # (code, reason)
    fallback_reason: str | None = None
    model_codes: tuple[str, ...] = ()
    model_seconds: float | None = None
    usage: ModelUsage | None = None
    trace: tuple[str, ...] = ()
    transcript: dict[str, Any] | None = None


class Reasoner(Protocol):
    name: str

    def run(self, context: CodingContext) -> Outcome:
        """The codes this note supports, each with evidence spans from the note; the
        candidates rejected and why; why it fell back to another reasoner, if it did."""
        ...
