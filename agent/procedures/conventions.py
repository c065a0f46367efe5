"""How a site reports procedure codes, learned from its coded notes: CodiEsp's coders, for one,
give only the first four characters (table and body part) when a note does not document the
approach, device or qualifier. `coda learn --kind procedures` counts, for each code Coda builds
on a training note that a gold code shares the first four characters with, whether the gold
stopped there, per table and body part and per whether Coda had to assume a character; and for
each table and body part Coda builds, on how many of those notes the gold has it at all (a
corpus may never code an eye examination). A profile then reports codes the way that corpus
does. Nothing here is hard-coded for a corpus: with no profile, or one that learned full codes
and codes what Coda builds, the built codes are given as they are.

Stored as `procedures.json` in the profile's folder (JSON only: nothing in it runs when loaded).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.procedures.build import ProcedureCoder
from agent.reading.statements import analyze_note
from agent.records import ProcedureSuggestion, Step
from index.errors import DataError

PROCEDURES_FILE = "procedures.json"
FORMAT = "coda-procedures/1"
MIN_SEEN = 5  # codes a key must have been seen on before its share counts (chosen by 5-fold CV on CodiEsp train)
PARTIAL = 4  # characters a partial code keeps
RARELY = 0.2  # below this share of its training notes, a corpus is taken not to code a built procedure (5-fold CV)


def keys(suggestion: ProcedureSuggestion) -> list[str]:
    """From the most specific to the most general: the table and body part, the table, the
    section, anything; each with whether a character was assumed (not documented)."""
    assumed = int(any(a.basis.startswith("not documented") for a in suggestion.axes[PARTIAL:]))
    code = suggestion.code
    return [f"{code[:4]}|{assumed}", f"{code[:3]}|{assumed}", f"{code[:1]}|{assumed}", f"*|{assumed}"]


@dataclass
class Conventions:
    partial: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (gold stopped at 4, seen)
    coded: dict[str, tuple[int, int]] = field(default_factory=dict)  # first 4 -> (gold has it, built)

    def codes(self, suggestion: ProcedureSuggestion) -> tuple[bool, str]:
        """Whether this corpus codes what Coda built here, and if not why: a table and body part
        built on at least MIN_SEEN training notes whose gold has it on fewer than RARELY of them
        (an eye examination a corpus never codes, say)."""
        hits, built = self.coded.get(suggestion.code[:PARTIAL], (0, 0))
        if built >= MIN_SEEN and hits < RARELY * built:
            return False, f"the profile's corpus rarely codes it ({hits} of {built} training notes where it was built)"
        return True, ""

    def report(self, suggestion: ProcedureSuggestion) -> ProcedureSuggestion:
        """The suggestion as this corpus reports it: its first four characters where the corpus
        mostly stops there, else unchanged."""
        for key in keys(suggestion):
            stopped, seen = self.partial.get(key, (0, 0))
            if seen >= MIN_SEEN:
                if 2 * stopped < seen:
                    return suggestion
                axes = suggestion.axes[:PARTIAL]
                step = Step(
                    "profile",
                    f"reported as its first {PARTIAL} characters: the profile's corpus stops there "
                    f"({stopped} of {seen} such codes in its training notes)",
                )
                return replace(
                    suggestion,
                    code=suggestion.code[:PARTIAL],
                    title=f"{axes[2].meaning}, {axes[3].meaning}",
                    axes=axes,
                    reasoning=(*suggestion.reasoning, step),
                )
        return suggestion

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = {
            "format": FORMAT,
            "partial": {k: list(v) for k, v in sorted(self.partial.items())},
            "coded": {k: list(v) for k, v in sorted(self.coded.items())},
        }
        (folder / PROCEDURES_FILE).write_text(json.dumps(data, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Conventions | None:
        """The conventions a profile learned; None when it learned none."""
        path = folder / PROCEDURES_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"not format {FORMAT}")
            partial = {str(k): (int(v[0]), int(v[1])) for k, v in data["partial"].items()}
            coded = {str(k): (int(v[0]), int(v[1])) for k, v in data.get("coded", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise DataError(
                f"{path} cannot be read ({exc}); learn it again with: coda learn --kind procedures"
            ) from exc
        return cls(partial, coded)


def learn_conventions(coder: ProcedureCoder, notes: Iterable[tuple[str, frozenset[str]]]) -> Conventions:
    """Count, over the training notes (text, gold codes), how often the gold stops at four
    characters where Coda builds a code with the same first four."""
    built = []
    for text, gold in notes:
        analysis, _ = analyze_note(text)
        built.append((coder.code(text, analysis)[0], gold))
    return tally(built)


def tally(notes: Iterable[tuple[list[ProcedureSuggestion], frozenset[str]]]) -> Conventions:
    """The counts over notes already built: (the procedures Coda built, the gold codes)."""
    stopped: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    built_on: Counter[str] = Counter()
    for built, gold in notes:
        for prefix in {s.code[:PARTIAL] for s in built}:
            built_on[prefix] += 1
            hits[prefix] += any(g.startswith(prefix) for g in gold)
        for suggestion in built:
            prefix = suggestion.code[:PARTIAL]
            matches = [g for g in gold if g.startswith(prefix)]
            if not matches:
                continue
            partial = prefix in matches
            for key in keys(suggestion):
                seen[key] += 1
                stopped[key] += partial
    return Conventions({key: (stopped[key], seen[key]) for key in seen}, {p: (hits[p], built_on[p]) for p in built_on})
