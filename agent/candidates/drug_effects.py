"""Adverse effects and underdosing as candidates (Official Guidelines I.C.19.e): a drug the note
names with a cue of taking less than prescribed names its underdosing code (T50.1X6A "ran out of
furosemide") and, when the sentence says why, the reason (Z91.120 "could not afford the refill");
a drug named as the cause of an effect of a drug properly taken names its adverse-effect code
(T38.0X5A "hyperglycemia due to long-term prednisone"); a drug taken in overdose names its
poisoning code, accidental unless the note documents the intent (T42.4X2A "intentional overdose
of lorazepam"). The drug table and the cues live in `agent/data/drug_effects.json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from agent import DATA_DIR
from agent.candidates.drugs import names_drug
from agent.reading.assertion import Assertion
from agent.reading.segment import Analysis
from agent.reading.statements import assertion_at
from agent.records import Evidence
from index.data_files import rule_file

__all__ = ["DrugEffect", "DrugEffects"]

DRUG_EFFECTS = DATA_DIR / "drug_effects.json"
_WORD = re.compile(r"[A-Za-z]+")  # "steroid-induced": the drug, then the cue
_NOT_THE_PATIENTS = frozenset(
    {Assertion.NEGATED.value, Assertion.HYPOTHETICAL.value, Assertion.FAMILY.value, Assertion.NON_CLINICAL.value}
)
UNDERDOSING, ADVERSE = "6", "5"


@dataclass(frozen=True)
class DrugGroup:
    stem: str  # the code up to the 6th character: T50.1X, T45.51
    name: str
    drugs: frozenset[str]
    suffixes: tuple[str, ...]

    def names(self, word: str) -> bool:
        return names_drug(word, self.drugs, self.suffixes)


@dataclass(frozen=True)
class DrugEffect:
    code: str
    cite: str
    evidence: tuple[Evidence, ...]  # the drug's words and the cue's


@dataclass(frozen=True)
class DrugEffects:
    groups: tuple[DrugGroup, ...]
    underdosing: re.Pattern[str]
    adverse: re.Pattern[str]
    not_adverse: re.Pattern[str]
    reasons: tuple[tuple[str, re.Pattern[str], str], ...]
    poisoning: re.Pattern[str]
    intents: tuple[tuple[str, re.Pattern[str], str], ...]  # (6th character, cue, what it means)

    @classmethod
    @cache
    def default(cls) -> DrugEffects:
        flags = re.IGNORECASE
        with rule_file(DRUG_EFFECTS) as raw:
            return cls(
                tuple(
                    DrugGroup(d["stem"], d["name"], frozenset(w.lower() for w in d["drugs"]), tuple(d["suffixes"]))
                    for d in raw["drugs"]
                ),
                re.compile(raw["underdosing"], flags),
                re.compile(raw["adverse"], flags),
                re.compile(raw["not_adverse"], flags),
                tuple((r["code"], re.compile(r["pattern"], flags), r["why"]) for r in raw["reasons"]),
                re.compile(raw["poisoning"], flags),
                tuple((r["sixth"], re.compile(r["pattern"], flags), r["why"]) for r in raw["intent"]),
            )

    def effects(self, analysis: Analysis) -> Iterator[DrugEffect]:
        """The poisoning, underdosing and adverse-effect codes (and underdosing's reasons) the sentences state."""
        for index, sentence in enumerate(analysis.sentences):
            if index in analysis.non_clinical:
                continue
            text = sentence.text
            body = replace(sentence, section="body")
            for word in _WORD.finditer(text):
                group = next((g for g in self.groups if g.names(word.group())), None)
                if group is None or assertion_at(body, word.start(), word.end()).value in _NOT_THE_PATIENTS:
                    continue
                drug = Evidence(
                    sentence.start + word.start(),
                    sentence.start + word.end(),
                    word.group(),
                    "present",
                    sentence.section,
                    "rule",
                )
                cue = self.poisoning.search(text, max(0, word.start() - 60), word.start())
                if cue is not None:
                    sixth, intent = next(
                        ((c, why) for c, p, why in self.intents if p.search(text)), ("1", "accidental")
                    )
                    cite = f"I.C.19.e.5.b: poisoning by {group.name}, {intent}; the poisoning is coded first"
                    yield DrugEffect(
                        f"{group.stem}{sixth}A", cite, (_span(sentence.start, cue, sentence.section), drug)
                    )
                    continue
                cue = self._underdosing_cue(text, word.start())
                if cue is not None:
                    cue_span = _span(sentence.start, cue, sentence.section)
                    cite = f"I.C.19.e.5.c: underdosing of {group.name}"
                    yield DrugEffect(f"{group.stem}{UNDERDOSING}A", cite, (cue_span, drug))
                    yield from self._reasons(text, sentence.start, sentence.section, (cue_span, drug))
                    continue
                cue = self._adverse_cue(text, word.start(), word.end())
                if cue is not None:
                    cite = f"I.C.19.e.5.a: adverse effect of {group.name}, properly taken; the effect is coded first"
                    yield DrugEffect(
                        f"{group.stem}{ADVERSE}A", cite, (_span(sentence.start, cue, sentence.section), drug)
                    )

    def _underdosing_cue(self, text: str, drug_start: int) -> re.Match[str] | None:
        """An underdosing cue before the drug, at most a few words back ("ran out of furosemide")."""
        window = max(0, drug_start - 60)
        found = None
        for m in self.underdosing.finditer(text, window, drug_start):
            found = m
        return found

    def _adverse_cue(self, text: str, start: int, end: int) -> re.Match[str] | None:
        if self.not_adverse.search(text):
            return None
        m = self.adverse.search(text, max(0, start - 60), start)
        if m is not None:
            return m
        after = self.adverse.match(text, end)
        return after if after is not None and after.group().startswith("-") else None

    def _reasons(self, text: str, offset: int, section: str, underdosing: tuple[Evidence, ...]) -> Iterator[DrugEffect]:
        """The reason for an underdosing, when the sentence gives one: its words, with the
        underdosing's (a reason is often said negated, "could not afford", and the gate reads
        each span again)."""
        for code, pattern, why in self.reasons:
            m = pattern.search(text)
            if m is not None:
                cite = f"I.C.19.e.5.c: {why} ('{m.group()}')"
                yield DrugEffect(code, cite, (*underdosing, _span(offset, m, section)))
                return


def _span(offset: int, m: re.Match[str], section: str) -> Evidence:
    text = m.group().rstrip()
    return Evidence(offset + m.start(), offset + m.start() + len(text), text, "present", section, "rule")
