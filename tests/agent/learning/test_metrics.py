"""Tests of agent.metrics, with exact figures on small hand-made gold and predictions."""

from __future__ import annotations

import json

import pytest

from agent.learning.metrics import Scores, category, evaluate, macro_f1, micro, percentile, to_categories

# a: one hit (I10), one wrong code in the right category (E11.9 for E11.22)
# b: one hit and one false positive; c: no gold, one false positive
# d: one miss, and no prediction at all (missing from PREDICTED: counts as empty)
GOLD = {"a": {"E11.22", "I10"}, "b": {"N44.8"}, "c": set(), "d": {"E11.65"}}
PREDICTED = {"a": {"E11.9", "i10"}, "b": {"N44.8", "R52"}, "c": {"Z00.00"}}


def test_micro_full_codes() -> None:
    scores = micro(GOLD, PREDICTED)
    assert (scores.tp, scores.fp, scores.fn) == (2, 3, 2)  # "i10" matches "I10"
    assert scores.precision == pytest.approx(2 / 5)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(4 / 9)


def test_micro_categories() -> None:
    gold = {k: to_categories(v) for k, v in GOLD.items()}
    predicted = {k: to_categories(v) for k, v in PREDICTED.items()}
    assert micro(gold, predicted) == Scores(precision=0.6, recall=0.75, f1=pytest.approx(2 / 3), tp=3, fp=2, fn=1)


def test_micro_edge_cases() -> None:
    assert micro({}, {}) == Scores(0.0, 0.0, 0.0, 0, 0, 0)
    assert micro({"a": {"I10"}}, {}) == Scores(0.0, 0.0, 0.0, 0, 0, 1)
    assert micro({"a": set()}, {"a": {"I10"}}) == Scores(0.0, 0.0, 0.0, 0, 1, 0)
    assert micro({"a": {"I10"}}, {"a": {"I10"}}) == Scores(1.0, 1.0, 1.0, 1, 0, 0)
    with pytest.raises(ValueError, match="1 predicted notes are not in the gold: z"):
        micro({"a": {"I10"}}, {"a": {"I10"}, "z": {"R52"}})


def test_macro_f1() -> None:
    # gold codes E11.22 (F1 0), I10 (1), N44.8 (1), E11.65 (0); R52, E11.9, Z00.00 get no term
    assert macro_f1(GOLD, PREDICTED) == pytest.approx(0.5)
    gold = {k: to_categories(v) for k, v in GOLD.items()}
    predicted = {k: to_categories(v) for k, v in PREDICTED.items()}
    # E11: tp 1 (a), fn 1 (d) -> 2/3; I10 -> 1; N44 -> 1
    assert macro_f1(gold, predicted) == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert macro_f1({"a": set()}, {"a": {"I10"}}) == 0.0
    # a code's F1 counts over notes: I10 found in a, missed in b, wrongly given in c
    gold2 = {"a": {"I10"}, "b": {"I10"}, "c": set()}
    predicted2 = {"a": {"I10"}, "b": set(), "c": {"I10"}}
    assert macro_f1(gold2, predicted2) == pytest.approx(2 / (2 + 1 + 1))


def test_category() -> None:
    assert category("E11.22") == "E11"
    assert category("e11.22") == "E11"
    assert category(" n44.8 ") == "N44"
    assert category("R52") == "R52"
    assert category("bw03zzz") == "BW0"
    assert to_categories(["E11.22", "e11.9", "I10"]) == {"E11", "I10"}
    assert to_categories([]) == set()
    with pytest.raises(ValueError):
        category(" ")


def test_percentile_nearest_rank() -> None:
    values = [50, 15, 40, 20, 35]  # the textbook example, unsorted
    assert [percentile(values, q) for q in (0, 5, 30, 40, 50, 100)] == [15, 15, 20, 20, 35, 50]
    assert percentile([7.5], 95) == 7.5
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile(list(range(1, 21)), 95) == 19
    assert percentile(list(range(1, 101)), 7) == 7  # exact ranks, no float drift
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


def test_evaluate() -> None:
    result = evaluate(GOLD, PREDICTED, [100, 1000, 300, 200, 400.04])
    assert result == {
        "notes": 4,
        "full": {"precision": 0.4, "recall": 0.5, "f1": 0.4444, "tp": 2, "fp": 3, "fn": 2},
        "category": {"precision": 0.6, "recall": 0.75, "f1": 0.6667, "tp": 3, "fp": 2, "fn": 1},
        "macro_f1": 0.5,
        "macro_f1_category": 0.8889,
        "latency_ms": {"p50": 300.0, "p95": 1000.0, "mean": 400.0},
    }
    assert json.loads(json.dumps(result)) == result


def test_evaluate_without_latencies() -> None:
    result = evaluate({"a": {"I10"}}, {"a": {"I10"}}, [])
    assert result["latency_ms"] == {"p50": None, "p95": None, "mean": None}
    assert result["full"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "fp": 0, "fn": 0}
    assert result["macro_f1"] == result["macro_f1_category"] == 1.0
