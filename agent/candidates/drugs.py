"""Long-term (current) drug therapy as candidates (Guidelines I.C.21.c.3): a drug the note shows the
patient takes now names its class's Z79 status code ("continues apixaban" -> Z79.01), with the
drug's words as evidence. The classes and the cues of ongoing or one-off use live in
`agent/data/long_term_drugs.json`. These are candidates like any other: the zero-shot verdict
codes them, a learned profile may learn that its corpus's coders do not, and the gate reads
their words again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent import DATA_DIR
from agent.reading.segment import Analysis
from index.data_files import rule_file

__all__ = ["DrugClass", "DrugMention", "LongTermDrugs", "names_drug"]

LONG_TERM_DRUGS = DATA_DIR / "long_term_drugs.json"
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
_MIN_SUFFIX_WORD = 7


@dataclass(frozen=True)
class DrugClass:
    code: str
    name: str
    drugs: frozenset[str]
    suffixes: tuple[str, ...]
    strict: bool = False  # often a short course: needs an explicit long-term cue

    def names(self, word: str) -> bool:
        return names_drug(word, self.drugs, self.suffixes)


def names_drug(word: str, drugs: frozenset[str], suffixes: tuple[str, ...]) -> bool:
    """Whether a word names one of `drugs` (lower case), or ends in one of the class's suffixes
    and is long enough for the suffix to mean it ("empagliflozin", not "zin")."""
    word = word.lower()
    return word in drugs or (len(word) >= _MIN_SUFFIX_WORD and word.endswith(suffixes))


@dataclass(frozen=True)
class DrugMention:
    drug_class: DrugClass
    start: int  # note offsets of the drug's word
    end: int
    text: str
    sentence_index: int


@dataclass(frozen=True)
class LongTermDrugs:
    classes: tuple[DrugClass, ...]
    current: re.Pattern[str]
    not_current: re.Pattern[str]
    long_term: re.Pattern[str]
    medication_sections: frozenset[str]

    @classmethod
    def from_json(cls, path: Path) -> LongTermDrugs:
        with rule_file(path) as raw:
            return cls(
                tuple(
                    DrugClass(
                        c["code"],
                        c["name"],
                        frozenset(d.lower() for d in c["drugs"]),
                        tuple(c["suffixes"]),
                        bool(c.get("strict", False)),
                    )
                    for c in raw["classes"]
                ),
                re.compile(raw["current"], re.IGNORECASE),
                re.compile(raw["not_current"], re.IGNORECASE),
                re.compile(raw["long_term"], re.IGNORECASE),
                frozenset(raw["medication_sections"]),
            )

    @classmethod
    @cache
    def default(cls) -> LongTermDrugs:
        return cls.from_json(LONG_TERM_DRUGS)

    def mentions(self, analysis: Analysis) -> Iterator[DrugMention]:
        """Each drug the note shows in ongoing use, sentence by sentence: a sentence of the
        medications section or with a cue of current use, and with no cue of a one-off,
        started-today or stopped course."""
        for i, sentence in enumerate(analysis.sentences):
            if i in analysis.non_clinical or self.not_current.search(sentence.text):
                continue
            listed = sentence.section in self.medication_sections
            if not listed and not self.current.search(sentence.text):
                continue
            long_term = listed or self.long_term.search(sentence.text) is not None
            for word in _WORD.finditer(sentence.text):
                for drug_class in self.classes:
                    if drug_class.names(word.group()) and (long_term or not drug_class.strict):
                        start = sentence.start + word.start()
                        yield DrugMention(drug_class, start, start + len(word.group()), word.group(), i)
