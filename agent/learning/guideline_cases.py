"""Guideline cases: short notes written to the Official Guidelines, each with the codes a
certified coder assigns, and how a coder's claim is scored against them.

A case names the acceptable principal (or first-listed) diagnoses, the codes required on the
claim, optional codes where coders differ, and forbidden codes. The score of a run is the
micro-F1 of the required codes (an optional code is neither a hit nor a false positive), the
share of notes whose principal is acceptable, and the share of notes with a forbidden code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.learning.metrics import Scores
from agent.records import SETTINGS, Setting
from index.data_files import rule_file
from index.errors import DataError

__all__ = ["GuidelineCase", "SuiteScore", "load_cases", "score_case", "score_suite"]


@dataclass(frozen=True)
class GuidelineCase:
    id: str
    setting: Setting
    rules: tuple[str, ...]
    cite: str
    note: str
    principal: frozenset[str]
    required: frozenset[str]
    optional: frozenset[str]
    forbidden: frozenset[str]


@dataclass(frozen=True)
class CaseScore:
    case: GuidelineCase
    found: tuple[str, ...]  # the codes coded, principal first
    missing: frozenset[str]
    extra: frozenset[str]  # coded, neither required nor optional
    forbidden: frozenset[str]  # coded and forbidden

    @property
    def principal_right(self) -> bool:
        return bool(self.found) and self.found[0] in self.case.principal


@dataclass(frozen=True)
class SuiteScore:
    required: Scores
    principal_rate: float
    forbidden_rate: float
    cases: tuple[CaseScore, ...]


def load_cases(path: str | Path) -> list[GuidelineCase]:
    """The cases of a suite file; DataError naming the case for a malformed one."""
    with rule_file(path) as data:
        cases = []
        for raw in data["cases"]:
            case = GuidelineCase(
                id=str(raw["id"]),
                setting=raw["setting"],
                rules=tuple(raw["rules"]),
                cite=str(raw["cite"]),
                note=str(raw["note"]),
                principal=frozenset(raw["principal"]),
                required=frozenset(raw["required"]),
                optional=frozenset(raw["optional"]),
                forbidden=frozenset(raw["forbidden"]),
            )
            _check(case, path)
            cases.append(case)
    if len({c.id for c in cases}) != len(cases):
        raise DataError(f"guideline cases {path}: case ids repeat")
    return cases


def _check(case: GuidelineCase, path: str | Path) -> None:
    where = f"guideline case {case.id} in {path}"
    if case.setting not in SETTINGS:
        raise DataError(f"{where}: setting {case.setting!r} is not one of {', '.join(SETTINGS)}")
    if not case.note.strip() or not case.required or not case.principal:
        raise DataError(f"{where}: needs a note, required codes and an acceptable principal")
    if not case.principal <= case.required:
        raise DataError(f"{where}: an acceptable principal must be among the required codes")
    clash = (case.required | case.optional) & case.forbidden
    if clash:
        raise DataError(f"{where}: {', '.join(sorted(clash))} both expected and forbidden")


def score_case(case: GuidelineCase, coded: Sequence[str]) -> CaseScore:
    """How `coded` (principal first) meets the case."""
    found = set(coded)
    return CaseScore(
        case,
        tuple(coded),
        case.required - found,
        frozenset(found - case.required - case.optional),
        frozenset(found & case.forbidden),
    )


def score_suite(cases: Sequence[GuidelineCase], coded: Mapping[str, Sequence[str]]) -> SuiteScore:
    """The suite's figures for `coded` (case id -> codes, principal first)."""
    scores = tuple(score_case(case, coded.get(case.id, ())) for case in cases)
    tp = sum(len(s.case.required) - len(s.missing) for s in scores)
    fn = sum(len(s.missing) for s in scores)
    fp = sum(len(s.extra) for s in scores)
    n = max(len(scores), 1)
    return SuiteScore(
        Scores.from_counts(tp, fp, fn),
        sum(s.principal_right for s in scores) / n,
        sum(bool(s.forbidden) for s in scores) / n,
        scores,
    )
