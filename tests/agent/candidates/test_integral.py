"""Tests of agent.candidates.integral: a symptom routinely part of a named diagnosis (I.B.5)."""

from __future__ import annotations

import pytest

from agent.candidates.integral import IntegralSymptoms, is_sequela

RULES = IntegralSymptoms.default()


@pytest.mark.parametrize(
    ("symptom", "diagnoses", "integral_to"),
    [
        ("R50.9", ["J18.9"], "J18.9"),  # fever of a pneumonia
        ("R05.9", ["I10", "J18.9"], "J18.9"),
        ("R30.0", ["N39.0"], "N39.0"),  # dysuria of a UTI
        ("R07.9", ["I21.4"], "I21.4"),
        ("M25.551", ["S72.001A"], "S72.001A"),  # hip pain of a hip fracture
        ("R31.0", ["J18.9"], None),  # hematuria is no part of a pneumonia (I.B.6)
        ("M25.551", ["S72.001S"], None),  # the pain of a sequela is its residual effect (I.B.10)
        ("R05.9", ["R50.9"], None),  # a symptom never absorbs another
        ("R10.9", [], None),
    ],
)
def test_a_symptom_goes_only_with_a_diagnosis_it_is_part_of(symptom, diagnoses, integral_to):
    hit = RULES.integral_to(symptom, diagnoses)
    assert (hit[0] if hit else None) == integral_to


def test_sequela_by_the_seventh_character():
    assert is_sequela("S72.001S") and not is_sequela("S72.001A") and not is_sequela("R05.9")
