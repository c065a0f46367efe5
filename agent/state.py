"""The state of one coding run as it moves through the graph, and its (de)serialisation.

The state holds plain JSON-able values only, so that the SQLite checkpointer can store a
paused case and the workbench can resume it after a restart; the typed records of
`agent.records` and `agent.reasoner` are rebuilt from it inside each node.
"""

from __future__ import annotations

import operator
from dataclasses import asdict
from typing import Annotated, Any, Literal, TypedDict

from agent.reasoner import Candidate, Statement
from agent.records import Evidence, Finding, Proposal, Rejected, Step, Suggestion


class CodingInput(TypedDict, total=False):
    """What a caller gives the graph: the narrow input schema."""

    note_id: str
    note: str
    setting: Literal["inpatient", "outpatient"]
    reasoner: Literal["offline", "llm"]
    profile: str | None


class CodingState(CodingInput, total=False):
    statements: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    note_vector: list[float] | None
    proposals: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    codes: list[dict[str, Any]]
    fallback: str | None
    reasoner_used: str
    review: dict[str, Any] | None  # the coder's decisions, when the case was reviewed
    progress: Annotated[list[str], operator.add]  # one line per finished step, for the UI


def evidence_from(d: dict[str, Any]) -> Evidence:
    return Evidence(
        d["start"], d["end"], d["text"], d.get("assertion", "present"), d.get("section", "body"), d.get("source", "")
    )


def statement_from(d: dict[str, Any]) -> Statement:
    return Statement(**d)


def candidate_to(c: Candidate) -> dict[str, Any]:
    return {
        "code": c.code,
        "title": c.title,
        "score": c.score,
        "sources": list(c.sources),
        "evidence": [asdict(e) for e in c.evidence],
        "matched": c.matched,
        "features": dict(c.features),
    }


def candidate_from(d: dict[str, Any]) -> Candidate:
    return Candidate(
        d["code"],
        d["title"],
        d["score"],
        tuple(d["sources"]),
        tuple(evidence_from(e) for e in d["evidence"]),
        d.get("matched", ""),
        dict(d.get("features", {})),
    )


def proposal_to(p: Proposal) -> dict[str, Any]:
    return {
        "code": p.code,
        "evidence": [asdict(e) for e in p.evidence],
        "confidence": p.confidence,
        "steps": [asdict(s) for s in p.steps],
        "source": p.source,
    }


def proposal_from(d: dict[str, Any]) -> Proposal:
    return Proposal(
        d["code"],
        tuple(evidence_from(e) for e in d["evidence"]),
        float(d["confidence"]),
        tuple(Step(**s) for s in d["steps"]),
        d.get("source", ""),
    )


def suggestion_to(s: Suggestion) -> dict[str, Any]:
    return {
        "code": s.code,
        "title": s.title,
        "evidence": [asdict(e) for e in s.evidence],
        "confidence": s.confidence,
        "reasoning": [asdict(r) for r in s.reasoning],
        "principal": s.principal,
        "alternatives": list(s.alternatives),
    }


def suggestion_from(d: dict[str, Any]) -> Suggestion:
    return Suggestion(
        d["code"],
        d["title"],
        tuple(evidence_from(e) for e in d["evidence"]),
        float(d["confidence"]),
        tuple(Step(**r) for r in d["reasoning"]),
        bool(d.get("principal", False)),
        tuple(d.get("alternatives", ())),
    )


def rejected_to(r: Rejected) -> dict[str, Any]:
    return {"code": r.code, "title": r.title, "reason": r.reason, "evidence": [asdict(e) for e in r.evidence]}


def rejected_from(d: dict[str, Any]) -> Rejected:
    return Rejected(d["code"], d["title"], d["reason"], tuple(evidence_from(e) for e in d.get("evidence", ())))


def finding_from(d: dict[str, Any]) -> Finding:
    return Finding(d["kind"], d["severity"], d["message"], tuple(d.get("codes", ())))
