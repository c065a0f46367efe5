"""Tests of agent.reading.assertion: the ConText assertion of a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.reading.assertion import Assertion, assertion_of
from agent.reading.rules import ContextRules

GOLDEN = Path(__file__).parents[1] / "golden" / "assertions.json"


def test_assertion_of_a_long_sentence() -> None:
    sentence = "No fever, " * 100_000 + "cough"
    assert assertion_of(sentence, len(sentence) - 5, len(sentence)) == Assertion.NEGATED


def _golden_cases() -> list[dict]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]


def test_golden_file_is_big_enough() -> None:
    cases = _golden_cases()
    assert len(cases) >= 25
    assert {c["expected"] for c in cases} == {a.value for a in Assertion} - {Assertion.NON_CLINICAL.value}


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
        "NON_CLINICAL",
    ]
