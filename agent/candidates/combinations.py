"""Combination codes as candidates (Guidelines I.A.15, "with"): when the note affirms both
conditions a combination code links, the combination is a candidate resting on both sets of
words, unless the note says they are unrelated. Hypertension with heart failure or chronic
kidney disease is the family built so far (I.C.9.a: the link is presumed); the table lives in
`agent/data/combinations.json`. Like every candidate, the zero-shot verdict codes it and a
learned profile may learn that its corpus's coders do not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent import DATA_DIR
from agent.records import Evidence
from index.data_files import rule_file

__all__ = ["Combination", "CombinationRules"]

COMBINATIONS = DATA_DIR / "combinations.json"
_AFFIRMED = frozenset({"present", "uncertain"})
_PAST = frozenset({"present", "historical"})


@dataclass(frozen=True)
class Row:
    needs: tuple[tuple[str, ...], ...]  # one code prefix of each group must be affirmed
    code: str  # the combination code, or ".65": those characters after the base's category
    cite: str
    words: re.Pattern[str] | None = None  # or: these words in a sentence that names the base
    unless: re.Pattern[str] | None = None  # on a line of the conditions' words, cancels the row

    def code_for(self, base_code: str) -> str:
        return base_code[:3] + self.code if self.code.startswith(".") else self.code


@dataclass(frozen=True)
class Family:
    name: str
    base: tuple[str, ...]
    rows: tuple[Row, ...]
    every_row: bool = False  # a condition with several complications takes each combination
    past: re.Pattern[str] | None = None  # the base is a past condition: named with these words


@dataclass(frozen=True)
class Combination:
    code: str
    cite: str
    evidence: tuple[Evidence, ...]  # the words of every condition it combines
    replaces: tuple[str, ...] = ()  # a past condition's own codes, which its sequela code replaces


@dataclass(frozen=True)
class CombinationRules:
    families: tuple[Family, ...]
    unrelated: re.Pattern[str]

    @classmethod
    def from_json(cls, path: Path) -> CombinationRules:
        with rule_file(path) as raw:
            families = tuple(
                Family(
                    f["name"],
                    tuple(f["base"]),
                    tuple(
                        Row(
                            tuple(tuple(g) for g in r.get("with", ())),
                            r["code"],
                            r["cite"],
                            re.compile(r["words"], re.IGNORECASE) if "words" in r else None,
                            re.compile(r["unless"], re.IGNORECASE) if "unless" in r else None,
                        )
                        for r in f["rows"]
                    ),
                    bool(f.get("every_row", False)),
                    re.compile(f["past"], re.IGNORECASE) if "past" in f else None,
                )
                for f in raw["families"]
            )
            return cls(families, re.compile(raw["unrelated"], re.IGNORECASE))

    @classmethod
    @cache
    def default(cls) -> CombinationRules:
        return cls.from_json(COMBINATIONS)

    def combine(self, evidence: Mapping[str, Sequence[Evidence]], note: str) -> list[Combination]:
        """The combinations the located codes (code -> its evidence) call for: per family, the
        first row (or, for a family of complications, every row) whose every group the note
        affirms, or whose words a sentence naming the base says, when the note does not call
        the conditions unrelated."""
        affirmed = {code: [e for e in spans if e.assertion in _AFFIRMED] for code, spans in evidence.items()}
        affirmed = {code: spans for code, spans in affirmed.items() if spans}
        found = []
        for family in self.families:
            if family.past is not None:  # a past condition named as such: its residual deficits
                past = {
                    code: [e for e in spans if e.assertion in _PAST and _on_lines(note, (e,), family.past)]
                    for code, spans in evidence.items()
                    if code.startswith(family.base)
                }
                base_codes = [code for code, spans in past.items() if spans]
                base = [e for spans in past.values() for e in spans]
            else:
                base_codes = [code for code in affirmed if code.startswith(family.base)]
                base = _words(affirmed, family.base)
            if not base_codes:
                continue
            # A past condition's residual deficit is often said in its history ("history of stroke
            # with residual aphasia"): for a sequela family, such a deficit counts too.
            deficits = affirmed if family.past is None else _past_too(evidence, note, family.past)
            for row in family.rows:
                groups = [_words(deficits, prefixes) for prefixes in row.needs]
                if row.words is not None:
                    groups.append(_said_with(note, base, row.words))
                if not groups or not all(groups):
                    continue
                if any(self._said_unrelated(note, spans) for spans in [base, *groups]):
                    continue
                if row.unless is not None and any(_on_lines(note, spans, row.unless) for spans in [base, *groups]):
                    continue
                spans = _outermost([*base, *(e for g in groups for e in g)])
                replaces = tuple(base_codes) if family.past is not None else ()
                found.append(Combination(row.code_for(base_codes[0]), row.cite, spans, replaces))
                if not family.every_row:
                    break
        return found

    def _said_unrelated(self, note: str, spans: Sequence[Evidence]) -> bool:
        """Whether the text around a condition's words says it is unrelated (same line)."""
        return _on_lines(note, spans, self.unrelated)


def _line(note: str, e: Evidence) -> tuple[int, int]:
    """The note offsets of the line (or lines) that hold a span."""
    end = note.find("\n", e.end)
    return note.rfind("\n", 0, e.start) + 1, len(note) if end < 0 else end


def _on_lines(note: str, spans: Sequence[Evidence], pattern: re.Pattern[str]) -> bool:
    """Whether `pattern` is found on a line of the note that holds one of the spans."""
    return any(pattern.search(note, *_line(note, e)) for e in spans)


def _outermost(spans: Sequence[Evidence]) -> tuple[Evidence, ...]:
    """The spans no other span contains, in note order: the fullest words for each condition."""
    unique = {(e.start, e.end): e for e in spans}
    return tuple(
        e
        for (start, end), e in sorted(unique.items())
        if not any(s <= start and end <= t and (s, t) != (start, end) for s, t in unique)
    )


def _past_too(
    evidence: Mapping[str, Sequence[Evidence]], note: str, past: re.Pattern[str]
) -> dict[str, list[Evidence]]:
    """The words of each code the note affirms, or names in its history on a line that says the
    condition is past (a residual deficit of an old stroke)."""
    return {
        code: kept
        for code, spans in evidence.items()
        if (
            kept := [
                e for e in spans if e.assertion in _AFFIRMED or (e.assertion in _PAST and _on_lines(note, (e,), past))
            ]
        )
    }


def _said_with(note: str, base: Sequence[Evidence], words: re.Pattern[str]) -> list[Evidence]:
    """The spans of `words` on the lines that name the base condition ("diabetes, poorly controlled")."""
    found = []
    for e in base:
        for m in words.finditer(note, *_line(note, e)):
            found.append(Evidence(m.start(), m.end(), m.group(), e.assertion, e.section, "rule"))
    return found


def _words(affirmed: Mapping[str, Sequence[Evidence]], prefixes: Sequence[str]) -> list[Evidence]:
    return [e for code, spans in affirmed.items() if code.startswith(tuple(prefixes)) for e in spans]
