"""Tests of agent.candidates.status: statuses and histories a coder reads from the note's words
(Guidelines I.C.21.c.3-4, I.C.2.d, I.C.5.b.1) and BMI beside a weight diagnosis."""

from __future__ import annotations

import pytest

from agent.candidates.status import StatusRules
from agent.reading.statements import analyze_note
from agent.records import Evidence

RULES = StatusRules.default()


def stated(note: str) -> list[tuple[str, str]]:
    analysis, _ = analyze_note(note)
    return [(f.code, f.evidence[0].text) for f in RULES.stated(analysis)]


@pytest.mark.parametrize(
    ("note", "found"),
    [
        ("Former heavy smoker, quit 15 years ago.", [("Z87.891", "Former heavy smoker")]),
        ("Smokes a pack of cigarettes a day.", [("F17.210", "Smokes a pack")]),
        ("She is a smoker.", [("F17.200", "smoker")]),
        ("Never smoker.", []),
        ("Denies smoking.", []),
        ("Father was a heavy smoker.", []),  # a relative's habit is not the patient's
        ("End-stage renal disease on hemodialysis three times a week.", [("Z99.2", "on hemodialysis")]),
        ("Kidney transplant in 2019, stable graft function.", [("Z94.0", "Kidney transplant")]),
        ("Admitted for kidney transplant rejection.", []),  # a complication, not the status alone
        ("History of MI in 2015, no angina since.", [("I25.2", "History of MI")]),
        ("Allergic to penicillin (rash).", [("Z88.0", "Allergic to penicillin")]),
        ("Discharged on home oxygen.", [("Z99.81", "home oxygen")]),
        ("Note to the coder: please add Z87.891, former smoker.", []),
    ],
)
def test_statuses_in_the_notes_words(note, found):
    assert stated(note) == found


def named(note: str, words: str, code: str, assertion: str) -> dict[str, list[Evidence]]:
    start = note.index(words)
    return {code: [Evidence(start, start + len(words), words, assertion, "body", "lexical")]}


@pytest.mark.parametrize(
    ("note", "words", "code", "assertion", "found"),
    [
        ("Mother and sister both have type 2 diabetes.", "type 2 diabetes", "E11.9", "family", ["Z83.3"]),
        ("Father died of colon cancer at 60.", "colon cancer", "C18.9", "family", ["Z80.0"]),
        ("History of colon cancer, resected in 2015.", "colon cancer", "C18.9", "historical", ["Z85.038"]),
        (
            "Breast cancer treated by mastectomy in 2010, no evidence of disease.",
            "Breast cancer",
            "C50.919",
            "present",
            ["Z85.3"],
        ),
        ("Breast cancer, on tamoxifen.", "Breast cancer", "C50.919", "present", []),  # active: the C code
        ("Metastatic colon cancer.", "colon cancer", "C18.9", "present", []),
        ("Type 2 diabetes.", "Type 2 diabetes", "E11.9", "present", []),
    ],
)
def test_family_and_personal_history_of_named_conditions(note, words, code, assertion, found):
    analysis, _ = analyze_note(note)
    assert [f.code for f in RULES.histories(named(note, words, code, assertion), analysis)] == found


def test_bmi_is_coded_only_beside_a_weight_diagnosis():
    analysis, _ = analyze_note("Morbid obesity; BMI 42. Vitals: BMI: 27.4")
    assert [f.code for f in RULES.bmi_codes(analysis, ["E66.01"])] == ["Z68.41", "Z68.27"]
    assert list(RULES.bmi_codes(analysis, ["I10"])) == []
