"""The final claim of a case, in the forms a billing system takes: a FHIR Claim, an 837P HI segment, CSV.

Every export holds the accepted and added codes only, principal first, then in sequence order.
They do not check the codes against the guidelines: the caller runs `app.review.validation.validate_claim`
first and exports only when nothing blocks; what would make an export wrong (no codes, no single
principal, too many codes for the segment, a Claim that does not validate) raises ExportError.

FHIR: the Claim is built and validated with `fhir.resources.R4B` (FHIR 4.3.0, R4-compatible), not
the package's default R5 models. Each diagnosis's `type` comes from the code system
http://terminology.hl7.org/CodeSystem/ex-diagnosistype, which has no "secondary" code: the principal
diagnosis is "principal", every other one "clinical".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.claim import Claim
from pydantic import ValidationError

from app.review.records import Case, CaseCode, dotted
from index.errors import ExportError

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
DIAGNOSIS_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
PRINCIPAL_TYPE = {"system": DIAGNOSIS_TYPE_SYSTEM, "code": "principal", "display": "Principal Diagnosis"}
OTHER_TYPE = {"system": DIAGNOSIS_TYPE_SYSTEM, "code": "clinical", "display": "Clinical Diagnosis"}

# An 837P carries at most 12 diagnosis codes in its HI segment (one ABK, eleven ABF).
X12_837P_MAX_CODES = 12
CSV_HEADER = ("case", "sequence", "code", "title", "status", "evidence_offsets", "coder", "time")


def claim_codes(codes: Iterable[CaseCode]) -> list[CaseCode]:
    """The codes that go on the claim (accepted and added), principal first, then by sequence."""
    return sorted((c for c in codes if c.on_claim), key=lambda c: (not c.principal, c.sequence))


def _final(codes: Iterable[CaseCode]) -> list[CaseCode]:
    final = claim_codes(codes)
    if not final:
        raise ExportError("the claim has no codes: accept or add at least one code before exporting")
    principals = [c.code for c in final if c.principal]
    if len(principals) != 1:
        which = "none" if not principals else ", ".join(principals)
        raise ExportError(f"a claim needs exactly one principal diagnosis among its accepted codes, not {which}")
    return final


def fhir_claim(
    case: Case,
    codes: Iterable[CaseCode],
    patient_ref: str = "Patient/example",
    provider_ref: str = "Organization/example",
    created: datetime | str | None = None,
    coverage_display: str = "Coverage on file",
) -> dict[str, Any]:
    """A FHIR R4 (R4B models) Claim for the case's final codes, validated, as a JSON-ready dict.

    Type "institutional" for an inpatient case, "professional" otherwise; `created` defaults to now
    (UTC). The resource id is the case id, so a claim leads back to its case."""
    final = _final(codes)
    kind = "institutional" if case.setting == "inpatient" else "professional"
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
            "patient": {"reference": patient_ref},
            "created": created,
            "provider": {"reference": provider_ref},
            "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal", "display": "Normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": coverage_display}}],
            "diagnosis": [
                {
                    "sequence": i,
                    "diagnosisCodeableConcept": {
                        "coding": [{"system": ICD10CM_SYSTEM, "code": dotted(c.code), "display": c.title}]
                    },
                    "type": [{"coding": [dict(PRINCIPAL_TYPE if c.principal else OTHER_TYPE)]}],
                }
                for i, c in enumerate(final, 1)
            ],
        },
    )
    return claim.model_dump(mode="json", by_alias=True, exclude_none=True)


def _validated_claim(case_id: str, resource: dict[str, Any]) -> Claim:
    try:
        return Claim.model_validate(resource)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'Claim'}: {e['msg']}" for e in exc.errors())
        raise ExportError(f"the FHIR Claim of case {case_id} does not validate: {problems}") from exc


def x12_hi_segment(codes: Iterable[CaseCode]) -> str:
    """The 837P HI (health care diagnosis code) segment: ABK for the principal, ABF for the others,
    codes without dots, e.g. "HI*ABK:E1122*ABF:N1830*ABF:I10~". At most 12 codes."""
    final = _final(codes)
    if len(final) > X12_837P_MAX_CODES:
        raise ExportError(
            f"an 837P HI segment carries at most {X12_837P_MAX_CODES} diagnosis codes, not {len(final)}: "
            "reject or remove codes before exporting to X12"
        )
    parts = [f"{'ABK' if c.principal else 'ABF'}:{dotted(c.code).replace('.', '')}" for c in final]
    return "HI*" + "*".join(parts) + "~"


def claim_csv(case: Case, codes: Iterable[CaseCode], coder: str, at: datetime | str) -> str:
    """The final codes as CSV, one row per code in claim order, with the note offsets of their
    evidence ("15-57;71-74") and who exported them when. Lines end in "\\n"."""
    final = _final(codes)
    time = at.isoformat(timespec="seconds") if isinstance(at, datetime) else at
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for i, c in enumerate(final, 1):
        offsets = ";".join(f"{e.start}-{e.end}" for e in c.evidence)
        writer.writerow((case.id, i, dotted(c.code), c.title, c.status, offsets, coder, time))
    return out.getvalue()
