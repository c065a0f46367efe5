"""The records the coding agent produces: evidence, suggestions, rejected candidates, results.

Every `Suggestion` carries at least one `Evidence` whose offsets index the note exactly as
given (`note[start:end] == text`), and the reasoning steps that led to it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Setting = Literal["inpatient", "outpatient"]
ReasonerName = Literal["offline", "llm"]


@dataclass(frozen=True)
class Evidence:
    start: int
    end: int
    text: str
    assertion: str = "present"  # Assertion of the statement this span belongs to
    section: str = "body"
    source: str = "lexical"  # what found it: lexical (a code-book term), dense, memory, llm


@dataclass(frozen=True)
class Step:
    """One step of reasoning, shown to the coder: which stage, what it found, from where."""

    stage: str  # locate | assign | verify | reconcile | llm
    detail: str


@dataclass(frozen=True)
class Proposal:
    """A code a reasoner proposes, before the guideline checks and reconciliation."""

    code: str
    evidence: tuple[Evidence, ...]
    confidence: float
    steps: tuple[Step, ...] = ()
    source: str = "lexical"  # what found it: lexical, dense, memory, neighbours, llm


@dataclass(frozen=True)
class Suggestion:
    code: str
    title: str
    evidence: tuple[Evidence, ...]
    confidence: float
    reasoning: tuple[Step, ...] = ()
    principal: bool = False
    alternatives: tuple[str, ...] = ()  # codes the coder may prefer (siblings, other 7th characters)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in self.evidence],
            "reasoning": " | ".join(f"{s.stage}: {s.detail}" for s in self.reasoning),
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True)
class Rejected:
    code: str
    title: str
    reason: str
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "reason": self.reason}


@dataclass(frozen=True)
class Finding:
    """A guideline check's finding about the suggested codes, shown to the coder."""

    kind: str  # excludes1 | code_first | use_additional | not_billable | seventh | too_many
    severity: Literal["error", "warning"]
    message: str
    codes: tuple[str, ...] = ()


@dataclass
class CodingResult:
    note_id: str
    codes: list[Suggestion] = field(default_factory=list)
    candidates: list[Rejected] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reasoner: str = "offline"
    fallback: str | None = None  # why the LLM reasoner fell back to offline, if it did

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.note_id,
            "codes": [s.to_json() for s in self.codes],
            "candidates": [c.to_json() for c in self.candidates],
        }
        if self.findings:
            out["findings"] = [asdict(f) for f in self.findings]
        out["reasoner"] = self.reasoner
        if self.fallback:
            out["fallback"] = self.fallback
        return out
