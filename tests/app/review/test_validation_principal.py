"""Claim validation a coder can trust (tests/app/fixtures/tabular_review.xml): the principal is
checked, partners are weighed against the case's note, and every finding follows the code list."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.records import Finding
from app.review.records import Case, CaseCode, References
from app.review.validation import code_findings, validate_claim
from index.store import CodeStore

CASE = Case(
    "C0009",
    "Diabetes review",
    "Type 2 diabetes with diabetic CKD stage 3, on insulin.",
    "in_review",
    "outpatient",
    "offline",
    None,
    "2025-03-01T09:00:00+00:00",
    "2025-03-01T09:30:00+00:00",
    "pasted",
    References("Patient/1", "Organization/2", "Organization/3", "Coverage/4"),
)


@pytest.fixture(scope="module")
def store(book: CodeStore) -> CodeStore:
    return book


def code(code: str, status: str, sequence: int, principal: bool = False) -> CaseCode:
    return CaseCode("C0009", code, f"title of {code}", status, sequence, principal, (), (), None, "", "agent")


def brief(findings: list[Finding]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.kind, f.severity, f.codes) for f in findings]


@pytest.mark.parametrize("setting", ["outpatient", "inpatient"])
def test_an_external_cause_as_principal_is_an_error(store: CodeStore, setting: str) -> None:
    codes = [code("W18.09XA", "accepted", 1, True), code("S72.001A", "accepted", 2)]
    validation = validate_claim(CASE, codes, store, setting)
    principal = [f for f in validation.errors if f.kind == "principal"]
    assert brief(principal) == [("principal", "error", ("W18.09XA",))]
    assert "external cause" in principal[0].message and "I.C.20" in principal[0].message
    assert validation.blocks_export


def test_a_drug_therapy_code_as_principal_is_an_error_on_an_inpatient_claim_only(store: CodeStore) -> None:
    codes = [code("Z79.84", "accepted", 1, True), code("E11.22", "accepted", 2), code("N18.30", "accepted", 3)]
    inpatient = [f for f in validate_claim(CASE, codes, store, "inpatient").errors if f.kind == "principal"]
    assert brief(inpatient) == [("principal", "error", ("Z79.84",))]
    assert "Medicare Code Editor" in inpatient[0].message
    assert [f for f in validate_claim(CASE, codes, store, "outpatient").errors if f.kind == "principal"] == []


def test_a_missing_partner_the_note_documents_is_an_error_until_it_is_added(store: CodeStore) -> None:
    codes = [code("E11.22", "accepted", 1, True), code("N18.30", "accepted", 2)]
    validation = validate_claim(CASE, codes, store)
    (missing,) = [f for f in validation.errors if f.kind == "use_additional"]
    assert missing.codes == ("E11.22",) and "Z79.4" in missing.message and '("insulin")' in missing.message
    # The coder adds Z79.4: the claim is checked again from its codes, and the error is gone.
    added = validate_claim(CASE, [*codes, code("Z79.4", "added", 3)], store)
    assert [f for f in [*added.errors, *added.warnings] if "Z79.4" in f.message] == []


def test_a_partner_the_note_does_not_document_is_a_query(store: CodeStore) -> None:
    silent = replace(CASE, note="Type 2 diabetes with diabetic CKD stage 3.")
    codes = [code("E11.22", "accepted", 1, True), code("N18.30", "accepted", 2)]
    validation = validate_claim(silent, codes, store)
    (query,) = [f for f in validation.warnings if f.kind == "use_additional"]
    assert "query the provider" in query.message
    assert [f for f in validation.errors if f.kind == "use_additional"] == []


def test_code_findings_cover_the_live_codes_as_they_are_now(store: CodeStore) -> None:
    codes = [code("E11.22", "suggested", 1, True), code("N18.30", "accepted", 2), code("Z79.4", "rejected", 3)]
    assert brief(code_findings(CASE, codes, store)) == [("use_additional", "error", ("E11.22",))]
    codes[2] = code("Z79.4", "added", 3)
    assert code_findings(CASE, codes, store) == []
    assert code_findings(CASE, [code("E11.22", "rejected", 1)], store) == []
