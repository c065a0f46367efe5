"""Tests of agent.deciding.sequence: the claim's order (Guidelines II, IV and the Tabular's notes)."""

from __future__ import annotations

from agent.deciding.sequence import SequencingRules
from agent.guidelines.refs import parse_refs
from agent.reading.statements import analyze_note
from agent.records import Evidence, Proposal
from index.model import NoteKind

RULES = SequencingRules.default()


def proposal(note: str, code: str, words: str, confidence: float = 0.8) -> Proposal:
    start = note.index(words)
    return Proposal(code, (Evidence(start, start + len(words), words, "present", "body", "lexical"),), confidence)


def no_notes(code: str):
    return ()


def order(note: str, proposals: list[Proposal], notes=no_notes) -> list[str]:
    analysis, _ = analyze_note(note)
    return [p.code for p in RULES.order(proposals, analysis, notes)]


def test_the_reason_for_admission_leads_whatever_the_note_names_first():
    note = "Known COPD and type 2 diabetes. Admitted for community-acquired pneumonia."
    found = [
        proposal(note, "J44.9", "COPD"),
        proposal(note, "E11.9", "type 2 diabetes"),
        proposal(note, "J18.9", "pneumonia"),
    ]
    assert order(note, found) == ["J18.9", "J44.9", "E11.9"]


def test_history_and_status_codes_follow_the_conditions_and_external_causes_come_last():
    note = "Fell on the ice. Former smoker. Closed fracture of the right femoral neck."
    found = [
        proposal(note, "W00.0XXA", "Fell on the ice"),
        proposal(note, "Z87.891", "Former smoker"),
        proposal(note, "S72.001A", "fracture of the right femoral neck"),
    ]
    assert order(note, found) == ["S72.001A", "Z87.891", "W00.0XXA"]


def test_the_tabular_notes_order_partners():
    note = "Acute on chronic diastolic heart failure. Hypertension."
    i50 = proposal(note, "I50.33", "Acute on chronic diastolic heart failure", 0.99)
    i11 = Proposal("I11.0", (*i50.evidence, *proposal(note, "I11.0", "Hypertension").evidence), 0.95)

    def notes(code: str):
        if code == "I11.0":
            return tuple((NoteKind.USE_ADDITIONAL_CODE, ref) for ref in parse_refs("(I50.-)"))
        return ()

    assert order(note, [i50, i11]) == ["I50.33", "I11.0"]  # same words: the surer code first
    assert order(note, [i50, i11], notes) == ["I11.0", "I50.33"]  # I11.0 asks for the I50 code after it


def test_notes_that_disagree_leave_the_ranked_order():
    note = "Alpha. Beta."
    a, b = proposal(note, "A00.0", "Alpha"), proposal(note, "B00.0", "Beta")

    def notes(code: str):
        other = "(B00.0)" if code == "A00.0" else "(A00.0)"
        return tuple((NoteKind.CODE_FIRST, ref) for ref in parse_refs(other))

    assert order(note, [a, b], notes) == ["A00.0", "B00.0"]


def test_the_condition_comes_before_its_underdosing_or_adverse_effect_code():
    note = "Ran out of furosemide; acute on chronic systolic heart failure."
    found = [
        proposal(note, "T50.1X6A", "Ran out of furosemide"),
        proposal(note, "I50.23", "acute on chronic systolic heart failure"),
    ]
    assert order(note, found) == ["I50.23", "T50.1X6A"]


def test_a_poisoning_comes_before_its_manifestations():
    note = "Drowsy and confused after an overdose of lorazepam."
    found = [proposal(note, "R41.0", "confused"), proposal(note, "T42.4X1A", "overdose of lorazepam")]
    assert order(note, found) == ["T42.4X1A", "R41.0"]
