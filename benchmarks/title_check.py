"""Check of the offline reasoner over the whole code book: does each billable code's own title,
written as a one-line note, get coded?

A title is the plainest statement of its condition a note can make, so a title that gets no
code at all points at a rule that cancels a code (a near-identical sibling such as "... in
remission" knocking out the plain code, a denied longer term subsuming the affirmed shorter
one). It prints counts and the codes that fail, grouped by category; the cases it finds are
added to the tests (tests/agent/test_graph.py). Not a test: it takes minutes over the full
store. Run with `.venv/bin/python benchmarks/title_check.py [--data-dir .coda] [--limit N]`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent.coder import open_coder
from agent.records import CodingOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".coda"))
    parser.add_argument("--limit", type=int, help="check only the first N billable codes")
    parser.add_argument("--show", type=int, default=60, help="failures listed by code")
    args = parser.parse_args()
    coder = open_coder(args.data_dir, dense=False)
    store = coder.deps.store
    codes = sorted(store.billable_codes())[: args.limit]
    records = store.codes(codes)
    options = CodingOptions("inpatient")
    nothing: list[tuple[str, str, str]] = []
    other = 0
    started = time.perf_counter()
    for i, code in enumerate(codes, 1):
        title = records[code].title
        result = coder.code(f"{title}.", options, note_id=code)
        found = {s.code for s in result.codes}
        if not found:
            why = next((c.reason for c in result.candidates if c.code[:3] == code[:3]), "no candidate in its category")
            nothing.append((code, title, why))
        elif code not in found:
            other += 1
        if i % 5000 == 0:
            print(f"  {i}/{len(codes)} titles, {len(nothing)} with no code", flush=True)
    seconds = time.perf_counter() - started
    print(f"{len(codes)} billable codes checked in {seconds:.0f} s ({1000 * seconds / max(len(codes), 1):.1f} ms each)")
    print(f"  coded as itself or with other codes: {len(codes) - len(nothing) - other}")
    print(f"  coded, but not as itself: {other}")
    print(f"  no code at all: {len(nothing)}")
    reasons = Counter(why.split(":")[0] for _, _, why in nothing)
    for why, n in reasons.most_common(10):
        print(f"    {n:6d}  {why}")
    for code, title, why in nothing[: args.show]:
        print(f"  {code:<9} {title[:70]:<70}  {why[:80]}")


if __name__ == "__main__":
    main()
