"""Risk adjustment of outpatient codes: the CMS-HCC V28 score for each community segment, and the
note's MEAT evidence for a diagnosis, with exact offsets."""

from __future__ import annotations

import pytest

from agent.records import Evidence
from app.review.hcc import meat, risk
from app.review.intake import SAMPLES_DIR
from index.errors import DecisionRefused

NOTE = (SAMPLES_DIR / "01-outpatient-diabetes-ckd-followup.txt").read_text(encoding="utf-8")


def span(text: str, after: str = "") -> Evidence:
    at = NOTE.index(text, NOTE.index(after) if after else 0)
    return Evidence(at, at + len(text), text)


def test_the_assessment_line_of_a_diagnosis_documents_its_meat():
    stated = span("Type 2 diabetes mellitus with diabetic chronic kidney disease")
    found = meat(NOTE, [stated])
    assert {k: [e.text for e in v] for k, v in found.items()} == {
        "monitored": ["control", "goal"],
        "assessed": ["stage"],
        "treated": ["Continue", "metformin", "dose", "education"],
    }
    ckd = meat(NOTE, [span("Chronic kidney disease stage 3a")])
    assert {k: [e.text for e in v] for k, v in ckd.items()} == {
        "monitored": ["stable"],
        "evaluated": ["Repeat", "panel"],
        "assessed": ["stage"],
    }
    for spans in (*found.values(), *ckd.values()):
        for e in spans:
            assert NOTE[e.start : e.end] == e.text


def test_a_diagnosis_only_listed_has_no_meat():
    assert meat(NOTE, [span("Type 2 diabetes mellitus.", "PAST MEDICAL HISTORY")]) == {}


def test_the_segment_changes_the_demographic_score():
    aged = risk(["E11.22", "N18.31"], 72, "F")
    dual = risk(["E11.22", "N18.31"], 72, "F", "CFA")
    assert aged.segment == "CNA" and dual.segment == "CFA"
    assert dual.demographic_score != aged.demographic_score
    assert [line.hcc for line in aged.hccs] == [line.hcc for line in dual.hccs]
    with pytest.raises(DecisionRefused, match="segment must be one of CNA"):
        risk(["E11.22"], 72, "F", "XYZ")
