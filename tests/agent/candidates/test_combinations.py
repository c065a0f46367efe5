"""Tests of agent.candidates.combinations: the 'with' convention (I.A.15) and its families."""

from __future__ import annotations

from agent.candidates.combinations import CombinationRules
from agent.records import Evidence

RULES = CombinationRules.default()


def named(note: str, *found: tuple[str, str, str]) -> dict[str, list[Evidence]]:
    """code -> the words that named it, each (code, words, assertion)."""
    out: dict[str, list[Evidence]] = {}
    for code, words, assertion in found:
        start = note.index(words)
        out.setdefault(code, []).append(Evidence(start, start + len(words), words, assertion, "body", "lexical"))
    return out


def codes(note: str, *found: tuple[str, str, str]) -> list[str]:
    return [c.code for c in RULES.combine(named(note, *found), note)]


def test_hypertension_with_ckd_and_heart_failure_takes_the_fullest_combination():
    note = "Hypertension. Chronic kidney disease stage 4. Acute on chronic diastolic heart failure."
    found = [("I10", "Hypertension", "present"), ("N18.4", "Chronic kidney disease stage 4", "present")]
    assert codes(note, *found) == ["I12.9"]
    assert codes(note, *found, ("I50.33", "Acute on chronic diastolic heart failure", "present")) == ["I13.0"]


def test_the_provider_may_say_the_conditions_are_unrelated():
    note = "Hypertension, not due to the kidney disease.\nChronic kidney disease stage 3a."
    assert (
        codes(note, ("I10", "Hypertension", "present"), ("N18.31", "Chronic kidney disease stage 3a", "present")) == []
    )


def test_a_negated_partner_makes_no_combination():
    note = "Hypertension. No chronic kidney disease."
    assert codes(note, ("I10", "Hypertension", "present"), ("N18.9", "chronic kidney disease", "negated")) == []


def test_diabetes_takes_a_combination_for_each_complication_in_its_own_type():
    note = "Type 1 diabetes, poorly controlled.\nChronic kidney disease stage 2."
    found = [("E10.9", "Type 1 diabetes", "present"), ("N18.2", "Chronic kidney disease stage 2", "present")]
    assert sorted(codes(note, *found)) == ["E10.22", "E10.65"]


def test_copd_with_a_lower_respiratory_infection():
    note = "COPD with acute bronchitis."
    assert codes(note, ("J44.9", "COPD", "present"), ("J20.9", "acute bronchitis", "present")) == ["J44.0"]


def test_a_fragility_fracture_is_pathological_but_not_after_major_trauma():
    note = "Age-related osteoporosis. Fell from standing height: fracture of the right femoral neck."
    found = [
        ("M81.0", "Age-related osteoporosis", "present"),
        ("S72.001A", "fracture of the right femoral neck", "present"),
    ]
    assert codes(note, *found) == ["M80.05"]  # the walk reads the side and the 7th character
    note = "Age-related osteoporosis. Motor vehicle collision: fracture of the right femoral neck."
    assert codes(note, *found) == []


def test_a_past_stroke_with_a_deficit_is_its_sequela_and_replaces_the_stroke():
    note = "Right hemiparesis from a cerebral infarction two years ago."
    found = [("G81.91", "Right hemiparesis", "present"), ("I63.9", "cerebral infarction", "present")]
    [combination] = RULES.combine(named(note, *found), note)
    assert (combination.code, combination.replaces) == ("I69.35", ("I63.9",))
    note = "Acute cerebral infarction with right hemiparesis."  # a current stroke: no sequela
    assert codes(note, ("G81.91", "right hemiparesis", "present"), ("I63.9", "cerebral infarction", "present")) == []
