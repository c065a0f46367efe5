"""The guideline cases (tests/agent/golden/guideline_cases.json) coded by the offline reasoner on
the full code book: required-code micro-F1, the share of notes whose principal is acceptable,
the share with a forbidden code, and each case that misses.

Not a test: it prints figures. Run with `make bench-guidelines` or
`.venv/bin/python benchmarks/guideline_cases.py [--data-dir .coda]`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent.coder import open_coder
from agent.learning.guideline_cases import load_cases, score_suite
from agent.records import CodingOptions

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "agent" / "golden" / "guideline_cases.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--suite", type=Path, default=SUITE)
    args = parser.parse_args()
    cases = load_cases(args.suite)
    coder = open_coder(args.data_dir)
    coded = {}
    for case in cases:
        result = coder.code(case.note, CodingOptions(case.setting), note_id=case.id)
        coded[case.id] = [s.code for s in result.codes]
    score = score_suite(cases, coded)
    r = score.required
    print(f"{len(cases)} guideline cases, offline reasoner, no profile")
    print(f"  required codes  P {r.precision:.3f}  R {r.recall:.3f}  F1 {r.f1:.3f}  (TP {r.tp}, FP {r.fp}, FN {r.fn})")
    print(f"  principal right {score.principal_rate:.1%} of notes")
    print(f"  forbidden code  {score.forbidden_rate:.1%} of notes")
    for s in score.cases:
        if s.missing or s.extra or s.forbidden or not s.principal_right:
            print(
                f"  {s.case.id:<32} coded {' '.join(s.found) or '-'}"
                f" | missing {' '.join(sorted(s.missing)) or '-'}"
                f" | extra {' '.join(sorted(s.extra)) or '-'}"
                f" | forbidden {' '.join(sorted(s.forbidden)) or '-'}"
            )


if __name__ == "__main__":
    main()
