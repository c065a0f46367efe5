"""Clinical abbreviations and lay synonyms (HTN, DM2, CKD, "high blood pressure" ...).

The table lives in `index/data/abbreviations.json`; the encoder's search adds the coders' words
for external causes and places (`index/data/encoder_terms.json`). `Synonyms.expand` turns a query
or a clause into the variants the code book's own words can match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from index.data_files import rule_file

DEFAULT_PATH = Path(__file__).parent / "data" / "abbreviations.json"
ENCODER_PATH = Path(__file__).parent / "data" / "encoder_terms.json"  # the encoder's external-cause words


@dataclass(frozen=True)
class Synonyms:
    terms: dict[str, tuple[str, ...]]
    pattern: re.Pattern[str] | None

    @classmethod
    def from_json(cls, *paths: Path) -> Synonyms:
        """The terms of one table, or of several (the first to list a term wins)."""
        terms: dict[str, tuple[str, ...]] = {}
        for path in paths:
            with rule_file(path) as raw:
                for key, values in raw["terms"].items():
                    terms.setdefault(key.lower(), tuple(values))
        if not terms:
            return cls({}, None)
        alternatives = "|".join(re.escape(k) for k in sorted(terms, key=len, reverse=True))
        return cls(terms, re.compile(rf"(?<![\w/-])(?:{alternatives})(?![\w/-])", re.IGNORECASE))

    @classmethod
    @cache
    def default(cls) -> Synonyms:
        return cls.from_json(DEFAULT_PATH)

    @classmethod
    @cache
    def for_encoder(cls) -> Synonyms:
        """The abbreviations and lay terms, and the coders' words for external causes and places:
        what the workbench's encoder understands."""
        return cls.from_json(DEFAULT_PATH, ENCODER_PATH)

    def expand(self, text: str) -> list[str]:
        """`text` with every known term replaced by its expansion (only when one applies)."""
        if self.pattern is None:
            return []
        variants: list[str] = []
        if self.pattern.search(text):
            expanded = self.pattern.sub(lambda m: self.terms[m.group(0).lower()][0], text)
            if expanded.lower() != text.lower():
                variants.append(expanded)
        return variants
