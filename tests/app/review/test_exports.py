"""The claim exports: FHIR R4 (R4B models) Claim, 837P HI segment and CSV, with exact output."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.claim import Claim

from agent.records import CodingResult, Evidence, Suggestion
from app.review.exports import claim_codes, claim_csv, fhir_claim, x12_hi_segment
from app.review.records import Case, CaseCode
from app.review.store import CaseStore
from index.errors import ExportError

CASE = Case(
    "C0007",
    "Diabetes follow-up",
    "note",
    "in_review",
    "outpatient",
    "offline",
    None,
    "2025-03-01T09:00:00+00:00",
    "2025-03-01T09:30:00+00:00",
    "pasted",
)
AT = datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


def code(
    code: str, title: str, status: str, sequence: int, principal: bool = False, spans: tuple[int, ...] = ()
) -> CaseCode:
    evidence = tuple(Evidence(a, b, "x" * (b - a)) for a, b in zip(spans[::2], spans[1::2], strict=True))
    return CaseCode("C0007", code, title, status, sequence, principal, evidence, (), None, "", "agent")


# The coder's final state: I10 was rejected, J45.909 is still only suggested, I12.9 was added.
CODES = [
    code("N18.30", "Chronic kidney disease, stage 3 unspecified", "accepted", 2, spans=(81, 111)),
    code(
        "E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease", "accepted", 1, True, (15, 57, 71, 74)
    ),
    code("J45.909", "Unspecified asthma, uncomplicated", "suggested", 3),
    code("I12.9", "Hypertensive chronic kidney disease with stage 1-4 CKD, or unspecified", "added", 4),
    code("I10", "Essential (primary) hypertension", "rejected", 5, spans=(116, 119)),
]


def test_claim_codes_are_the_accepted_and_added_principal_first() -> None:
    assert [c.code for c in claim_codes(CODES)] == ["E11.22", "N18.30", "I12.9"]


def test_fhir_claim() -> None:
    claim = fhir_claim(CASE, CODES, "Patient/p-1", "Organization/clinic", created=AT)
    assert claim == {
        "resourceType": "Claim",
        "id": "C0007",
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                    "display": "Professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": "Patient/p-1"},
        "created": "2025-03-01T10:15:00Z",
        "provider": {"reference": "Organization/clinic"},
        "priority": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                    "code": "normal",
                    "display": "Normal",
                }
            ]
        },
        "diagnosis": [
            {
                "sequence": 1,
                "diagnosisCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": "E11.22",
                            "display": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
                        }
                    ]
                },
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "code": "principal",
                                "display": "Principal Diagnosis",
                            }
                        ]
                    }
                ],
            },
            {
                "sequence": 2,
                "diagnosisCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": "N18.30",
                            "display": "Chronic kidney disease, stage 3 unspecified",
                        }
                    ]
                },
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "code": "clinical",
                                "display": "Clinical Diagnosis",
                            }
                        ]
                    }
                ],
            },
            {
                "sequence": 3,
                "diagnosisCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                            "code": "I12.9",
                            "display": "Hypertensive chronic kidney disease with stage 1-4 CKD, or unspecified",
                        }
                    ]
                },
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "code": "clinical",
                                "display": "Clinical Diagnosis",
                            }
                        ]
                    }
                ],
            },
        ],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Coverage on file"}}],
    }
    # What it returns reads back as a valid R4B Claim, unchanged.
    assert Claim.model_validate(claim).model_dump(mode="json") == claim


def test_fhir_claim_of_an_inpatient_case_is_institutional() -> None:
    claim = fhir_claim(replace(CASE, setting="inpatient"), CODES, created="2025-03-01T10:15:00+00:00")
    assert claim["type"]["coding"][0]["code"] == "institutional"
    assert (claim["patient"], claim["provider"]) == (
        {"reference": "Patient/example"},
        {"reference": "Organization/example"},
    )
    assert claim["created"] == "2025-03-01T10:15:00Z"  # FHIR writes UTC as Z


def test_fhir_claim_created_defaults_to_now() -> None:
    created = datetime.fromisoformat(fhir_claim(CASE, CODES)["created"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_x12_hi_segment() -> None:
    assert x12_hi_segment(CODES) == "HI*ABK:E1122*ABF:N1830*ABF:I129~"
    assert x12_hi_segment(CODES[:2]) == "HI*ABK:E1122*ABF:N1830~"
    assert x12_hi_segment([CODES[1]]) == "HI*ABK:E1122~"


def test_x12_hi_segment_holds_twelve_codes() -> None:
    twelve = [code("E11.22", "t", "accepted", 1, True)] + [code(f"Z{n:02d}.0", "t", "added", n) for n in range(2, 13)]
    assert x12_hi_segment(twelve) == "HI*ABK:E1122" + "".join(f"*ABF:Z{n:02d}0" for n in range(2, 13)) + "~"
    with pytest.raises(ExportError) as err:
        x12_hi_segment([*twelve, code("Z99.0", "t", "added", 13)])
    assert str(err.value) == (
        "an 837P HI segment carries at most 12 diagnosis codes, not 13: reject or remove codes before exporting to X12"
    )


def test_claim_csv() -> None:
    assert claim_csv(CASE, CODES, "ana", AT) == (
        "case,sequence,code,title,status,evidence_offsets,coder,time\n"
        "C0007,1,E11.22,Type 2 diabetes mellitus with diabetic chronic kidney disease,accepted,15-57;71-74,ana,"
        "2025-03-01T10:15:00+00:00\n"
        'C0007,2,N18.30,"Chronic kidney disease, stage 3 unspecified",accepted,81-111,ana,2025-03-01T10:15:00+00:00\n'
        'C0007,3,I12.9,"Hypertensive chronic kidney disease with stage 1-4 CKD, or unspecified",added,,ana,'
        "2025-03-01T10:15:00+00:00\n"
    )


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([], "the claim has no codes: accept or add at least one code before exporting"),
        ([CODES[2], CODES[4]], "the claim has no codes"),  # suggested and rejected codes are not on the claim
        ([CODES[0]], "a claim needs exactly one principal diagnosis among its accepted codes, not none"),
    ],
)
def test_exports_refuse_a_claim_without_codes_or_principal(codes: list[CaseCode], message: str) -> None:
    for export in (
        lambda: fhir_claim(CASE, codes, created=AT),
        lambda: x12_hi_segment(codes),
        lambda: claim_csv(CASE, codes, "ana", AT),
    ):
        with pytest.raises(ExportError, match=message):
            export()


def test_a_fhir_claim_that_does_not_validate_is_refused() -> None:
    with pytest.raises(ExportError) as err:
        fhir_claim(CASE, CODES, created="the first of March")
    assert str(err.value) == (
        "the FHIR Claim of case C0007 does not validate: "
        "created: Value error, DateTime value string does not match spec regex."
    )


def test_exports_of_a_case_reviewed_in_the_store(tmp_path: Path) -> None:
    note = "Type 2 diabetes with diabetic CKD. CKD stage 3. HTN."
    with CaseStore(tmp_path / "cases.sqlite") as store:
        case = store.create_case(note, "Review")
        dm = Suggestion("E11.22", "T2DM with diabetic CKD", (Evidence(0, 33, note[:33]),), 0.9, principal=True)
        htn = Suggestion("I10", "Essential (primary) hypertension", (Evidence(48, 51, "HTN"),), 0.8)
        store.save_result(case.id, CodingResult(case.id, codes=[dm, htn]), "ana")
        store.accept(case.id, "E11.22", "ana")
        store.reject(case.id, "I10", "hypertension with CKD is I12.9", "ana")
        store.add(case.id, "N18.30", "CKD stage 3 unspecified", "ana", [Evidence(35, 47, "CKD stage 3.")])
        store.add(case.id, "I12.9", "Hypertensive CKD", "ana", [Evidence(48, 51, "HTN")])
        store.move(case.id, "I12.9", 2, "ana")
        codes = store.codes(case.id)
    assert x12_hi_segment(codes) == "HI*ABK:E1122*ABF:I129*ABF:N1830~"
    assert claim_csv(case, codes, "ana", "2025-03-01T10:15:00Z").splitlines()[1:] == [
        "C0001,1,E11.22,T2DM with diabetic CKD,accepted,0-33,ana,2025-03-01T10:15:00Z",
        "C0001,2,I12.9,Hypertensive CKD,added,48-51,ana,2025-03-01T10:15:00Z",
        "C0001,3,N18.30,CKD stage 3 unspecified,added,35-47,ana,2025-03-01T10:15:00Z",
    ]
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in fhir_claim(case, codes)["diagnosis"]] == [
        "E11.22",
        "I12.9",
        "N18.30",
    ]
