"""The rejected candidates a coder reads: at most about twenty, the closest first, each with why,
and never one the patient cannot have (a pregnancy code for a patient who is not pregnant, a code
of another age group or sex, a war operation nobody mentioned).

"Closest" is the locate step's score of the candidate the code came from (the code itself, or
the code above or below it that was located); a code the reasoner proposed without a located
candidate of its own counts as closest of all. What cannot be: the Medicare Code Editor's age
and sex edits against the age and sex the note gives (`agent.guidelines.mce`), and the codes
listed only when the note carries a cue (`agent/data/shortlist.json`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType

from agent import DATA_DIR
from agent.deciding.walk import PatientCues
from agent.guidelines.mce import CodePrefixes, MceEdits
from agent.records import Candidate, Rejected
from index.data_files import rule_file
from index.model import code_key

SHORTLIST_FILE = DATA_DIR / "shortlist.json"
_NO_REASON = "the agent did not choose it"


@dataclass(frozen=True)
class Patient:
    """What the note says of the patient that rules codes out: age in years (0 under one year),
    sex, and the cues it carries ("pregnancy", "newborn", "military", ...)."""

    age: int | None = None
    sex: str | None = None  # female | male
    cues: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Need:
    """Codes listed only when the note carries `cue`: a prefix list, or an MCE age group."""

    cue: str
    what: str
    codes: CodePrefixes = field(default_factory=CodePrefixes)
    mce_age: str = ""

    def covers(self, code: str, mce: MceEdits) -> bool:
        if self.mce_age:
            group = mce.age_group(code)
            return group is not None and group.name == self.mce_age
        return code in self.codes


@dataclass(frozen=True)
class ShortlistRules:
    limit: int
    ages: tuple[tuple[re.Pattern[str], str], ...]  # (pattern, unit)
    cues: Mapping[str, re.Pattern[str]] = field(hash=False)
    needs: tuple[Need, ...]

    @classmethod
    def from_json(cls, path: str | Path) -> ShortlistRules:
        with rule_file(path) as raw:
            ages = tuple((re.compile(a["pattern"], re.IGNORECASE), a["unit"]) for a in raw["age"])
            if any(unit not in ("years", "under_one") for _, unit in ages):
                raise ValueError("an age pattern's unit is 'years' or 'under_one'")
            cues = {name: re.compile(rf"\b(?:{p})\b", re.IGNORECASE) for name, p in raw["cues"].items()}
            needs = tuple(
                Need(n["cue"], n["what"], CodePrefixes.of(n.get("codes", ())), n.get("mce_age", ""))
                for n in raw["needs"]
            )
            if any(n.cue not in cues for n in needs):
                raise ValueError("a need names a cue that 'cues' does not define")
            return cls(int(raw["limit"]), ages, MappingProxyType(cues), needs)

    @classmethod
    @cache
    def default(cls) -> ShortlistRules:
        return cls.from_json(SHORTLIST_FILE)

    def patient(self, note: str) -> Patient:
        """The patient as the note describes them."""
        age = None
        for pattern, unit in self.ages:
            found = pattern.search(note)
            if found:
                age = 0 if unit == "under_one" else int(found.group(1))
                break
        cues = frozenset(name for name, pattern in self.cues.items() if pattern.search(note))
        sex = next(iter(PatientCues.default().of(note)), "female" if "pregnancy" in cues else None)
        return Patient(age, sex, cues)


def impossible(code: str, patient: Patient, rules: ShortlistRules, mce: MceEdits) -> str | None:
    """Why the patient cannot have `code`, or None when they may."""
    group = mce.age_group(code)
    if patient.age is not None and group is not None and not group.fits(patient.age):
        return f"a {group.name} code ({group.low}-{group.high} years) for a patient aged {patient.age}"
    sex = mce.sex_of(code)
    if patient.sex is not None and sex is not None and sex != patient.sex:
        return f"a code for {sex} patients, and the patient is {patient.sex}"
    for need in rules.needs:
        if need.cue not in patient.cues and need.covers(code, mce):
            return f"{need.what}, and the note says nothing of it ({need.cue})"
    return None


def _closeness(rejected: Rejected, located: dict[str, float]) -> float:
    """The score of the located candidate the code came from; above every score when none."""
    key = code_key(rejected.code)
    if key in located:
        return located[key]
    related = [score for k, score in located.items() if key.startswith(k) or k.startswith(key)]
    return max(related) if related else float("inf")


def shortlist(
    rejected: Iterable[Rejected],
    candidates: Iterable[Candidate],
    note: str,
    limit: int | None = None,
    rules: ShortlistRules | None = None,
) -> list[Rejected]:
    """The rejected candidates to show: each code once (its first reason), none the patient cannot
    have, the closest first, at most `limit` (the rule file's, 20, by default)."""
    rules = rules or ShortlistRules.default()
    mce = MceEdits.default()
    patient = rules.patient(note)
    located: dict[str, float] = {}
    for c in candidates:
        located[code_key(c.code)] = max(located.get(code_key(c.code), float("-inf")), c.score)
    kept: dict[str, Rejected] = {}
    for r in rejected:
        if code_key(r.code) in kept or impossible(r.code, patient, rules, mce) is not None:
            continue
        kept[code_key(r.code)] = r if r.reason else replace(r, reason=_NO_REASON)
    ranked = sorted(kept.values(), key=lambda r: -_closeness(r, located))  # stable: ties keep their order
    return ranked[: rules.limit if limit is None else limit]
