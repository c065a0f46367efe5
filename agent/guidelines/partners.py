"""Whether the note of an encounter documents the condition a "Code first" or "Use additional
code" note asks for, so that a missing partner is reported only when it matters: an error when
the note documents it, a query for the provider when the note asks for it but the record is
silent, and nothing for a partner asked for only "if applicable" that the note never mentions.

The words come from `agent/data/guidelines.json` ("partners"): the conditional words, and the
filler words of the notes that say nothing of the condition itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent.guidelines.rules import GUIDELINES_FILE
from index.data_files import rule_file

_GROUP = re.compile(r"[(\[][^()\[\]]*(?:[)\]]|$)")  # a parenthesised code reference: "(Z18.-)"
_WORD = re.compile(r"[a-z][a-z0-9]*")
_STEM = 5  # "cachexia" and "cachectic", "examination" and "examined" meet at five letters


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    return word[:_STEM]


@dataclass(frozen=True)
class PartnerWords:
    """The conditional markers of partner notes and the filler words of their texts."""

    conditional: re.Pattern[str]
    filler: frozenset[str]

    @classmethod
    def from_json(cls, path: str | Path) -> PartnerWords:
        with rule_file(path) as raw:
            words = raw["partners"]
            pattern = r"\b(?:" + "|".join(re.escape(w) for w in words["conditional"]) + r")\b"
            return cls(re.compile(pattern, re.IGNORECASE), frozenset(w.lower() for w in words["filler"]))

    @classmethod
    @cache
    def default(cls) -> PartnerWords:
        return cls.from_json(GUIDELINES_FILE)

    def is_conditional(self, texts: Iterable[str]) -> bool:
        """True when the notes ask for their partner only when it applies ("if applicable", "any")."""
        return any(self.conditional.search(t) for t in texts)

    def phrases(self, texts: Iterable[str]) -> list[tuple[str, ...]]:
        """The words that name each partner condition: the text before each code reference, less
        the filler ("code, if applicable, for associated cachexia (E88.A)" -> ("cachexia",))."""
        out: list[tuple[str, ...]] = []
        for text in texts:
            for part in _GROUP.split(text.lower()):
                words = tuple(w for w in _WORD.findall(part) if w not in self.filler and len(w) > 1)
                if words:
                    out.append(words)
        return out

    def documented(self, note: str, texts: Iterable[str]) -> str | None:
        """The words of the first partner condition whose every word the note uses, or None."""
        stems = {_stem(w) for w in _WORD.findall(note.lower())}
        for words in self.phrases(texts):
            if all(_stem(w) in stems for w in words):
                return " ".join(words)
        return None
