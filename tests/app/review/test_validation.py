"""Claim validation before export, on the real review code store (tests/app/fixtures/tabular_review.xml)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.records import Finding, PresentOnAdmission
from app.review.records import Case, CaseCode, Encounter, KeptPair, References
from app.review.validation import Validation, validate_claim
from index.errors import DecisionRefused
from index.store import CodeStore

CASE = Case(
    "C0003",
    "CKD review",
    "note",
    "in_review",
    "outpatient",
    "offline",
    None,
    "2025-03-01T09:00:00+00:00",
    "2025-03-01T09:30:00+00:00",
    "pasted",
    References("Patient/1", "Organization/2", "Organization/3", "Coverage/4"),
)
Z79_4 = (
    "E11.22: the Use additional code note at E11 (Type 2 diabetes mellitus), which applies to E11.22, asks for "
    '"code to identify control using: insulin (Z79.4)", and none of Z79.4 is among the codes. The note does not '
    "document it: query the provider whether it applies, and add the code if they confirm it (ICD-10-CM Official "
    "Guidelines, Section I.A.13)."
)


@pytest.fixture(scope="module")
def store(book: CodeStore) -> CodeStore:
    return book


def code(code: str, status: str, sequence: int, principal: bool = False) -> CaseCode:
    return CaseCode("C0003", code, f"title of {code}", status, sequence, principal, (), (), None, "", "agent")


def brief(findings: list[Finding]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.kind, f.severity, f.codes) for f in findings]


# E11.22 with its CKD stage and hypertension; the suggested and the rejected code are not on the claim.
REVIEWED = [
    code("E11.22", "accepted", 1, True),
    code("N18.30", "accepted", 2),
    code("I10", "added", 3),
    code("X99.98", "suggested", 4),
    code("E10.9", "rejected", 5),
]


def test_a_clean_claim_has_only_the_guideline_warnings(store: CodeStore) -> None:
    validation = validate_claim(CASE, REVIEWED, store, "outpatient")
    assert validation == Validation([], [Finding("use_additional", "warning", Z79_4, ("E11.22",))])
    assert not validation.blocks_export


def test_no_codes_on_the_claim(store: CodeStore) -> None:
    for codes in ([], [code("E11.22", "suggested", 1, True), code("I10", "rejected", 2)]):
        validation = validate_claim(CASE, codes, store, "outpatient")
        assert validation == Validation(
            [Finding("no_codes", "error", "The claim has no codes: accept or add at least one code.")], []
        )
        assert validation.blocks_export


def test_no_principal_among_the_claim_codes(store: CodeStore) -> None:
    codes = [code("E11.22", "suggested", 1, True), code("N18.30", "accepted", 2), code("I10", "accepted", 3)]
    validation = validate_claim(CASE, codes, store, "outpatient")
    assert validation.errors == [
        Finding(
            "no_principal",
            "error",
            "No principal diagnosis among the accepted codes: mark the principal (first-listed) diagnosis. "
            "E11.22 is marked principal but is suggested.",
        )
    ]
    # Without E11.22 on the claim, N18's Code first note is not satisfied either, but it asks for
    # "any associated" diabetic CKD, which the case's note ("note") never mentions: nothing to report.
    assert brief(validation.warnings) == []
    unmarked = validate_claim(CASE, [code("I10", "accepted", 1)], store, "outpatient")
    assert unmarked.errors == [
        Finding(
            "no_principal",
            "error",
            "No principal diagnosis among the accepted codes: mark the principal (first-listed) diagnosis.",
        )
    ]


def test_unknown_and_heading_codes_are_errors(store: CodeStore) -> None:
    codes = [code("I10", "accepted", 1, True), code("X99.99", "added", 2), code("E11.2", "added", 3)]
    validation = validate_claim(CASE, codes, store, "outpatient")
    assert brief(validation.errors) == [("unknown", "error", ("X99.99",)), ("not_billable", "error", ("E11.2",))]
    unknown = validation.errors[0]
    assert unknown.message == f"X99.99 is not a code in {store.info.title} {store.info.release}."
    assert validation.blocks_export


def test_guideline_errors_block_export(store: CodeStore) -> None:
    # A fracture code without its 7th character cannot be billed.
    codes = [code("S72.001", "accepted", 1, True), code("I10", "added", 2)]
    validation = validate_claim(CASE, codes, store, "outpatient")
    assert brief(validation.errors) == [("seventh", "error", ("S72.001",))]
    assert validation.errors[0].message.startswith(
        "S72.001 (Fracture of unspecified part of neck of right femur) needs"
    )
    assert validation.blocks_export
    fixed = validate_claim(CASE, [replace(codes[0], code="S72.001A"), codes[1]], store, "outpatient")
    assert fixed == Validation([], [])


def test_more_codes_than_the_claim_holds(store: CodeStore) -> None:
    known = ["E11.22", "N18.30", "I10"]
    others = [f"Z{n:02d}.0" for n in range(10)]  # unknown to the mini store: reported as unknown as well
    codes = [code(c, "accepted", i, i == 1) for i, c in enumerate(known + others, 1)]
    outpatient = validate_claim(CASE, codes, store, "outpatient")
    assert [f for f in outpatient.errors if f.kind == "too_many"] == [
        Finding(
            "too_many",
            "error",
            "13 codes, but an 837P professional claim carries 12 diagnosis codes, so Z09.0 would not fit: "
            "export to X12 is blocked until the claim holds at most 12 (reject the least important codes).",
            ("Z09.0",),
        )
    ]
    assert brief(outpatient.warnings) == [("use_additional", "warning", ("E11.22",))]  # no too_many warning
    # Inpatient, the 837I holds 25 codes; the case's own setting is used when none is given.
    inpatient = validate_claim(replace(CASE, setting="inpatient"), codes, store)
    assert [f.kind for f in inpatient.errors if f.kind != "poa"] == ["unknown"] * 10
    assert [f.kind for f in validate_claim(CASE, codes[:12], store).errors] == ["unknown"] * 9  # 12 fit


def test_an_unknown_setting_is_refused(store: CodeStore) -> None:
    with pytest.raises(DecisionRefused, match="setting must be one of inpatient, outpatient, not 'ER'"):
        validate_claim(CASE, REVIEWED, store, "ER")


def test_missing_references_are_one_warning_that_does_not_block(store: CodeStore) -> None:
    codes = [code("I10", "accepted", 1, True)]
    partial = replace(CASE, references=References(patient="Patient/1", provider="Organization/2"))
    assert validate_claim(partial, codes, store) == Validation(
        [],
        [
            Finding(
                "references",
                "warning",
                "The FHIR Claim cannot be submitted until the case records its insurer and coverage references: "
                'it says "not recorded on case C0003" in their place. Set them under Claim references.',
            )
        ],
    )
    none = validate_claim(replace(CASE, references=References()), codes, store)
    assert [f.message.split(":")[0] for f in none.warnings] == [
        "The FHIR Claim cannot be submitted until the case records its patient, provider, insurer and coverage "
        "references"
    ]
    one = validate_claim(replace(CASE, references=References(None, "O/2", "O/3", "C/4")), codes, store)
    assert "records its patient reference:" in one.warnings[0].message


def test_an_excludes1_pair_is_an_error_until_the_coder_keeps_it_with_a_reason(store: CodeStore) -> None:
    codes = [code("E11.22", "accepted", 1, True), code("E10.9", "added", 2), code("N18.30", "accepted", 3)]
    conflict = validate_claim(CASE, codes, store)
    assert brief(conflict.errors) == [("excludes1", "error", ("E11.22", "E10.9"))]
    other = KeptPair("C0003", ("E10.9", "N18.30"), "not this pair")
    assert validate_claim(CASE, codes, store, kept=[other]) == conflict
    kept = validate_claim(CASE, codes, store, kept=[other, KeptPair("C0003", ("E10.9", "E11.22"), "unrelated")])
    assert kept.errors == [] and not kept.blocks_export
    assert brief(kept.warnings)[0] == ("excludes1_kept", "warning", ("E11.22", "E10.9"))
    assert "for the coder's reason: unrelated (both may be reported" in kept.warnings[0].message


def test_an_inpatient_claim_needs_a_poa_on_every_diagnosis_and_a_stay_the_grouper_reads(store: CodeStore) -> None:
    inpatient = replace(CASE, setting="inpatient")
    present = PresentOnAdmission("Y", "on admission")
    codes = [
        replace(REVIEWED[0], poa=present),
        replace(REVIEWED[1], poa=PresentOnAdmission("U", "not said")),
        REVIEWED[2],
    ]
    validation = validate_claim(inpatient, codes, store)
    assert [(f.kind, f.codes) for f in validation.errors if f.kind == "poa"] == [("poa", ("I10",))]
    assert [(f.kind, f.codes) for f in validation.warnings if f.kind in ("poa", "stay")] == [
        ("poa", ("N18.30",)),
        ("stay", ()),
        ("stay", ()),
    ]
    stay_warning, admitting = [f for f in validation.warnings if f.kind == "stay"]
    assert stay_warning.message == (
        "The MS-DRG and the 837I need the patient's age, sex, discharge status: set them under Stay."
    )
    assert admitting.message.startswith("No admitting diagnosis: an inpatient 837I reports")
    stay = replace(inpatient, encounter=Encounter(70, "F", "01", admitting="E11.22"))
    fixed = validate_claim(stay, [*codes[:2], replace(codes[2], poa=present)], store)
    assert not [
        f for f in fixed.errors + fixed.warnings if f.kind == "stay" or (f.kind == "poa" and f.severity == "error")
    ]
    # An indicator at odds with the exempt list is a warning.
    z79 = replace(REVIEWED[2], code="Z79.4", poa=present)
    odd = validate_claim(stay, [*codes[:2], z79, replace(REVIEWED[2], poa=PresentOnAdmission("exempt", "x"))], store)
    assert [f.codes for f in odd.warnings if f.kind == "poa"] == [("N18.30",), ("Z79.4",), ("I10",)]
    # An outpatient claim has no POA.
    assert not [f for f in validate_claim(CASE, REVIEWED, store).errors if f.kind == "poa"]
