"""The state of one coding run as it moves through the graph: typed records, not dicts.

The graph runs without a checkpointer (a run takes a fraction of a second and is deterministic
for the same note, options and code book; what a coder decides lives in the case store), so the
state never leaves the process and holds the records each step produces as they are. The note
is analysed once, in `analyze`, and its `Analysis` travels with the state.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from agent.reading.segment import Analysis
from agent.records import (
    Candidate,
    CodingOptions,
    Finding,
    ModelUsage,
    ProcedureSuggestion,
    Proposal,
    Rejected,
    Statement,
    Suggestion,
)


class CodingInput(TypedDict):
    """What a caller gives the graph: the narrow input schema."""

    note_id: str
    note: str
    options: CodingOptions


class CodingState(CodingInput, total=False):
    analysis: Analysis
    statements: tuple[Statement, ...]
    candidates: tuple[Candidate, ...]
    note_vector: tuple[float, ...] | None
    proposals: list[Proposal]
    rejected: list[Rejected]
    findings: list[Finding]
    codes: list[Suggestion]
    fallback: str | None
    reasoner_used: str
    model_codes: tuple[str, ...]  # the codes the LLM named, when it answered
    model_seconds: float | None  # the time the LLM call took, retries included
    model_usage: ModelUsage | None  # the LLM's calls, tool calls and tokens for the note
    agent_trace: tuple[str, ...]  # the LLM agent's tool calls, one line each
    transcript: dict[str, object] | None  # the LLM agent's messages, to replay the run
    procedures: list[ProcedureSuggestion]  # ICD-10-PCS codes of an inpatient case
    procedure_candidates: list[Rejected]  # procedures read and not coded, with why
    progress: Annotated[list[str], operator.add]  # one line per finished step, for the UI
