"""What an inpatient claim needs beyond its codes, in the case store (SQLite and PostgreSQL): the
stay's facts proposed from the note when the case is coded and set by the coder, the POA indicator
of each diagnosis (the agent's proposal, then the coder's with a reason) and each procedure's date;
every change audited, every bad value refused with what it may be."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.records import CodingResult, Evidence, PresentOnAdmission, Suggestion
from app.review.records import Encounter
from app.review.store import CaseStore
from index.errors import DecisionRefused
from index.store import CodeStore

NOTE = (
    "79-year-old woman admitted with a fracture of the right femoral neck. Essential hypertension.\n"
    "DISPOSITION: Inpatient rehabilitation.\n"
)


def span(text: str) -> Evidence:
    at = NOTE.index(text)
    return Evidence(at, at + len(text), text)


@pytest.fixture
def store(case_db: str | Path, book: CodeStore) -> Iterator[CaseStore]:
    with CaseStore(case_db, book) as s:
        yield s


@pytest.fixture
def case_id(store: CaseStore) -> str:
    made = store.create_case(NOTE, "Hip", setting="inpatient")
    admitted = PresentOnAdmission("Y", "admitted with it", (span("admitted with"),))
    result = CodingResult(
        made.id,
        codes=[
            Suggestion(
                "S72.001A", "Fracture", (span("fracture of the right femoral neck"),), 0.9, principal=True, poa=admitted
            ),
            Suggestion(
                "I10",
                "Essential (primary) hypertension",
                (span("hypertension"),),
                0.8,
                poa=PresentOnAdmission("Y", "chronic"),
            ),
        ],
    )
    store.save_result(made.id, result, "ana")
    return made.id


def test_coding_an_inpatient_case_proposes_the_stays_facts_and_keeps_the_agents_poa(store, case_id):
    assert store.get_case(case_id).encounter == Encounter(79, "F", "62")
    fracture, hypertension = store.codes(case_id)
    assert fracture.poa == PresentOnAdmission("Y", "admitted with it", (span("admitted with"),))
    assert hypertension.poa.reason == "chronic"
    [entry] = [e for e in store.audit(case_id) if e.action == "encounter"]
    assert entry.reason.startswith(
        "age: (none) -> 79; sex: (none) -> F; discharge_status: (none) -> 62 (proposed from the note:"
    )


def test_an_outpatient_case_gets_its_age_and_sex_but_no_stay_and_no_poa(store):
    made = store.create_case(NOTE, "Clinic", setting="outpatient")
    store.save_result(made.id, CodingResult(made.id), "ana")
    assert store.get_case(made.id).encounter == Encounter(79, "F")
    store.add(made.id, "I10", "ana")
    with pytest.raises(DecisionRefused, match="POA indicators are for inpatient claims"):
        store.set_poa(made.id, "I10", "Y", "documented", "ana")


def test_the_coder_sets_the_stay_and_each_change_is_audited(store, case_id):
    stay = Encounter(80, "F", "03", "2026-03-02", "2026-03-07")
    case = store.set_encounter(case_id, stay, "ana", "face sheet")
    assert case.encounter == stay
    last = store.audit(case_id)[-1]
    assert (last.action, last.reason) == (
        "encounter",
        "age: 79 -> 80; discharge_status: 62 -> 03; admitted: (none) -> 2026-03-02;"
        " discharged: (none) -> 2026-03-07 (face sheet)",
    )
    # Not a decision on the codes: the case may still be coded again.
    store.save_result(case_id, CodingResult(case_id), "ana")
    assert store.get_case(case_id).encounter == stay  # what the coder set is kept


def test_the_admitting_diagnosis_is_a_billable_code_of_the_code_book(store, case_id):
    stay = Encounter(79, "F", "62", admitting="s72.001a")
    assert store.set_encounter(case_id, stay, "ana").encounter.admitting == "S72.001A"  # as the book spells it
    with pytest.raises(DecisionRefused, match="is not a code of"):
        store.set_encounter(case_id, Encounter(79, "F", "62", admitting="R99.99"), "ana")
    with pytest.raises(DecisionRefused, match=r"S72\.001 is a heading"):
        store.set_encounter(case_id, Encounter(79, "F", "62", admitting="S72.001"), "ana")
    assert store.get_case(case_id).encounter.admitting == "S72.001A"


@pytest.mark.parametrize(
    ("stay", "why"),
    [
        (Encounter(age=130), "age must be 0 to 124"),
        (Encounter(sex="X"), "sex must be one of F, M, U"),
        (Encounter(discharge_status="99"), "a discharge status must be one of 01, 02"),
        (Encounter(admitted="02/03/2026"), "the admission date must be a date written 2026-03-02"),
        (Encounter(admitted="2026-03-05", discharged="2026-03-01"), "cannot come before the admission"),
    ],
)
def test_a_bad_fact_is_refused_saying_what_it_may_be(store, case_id, stay, why):
    with pytest.raises(DecisionRefused, match=why):
        store.set_encounter(case_id, stay, "ana")
    assert store.get_case(case_id).encounter == Encounter(79, "F", "62")


def test_the_coder_sets_a_poa_with_a_reason_and_it_is_audited(store, case_id):
    with pytest.raises(DecisionRefused, match="needs a reason"):
        store.set_poa(case_id, "I10", "N", " ", "ana")
    with pytest.raises(DecisionRefused, match="a POA indicator must be one of Y, N, U, W, exempt"):
        store.set_poa(case_id, "I10", "1", "exempt", "ana")
    changed = store.set_poa(case_id, "i10", "W", "the provider cannot say", "ana")
    assert changed.poa == PresentOnAdmission("W", "set by ana: the provider cannot say")
    assert store.codes(case_id)[1].poa == changed.poa
    last = store.audit(case_id)[-1]
    assert (last.action, last.code_before, last.code_after, last.reason) == (
        "poa",
        "I10",
        "I10",
        "POA Y -> W: the provider cannot say",
    )
    with pytest.raises(DecisionRefused, match="holds 1 decision"):
        store.save_result(case_id, CodingResult(case_id), "ana")  # a POA is a decision on the codes


def test_a_procedure_date_must_fall_within_the_stay(store, case_id):
    store.add_procedure(case_id, "0SRR0JZ", "ana")
    store.set_encounter(case_id, Encounter(79, "F", "62", "2026-03-02", "2026-03-07"), "ana")
    with pytest.raises(DecisionRefused, match="before the admission on 2026-03-02"):
        store.set_procedure_date(case_id, "0SRR0JZ", "2026-03-01", "ana")
    with pytest.raises(DecisionRefused, match="must be a date written"):
        store.set_procedure_date(case_id, "0SRR0JZ", "day 2", "ana")
    done = store.set_procedure_date(case_id, "0SRR0JZ", "2026-03-03", "ana")
    assert done.performed_on == "2026-03-03" == store.procedures(case_id)[0].performed_on
    last = store.audit(case_id)[-1]
    assert (last.action, last.code_after, last.reason) == ("procedure_date", "0SRR0JZ", "(none) -> 2026-03-03")
