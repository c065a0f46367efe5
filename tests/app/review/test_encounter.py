"""The stay's facts proposed from a discharge summary: only what the note states, with where it
came from; nothing assumed for the rest."""

from __future__ import annotations

import pytest

from app.review.encounter import propose_encounter
from app.review.intake import SAMPLES_DIR
from app.review.records import Encounter


def test_the_hip_fracture_sample_states_age_sex_and_disposition():
    note = (SAMPLES_DIR / "05-inpatient-hip-fracture.txt").read_text(encoding="utf-8")
    proposal = propose_encounter(note)
    assert proposal.encounter == Encounter(79, "F", "62", None, None)  # "Admitted: day 1" is no date
    assert proposal.reasons[0] == "age 79 from '79-year-old woman'"
    assert "discharge status 62" in proposal.reasons[-1] and "Inpatient rehabilitation" in proposal.reasons[-1]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("58 yo male admitted with chest pain.\nDISPOSITION: home.", Encounter(58, "M", "01")),
        ("Patient aged 70. He was discharged to a skilled nursing facility. He did well.", Encounter(70, "M", "03")),
        ("Disposition: expired on day 4 despite full support.", Encounter(None, None, "20")),
        ("DISPOSITION:\nHome with home health nursing.", Encounter(None, None, "06")),
        (
            "Admitted: 2026-03-02. Discharged: 03/07/2026. She was discharged home.",
            Encounter(None, None, "01", "2026-03-02", "2026-03-07"),
        ),
        ("Admission date: 2026-02-30.", Encounter()),  # no such day: not proposed
        ("Chest pain, troponin negative.", Encounter()),
        ("A 130-year-old record.", Encounter()),  # not an age a claim takes
    ],
)
def test_each_fact_is_proposed_only_where_the_note_states_it(note, expected):
    assert propose_encounter(note).encounter == expected


def test_pronouns_on_both_sides_propose_no_sex():
    assert propose_encounter("She said he had left. Her son and his wife came.").encounter.sex is None
