"""An inpatient case's ICD-10-PCS procedures in the case store (SQLite and PostgreSQL): saved from
the agent's result with every character's evidence, accepted, rejected, changed one character at
a time within the table rows, added from the PCS encoder; every decision audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.procedures.build import ProcedureCoder
from agent.reading.statements import analyze_note
from agent.records import CodingResult
from app.review.records import Case
from app.review.store import CaseStore
from index.errors import CaseNotFound, DecisionRefused
from index.pcs.bundled import PcsBook
from index.store import CodeStore

NOTE = "PROCEDURES: Right hip hemiarthroplasty on day 2. Colonoscopy is planned after discharge.\n"


@pytest.fixture(scope="module")
def built() -> CodingResult:
    analysis, _ = analyze_note(NOTE)
    procedures, passed = ProcedureCoder(PcsBook()).code(NOTE, analysis)
    return CodingResult("C0001", procedures=procedures, procedure_candidates=passed)


@pytest.fixture
def store(case_db: str | Path, book: CodeStore) -> Iterator[CaseStore]:
    with CaseStore(case_db, book) as s:
        yield s


@pytest.fixture
def case(store: CaseStore, built: CodingResult) -> Case:
    made = store.create_case(NOTE, "Hip", setting="inpatient")
    store.save_result(made.id, built, "ana")
    return made


def test_the_agents_procedures_are_saved_with_each_characters_evidence(store, case):
    hemi, colonoscopy = store.procedures(case.id)
    assert (hemi.code, hemi.status, hemi.principal, hemi.origin) == ("0SRR0JZ", "suggested", True, "agent")
    at = NOTE.index("Right hip")
    assert [(e.start, e.text) for e in hemi.axes[3].evidence] == [
        (at, "Right"),
        (at + 6, "hip"),
        (at + 10, "hemiarthroplasty"),
    ]
    assert hemi.axes[4].basis == "the only value the table row allows"
    assert (colonoscopy.code, colonoscopy.status, colonoscopy.reason) == (
        "0DJD8ZZ",
        "rejected",
        "planned, not performed in this stay",
    )


def test_accept_reject_and_the_audit(store, case):
    store.accept_procedure(case.id, "0srr0jz", "ana")
    assert store.procedures(case.id)[0].status == "accepted"
    with pytest.raises(DecisionRefused, match="already accepted"):
        store.accept_procedure(case.id, "0SRR0JZ", "ana")
    with pytest.raises(DecisionRefused, match="needs a reason"):
        store.reject_procedure(case.id, "0SRR0JZ", " ", "ana")
    rejected = store.reject_procedure(case.id, "0SRR0JZ", "done at another hospital", "ana")
    assert (rejected.status, rejected.principal) == ("rejected", False)
    actions = [(a.action, a.code_before, a.code_after) for a in store.audit(case.id)][-2:]
    assert actions == [("procedure_accepted", "0SRR0JZ", "0SRR0JZ"), ("procedure_rejected", "0SRR0JZ", None)]
    with pytest.raises(CaseNotFound):
        store.accept_procedure(case.id, "0DTJ4ZZ", "ana")


def test_one_character_changes_within_the_table_rows(store, case):
    cemented = store.change_procedure(case.id, "0SRR0JZ", 7, "9", "ana")
    assert (cemented.code, cemented.status) == ("0SRR0J9", "accepted")
    assert (
        cemented.title
        == "Replacement of Right Hip Joint, Femoral Surface with Synthetic Substitute, Cemented, Open Approach"
    )
    assert cemented.axes[6].basis == "chosen by ana" and cemented.axes[3].evidence  # the body part keeps its words
    with pytest.raises(DecisionRefused, match="no row allows qualifier 'X'"):
        store.change_procedure(case.id, "0SRR0J9", 7, "X", "ana")
    assert store.procedures(case.id)[0].code == "0SRR0J9"  # the refused change changed nothing
    audit = store.audit(case.id)[-1]
    assert (audit.action, audit.code_before, audit.code_after) == ("procedure_changed", "0SRR0JZ", "0SRR0J9")


def test_a_procedure_is_added_from_the_tables_only_on_an_inpatient_case(store, case):
    added = store.add_procedure(case.id, "0DTJ4ZZ", "ana")
    assert (added.status, added.origin, added.title) == (
        "added",
        "coder",
        "Resection of Appendix, Percutaneous Endoscopic Approach",
    )
    assert [a.meaning for a in added.axes][2:5] == ["Resection", "Appendix", "Percutaneous Endoscopic"]
    with pytest.raises(DecisionRefused, match="a code has 7 characters"):
        store.add_procedure(case.id, "0DTJ", "ana")
    with pytest.raises(DecisionRefused, match="already holds"):
        store.add_procedure(case.id, "0DTJ4ZZ", "ana")
    outpatient = store.create_case("Clinic visit.", setting="outpatient")
    with pytest.raises(DecisionRefused, match="inpatient claims only"):
        store.add_procedure(outpatient.id, "0DTJ4ZZ", "ana")


def test_coding_again_is_refused_once_a_procedure_is_decided(store, case, built):
    store.accept_procedure(case.id, "0SRR0JZ", "ana")
    with pytest.raises(DecisionRefused, match="decision"):
        store.save_result(case.id, built, "ana")


def test_the_inpatient_claim_carries_the_accepted_procedures(store, case, book):
    from app.review.exports import ICD10PCS_SYSTEM, fhir_claim
    from app.review.validation import validate_claim

    store.add(case.id, "I10", "ana")
    store.set_principal(case.id, "I10", "ana")
    store.accept_procedure(case.id, "0SRR0JZ", "ana")
    store.add_procedure(case.id, "0DTJ4ZZ", "ana")
    now, procedures = store.get_case(case.id), store.procedures(case.id)
    claim = fhir_claim(now, store.codes(case.id), book, "2026-11-30T00:00:00+00:00", procedures)
    assert claim["type"]["coding"][0]["code"] == "institutional"
    lines = [
        (p["sequence"], p["procedureCodeableConcept"]["coding"][0], p["type"][0]["coding"][0]["code"])
        for p in claim["procedure"]
    ]
    assert [(n, c["code"], kind) for n, c, kind in lines] == [(1, "0SRR0JZ", "primary"), (2, "0DTJ4ZZ", "secondary")]
    assert lines[0][1]["system"] == ICD10PCS_SYSTEM and lines[0][1]["display"].startswith("Replacement of Right Hip")
    checked = validate_claim(now, store.codes(case.id), book, procedures=procedures)
    assert not [f for f in checked.errors if f.kind == "procedure"]


def test_validation_refuses_an_incomplete_procedure_on_the_claim(case):
    from app.review.records import CaseProcedure
    from app.review.validation import procedure_errors

    partial = CaseProcedure(case.id, "0SRR", "Replacement, Hip", "accepted", 1, True, (), (), (), None, "", "agent")
    wrong = CaseProcedure(case.id, "0SRR0JX", "?", "accepted", 2, False, (), (), (), None, "", "agent")
    [incomplete, unknown] = procedure_errors(case, [partial, wrong], PcsBook())
    assert incomplete.message.startswith("Procedure 0SRR is incomplete: an ICD-10-PCS code has 7 characters")
    assert "no row allows qualifier 'X'" in unknown.message
