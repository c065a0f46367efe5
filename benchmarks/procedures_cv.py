"""Cross-validation on a corpus's train split of how it reports procedure codes
(`agent.procedures.conventions`): the notes are split into folds, the conventions are learned on
the other folds and applied to each fold's notes; micro P, R and F1 on full codes, zero-shot (the
builder's full codes) and with the conventions, for each setting they have: the minimum count a
key needs (`MIN_SEEN`) and the share of its notes below which a corpus is taken not to code what
Coda builds (`RARELY`; 0 keeps everything).

Only the procedure step runs (the ICD-10-PCS book and the note's reading), so a whole train split
takes some seconds. Not a test: it prints figures. Run with
`.venv/bin/python benchmarks/procedures_cv.py --data ../shared/datasets/codiesp [--data-dir .coda]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.learning.corpus import load_split
from agent.learning.metrics import micro
from agent.procedures import conventions
from agent.procedures.build import ProcedureCoder
from agent.procedures.conventions import Conventions, tally
from agent.reading.statements import analyze_note
from index.pcs.book import book_path
from index.pcs.bundled import PcsBook

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    notes = load_split(args.data, args.split, kind="P")
    coder = ProcedureCoder(PcsBook(book_path(args.data_dir)))
    built = {}
    for note in notes:
        analysis, _ = analyze_note(note.text)
        built[note.id] = coder.code(note.text, analysis)[0]
    gold = {n.id: set(n.codes) for n in notes}
    zero = micro(gold, {i: {p.code for p in b} for i, b in built.items()})
    print(f"{args.split}: {len(notes)} notes, {sum(len(g) for g in gold.values())} gold procedure codes")
    print(f"  zero-shot            P {zero.precision:.3f}  R {zero.recall:.3f}  F1 {zero.f1:.3f}")
    folds = [[n for i, n in enumerate(notes) if i % args.folds == fold] for fold in range(args.folds)]
    for min_seen in (1, 3, 5, 10):
        conventions.MIN_SEEN = min_seen
        for rarely in (0.0, 0.1, 0.2, 0.3):
            conventions.RARELY = rarely
            predicted: dict[str, set[str]] = {}
            for fold, held in enumerate(folds):
                rest = [n for f, part in enumerate(folds) if f != fold for n in part]
                learned: Conventions = tally((built[n.id], n.codes) for n in rest)
                for n in held:
                    predicted[n.id] = {learned.report(p).code for p in built[n.id] if learned.codes(p)[0]}
            s = micro(gold, predicted)
            print(
                f"  {args.folds}-fold, MIN_SEEN {min_seen:<3} RARELY {rarely:.1f}  "
                f"P {s.precision:.3f}  R {s.recall:.3f}  F1 {s.f1:.3f}"
            )


if __name__ == "__main__":
    main()
