"""Evaluation figures for a coder against gold codes: micro and macro scores, full-code and
category-level (3-character), and latency percentiles.

Conventions, used throughout:
- The evaluated notes are the keys of `gold`; a note missing from `predicted` counts as
  predicted with no codes, and a predicted note that is not in `gold` is an error (ValueError),
  as it almost always means mismatched ids.
- Codes are compared after stripping whitespace and upper-casing ("n44.8" == "N44.8"); the
  dot is not touched, so "N448" and "N44.8" differ.
- A ratio whose denominator is 0 is 0.0 (precision with no predictions, recall with no gold,
  F1 when both are 0).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "Scores",
    "category",
    "evaluate",
    "macro_f1",
    "micro",
    "percentile",
    "to_categories",
]

Codes = Mapping[str, Iterable[str]]


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> Scores:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0  # = 2PR / (P + R)
        return cls(precision, recall, f1, tp, fp, fn)


def _normalise(code: str) -> str:
    return code.strip().upper()


def _pairs(gold: Codes, predicted: Codes) -> list[tuple[set[str], set[str]]]:
    """(gold codes, predicted codes) for each evaluated note, codes normalised."""
    extra = sorted(set(predicted) - set(gold))
    if extra:
        shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
        raise ValueError(f"{len(extra)} predicted notes are not in the gold: {shown}")
    return [
        ({_normalise(c) for c in codes}, {_normalise(c) for c in predicted.get(note_id, ())})
        for note_id, codes in gold.items()
    ]


def micro(gold: Codes, predicted: Codes) -> Scores:
    """Micro-averaged scores: true positives, false positives and false negatives are counted
    over all (note, code) pairs of the evaluated notes, then turned into P, R and F1."""
    tp = fp = fn = 0
    for gold_codes, predicted_codes in _pairs(gold, predicted):
        tp += len(gold_codes & predicted_codes)
        fp += len(predicted_codes - gold_codes)
        fn += len(gold_codes - predicted_codes)
    return Scores.from_counts(tp, fp, fn)


def macro_f1(gold: Codes, predicted: Codes) -> float:
    """Macro F1: the mean, over every code in the gold of the evaluated notes, of that code's
    F1 (its true positives, false positives and false negatives counted over the notes).

    Codes that are only ever predicted, never gold, get no term of their own, so their false
    positives lower micro precision but not this figure; this is the usual "macro over gold
    labels" convention. With no gold codes at all the result is 0.0.
    """
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for gold_codes, predicted_codes in _pairs(gold, predicted):
        tp.update(gold_codes & predicted_codes)
        fp.update(predicted_codes - gold_codes)
        fn.update(gold_codes - predicted_codes)
    labels = set(tp) | set(fn)  # every gold code is either found or missed somewhere
    if not labels:
        return 0.0
    return sum(Scores.from_counts(tp[c], fp[c], fn[c]).f1 for c in labels) / len(labels)


def category(code: str, length: int = 3) -> str:
    """The category of a code, upper case: its first 3 characters for ICD-10-CM ("e11.22" ->
    "E11"), or the first `length` (4 for ICD-10-PCS: the table and body part)."""
    normalised = _normalise(code)
    if not normalised:
        raise ValueError("an empty code has no category")
    return normalised[:length]


def to_categories(codes: Iterable[str], length: int = 3) -> set[str]:
    """The set of categories of `codes`."""
    return {category(code, length) for code in codes}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) by the nearest-rank method: the smallest value
    such that at least q% of the values are less than or equal to it, that is the value of
    rank ceil(q / 100 * n) in ascending order (rank 1 for q = 0). Never interpolates, so the
    result is always one of `values`. Raises ValueError for no values or q out of range."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered) / 100))  # not q / 100 * n: 7 / 100 * 100 == 7.000000000000001
    return ordered[rank - 1]


def _scores_dict(scores: Scores) -> dict[str, float | int]:
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(scores).items()}


def evaluate(gold: Codes, predicted: Codes, latencies_ms: Sequence[float], category_length: int = 3) -> dict:
    """The figures of one run, ready for JSON.

    `{"notes", "full", "category", "macro_f1", "macro_f1_category", "latency_ms"}`, where
    "full" and "category" hold precision, recall, f1 (micro), tp, fp and fn on full codes and
    on categories (their first `category_length` characters), and latency_ms holds p50 and p95
    (nearest rank) and the mean. Scores are rounded to 4 decimals, latencies to 1; with no
    latencies those are None.
    """
    gold_categories = {note_id: to_categories(codes, category_length) for note_id, codes in gold.items()}
    predicted_categories = {note_id: to_categories(codes, category_length) for note_id, codes in predicted.items()}
    if latencies_ms:
        latency = {
            "p50": round(float(percentile(latencies_ms, 50)), 1),
            "p95": round(float(percentile(latencies_ms, 95)), 1),
            "mean": round(float(sum(latencies_ms)) / len(latencies_ms), 1),
        }
    else:
        latency = {"p50": None, "p95": None, "mean": None}
    return {
        "notes": len(gold),
        "full": _scores_dict(micro(gold, predicted)),
        "category": _scores_dict(micro(gold_categories, predicted_categories)),
        "macro_f1": round(macro_f1(gold, predicted), 4),
        "macro_f1_category": round(macro_f1(gold_categories, predicted_categories), 4),
        "latency_ms": latency,
    }


def restrict(codes: Codes, keep: Callable[[str], bool]) -> dict[str, set[str]]:
    """Each note's codes that `keep` accepts (the gold of the sections a code book holds, say)."""
    return {note_id: {c for c in note_codes if keep(c)} for note_id, note_codes in codes.items()}
