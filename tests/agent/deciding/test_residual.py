from __future__ import annotations

import pytest

from agent.deciding.residual import ResidualRules
from agent.records import Evidence, Proposal


def proposal(code: str, start: int = 0) -> Proposal:
    return Proposal(code, (Evidence(start, start + 5, "words"),), 0.7)


@pytest.mark.parametrize(
    ("codes", "kept"),
    [
        (["T14.90XA", "S72.001A"], ["S72.001A"]),  # the trauma is the hip fracture
        (["T14.90XA", "T14.8XXA"], ["T14.90XA", "T14.8XXA"]),  # no injury by site: both stay
        (["D49.9", "C64.9"], ["C64.9"]),  # the tumor is the renal carcinoma
        (["D49.519", "C64.2"], ["C64.2"]),  # the renal tumor is the renal carcinoma
        (["D49.9", "D49.519"], ["D49.519"]),
        (["D49.9", "I10"], ["D49.9", "I10"]),
        (["N39.0", "B99.9"], ["N39.0"]),  # "infection" is the urinary tract infection
        (["J96.21", "J98.9"], ["J96.21"]),
        (["J18.9", "J15.5"], ["J15.5"]),  # the pneumonia is coded by its organism
        (["B99.9", "I10"], ["B99.9", "I10"]),
    ],
)
def test_a_residual_code_goes_when_the_note_codes_its_condition_by_site(codes, kept):
    keep, dropped = ResidualRules.default().apply([proposal(c, i * 10) for i, c in enumerate(codes)])
    assert [p.code for p in keep] == kept
    assert {code for code, _ in dropped} == set(codes) - set(kept)


def test_the_reason_names_the_codes_by_site():
    _, dropped = ResidualRules.default().apply([proposal("T14.90XA"), proposal("S72.001A", 10)])
    assert dropped == [
        (
            "T14.90XA",
            "injury of unspecified body region: the note's injuries (or its pathological fracture) are coded by site"
            " (S72.001A)",
        )
    ]


def test_hypertension_goes_when_a_combination_code_reports_it():
    keep, dropped = ResidualRules.default().apply([proposal("I10"), proposal("I11.0", 10)])
    assert [p.code for p in keep] == ["I11.0"] and dropped[0][0] == "I10"


def test_rules_apply_in_order_to_what_the_earlier_ones_kept():
    codes = ["D49.9", "D49.519", "C64.2"]
    keep, dropped = ResidualRules.default().apply([proposal(c, i * 10) for i, c in enumerate(codes)])
    assert [p.code for p in keep] == ["C64.2"]
    assert all(reason.endswith("(C64.2)") for _, reason in dropped)  # not "(D49.519)", itself dropped


def test_a_zero_shot_convention_is_left_to_a_learned_profile():
    # CodiEsp's coders code B99.9 beside the infection's site: a learned profile decides that.
    codes = [proposal("N39.0"), proposal("B99.9", 10)]
    assert [p.code for p in ResidualRules.default().apply(codes)[0]] == ["N39.0"]
    assert [p.code for p in ResidualRules.default().apply(codes, learned=True)[0]] == ["N39.0", "B99.9"]
    # The Guidelines' combination rule holds for every reasoner: I10 is in I12.9.
    codes = [proposal("I10"), proposal("I12.9", 10)]
    assert [p.code for p in ResidualRules.default().apply(codes, learned=True)[0]] == ["I12.9"]
