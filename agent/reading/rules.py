"""The rule tables of the text analysis, loaded from the JSON files in `agent/data/`.

`TextRules` says which line starts are section headers (and what each section is called)
and which abbreviations do not end a sentence; `ContextRules` holds the ConText trigger
phrases used to decide whether a finding is negated, uncertain, historical and so on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from agent import DATA_DIR
from index.data_files import load_json, require
from index.errors import DataError

SECTIONS_FILE = DATA_DIR / "sections.json"
ABBREVIATIONS_FILE = DATA_DIR / "sentence_abbreviations.json"
CONTEXT_RULES_FILE = DATA_DIR / "context_rules.json"

# Characters that end a line: the ones str.splitlines() knows, "\r\n" counting as one break.
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class Category(StrEnum):
    """What a ConText trigger phrase does to the findings in its scope."""

    NEGATED = "negated"
    UNCERTAIN = "uncertain"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"
    CURRENT = "current"  # overrides a history section: "diabetes, currently on insulin"
    PSEUDO = "pseudo"  # looks like a trigger and is not: "no change", "gram negative"
    TERMINATE = "terminate"  # ends the scope of other triggers: "but", "however", ";"


class Direction(StrEnum):
    """Where a trigger's scope lies; for a terminator, which scopes it ends."""

    FORWARD = "forward"  # the text after the trigger
    BACKWARD = "backward"  # the text before the trigger
    BIDIRECTIONAL = "bidirectional"


def normalise_phrase(text: str) -> str:
    """Case-folded, with runs of whitespace made one space: how phrases are compared."""
    return " ".join(text.casefold().split())


def _phrases(value: Any, what: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DataError(f"rule file {path}: {what} must be a list of non-empty strings")
    return [normalise_phrase(v) for v in value]


@dataclass(frozen=True)
class TextRules:
    """Section headers and sentence-splitting abbreviations.

    `section_headers` maps a normalised header phrase ("past medical history") to its
    section name ("history"). An abbreviation in `never_end` never ends a sentence
    ("Dr.", "vs."); one in `end_before_capital` ends one only when the next word starts
    with a capital letter ("mg.", "b.i.d."). Abbreviations are stored lower case,
    without their final period.
    """

    section_headers: Mapping[str, str] = field(hash=False)
    never_end: frozenset[str] = frozenset()
    end_before_capital: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, sections_path: str | Path, abbreviations_path: str | Path) -> TextRules:
        """Load the section headers and the abbreviations; raises DataError on a bad file."""
        sections_path, abbreviations_path = Path(sections_path), Path(abbreviations_path)
        table = require(load_json(sections_path), "sections", sections_path)
        if not isinstance(table, dict) or not table:
            raise DataError(f"rule file {sections_path}: 'sections' must be a non-empty object")
        headers: dict[str, str] = {}
        for name, phrases in table.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise DataError(f"rule file {sections_path}: bad section name {name!r}")
            for phrase in _phrases(phrases, f"the headers of {name!r}", sections_path):
                if phrase in headers and headers[phrase] != name:
                    raise DataError(
                        f"rule file {sections_path}: header {phrase!r} is in both {headers[phrase]!r} and {name!r}"
                    )
                headers[phrase] = name

        abbreviations = load_json(abbreviations_path)
        never, soft = (
            frozenset(
                p.rstrip(".")
                for p in _phrases(require(abbreviations, key, abbreviations_path), key, abbreviations_path)
            )
            for key in ("never_end", "end_before_capital")
        )
        return cls(MappingProxyType(headers), never, soft)

    @classmethod
    @cache
    def default(cls) -> TextRules:
        """The packaged rules (loaded once)."""
        return cls.from_json(SECTIONS_FILE, ABBREVIATIONS_FILE)

    def section_name(self, header: str) -> str | None:
        """The section name of a header as written ("PMH", "Past  medical history:")."""
        return self.section_headers.get(normalise_phrase(header.rstrip().rstrip(":")))

    @cached_property
    def header_pattern(self) -> re.Pattern[str]:
        """Matches a header at a line start, followed by a colon or by the end of its line.

        Group "name" is the header phrase, group "colon" the colon (with the spaces before it).
        """
        names = _trie_regex(list(self.section_headers), space=r"[ \t]++")
        brk = re.escape(LINE_BREAKS)
        return re.compile(
            rf"(?:\A|(?<=[{brk}]))[ \t]*+(?P<name>{names})(?P<colon>[ \t]*+:)?"
            rf"(?(colon)|[ \t]*+(?=[{brk}]|\Z))",
            re.IGNORECASE,
        )


@dataclass(frozen=True)
class ContextRule:
    """One ConText trigger: a phrase, what it does, and in which direction."""

    phrase: str
    category: Category
    direction: Direction = Direction.FORWARD


@dataclass(frozen=True)
class ContextRules:
    """The ConText lexicon, plus the assertion a section implies by default.

    `section_defaults` maps a section name to a category that holds for every finding in
    that section unless a trigger says otherwise ("family_history" -> FAMILY).
    """

    rules: tuple[ContextRule, ...]
    section_defaults: Mapping[str, Category] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @classmethod
    def from_json(cls, path: str | Path) -> ContextRules:
        """Load the trigger phrases and section defaults; raises DataError on a bad file."""
        path = Path(path)
        data = load_json(path)
        entries = require(data, "rules", path)
        if not isinstance(entries, list):
            raise DataError(f"rule file {path}: 'rules' must be a list")
        rules: list[ContextRule] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            where = f"rule file {path}, rule {i}"
            if not isinstance(entry, dict) or not isinstance(entry.get("phrase"), str):
                raise DataError(f"{where}: needs a 'phrase' string")
            phrase = normalise_phrase(entry["phrase"])
            if not phrase:
                raise DataError(f"{where}: empty phrase")
            if phrase in seen:
                raise DataError(f"{where}: phrase {phrase!r} repeats rule {seen[phrase]}")
            seen[phrase] = i
            try:
                category = Category(entry.get("category"))
                direction = Direction(entry.get("direction", Direction.FORWARD))
            except ValueError as exc:
                raise DataError(f"{where} ({phrase!r}): {exc}") from exc
            rules.append(ContextRule(phrase, category, direction))

        raw_defaults = data.get("section_defaults", {})
        if not isinstance(raw_defaults, dict):
            raise DataError(f"rule file {path}: 'section_defaults' must be an object")
        defaults: dict[str, Category] = {}
        for section, category in raw_defaults.items():
            try:
                defaults[section] = Category(category)
            except ValueError as exc:
                raise DataError(f"rule file {path}: section default for {section!r}: {exc}") from exc
            if defaults[section] in (Category.PSEUDO, Category.TERMINATE):
                raise DataError(f"rule file {path}: section default for {section!r} cannot be {category!r}")
        return cls(tuple(rules), MappingProxyType(defaults))

    @classmethod
    @cache
    def default(cls) -> ContextRules:
        """The packaged rules (loaded once)."""
        return cls.from_json(CONTEXT_RULES_FILE)

    @cached_property
    def matcher(self) -> tuple[re.Pattern[str], Mapping[str, ContextRule]]:
        """One regex for every phrase, and the rule of each normalised phrase.

        The regex is a trie of the phrases, so a scan costs about the same for 10 phrases
        as for 1,000; at any one position it takes the longest phrase. The rule of a match
        `m` is `rules[normalise_phrase(m.group())]`.
        """
        by_phrase = {r.phrase: r for r in self.rules}
        word = [p for p in by_phrase if _is_word_char(p[0])]
        other = [p for p in by_phrase if not _is_word_char(p[0])]
        parts = ([rf"(?<!\w){_trie_regex(word)}"] if word else []) + ([_trie_regex(other)] if other else [])
        return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE), MappingProxyType(by_phrase)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _trie_regex(phrases: list[str], space: str = r"\s++") -> str:
    """A regex matching any of `phrases` (normalised), the longest one at a given position.

    A space in a phrase matches `space` (any run of whitespace by default); a phrase that
    ends with a word character must end at a word boundary. Possessive runs keep it linear.
    """
    root: dict[str | None, Any] = {}
    for phrase in phrases:
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[None] = r"(?!\w)" if _is_word_char(phrase[-1]) else ""

    def emit(node: dict[str | None, Any]) -> str:
        # Longer continuations first; the phrase that ends here (None) last.
        alternatives = [
            (space if ch == " " else re.escape(ch)) + emit(node[ch]) for ch in sorted(k for k in node if k is not None)
        ]
        if None in node:
            alternatives.append(node[None])
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    return emit(root)
