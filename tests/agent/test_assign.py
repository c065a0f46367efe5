from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def walker(mini_coder):
    return mini_coder.deps.walker


@pytest.mark.parametrize(
    ("code", "sentence", "expected"),
    [
        ("N18", "CKD stage 3", "N18.30"),  # the note says stage 3; nothing more: N18.30
        ("N18", "chronic kidney disease", "N18.9"),  # nothing more specific: the default
        ("E11", "type 2 diabetes", "E11.9"),
        ("E11", "type 2 diabetes with diabetic CKD", "E11.22"),
        ("S72.001", "fracture of the right femoral neck", "S72.001A"),  # 7th character: initial
        ("S72.001", "right femoral neck fracture, follow-up visit", "S72.001D"),
        ("S72.001", "sequela of an old femoral neck fracture", "S72.001S"),
        ("S06.0X7", "concussion, death before regaining consciousness", "S06.0X7A"),
        ("I10", "hypertension", "I10"),
    ],
)
def test_walk_reaches_the_most_specific_code_the_sentence_supports(walker, code, sentence, expected):
    assert walker.walk(code, sentence).code == expected


def test_walk_says_why_at_each_step(walker):
    walk = walker.walk("S72.001", "right femoral neck fracture, follow-up visit")
    assert walk.steps == (
        "S72.001 -> S72.001D: 7th character D (subsequent encounter for closed fracture with routine healing): "
        "the note says 'follow-up'",
    )
