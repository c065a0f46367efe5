"""The rule table of the present-on-admission step, `agent/data/poa.json`, and how its cues read
a sentence: the POA-exempt list and the categories chronic by nature (ICD-10-CM Official
Guidelines, Appendix I), and the phrases that date a condition to before the inpatient order or
to the stay, each with the words it covers.

A cue covers the words on its side of it (`direction`) up to the nearest cue of another kind or
a terminating phrase, as ConText triggers do (`agent.reading.assertion`); overlapping cues give way
to the longest, so "not present on admission" is read once, and not also as "on admission".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agent import DATA_DIR
from agent.reading.rules import Direction
from index.data_files import rule_file
from index.model import code_key

__all__ = ["POA_FILE", "CodeRow", "CodeTable", "Cue", "CueHit", "PoaRules"]

POA_FILE = DATA_DIR / "poa.json"
CUE_KINDS = ("admission", "stay", "undetermined")


@dataclass(frozen=True)
class CodeRow:
    """Codes from `first` to `last` (each compared at the precision it is written), less the
    prefixes in `except_`, and only those with one of the `seventh` characters when it is set."""

    first: str
    last: str
    what: str
    except_: tuple[str, ...] = ()
    seventh: frozenset[str] = frozenset()
    text: str = ""  # the guideline text that makes the row's codes what they are

    def covers(self, code: str) -> bool:
        key = code_key(code)
        if key[: len(self.first)] < self.first or key[: len(self.last)] > self.last:
            return False
        if key.startswith(self.except_):
            return False
        return not self.seventh or (len(key) == 7 and key[-1] in self.seventh)


@dataclass(frozen=True)
class CodeTable:
    rows: tuple[CodeRow, ...]

    @classmethod
    def of(cls, raw: list[dict[str, Any]]) -> CodeTable:
        return cls(
            tuple(
                CodeRow(
                    code_key(r["from"]),
                    code_key(r.get("to", r["from"])),
                    r["what"],
                    tuple(code_key(x) for x in r.get("except", ())),
                    frozenset(r.get("seventh", ())),
                    r.get("text", ""),
                )
                for r in raw
            )
        )

    def find(self, code: str) -> CodeRow | None:
        """The first row that covers `code`, if any."""
        return next((row for row in self.rows if row.covers(code)), None)


@dataclass(frozen=True)
class Cue:
    """A phrase that dates a condition: to admission or before, to the stay, or to neither
    (the provider cannot say)."""

    kind: str  # admission | stay | undetermined
    pattern: re.Pattern[str]
    direction: Direction
    strength: int  # 3 an explicit statement, 2 a time or place, 1 a suggestive word
    label: str
    arises: bool = False  # for a stay cue: says the condition began in the stay, not only when it was seen


@dataclass(frozen=True)
class CueHit:
    """A cue found in a sentence, with exact note offsets (`note[start:end] == text`) and the
    part of the sentence it covers."""

    cue: Cue
    start: int
    end: int
    text: str
    section: str
    scope_start: int
    scope_end: int

    def distance(self, start: int, end: int) -> int | None:
        """How far the words at note[start:end] lie from the cue when the cue covers them, else None."""
        if start < self.end and end > self.start:
            return 0
        if self.cue.kind == "undetermined":  # a statement about the sentence's condition, wherever it stands
            return abs(start - self.end) if start >= self.end else abs(self.start - end)
        forward = self.cue.direction in (Direction.FORWARD, Direction.BIDIRECTIONAL)
        backward = self.cue.direction in (Direction.BACKWARD, Direction.BIDIRECTIONAL)
        if forward and start >= self.end and start < self.scope_end:
            return start - self.end
        if backward and end <= self.start and end > self.scope_start:
            return self.start - end
        return None


@dataclass(frozen=True)
class PoaRules:
    """The POA rule table: guideline texts, the exempt and chronic code tables, the cues, and the
    sections that record the patient at admission."""

    source: str
    texts: Mapping[str, tuple[str, str]] = field(hash=False)  # key -> (text, cite)
    exempt: CodeTable
    chronic: CodeTable
    congenital: re.Pattern[str]  # a title that names a congenital condition
    cues: tuple[Cue, ...]
    terminations: re.Pattern[str]
    negated_before: re.Pattern[str]  # matched against the sentence up to a cue: "did not", "no"
    continuation: re.Pattern[str]
    admission_sections: frozenset[str]
    by_header: frozenset[str]  # sections that record admission only under an admission header
    admission_headers: re.Pattern[str]
    section_names: Mapping[str, str] = field(hash=False)

    @classmethod
    def from_json(cls, path: str | Path) -> PoaRules:
        """Load a rule file shaped like `agent/data/poa.json`; DataError for a bad one."""
        with rule_file(path) as raw:
            texts = {k: (" ".join(v["text"].split()), v["cite"]) for k, v in raw["texts"].items()}
            for key in ("Y", "N", "U", "W", "exempt", "combination", "symptoms", "congenital", "external_cause"):
                if key not in texts:
                    raise KeyError(f"texts has no {key!r}")
            chronic = CodeTable.of(raw["chronic"])
            if any(row.text not in texts for row in chronic.rows):
                raise ValueError("a chronic row names no known text")
            sections = raw["sections"]
            return cls(
                raw["source"],
                MappingProxyType(texts),
                CodeTable.of(raw["exempt"]),
                chronic,
                re.compile(raw["congenital_titles"], re.IGNORECASE),
                tuple(_cue(entry) for entry in raw["cues"]),
                re.compile(raw["terminations"], re.IGNORECASE),
                re.compile(raw["negated_before"], re.IGNORECASE),
                re.compile(raw["continuation"], re.IGNORECASE),
                frozenset(sections["admission"]),
                frozenset(sections["by_header"]),
                re.compile(sections["admission_headers"], re.IGNORECASE),
                MappingProxyType(dict(sections["names"])),
            )

    @classmethod
    @cache
    def default(cls) -> PoaRules:
        """The packaged table (loaded once)."""
        return _packaged()

    load = default

    def cite(self, key: str) -> str:
        """A guideline text with where it comes from: "N: not present ... (Official Guidelines, Appendix I)"."""
        text, where = self.texts[key]
        return f"{text} ({where})"

    def section_name(self, section: str) -> str:
        """A section as a coder calls it: "history of present illness" for "hpi"."""
        return self.section_names.get(section, section.replace("_", " "))

    def records_admission(self, section: str, header: str | None) -> bool:
        """Whether a section records the patient at admission (the history of present illness,
        "Admission diagnoses:"), not the stay or the discharge."""
        if section in self.admission_sections:
            return True
        return section in self.by_header and header is not None and bool(self.admission_headers.search(header))

    def hits(self, text: str, base: int, section: str, admission_section: bool) -> tuple[CueHit, ...]:
        """The cues of a sentence `text` that starts at note offset `base`, left to right, each
        with its scope. A cue after a negation ("did not develop", "no new-onset") does not count,
        nor a merely suggestive stay cue in a section that records the state at admission
        ("HPI: developed a cough three days ago")."""
        found: list[tuple[int, int, Cue]] = []
        for cue in self.cues:
            if admission_section and cue.kind == "stay" and cue.strength < 2:
                continue
            for m in cue.pattern.finditer(text):
                if m.end() > m.start() and not self.negated_before.search(text, 0, m.start()):
                    found.append((m.start(), m.end(), cue))
        found.sort(key=lambda f: (f[0], f[0] - f[1]))
        kept: list[tuple[int, int, Cue]] = []
        for start, end, cue in found:  # the longest of overlapping cues wins
            if kept and start < kept[-1][1]:
                continue
            kept.append((start, end, cue))
        stops = [m.span() for m in self.terminations.finditer(text)]
        out = []
        for start, end, cue in kept:  # a scope ends at a cue of another kind, or a terminating phrase
            after = min([len(text), *(s for s, _, c in kept if s >= end and c.kind != cue.kind)])
            before = max([0, *(e for _, e, c in kept if e <= start and c.kind != cue.kind)])
            after = min([after, *(s for s, _ in stops if s >= end)])
            before = max([before, *(e for _, e in stops if e <= start)])
            out.append(CueHit(cue, base + start, base + end, text[start:end], section, base + before, base + after))
        return tuple(out)


def _cue(entry: dict[str, Any]) -> Cue:
    if entry["kind"] not in CUE_KINDS:
        raise ValueError(f"cue kind must be one of {', '.join(CUE_KINDS)}, not {entry['kind']!r}")
    strength = entry["strength"]
    if strength not in (1, 2, 3):
        raise ValueError(f"cue strength must be 1, 2 or 3, not {strength!r}")
    return Cue(
        entry["kind"],
        re.compile(entry["pattern"], re.IGNORECASE),
        Direction(entry["direction"]),
        strength,
        entry["label"],
        bool(entry.get("arises", False)),
    )


@cache
def _packaged() -> PoaRules:
    return PoaRules.from_json(POA_FILE)
