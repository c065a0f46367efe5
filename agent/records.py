"""The typed records of the coding agent, from what a caller asks for (`CodingOptions`) through
what the steps pass on (`Statement`, `Candidate`, `Proposal`) to what a run gives back
(`CodingResult`: suggestions, rejected candidates, guideline findings, and for an inpatient case
each diagnosis's `PresentOnAdmission` indicator and the procedures, each character of a code an
`AxisChoice` with its own evidence).

Every `Suggestion` carries at least one `Evidence` whose offsets index the note exactly as
given (`note[start:end] == text`), and the reasoning steps that led to it. The care settings
and reasoner names are defined here, once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Setting = Literal["inpatient", "outpatient"]
ReasonerName = Literal["offline", "llm"]
PoaIndicator = Literal["Y", "N", "U", "W", "exempt"]
SETTINGS: tuple[Setting, ...] = get_args(Setting)
REASONERS: tuple[ReasonerName, ...] = get_args(ReasonerName)
# Present on admission (Official Guidelines, Appendix I): Y present when the inpatient order was
# written, N not present, U documentation insufficient, W clinically undetermined, exempt: the
# code is on the POA-exempt list and takes no indicator.
POA_INDICATORS: tuple[PoaIndicator, ...] = get_args(PoaIndicator)


@dataclass(frozen=True)
class CodingOptions:
    """How to code a note: the care setting (its rule for uncertain diagnoses and its claim form),
    the reasoner, and a learned profile for the offline reasoner."""

    setting: Setting = "outpatient"
    reasoner: ReasonerName = "offline"
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.setting not in SETTINGS:
            raise ValueError(f"setting must be one of {', '.join(SETTINGS)}, not {self.setting!r}")
        if self.reasoner not in REASONERS:
            raise ValueError(f"reasoner must be one of {', '.join(REASONERS)}, not {self.reasoner!r}")


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
class Statement:
    """A codeable statement: a clause of the note with its assertion status."""

    start: int
    end: int
    text: str
    assertion: str
    section: str
    sentence_index: int


@dataclass(frozen=True)
class Candidate:
    """A code the locate step found for the note, with the spans that led to it."""

    code: str
    title: str
    score: float
    sources: tuple[str, ...]  # lexical, dense, memory, neighbours
    evidence: tuple[Evidence, ...]
    matched: str = ""  # the code-book text that matched (title, inclusion term, index term)
    features: dict[str, float] = field(default_factory=dict)
    integral: str = ""  # for a symptom: the named diagnosis it is part of, and why (I.B.5)


@dataclass(frozen=True)
class Proposal:
    """A code a reasoner proposes, before the guideline checks and reconciliation."""

    code: str
    evidence: tuple[Evidence, ...]
    confidence: float
    steps: tuple[Step, ...] = ()
    source: str = "lexical"  # what found it: lexical, dense, memory, neighbours, llm


@dataclass(frozen=True)
class PresentOnAdmission:
    """The present-on-admission indicator proposed for a diagnosis of an inpatient claim, with
    why in words a coder checks, and the words of the note that support it (none when the
    indicator rests on the code itself: exempt, chronic by nature, the principal diagnosis)."""

    indicator: PoaIndicator
    reason: str
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        if self.indicator not in POA_INDICATORS:
            raise ValueError(f"indicator must be one of {', '.join(POA_INDICATORS)}, not {self.indicator!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "reason": self.reason,
            "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in self.evidence],
        }


@dataclass(frozen=True)
class Suggestion:
    code: str
    title: str
    evidence: tuple[Evidence, ...]
    confidence: float
    reasoning: tuple[Step, ...] = ()
    principal: bool = False
    alternatives: tuple[str, ...] = ()  # codes the coder may prefer (siblings, other 7th characters)
    poa: PresentOnAdmission | None = None  # inpatient claims only; None for an outpatient case

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in self.evidence],
            "reasoning": " | ".join(f"{s.stage}: {s.detail}" for s in self.reasoning),
            "confidence": round(self.confidence, 3),
            "poa": self.poa.to_json() if self.poa is not None else None,
        }


@dataclass(frozen=True)
class AxisChoice:
    """One character of a procedure code as built: its value and meaning, the words of the note
    that chose it, or (`basis`) why it holds without them: the only value the table row allows,
    or a default for what the note does not document."""

    position: int  # 1..7
    name: str  # what the character says in its section: "body part", "approach", "contrast"
    value: str
    meaning: str
    evidence: tuple[Evidence, ...] = ()
    basis: str = ""

    @property
    def documented(self) -> bool:
        return bool(self.evidence)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "position": self.position,
            "name": self.name,
            "value": self.value,
            "meaning": self.meaning,
            "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in self.evidence],
        }
        if self.basis:
            out["basis"] = self.basis
        return out


@dataclass(frozen=True)
class ProcedureSuggestion:
    """An ICD-10-PCS code built from the note, character by character (`axes`), with the words
    of the procedure (`evidence`) and how each character was chosen."""

    code: str
    title: str
    axes: tuple[AxisChoice, ...]
    evidence: tuple[Evidence, ...]
    confidence: float
    reasoning: tuple[Step, ...] = ()
    principal: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "axes": [a.to_json() for a in self.axes],
            "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in self.evidence],
            "reasoning": " | ".join(f"{s.stage}: {s.detail}" for s in self.reasoning),
            "confidence": round(self.confidence, 3),
            "principal": self.principal,
        }


@dataclass(frozen=True)
class Rejected:
    code: str
    title: str
    reason: str
    evidence: tuple[Evidence, ...] = ()
    stage: str = ""  # the step that rejected it: assign (the reasoner), gate, merge, verify, reconcile

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "reason": self.reason}


@dataclass(frozen=True)
class Finding:
    """A guideline check's finding about the suggested codes, shown to the coder."""

    kind: str  # excludes1 | code_first | use_additional | not_billable | seventh | too_many
    severity: Literal["error", "warning"]
    message: str
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class NonClinical:
    """A sentence of the note addressed to the software or the coder rather than describing the
    patient: shown to the coder as such, and no code rests on it."""

    start: int
    end: int
    text: str
    why: str


@dataclass(frozen=True)
class ModelUsage:
    """What the LLM cost for one note: the model's calls, the tool calls it made, and the tokens
    the endpoint reported (0 when it reports none)."""

    calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def plus(self, other: ModelUsage) -> ModelUsage:
        return ModelUsage(
            self.calls + other.calls,
            self.tool_calls + other.tool_calls,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
        )

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class CodingResult:
    """What one coding run gives back: the suggested codes (principal first), the candidates
    rejected with why, the guideline findings, which reasoner decided, and the progress lines
    of the steps."""

    note_id: str
    codes: list[Suggestion] = field(default_factory=list)
    candidates: list[Rejected] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reasoner: str = "offline"
    fallback: str | None = None  # why the LLM reasoner fell back to offline, if it did
    progress: tuple[str, ...] = ()  # one line per finished step
    non_clinical: tuple[NonClinical, ...] = ()  # sentences addressed to the software or the coder
    model_seconds: float | None = None  # seconds the LLM took for this note (None: not called)
    procedures: list[ProcedureSuggestion] = field(default_factory=list)  # ICD-10-PCS, inpatient cases
    procedure_candidates: list[Rejected] = field(default_factory=list)  # procedures not coded, with why
    usage: ModelUsage | None = None  # what the LLM cost for this note (None: not called)
    agent_trace: tuple[str, ...] = ()  # the LLM agent's steps: each tool call and what it gave
    transcript: dict[str, Any] | None = None  # the LLM agent's messages, to replay the run (not in to_json)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.note_id,
            "codes": [s.to_json() for s in self.codes],
            "candidates": [c.to_json() for c in self.candidates],
            "procedures": [p.to_json() for p in self.procedures],
            "procedure_candidates": [c.to_json() for c in self.procedure_candidates],
        }
        if self.findings:
            out["findings"] = [asdict(f) for f in self.findings]
        out["reasoner"] = self.reasoner
        if self.fallback:
            out["fallback"] = self.fallback
        if self.non_clinical:
            out["non_clinical"] = [asdict(n) for n in self.non_clinical]
        if self.model_seconds is not None:
            out["model_seconds"] = round(self.model_seconds, 3)
        if self.usage is not None:
            out["usage"] = self.usage.to_json()
        if self.agent_trace:
            out["agent_trace"] = list(self.agent_trace)
        return out
