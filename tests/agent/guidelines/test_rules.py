"""Tests of agent.guidelines.rules: the guideline texts, uncertain-diagnosis rules and claim limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest

from agent.guidelines.refs import parse_refs
from agent.guidelines.rules import GUIDELINES_FILE, GuidelineRules, guideline_text
from agent.records import Setting
from index.errors import DataError

# --- the rule tables -------------------------------------------------------------------------


def test_uncertain_diagnosis_rule() -> None:
    rules = GuidelineRules.default()
    assert rules.for_setting("inpatient")[0].coded_as_established is True
    assert rules.for_setting("outpatient")[0].coded_as_established is False
    with pytest.raises(ValueError):
        rules.for_setting("ambulatory")
    assert set(rules.uncertain) == set(get_args(Setting)) == set(rules.claim_limits)
    assert "II.H" in guideline_text(rules.uncertain["inpatient"].text)
    assert "IV.H" in guideline_text(rules.uncertain["outpatient"].text)


@pytest.mark.parametrize(
    ("key", "section"),
    [
        ("excludes1", "I.A.12.a"),
        ("excludes2", "I.A.12.b"),
        ("code_first", "I.A.13"),
        ("use_additional", "I.A.13"),
        ("manifestation", "I.A.13"),
        ("level_of_detail", "I.B.2"),
        ("seventh_character", "7th character"),
        ("uncertain_inpatient", "III.C"),
        ("uncertain_outpatient", "IV.H"),
        ("claim_limit", "837P"),
    ],
)
def test_guideline_texts_cite_their_source(key: str, section: str) -> None:
    text = guideline_text(key)
    assert section in text
    assert text.startswith(GuidelineRules.default().texts[key].title)


def test_guideline_text_of_an_unknown_key() -> None:
    with pytest.raises(KeyError, match="excludes1"):
        guideline_text("excludes3")


def test_rules_are_loaded_once_from_the_package() -> None:
    packaged = Path(__file__).resolve().parents[3] / "agent" / "data" / "guidelines.json"
    assert packaged == GUIDELINES_FILE
    assert GuidelineRules.default() is GuidelineRules.default()
    assert GuidelineRules.from_json(GUIDELINES_FILE) == GuidelineRules.default()


def _edited(tmp_path: Path, edit) -> Path:
    data = json.loads(GUIDELINES_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "guidelines.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("texts"),
        lambda d: d["texts"]["excludes1"].pop("cite"),
        lambda d: d["uncertain_diagnosis"]["inpatient"].update(coded_as_established="yes"),
        lambda d: d["uncertain_diagnosis"]["inpatient"].update(text="nowhere"),
        lambda d: d["claim_limits"]["outpatient"].update(limit=0),
        lambda d: d["claim_limits"].pop("inpatient"),
    ],
)
def test_a_bad_rule_file_is_a_data_error(tmp_path: Path, edit) -> None:
    with pytest.raises(DataError):
        GuidelineRules.from_json(_edited(tmp_path, edit))


def test_a_missing_or_broken_rule_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        GuidelineRules.from_json(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="JSON"):
        GuidelineRules.from_json(broken)


@pytest.mark.parametrize(
    ("ref", "code", "reaches"),
    [
        ("(N18.1-N18.6)", "N18", True),
        ("(N18.1-N18.6)", "N18.30", True),
        ("(N18.1-N18.6)", "N18.9", False),
        ("(E10.-)", "E11", False),
        ("(E10.-)", "E10.9", True),
    ],
)
def test_reaches_names_a_code_or_one_under_it(ref, code, reaches):
    (parsed,) = parse_refs(ref)
    assert parsed.reaches(code) is reaches
