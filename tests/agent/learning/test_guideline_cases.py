"""Tests of the guideline suite itself (tests/agent/golden/guideline_cases.json) and of its scoring.

The suite is coded on the full code book by benchmarks/guideline_cases.py; here it is checked as
data: enough cases, every rule of issue 10 in at least two, every code a real FY2026 ICD-10-CM
code that can be billed, and scores computed as documented."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import simple_icd_10_cm as icd

from agent.learning.guideline_cases import load_cases, score_case, score_suite
from index.errors import DataError

SUITE = Path(__file__).parents[1] / "golden" / "guideline_cases.json"
RULES = {
    "combination", "partner", "symptoms", "uncertain", "acute_chronic", "sequela", "laterality", "seventh",
    "status_history", "long_term_drug", "chapter_sepsis", "chapter_copd", "chapter_neoplasm", "chapter_fracture",
    "chapter_hf", "chapter_aki", "chapter_poisoning", "external_cause", "principal",
}  # fmt: skip
CASES = load_cases(SUITE)


def test_the_suite_is_big_enough_and_covers_every_rule_twice():
    assert len(CASES) >= 40
    assert {c.setting for c in CASES} == {"inpatient", "outpatient"}
    counts = Counter(rule for c in CASES for rule in c.rules)
    assert set(counts) == RULES
    assert min(counts.values()) >= 2, counts


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_code_is_a_billable_fy2026_code(case):
    for code in case.required | case.optional | case.forbidden:
        assert icd.is_valid_item(code) and icd.is_leaf(code), f"{case.id}: {code}"


def test_a_perfect_claim_scores_perfectly_and_optional_codes_are_free():
    coded = {c.id: [min(c.principal), *sorted(c.required - {min(c.principal)}), *sorted(c.optional)] for c in CASES}
    score = score_suite(CASES, coded)
    assert (score.required.f1, score.principal_rate, score.forbidden_rate) == (1.0, 1.0, 0.0)


def test_a_claim_is_scored_code_by_code():
    case = next(c for c in CASES if c.id == "htn-ckd")  # I12.9 principal, N18.4; I10 forbidden
    s = score_case(case, ["I10", "N18.4", "E78.5"])
    assert (s.missing, s.extra, s.forbidden, s.principal_right) == (
        frozenset({"I12.9"}),
        frozenset({"I10", "E78.5"}),
        frozenset({"I10"}),
        False,
    )
    suite = score_suite([case], {case.id: ["I10", "N18.4", "E78.5"]})
    assert (suite.required.tp, suite.required.fp, suite.required.fn) == (1, 2, 1)
    assert suite.forbidden_rate == 1.0 and suite.principal_rate == 0.0


@pytest.mark.parametrize(
    "change",
    [
        {"setting": "emergency"},
        {"principal": ["Z00.00"]},
        {"forbidden": ["I12.9"]},
        {"required": []},
    ],
)
def test_a_malformed_case_is_refused_with_its_name(tmp_path, change):
    raw = json.loads(SUITE.read_text(encoding="utf-8"))
    case = next(c for c in raw["cases"] if c["id"] == "htn-ckd")
    case.update(change)
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"cases": [case]}), encoding="utf-8")
    with pytest.raises(DataError, match="htn-ckd"):
        load_cases(path)
