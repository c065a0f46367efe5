"""Tests of agent.reading.assertion: the ConText assertion of a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.reading.assertion import Assertion, assertion_of
from agent.reading.rules import ContextRules
from agent.reading.segment import Analysis

GOLDEN = Path(__file__).parents[1] / "golden" / "assertions.json"

NOTE = (
    "Patient: Jane Doe, 67 y.o. female, seen by Dr. Smith.\n"
    "\n"
    "HISTORY OF PRESENT ILLNESS:\n"
    "Presents with productive cough x 3 days. Temp 38.9 °C, T.A: 109/68. No chest pain. "
    "Denies fever but has cough.\n"
    "\n"
    "Past Medical History:\n"
    "1. Hypertension\n"
    "2. Type 2 diabetes mellitus, on metformin 500 mg b.i.d.\n"
    "- CKD stage 3\n"
    "\n"
    "Family History: Mother with breast cancer.\n"
    "Medications: Lisinopril 10 mg daily; metformin.\n"
    "Allergies: NKDA\n"
    "\n"
    "Assessment and Plan:\n"
    "Community-acquired pneumonia, possible sepsis. No evidence of pulmonary embolism.\n"
    "Discharge Diagnosis\n"
    "1. Pneumonia 2. Hypertension 3. CKD stage 3.\n"
    "Plan: Start ceftriaxone. Return if fever recurs.\n"
)


def check_spans(note: str, analysis: Analysis) -> None:
    """Every span is exact, trimmed, in order, and inside the span that contains it."""
    previous_end = 0
    for section in analysis.sections:
        assert 0 <= previous_end <= section.start < section.end <= len(note)
        assert note[section.start : section.end].strip() == note[section.start : section.end]
        if section.header is not None:
            h = section.header
            assert h.start == section.start and h.end <= section.end
            assert note[h.start : h.end] == h.text
        previous_end = section.end

    previous_end = 0
    for sentence in analysis.sentences:
        assert note[sentence.start : sentence.end] == sentence.text
        assert sentence.text and sentence.text == sentence.text.strip()
        assert previous_end <= sentence.start < sentence.end
        containing = [s for s in analysis.sections if s.start <= sentence.start and sentence.end <= s.end]
        assert len(containing) == 1 and containing[0].name == sentence.section
        header = containing[0].header
        assert header is None or header.end <= sentence.start
        previous_end = sentence.end

    previous_end = 0
    for clause in analysis.clauses:
        assert note[clause.start : clause.end] == clause.text
        assert clause.text and clause.text == clause.text.strip()
        sentence = analysis.sentences[clause.sentence_index]
        assert sentence.start <= clause.start < clause.end <= sentence.end
        assert previous_end <= clause.start
        previous_end = clause.end


def texts(analysis: Analysis) -> list[str]:
    return [s.text for s in analysis.sentences]


def test_assertion_of_a_long_sentence() -> None:
    sentence = "No fever, " * 100_000 + "cough"
    assert assertion_of(sentence, len(sentence) - 5, len(sentence)) == Assertion.NEGATED


def _golden_cases() -> list[dict]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]


def test_golden_file_is_big_enough() -> None:
    cases = _golden_cases()
    assert len(cases) >= 25
    assert {c["expected"] for c in cases} == {a.value for a in Assertion}


@pytest.mark.parametrize(
    "case",
    _golden_cases(),
    ids=lambda c: f"{c['target']}|{c['sentence'][:40]}",
)
def test_golden_assertions(case: dict) -> None:
    sentence, target = case["sentence"], case["target"]
    start = -1
    for _ in range(case.get("occurrence", 0) + 1):
        start = sentence.index(target, start + 1)
    got = assertion_of(sentence, start, start + len(target), case.get("section", "body"))
    assert got == Assertion(case["expected"]), case.get("why", "")


def test_assertion_of_checks_the_span() -> None:
    with pytest.raises(ValueError):
        assertion_of("No fever.", 5, 20)
    with pytest.raises(ValueError):
        assertion_of("No fever.", 6, 3)


def test_assertion_of_with_custom_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            {
                "rules": [
                    {"phrase": "nope", "category": "negated", "direction": "forward"},
                    {"phrase": "maybe", "category": "uncertain", "direction": "backward"},
                    {"phrase": "stop", "category": "terminate", "direction": "bidirectional"},
                ],
                "section_defaults": {"old": "historical"},
            }
        ),
        encoding="utf-8",
    )
    rules = ContextRules.from_json(path)
    assert assertion_of("nope fever", 5, 10, rules=rules) == Assertion.NEGATED
    assert assertion_of("no fever", 3, 8, rules=rules) == Assertion.PRESENT
    assert assertion_of("fever maybe", 0, 5, rules=rules) == Assertion.UNCERTAIN
    assert assertion_of("fever stop maybe", 0, 5, rules=rules) == Assertion.PRESENT
    assert assertion_of("nope stop fever", 10, 15, rules=rules) == Assertion.PRESENT
    assert assertion_of("fever", 0, 5, "old", rules) == Assertion.HISTORICAL


def test_assertion_is_a_str_enum() -> None:
    assert Assertion.NEGATED == "negated"
    assert [a.name for a in Assertion] == [
        "PRESENT",
        "NEGATED",
        "UNCERTAIN",
        "HISTORICAL",
        "FAMILY",
        "HYPOTHETICAL",
    ]
