"""Records to rows of the case store and back, and the agent's `CodingResult` as the codes,
findings and non-clinical sentences of a case.

Evidence, reasoning steps, alternatives and a finding's codes are kept as JSON text in their rows;
a row that does not read back raises DataError, as does an agent result that does not fit its note.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from agent.records import AxisChoice, CodingResult, Evidence, Finding, NonClinical, PresentOnAdmission, Step
from app.review.guards import check_evidence
from app.review.records import AgentRun, Case, CaseCode, CaseProcedure, Encounter, KeptPair, References, dotted
from app.review.sql import Record
from index.errors import DataError
from index.model import code_key

SEVERITIES = ("error", "warning")
# The placeholders of a whole `case_codes` and `case_procedures` row, in column order.
CODE_MARKS = ",".join("?" * 15)
PROCEDURE_MARKS = ",".join("?" * 13)


def case_from_row(row: Record) -> Case:
    return Case(
        id=row["id"],
        title=row["title"],
        note=row["note"],
        status=row["status"],
        setting=row["setting"],
        reasoner=row["reasoner"],
        profile=row["profile"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        source=row["source"],
        references=References(row["patient_ref"], row["provider_ref"], row["insurer_ref"], row["coverage_ref"]),
        encounter=Encounter(
            row["age"], row["sex"], row["discharge_status"], row["admitted"], row["discharged"], row["admitting"]
        ),
    )


def code_from_row(row: Record) -> CaseCode:
    """A code of a case from its row; KeyError, TypeError or ValueError when the row is corrupt."""
    return CaseCode(
        case_id=row["case_id"],
        code=row["code"],
        title=row["title"],
        status=row["status"],
        sequence=row["sequence"],
        principal=bool(row["principal"]),
        evidence=tuple(Evidence(**e) for e in json.loads(row["evidence"])),
        reasoning=tuple(Step(**s) for s in json.loads(row["reasoning"])),
        confidence=row["confidence"],
        reason=row["reason"],
        origin=row["origin"],
        alternatives=tuple(json.loads(row["alternatives"])),
        poa=poa_from_row(row),
    )


def poa_from_row(row: Record) -> PresentOnAdmission | None:
    if row["poa"] is None:
        return None
    evidence = tuple(Evidence(**e) for e in json.loads(row["poa_evidence"]))
    return PresentOnAdmission(row["poa"], row["poa_reason"], evidence)


def code_params(c: CaseCode) -> tuple[Any, ...]:
    """The values of a `case_codes` row, in column order."""
    return (
        c.case_id,
        c.code,
        c.title,
        c.status,
        c.sequence,
        int(c.principal),
        json.dumps([asdict(e) for e in c.evidence]),
        json.dumps([asdict(s) for s in c.reasoning]),
        c.confidence,
        c.reason,
        c.origin,
        json.dumps(list(c.alternatives)),
        *poa_params(c.poa),
    )


def poa_params(poa: PresentOnAdmission | None) -> tuple[Any, ...]:
    """The values of the POA columns of a `case_codes` row."""
    if poa is None:
        return (None, "", "[]")
    return (poa.indicator, poa.reason, json.dumps([asdict(e) for e in poa.evidence]))


def finding_from_row(row: Record) -> Finding:
    return Finding(row["kind"], row["severity"], row["message"], tuple(json.loads(row["codes"])))


def finding_params(case_id: str, position: int, f: Finding) -> tuple[Any, ...]:
    """The values of a `findings` row, in column order."""
    return (case_id, position, f.kind, f.severity, f.message, json.dumps(list(f.codes)))


def non_clinical_from_row(row: Record) -> NonClinical:
    return NonClinical(row["start"], row["end"], row["text"], row["why"])


def kept_from_row(row: Record) -> KeptPair:
    return KeptPair(row["case_id"], (row["code_a"], row["code_b"]), row["reason"])


def agent_run_params(case_id: str, result: CodingResult) -> tuple[Any, ...] | None:
    """The row of the LLM agent's run behind `result` (None when no model was asked)."""
    if result.usage is None and not result.agent_trace and result.transcript is None:
        return None
    usage = result.usage.to_json() if result.usage is not None else {}
    model = str((result.transcript or {}).get("model", "")) or result.reasoner
    transcript = json.dumps(result.transcript) if result.transcript is not None else None
    return case_id, model, json.dumps(usage), json.dumps(list(result.agent_trace)), transcript, result.model_seconds


def agent_run_from_row(row: Record) -> AgentRun:
    try:
        usage, trace = json.loads(row["usage"]), json.loads(row["trace"])
        transcript = json.loads(row["transcript"]) if row["transcript"] is not None else None
    except ValueError as exc:
        raise DataError(f"the agent run of case {row['case_id']} is corrupt: {exc}") from None
    return AgentRun(row["model"], dict(usage), tuple(trace), transcript, row["seconds"])


def result_codes(case: Case, result: CodingResult) -> list[CaseCode]:
    """The agent's result as the case's codes: the suggestions at sequences 1..n, the principal (the
    suggestion marked so, if any) first, then the rejected candidates with the agent's reason. A
    code listed twice is kept once, where it first comes. Raises DataError when a span of evidence
    is not exactly where it says in the note."""
    suggested = sorted(result.codes, key=lambda s: not s.principal)  # stable: the rest keep their order
    marked = bool(suggested) and suggested[0].principal
    rows: list[CaseCode] = []
    seen: set[str] = set()
    for s in suggested:
        code = dotted(s.code)
        if code_key(code) in seen:
            continue
        seen.add(code_key(code))
        principal = marked and not rows
        rows.append(
            CaseCode(
                case.id,
                code,
                s.title,
                "suggested",
                len(rows) + 1,
                principal,
                tuple(s.evidence),
                tuple(s.reasoning),
                float(s.confidence),
                "",
                "agent",
                tuple(s.alternatives),
                s.poa,
            )
        )
    for r in result.candidates:
        code = dotted(r.code)
        if code_key(code) in seen:
            continue
        seen.add(code_key(code))
        reason = r.reason or "rejected by the agent"
        rows.append(
            CaseCode(
                case.id, code, r.title, "rejected", len(rows) + 1, False, tuple(r.evidence), (), None, reason, "agent"
            )
        )
    for row in rows:
        check_evidence(case, row.evidence, DataError)
        if row.poa is not None:
            check_evidence(case, row.poa.evidence, DataError)
    return rows


def result_findings(case: Case, result: CodingResult) -> list[Finding]:
    """The agent's guideline findings; DataError for a severity the store does not know."""
    bad = [f for f in result.findings if f.severity not in SEVERITIES]
    if bad:
        raise DataError(f"the agent's result for case {case.id} has a finding of severity {bad[0].severity!r}")
    return [Finding(f.kind, f.severity, f.message, tuple(f.codes)) for f in result.findings]


def result_non_clinical(case: Case, result: CodingResult) -> list[tuple[Any, ...]]:
    """The `non_clinical` rows of the agent's result; DataError when a sentence is not exactly where
    it says in the note."""
    rows = []
    for i, n in enumerate(result.non_clinical):
        if not (0 <= n.start <= n.end <= len(case.note)) or case.note[n.start : n.end] != n.text:
            raise DataError(
                f"the non-clinical sentence {n.start}-{n.end} {n.text!r} is not at those offsets "
                f"in the note of case {case.id}"
            )
        rows.append((case.id, i, n.start, n.end, n.text, n.why))
    return rows


def procedure_from_row(row: Record) -> CaseProcedure:
    """A procedure of a case from its row; KeyError, TypeError or ValueError when the row is corrupt."""
    axes = []
    for a in json.loads(row["axes"]):
        evidence = tuple(Evidence(**e) for e in a.pop("evidence"))
        axes.append(AxisChoice(**a, evidence=evidence))
    return CaseProcedure(
        case_id=row["case_id"],
        code=row["code"],
        title=row["title"],
        status=row["status"],
        sequence=row["sequence"],
        principal=bool(row["principal"]),
        evidence=tuple(Evidence(**e) for e in json.loads(row["evidence"])),
        axes=tuple(axes),
        reasoning=tuple(Step(**s) for s in json.loads(row["reasoning"])),
        confidence=row["confidence"],
        reason=row["reason"],
        origin=row["origin"],
        performed_on=row["performed_on"],
    )


def procedure_params(p: CaseProcedure) -> tuple[Any, ...]:
    """The values of a `case_procedures` row, in column order."""
    return (
        p.case_id,
        p.code,
        p.title,
        p.status,
        p.sequence,
        int(p.principal),
        json.dumps([asdict(e) for e in p.evidence]),
        json.dumps([asdict(a) for a in p.axes]),
        json.dumps([asdict(s) for s in p.reasoning]),
        p.confidence,
        p.reason,
        p.origin,
        p.performed_on,
    )


def result_procedures(case: Case, result: CodingResult) -> list[CaseProcedure]:
    """The agent's procedures as the case's: the built ones at sequences 1..n (the principal
    first), then the ones it read and did not code that have a code, with its reason. Raises
    DataError when a span of evidence is not exactly where it says in the note."""
    built = sorted(result.procedures, key=lambda p: not p.principal)
    rows: list[CaseProcedure] = []
    for p in built:
        if any(r.code == p.code for r in rows):
            continue
        spans = (*p.evidence, *(e for a in p.axes for e in a.evidence))
        check_evidence(case, spans, DataError)
        rows.append(
            CaseProcedure(
                case.id,
                p.code,
                p.title,
                "suggested",
                len(rows) + 1,
                p.principal and not rows,
                tuple(p.evidence),
                tuple(p.axes),
                tuple(p.reasoning),
                float(p.confidence),
                "",
                "agent",
            )
        )
    for r in result.procedure_candidates:
        if not r.code or any(x.code == r.code for x in rows):
            continue
        check_evidence(case, r.evidence, DataError)
        rows.append(
            CaseProcedure(
                case.id,
                r.code,
                r.title,
                "rejected",
                len(rows) + 1,
                False,
                tuple(r.evidence),
                (),
                (),
                None,
                r.reason,
                "agent",
            )
        )
    return rows
