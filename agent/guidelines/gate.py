"""The gate every proposed code passes before a coder sees it, whichever reasoner proposed it
(offline, learned profile or LLM): the words it rests on must be in the note, and what the note
says of them must allow the code.

Each evidence span is read again from the note, not from the proposal's own labels: its exact
offsets, the sentence holding it, and the assertion of its head word there (ConText). Then:

- a negated, hypothetical or non-clinical statement supports no code;
- a family member's condition supports only a family-history code (Z80-Z84);
- a condition documented as history supports a personal-history code (Z85-Z87), or the
  condition's own code when the note shows it is current: treated or on a medication right
  beside it ("hypertension on atenolol", "on metformin for diabetes");
- an uncertain diagnosis follows the setting's rule (coded for inpatients, Guidelines II.H;
  not for outpatients, IV.H).

A proposal keeps the spans that pass, and goes to the rejected candidates, with the reason of
its first refused span, when none does. The rule table is `agent/data/gate.json`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from agent import DATA_DIR
from agent.guidelines.rules import GuidelineRules, guideline_text
from agent.reading.assertion import Assertion
from agent.reading.segment import Analysis
from agent.reading.statements import assertion_at
from agent.records import Evidence, Proposal, Rejected, Setting
from index.data_files import rule_file

__all__ = ["GateRules", "gate"]

GATE_FILE = DATA_DIR / "gate.json"
_WORD = re.compile(r"[a-z][a-z-]*")
_LOOK_BEHIND = 60  # characters before a span read for "on atenolol for ..."


@dataclass(frozen=True)
class GateRules:
    family_history: tuple[str, ...]  # code prefixes a family member's condition supports
    personal_history: tuple[str, ...]  # code prefixes a past condition supports
    current_status: tuple[str, ...]  # code prefixes read without the section's default (Z79)
    refusals: dict[str, str]  # assertion (or "outside") -> why a span supports no code
    treatment_words: frozenset[str]
    treatment_suffixes: tuple[str, ...]
    treatment_after: re.Pattern[str]  # right after the condition: ", on metformin"
    treatment_before: re.Pattern[str]  # right before it: "on atenolol for "

    @classmethod
    def from_json(cls, path: Path) -> GateRules:
        with rule_file(path) as raw:
            return cls(
                tuple(raw["family_history_codes"]),
                tuple(raw["personal_history_codes"]),
                tuple(raw["current_status_codes"]),
                dict(raw["refusals"]),
                frozenset(w.lower() for w in raw["treatment_words"]),
                tuple(raw["treatment_suffixes"]),
                re.compile(raw["treatment_after"], re.IGNORECASE),
                re.compile(raw["treatment_before"], re.IGNORECASE),
            )

    @classmethod
    @cache
    def default(cls) -> GateRules:
        return cls.from_json(GATE_FILE)

    def is_treatment(self, word: str) -> bool:
        word = word.lower()
        return word in self.treatment_words or (len(word) > 5 and word.endswith(self.treatment_suffixes))

    def treated(self, sentence: str, start: int, end: int) -> bool:
        """Whether the sentence shows the condition at sentence[start:end] is treated now."""
        after = self.treatment_after.match(sentence, end)
        if after is not None and self.is_treatment(after["treatment"]):
            return True
        return self.treatment_before.search(sentence[max(0, start - _LOOK_BEHIND) : start]) is not None


def gate(
    proposals: Sequence[Proposal],
    note: str,
    analysis: Analysis,
    setting: Setting,
    titles: Mapping[str, str] | None = None,
    rules: GateRules | None = None,
) -> tuple[list[Proposal], list[Rejected]]:
    """The proposals whose evidence allows them (each with only the spans that do), and the
    others as rejected candidates with why. `titles` (code -> title) lets a code's own wording
    ("without complications in remission") count as the code's, not as the note's negation."""
    titles = titles or {}
    rules = rules or GateRules.default()
    uncertain, _ = GuidelineRules.default().for_setting(setting)
    kept: list[Proposal] = []
    refused: list[Rejected] = []
    for p in proposals:
        passing: list[Evidence] = []
        first_refusal = ""
        for e in p.evidence:
            checked, why = _check_span(
                p.code, titles.get(p.code, ""), e, note, analysis, uncertain.coded_as_established, uncertain.text, rules
            )
            if checked is not None:
                passing.append(checked)
            elif not first_refusal:
                first_refusal = why
        if passing:
            kept.append(replace(p, evidence=tuple(passing)))
        else:
            refused.append(
                Rejected(p.code, "", first_refusal or "no words of the note support it", p.evidence, stage="gate")
            )
    return kept, refused


def _check_span(
    code: str,
    title: str,
    e: Evidence,
    note: str,
    analysis: Analysis,
    uncertain_coded: bool,
    uncertain_text: str,
    rules: GateRules,
) -> tuple[Evidence | None, str]:
    """The span as read from the note when it allows `code`, else None and why not."""
    if not (0 <= e.start < e.end <= len(note)) or note[e.start : e.end] != e.text:
        return None, "the quoted words are not at those places in the note"
    index = analysis.sentence_at(e.end - 1)
    if index is None:
        return None, rules.refusals["outside"]
    sentence = analysis.sentences[index]
    if any(i in analysis.non_clinical for i in _sentences_touched(analysis, e.start, e.end)):
        return None, rules.refusals["non_clinical"]
    start = max(e.start, sentence.start) - sentence.start
    end = e.end - sentence.start
    read_in = replace(sentence, section="body") if code.startswith(rules.current_status) else sentence
    assertion = assertion_at(read_in, start, end, title)
    read = replace(e, assertion=assertion.value, section=sentence.section)
    if assertion in (Assertion.NEGATED, Assertion.HYPOTHETICAL):
        return None, rules.refusals[assertion.value]
    if code.startswith(rules.family_history):
        return (read, "") if assertion in (Assertion.FAMILY, Assertion.PRESENT) else (None, _not_family(assertion))
    if assertion is Assertion.FAMILY:
        return None, rules.refusals["family"]
    if assertion is Assertion.HISTORICAL:
        if code.startswith(rules.personal_history) or rules.treated(sentence.text, start, end):
            return read, ""
        return None, rules.refusals["historical"]
    if assertion is Assertion.UNCERTAIN and not uncertain_coded:
        return None, guideline_text(uncertain_text)
    return read, ""


def _not_family(assertion: Assertion) -> str:
    return f"a family-history code needs a statement about a family member; the note's is {assertion.value}"


def _sentences_touched(analysis: Analysis, start: int, end: int) -> list[int]:
    first = analysis.sentence_at(start)
    last = analysis.sentence_at(end - 1)
    if first is None or last is None:
        return []
    return list(range(first, last + 1))
