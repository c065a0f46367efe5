"""Tests of agent.deciding.shortlist: the rejected candidates a coder reads, at most 20, the
closest first, none the patient cannot have."""

from __future__ import annotations

import pytest

from agent.deciding.shortlist import Patient, ShortlistRules, impossible, shortlist
from agent.guidelines.mce import MceEdits
from agent.records import Candidate, Rejected

ELDERLY_WOMAN = "79-year-old woman with CKD stage 3 and type 2 diabetes. She fell at home."


def rejected(code: str, reason: str = "no statement in this note supports it") -> Rejected:
    return Rejected(code, f"title of {code}", reason)


def candidate(code: str, score: float) -> Candidate:
    return Candidate(code, f"title of {code}", score, ("lexical",), ())


@pytest.mark.parametrize(
    ("note", "patient"),
    [
        (ELDERLY_WOMAN, Patient(79, "female", frozenset())),
        ("32 yo G2P1 at 30 weeks gestation.", Patient(32, "female", frozenset({"pregnancy"}))),
        ("3-day-old male infant, born at 36 weeks.", Patient(0, "male", frozenset({"newborn"}))),
        ("Age: 45. He was deployed in a combat zone.", Patient(45, "male", frozenset({"military"}))),
        ("Follow-up of hypertension.", Patient(None, None, frozenset())),
    ],
)
def test_the_patient_as_the_note_describes_them(note: str, patient: Patient) -> None:
    assert ShortlistRules.default().patient(note) == patient


def test_what_a_79_year_old_woman_cannot_have() -> None:
    rules, mce = ShortlistRules.default(), MceEdits.default()
    patient = rules.patient(ELDERLY_WOMAN)
    for code in ("Y36.431A", "O99.214", "O80", "Z3A.20", "P07.00", "Z38.00", "C61", "N40.0", "Y38.891A"):
        assert impossible(code, patient, rules, mce) is not None, code
    for code in ("E11.9", "N18.30", "W18.09XA", "I10", "N70.01", "Z87.891"):
        assert impossible(code, patient, rules, mce) is None, code
    assert "aged 79" in (impossible("O99.214", patient, rules, mce) or "")


def test_pregnancy_and_newborn_codes_when_the_note_documents_them() -> None:
    rules, mce = ShortlistRules.default(), MceEdits.default()
    pregnant = rules.patient("32 yo G2P1 at 30 weeks gestation.")
    assert impossible("O99.214", pregnant, rules, mce) is None and impossible("Z3A.30", pregnant, rules, mce) is None
    assert impossible("P07.00", pregnant, rules, mce) is not None
    newborn = rules.patient("3-day-old male infant, born at 36 weeks.")
    assert impossible("P07.38", newborn, rules, mce) is None and impossible("Z38.00", newborn, rules, mce) is None
    assert impossible("O80", newborn, rules, mce) is not None  # neither pregnant nor of maternity age
    # With no age and no cue, a pregnancy code is still not listed; a code for adults is.
    unknown = rules.patient("Follow-up of hypertension.")
    assert impossible("O10.919", unknown, rules, mce) is not None and impossible("N40.0", unknown, rules, mce) is None


def test_at_most_the_limit_closest_first_each_with_its_reason() -> None:
    found = [rejected(f"E11.{n}") for n in range(30)]
    located = [candidate(f"E11.{n}", n / 100) for n in range(30)]
    listed = shortlist(found, located, ELDERLY_WOMAN)
    assert len(listed) == 20
    assert [r.code for r in listed[:3]] == ["E11.29", "E11.28", "E11.27"]
    assert all(r.reason for r in listed)


def test_impossible_codes_are_never_listed_and_each_code_once() -> None:
    found = [
        rejected("Y36.431A"),
        rejected("O99.214"),
        rejected("I12.9", ""),
        rejected("E11.65", "the note says it is absent"),
        rejected("E11.65", "a later reason"),
        rejected("E11.9", "a more specific code (E11.22) is coded"),
    ]
    located = [candidate("E11", 0.4), candidate("E11.65", 0.9), candidate("I12", 0.2), candidate("O99.21", 0.95)]
    listed = shortlist(found, located, ELDERLY_WOMAN)
    # E11.9 has no candidate of its own: E11's score; I12.9 gets I12's; no reason becomes one.
    assert [(r.code, r.reason) for r in listed] == [
        ("E11.65", "the note says it is absent"),
        ("E11.9", "a more specific code (E11.22) is coded"),
        ("I12.9", "the agent did not choose it"),
    ]


def test_a_code_the_reasoner_proposed_without_a_candidate_comes_first() -> None:
    listed = shortlist([rejected("E11.9"), rejected("I10", "refused by the gate")], [candidate("E11.9", 0.8)], "HTN.")
    assert [r.code for r in listed] == ["I10", "E11.9"]
    assert shortlist([rejected("E11.9"), rejected("I10")], [], "HTN.", limit=1) == [rejected("E11.9")]


def test_the_coding_result_lists_at_most_twenty_possible_candidates(mini_coder) -> None:
    from agent.records import CodingOptions

    note = "79-year-old woman. Type 2 diabetes mellitus with diabetic CKD stage 3. No concussion. HTN."
    result = mini_coder.code(note, CodingOptions("outpatient"), note_id="s1")
    assert 0 < len(result.candidates) <= 20
    assert len({r.code for r in result.candidates}) == len(result.candidates)
    assert all(r.reason for r in result.candidates)
    assert "S06.0" in {r.code for r in result.candidates}  # "No concussion." is still explained
