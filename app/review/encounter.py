"""The stay's facts an inpatient claim needs beyond its codes (age, sex, discharge status, dates of
admission and discharge), proposed from the words of a discharge summary for the coder to confirm.

Each fact is proposed only where the note states it ("79-year-old woman", "DISPOSITION: Inpatient
rehabilitation", "Admitted: 2026-03-02") and says where it came from; a fact the note does not
state stays None, for the coder to set: nothing is assumed. The cues are data
(`app/data/encounter.json`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from app.review.records import DISCHARGE_STATUSES, Encounter

RULES_PATH = Path(__file__).resolve().parents[1] / "data" / "encounter.json"

_AGE = re.compile(
    r"\b(?P<age>\d{1,3})(?:[- ]?(?:year|yr)s?[- ]old|\s?(?:y/o|yo|y\.o\.))(?:\s+(?P<who>[A-Za-z]+))?", re.IGNORECASE
)
_AGED = re.compile(r"\b(?:aged|age:?)\s+(?P<age>\d{1,3})\b", re.IGNORECASE)
_DATE = r"(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})"
_ADMITTED = re.compile(r"\b(?:admitted|admission date|date of admission)\s*:?\s*(?:on\s+)?" + _DATE, re.IGNORECASE)
_DISCHARGED = re.compile(r"\b(?:discharged|discharge date|date of discharge)\s*:?\s*(?:on\s+)?" + _DATE, re.IGNORECASE)


@dataclass(frozen=True)
class EncounterRules:
    headings: tuple[str, ...]
    discharge_cues: tuple[tuple[str, tuple[str, ...]], ...]  # (status, cues), first match wins
    female: frozenset[str]
    male: frozenset[str]

    @classmethod
    def from_json(cls, path: Path) -> EncounterRules:
        data = json.loads(path.read_text(encoding="utf-8"))
        cues = tuple((c["status"], tuple(c["cues"])) for c in data["discharge_cues"])
        unknown = [status for status, _ in cues if status not in DISCHARGE_STATUSES]
        if unknown:
            raise ValueError(f"{path}: discharge status {unknown[0]} is not a UB-04 patient discharge status")
        return cls(
            tuple(data["disposition_headings"]), cues, frozenset(data["female_words"]), frozenset(data["male_words"])
        )


@cache
def rules() -> EncounterRules:
    return EncounterRules.from_json(RULES_PATH)


@dataclass(frozen=True)
class EncounterProposal:
    encounter: Encounter
    reasons: tuple[str, ...]  # one per fact proposed: "age 79 from '79-year-old woman'"


def propose_encounter(note: str) -> EncounterProposal:
    """The facts of the stay that the note states, each with where it came from."""
    reasons: list[str] = []
    age, sex = _age_and_sex(note, reasons)
    status = _discharge_status(note, reasons)
    admitted = _date(_ADMITTED, note, "admitted", reasons)
    discharged = _date(_DISCHARGED, note, "discharged", reasons)
    return EncounterProposal(Encounter(age, sex, status, admitted, discharged), tuple(reasons))


def _age_and_sex(note: str, reasons: list[str]) -> tuple[int | None, str | None]:
    age = sex = None
    found = _AGE.search(note) or _AGED.search(note)
    if found and 0 <= int(found["age"]) <= 124:
        age = int(found["age"])
        reasons.append(f"age {age} from {found.group(0).strip()!r}")
        who = (found.groupdict().get("who") or "").lower()
        sex = "F" if who in rules().female else "M" if who in rules().male else None
        if sex:
            reasons.append(f"sex {sex} from {found.group(0).strip()!r}")
    if sex is None:
        words = re.findall(r"[a-z]+", note.lower())
        female = sum(w in rules().female for w in words)
        male = sum(w in rules().male for w in words)
        if female >= 2 and male == 0:
            sex = "F"
        elif male >= 2 and female == 0:
            sex = "M"
        if sex:
            reasons.append(f"sex {sex} from the note's {max(female, male)} words for the patient")
    return age, sex


def _discharge_status(note: str, reasons: list[str]) -> str | None:
    for text in _disposition_lines(note):
        lowered = text.lower()
        for status, cues in rules().discharge_cues:
            cue = next((c for c in cues if re.search(rf"\b{re.escape(c)}\b", lowered)), None)
            if cue:
                reasons.append(f"discharge status {status} ({DISCHARGE_STATUSES[status]}) from {text.strip()!r}")
                return status
    return None


def _disposition_lines(note: str) -> list[str]:
    """The lines that say where the patient went: under a disposition heading, then any "discharged to"."""
    lines = note.splitlines()
    out = []
    for i, line in enumerate(lines):
        head = line.strip().lower()
        heading = next((h for h in rules().headings if head.startswith(h)), None)
        if heading:
            rest = line.strip()[len(heading) :].lstrip(" :").strip()
            out.append(rest or (lines[i + 1] if i + 1 < len(lines) else ""))
    out += [line for line in lines if re.search(r"\bdischarged (?:to|home)\b|\btransferred to\b", line, re.I)]
    return [line for line in out if line.strip()]


def _date(pattern: re.Pattern[str], note: str, what: str, reasons: list[str]) -> str | None:
    found = pattern.search(note)
    if not found:
        return None
    text = found.group(1)
    try:
        if "-" in text:
            day = date.fromisoformat(text)
        else:
            month, dd, year = (int(part) for part in text.split("/"))
            day = date(year, month, dd)
    except ValueError:
        return None
    reasons.append(f"{what} {day.isoformat()} from {found.group(0).strip()!r}")
    return day.isoformat()
