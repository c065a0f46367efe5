"""The final claim of a case in the forms a billing system takes (a FHIR Claim, an 837P HI segment,
an inpatient 837I, CSV), and the case's audit trail as CSV.

Every export validates its own input: the claim's codes go through `app.review.claim.claim_lines`
(codes of the code book, billable, well formed, once each, exactly one principal) and are written
with the code book's spelling and title; anything that would make the export wrong raises an
ExportError saying what. The exports do not check the codes against the guidelines: the caller runs
`app.review.validation.validate_claim` first and exports only when nothing blocks.

FHIR: the Claim is built and validated with `fhir.resources.R4B` (FHIR 4.3.0, R4-compatible), not
the package's default R5 models. Each diagnosis's `type` comes from the code system
http://terminology.hl7.org/CodeSystem/ex-diagnosistype, which has no "secondary" code: the principal
diagnosis is "principal", every other one "clinical". Its patient, provider, insurer and coverage
come from the case's references. An institutional (inpatient) Claim also carries each diagnosis's
present-on-admission indicator (`diagnosis.onAdmission`, HL7's ex-diagnosis-on-admission codes y,
n, u, w; none for a code exempt from POA reporting), the MS-DRG in `diagnosis.packageCode` of every
diagnosis it groups (CMS's MS-DRG code system, as the CARIN Blue Button guide names it), each
procedure's date, and the stay as `billablePeriod` when the case records its dates.

Placeholder policy: a reference the case has not recorded is never invented; the Claim carries a
display-only reference that says so ("Patient not recorded on case C0001"), which a billing system
cannot resolve, and `validate_claim` warns that the claim cannot be submitted until the references
are set on the case.

CSV: every cell that a spreadsheet would read as a formula (one starting with =, +, -, @, a tab or a
carriage return, also after leading spaces) is prefixed with a single quote (OWASP's advice
against CSV injection), so the file shows the text and runs nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.claim import Claim
from pydantic import ValidationError

from app.review.claim import ClaimLine, claim_lines
from app.review.claim_parties import ClaimParties
from app.review.drg import DrgResult
from app.review.guards import check_evidence, reference
from app.review.records import AuditEntry, Case, CaseCode, CaseProcedure, KeptPair
from app.review.x12_837i import InstitutionalClaim, x12_837i
from index.errors import DecisionRefused, ExportError
from index.store import CodeStore

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
DIAGNOSIS_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
ICD10PCS_SYSTEM = "http://www.cms.gov/Medicare/Coding/ICD10"  # ICD-10-PCS, as HL7 names it
POA_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission"
POA_DISPLAY = {"Y": "Yes", "N": "No", "U": "Unknown", "W": "Undetermined"}
MS_DRG_SYSTEM = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
PROCEDURE_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-procedure-type"
PRIMARY_PROCEDURE = {"system": PROCEDURE_TYPE_SYSTEM, "code": "primary", "display": "Primary procedure"}
SECONDARY_PROCEDURE = {"system": PROCEDURE_TYPE_SYSTEM, "code": "secondary", "display": "Secondary procedure"}
PRINCIPAL_TYPE = {"system": DIAGNOSIS_TYPE_SYSTEM, "code": "principal", "display": "Principal Diagnosis"}
OTHER_TYPE = {"system": DIAGNOSIS_TYPE_SYSTEM, "code": "clinical", "display": "Clinical Diagnosis"}

# An 837P carries at most 12 diagnosis codes in its HI segment (one ABK, eleven ABF).
X12_837P_MAX_CODES = 12
CSV_HEADER = ("case", "sequence", "code", "title", "status", "evidence_offsets", "excludes1_kept", "coder", "time")
AUDIT_CSV_HEADER = ("case", "entry", "time", "coder", "action", "code_before", "code_after", "reason")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def placeholder(case: Case, role: str) -> str:
    """The display of a reference the case has not recorded: "Patient not recorded on case C0001"."""
    return f"{role.capitalize()} not recorded on case {case.id}"


def fhir_claim(
    case: Case,
    codes: Iterable[CaseCode],
    book: CodeStore,
    created: datetime | str | None = None,
    procedures: Iterable[CaseProcedure] = (),
    drg: DrgResult | None = None,
) -> dict[str, Any]:
    """A FHIR R4 (R4B models) Claim for the case's final codes, validated, as a JSON-ready dict.

    Type "institutional" for an inpatient case, "professional" otherwise; `created` defaults to now
    (UTC). The resource id is the case id, so a claim leads back to its case. An inpatient claim
    lists the accepted and added ICD-10-PCS procedures (`Claim.procedure`, the principal one typed
    "primary") with their dates, each diagnosis's POA and the MS-DRG `drg` (see the module's
    docstring); ExportError for a procedure that is not a whole seven-character code."""
    lines = claim_lines(case.id, codes, book)
    performed = _procedure_lines(case, procedures)
    inpatient = case.setting == "inpatient"
    kind = "institutional" if inpatient else "professional"
    if created is None:
        created = datetime.now(UTC)
    if isinstance(created, datetime):
        created = created.isoformat(timespec="seconds")
    claim = _validated_claim(
        case.id,
        {
            "resourceType": "Claim",
            "id": case.id,
            "status": "active",
            "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": kind, "display": kind.capitalize()}]},
            "use": "claim",
            "patient": _reference(case, "patient"),
            "created": created,
            "insurer": _reference(case, "insurer"),
            "provider": _reference(case, "provider"),
            "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal", "display": "Normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": _reference(case, "coverage")}],
            "diagnosis": [
                {
                    "sequence": line.sequence,
                    "diagnosisCodeableConcept": {
                        "coding": [{"system": ICD10CM_SYSTEM, "code": line.code, "display": line.title}]
                    },
                    "type": [{"coding": [dict(PRINCIPAL_TYPE if line.principal else OTHER_TYPE)]}],
                    **(_admission(line.row) if inpatient else {}),
                    **(_package(drg) if inpatient and drg else {}),
                }
                for line in lines
            ],
            **({"procedure": performed} if performed else {}),
            **(_billable_period(case) if inpatient else {}),
        },
    )
    return claim.model_dump(mode="json", by_alias=True, exclude_none=True)


def _procedure_lines(case: Case, procedures: Iterable[CaseProcedure]) -> list[dict[str, Any]]:
    final = sorted((p for p in procedures if p.on_claim), key=lambda p: (not p.principal, p.sequence))
    if case.setting != "inpatient":
        return []
    for p in final:
        if len(p.code) != 7:
            raise ExportError(f"procedure {p.code} of case {case.id} is not a whole ICD-10-PCS code (7 characters)")
    return [
        {
            "sequence": i,
            "type": [{"coding": [dict(PRIMARY_PROCEDURE if p.principal else SECONDARY_PROCEDURE)]}],
            "procedureCodeableConcept": {"coding": [{"system": ICD10PCS_SYSTEM, "code": p.code, "display": p.title}]},
            **({"date": p.performed_on} if p.performed_on else {}),
        }
        for i, p in enumerate(final, 1)
    ]


def _admission(row: CaseCode) -> dict[str, Any]:
    """The diagnosis's POA as `onAdmission`; nothing for a code exempt from POA reporting or without one."""
    if row.poa is None or row.poa.indicator not in POA_DISPLAY:
        return {}
    indicator = row.poa.indicator
    return {
        "onAdmission": {
            "coding": [{"system": POA_SYSTEM, "code": indicator.lower(), "display": POA_DISPLAY[indicator]}]
        }
    }


def _package(drg: DrgResult) -> dict[str, Any]:
    return {"packageCode": {"coding": [{"system": MS_DRG_SYSTEM, "code": f"{drg.drg:03d}", "display": drg.title}]}}


def _billable_period(case: Case) -> dict[str, Any]:
    stay = case.encounter
    period = {k: v for k, v in (("start", stay.admitted), ("end", stay.discharged)) if v}
    return {"billablePeriod": period} if period else {}


def _reference(case: Case, role: str) -> dict[str, str]:
    """The case's reference for `role`, checked again, or the placeholder that says it is missing."""
    try:
        value = reference(role, getattr(case.references, role))
    except DecisionRefused as exc:
        raise ExportError(f"the FHIR Claim of case {case.id} cannot be built: {exc}") from None
    return {"reference": value} if value else {"display": placeholder(case, role)}


def _validated_claim(case_id: str, resource: dict[str, Any]) -> Claim:
    try:
        return Claim.model_validate(resource)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'Claim'}: {e['msg']}" for e in exc.errors())
        raise ExportError(f"the FHIR Claim of case {case_id} does not validate: {problems}") from exc


def institutional_837i(
    case: Case,
    codes: Iterable[CaseCode],
    book: CodeStore,
    procedures: Iterable[CaseProcedure],
    parties: ClaimParties,
    drg: DrgResult | None,
    created: datetime,
) -> str:
    """The inpatient case's claim as an 837I interchange (`app.review.x12_837i`): the codes in claim
    order with their POA indicators (none for an exempt code), the procedures on the claim with
    their dates (the principal first), the stay's dates, discharge status and admitting diagnosis,
    and the MS-DRG. The
    control number is the minute it was written (YYDDDHHMM). ExportError naming what is missing."""
    if case.setting != "inpatient":
        raise ExportError(f"case {case.id} is {case.setting}: an 837I is an inpatient claim")
    lines = claim_lines(case.id, codes, book)
    stay = case.encounter
    missing = [what for what, value in (("admission date", stay.admitted), ("discharge date", stay.discharged),
                                        ("discharge status", stay.discharge_status)) if value is None]  # fmt: skip
    if missing:
        raise ExportError(f"the 837I of case {case.id} needs the stay's {', '.join(missing)}: set them under Stay")
    unset = [line.code for line in lines if line.row.poa is None]
    if unset:
        raise ExportError(f"the 837I of case {case.id} needs a POA indicator for {', '.join(unset)}")
    performed = sorted((p for p in procedures if p.on_claim), key=lambda p: (not p.principal, p.sequence))
    dx = [(line.code, _x12_poa(line.row)) for line in lines]
    claim = InstitutionalClaim(
        case.id,
        date.fromisoformat(stay.admitted or ""),
        date.fromisoformat(stay.discharged or ""),
        stay.discharge_status or "",
        dx[0],
        tuple(dx[1:]),
        tuple((p.code, date.fromisoformat(p.performed_on) if p.performed_on else None) for p in performed),
        admitting_diagnosis=stay.admitting or "",
        drg=drg.drg if drg else None,
    )
    return x12_837i(claim, parties, int(f"{created:%y%j%H%M}"), created)


def _x12_poa(row: CaseCode) -> str:
    indicator = row.poa.indicator if row.poa else ""
    return "" if indicator == "exempt" else indicator


def x12_hi_segment(case: Case, codes: Iterable[CaseCode], book: CodeStore) -> str:
    """The 837P HI (health care diagnosis code) segment: ABK for the principal, ABF for the others,
    codes without dots, e.g. "HI*ABK:E1122*ABF:N1830*ABF:I10~". At most 12 codes."""
    lines = claim_lines(case.id, codes, book)
    if len(lines) > X12_837P_MAX_CODES:
        raise ExportError(
            f"an 837P HI segment carries at most {X12_837P_MAX_CODES} diagnosis codes, not {len(lines)}: "
            "reject or remove codes before exporting to X12"
        )
    parts = [f"{'ABK' if line.principal else 'ABF'}:{line.code.replace('.', '')}" for line in lines]
    return "HI*" + "*".join(parts) + "~"


def claim_csv(
    case: Case,
    codes: Iterable[CaseCode],
    book: CodeStore,
    coder: str,
    at: datetime | str,
    kept: Iterable[KeptPair] = (),
) -> str:
    """The final codes as CSV, one row per code in claim order, with the note offsets of their
    evidence ("15-57;71-74"), the Excludes1 pairs the coder keeps with the reason ("E10.9: both
    documented, unrelated"), and who exported them when. Lines end in "\\n"."""
    lines = claim_lines(case.id, codes, book)
    coder = " ".join((coder or "").split())
    if not coder:
        raise ExportError("the CSV names the coder who exports it: give a coder's name")
    for line in lines:
        check_evidence(case, line.row.evidence, ExportError)
    time = at.isoformat(timespec="seconds") if isinstance(at, datetime) else at
    kept_with = _kept_with(lines, kept)
    rows = [
        (case.id, n.sequence, n.code, n.title, n.row.status, _offsets(n), kept_with[n.code], coder, time) for n in lines
    ]
    return _csv([CSV_HEADER, *rows])


def audit_csv(case: Case, entries: Iterable[AuditEntry]) -> str:
    """The case's audit trail as CSV, oldest first: every decision with its coder, time and reason
    (an Excludes1 pair kept, with why, among them). Lines end in "\\n"."""
    rows = [
        (case.id, e.id, e.at, e.coder, e.action, e.code_before or "", e.code_after or "", e.reason)
        for e in entries
        if e.case_id == case.id
    ]
    return _csv([AUDIT_CSV_HEADER, *rows])


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet cannot run: text that would start a formula gets a leading "'"."""
    if isinstance(value, str) and (value.startswith(_FORMULA_STARTS) or value.lstrip().startswith(_FORMULA_STARTS)):
        return "'" + value
    return value


def _csv(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _offsets(line: ClaimLine) -> str:
    return ";".join(f"{e.start}-{e.end}" for e in line.row.evidence)


def _kept_with(lines: list[ClaimLine], kept: Iterable[KeptPair]) -> dict[str, str]:
    """For each code of the claim, the codes it is kept with despite Excludes1, and why."""
    on_claim = {line.code for line in lines}
    out: dict[str, list[str]] = {code: [] for code in on_claim}
    for pair in kept:
        a, b = pair.codes
        if a in on_claim and b in on_claim:
            out[a].append(f"{b}: {pair.reason}")
            out[b].append(f"{a}: {pair.reason}")
    return {code: "; ".join(reasons) for code, reasons in out.items()}
