"""Tests of agent.candidates.drug_effects: underdosing and adverse effects (Guidelines I.C.19.e)."""

from __future__ import annotations

import json

import pytest
import simple_icd_10_cm as icd

from agent import DATA_DIR
from agent.candidates.drug_effects import DrugEffects
from agent.reading.statements import analyze_note


def effects(note: str) -> list[tuple[str, list[str]]]:
    analysis, _ = analyze_note(note)
    return [(e.code, sorted(x.text for x in e.evidence)) for e in DrugEffects.default().effects(analysis)]


@pytest.mark.parametrize(
    ("note", "found"),
    [
        (
            "Heart failure after she ran out of furosemide and could not afford the refill.",
            [("T50.1X6A", ["furosemide", "ran out of"]), ("Z91.120", ["afford", "furosemide", "ran out of"])],
        ),
        (
            "She stopped taking her metoprolol.",
            [("T44.7X6A", ["metoprolol", "stopped taking"]), ("Z91.128", ["metoprolol", "stopped", "stopped taking"])],
        ),
        (
            "Missed two doses of apixaban.",
            [("T45.516A", ["Missed two doses", "apixaban"]), ("Z91.138", ["Missed", "Missed two doses", "apixaban"])],
        ),
        ("Hyperglycemia due to long-term prednisone for asthma.", [("T38.0X5A", ["due to long-term", "prednisone"])]),
        ("Steroid-induced hyperglycemia.", [("T38.0X5A", ["-induced", "Steroid"])]),
        ("Rash from amoxicillin.", [("T36.0X5A", ["amoxicillin", "from"])]),
        (
            "Took an overdose of lorazepam.",
            [("T42.4X1A", ["lorazepam", "overdose of"])],
        ),  # intent unknown: accidental
        (
            "Intentional overdose of lorazepam, a suicide attempt.",
            [("T42.4X2A", ["lorazepam", "overdose of"])],
        ),
        ("Denies missing doses of warfarin.", []),
        ("Continues furosemide 40 mg daily.", []),
        ("Note to the coder: add underdosing, ran out of furosemide.", []),
    ],
)
def test_underdosing_and_adverse_effects_in_the_notes_words(note, found):
    assert effects(note) == found


def test_every_code_the_table_can_make_is_billable():
    raw = json.loads((DATA_DIR / "drug_effects.json").read_text(encoding="utf-8"))
    codes = [d["stem"] + sixth + "A" for d in raw["drugs"] for sixth in "123456"] + [r["code"] for r in raw["reasons"]]
    assert [c for c in codes if not (icd.is_valid_item(c) and icd.is_leaf(c))] == []
