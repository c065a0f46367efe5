"""Status and history codes as candidates (Official Guidelines I.C.21.c.3-4, I.C.2.d, I.C.5.b.1):
what a coder reads from the note's words beside its conditions.

- A status or history a sentence states in its own words: a former smoker (Z87.891), a patient on
  hemodialysis (Z99.2), a kidney transplant (Z94.0), an old MI (I25.2), a penicillin allergy (Z88.0).
- A condition the note names as a family member's takes its family-history code (Z80-Z84), and a
  cancer that is the patient's past (documented as history, or excised or treated with no evidence
  of disease left) takes its personal-history code (Z85); that cancer's own code is history only.
- A BMI value takes its Z68 code beside a weight diagnosis the note names.

The tables live in `agent/data/status_codes.json`. Like every candidate, the zero-shot verdict
codes them and a learned profile may learn what its corpus's coders do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from agent import DATA_DIR
from agent.code_ranges import Ranges, in_ranges, ranges
from agent.reading.assertion import Assertion
from agent.reading.segment import Analysis
from agent.reading.statements import assertion_at
from agent.records import Evidence
from index.data_files import rule_file

__all__ = ["StatusFinding", "StatusRules"]

STATUS_CODES = DATA_DIR / "status_codes.json"
_PRESENT = Assertion.PRESENT.value
_HISTORICAL = Assertion.HISTORICAL.value
_FAMILY = Assertion.FAMILY.value
# A status is the patient's now, however it is dated ("kidney transplant in 2019"); these are not.
_NOT_STATUS = frozenset({Assertion.NEGATED.value, Assertion.HYPOTHETICAL.value, _FAMILY, Assertion.NON_CLINICAL.value})


@dataclass(frozen=True)
class Pattern:
    group: str
    code: str
    cite: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class RangeRow:
    conditions: Ranges
    code: str


@dataclass(frozen=True)
class StatusFinding:
    code: str
    cite: str
    evidence: tuple[Evidence, ...]
    kind: str  # status (the note's own words), family, personal (history of a condition), bmi
    of: str = ""  # for a family or personal history: the condition's code


@dataclass(frozen=True)
class StatusRules:
    patterns: tuple[Pattern, ...]
    family: tuple[RangeRow, ...]
    personal: tuple[RangeRow, ...]
    eradicated: re.Pattern[str]
    active: re.Pattern[str]
    bmi: re.Pattern[str]
    bmi_needs: Ranges
    bmi_cite: str
    bmi_adult: tuple[tuple[float, float, str], ...]

    @classmethod
    @cache
    def default(cls) -> StatusRules:
        with rule_file(STATUS_CODES) as raw:
            flags = re.IGNORECASE
            patterns = tuple(
                Pattern(
                    p["group"],
                    p["code"],
                    p["cite"],
                    re.compile(p["pattern"], flags),
                    re.compile(p["unless"], flags) if p.get("unless") else None,
                )
                for p in raw["patterns"]
            )
            bmi = raw["bmi"]
            return cls(
                patterns,
                tuple(RangeRow(ranges(r["conditions"]), r["code"]) for r in raw["family"]),
                tuple(RangeRow(ranges(r["conditions"]), r["code"]) for r in raw["personal"]),
                re.compile(raw["eradicated"], flags),
                re.compile(raw["active"], flags),
                re.compile(bmi["pattern"], flags),
                ranges(bmi["needs"]),
                bmi["cite"],
                tuple((float(lo), float(hi), code) for lo, hi, code in bmi["adult"]),
            )

    # -- statuses in the note's own words ------------------------------------------------------

    def stated(self, analysis: Analysis) -> Iterator[StatusFinding]:
        """The statuses and histories the note's sentences state, first pattern of a group per sentence."""
        for index, sentence in enumerate(analysis.sentences):
            if index in analysis.non_clinical:
                continue
            body = replace(sentence, section="body")  # a status under Past Medical History is still one
            done: set[str] = set()
            for p in self.patterns:
                if p.group in done or (p.unless is not None and p.unless.search(sentence.text)):
                    continue
                m = p.pattern.search(sentence.text)
                if m is None:
                    continue
                done.add(p.group)
                assertion = assertion_at(body, m.start(), m.end()).value
                if assertion in _NOT_STATUS:
                    continue
                start, end = sentence.start + m.start(), sentence.start + m.end()
                e = Evidence(start, end, m.group(), _PRESENT, sentence.section, "rule")
                yield StatusFinding(p.code, p.cite, (e,), "status")

    # -- family and personal history of the conditions the note names --------------------------

    def histories(self, named: Mapping[str, Sequence[Evidence]], analysis: Analysis) -> Iterator[StatusFinding]:
        """Family-history codes for conditions named as a relative's, personal-history codes for
        cancers that are the patient's past. `named`: code -> the words that named it."""
        for code, spans in named.items():
            family = [e for e in spans if e.assertion == _FAMILY]
            row = _first(self.family, code) if family else None
            if row is not None:
                yield StatusFinding(row.code, "I.C.21.c.4: family history", tuple(family), "family", code)
            past = [e for e in spans if self.is_past_cancer(code, e, analysis)]
            row = _first(self.personal, code) if past else None
            if row is not None:
                cite = "I.C.2.d: a cancer excised or treated, with no treatment now and no evidence of it left"
                yield StatusFinding(row.code, cite, tuple(past), "personal", code)

    def is_past_cancer(self, code: str, e: Evidence, analysis: Analysis) -> bool:
        """Whether these words name a cancer of the patient's past: documented as history, or named
        with a cue that it was removed or treated and is gone, and no cue that it is active."""
        if not in_ranges(code, (("C00", "C96"),)) or e.assertion not in (_PRESENT, _HISTORICAL):
            return False
        index = analysis.sentence_at(e.start)
        text = analysis.sentences[index].text if index is not None else ""
        if self.active.search(text):
            return False
        return e.assertion == _HISTORICAL or bool(self.eradicated.search(text))

    # -- BMI ----------------------------------------------------------------------------------

    def bmi_codes(self, analysis: Analysis, named_codes: Sequence[str]) -> Iterator[StatusFinding]:
        """The Z68 code of each BMI value, when the note names a weight diagnosis."""
        if not any(in_ranges(code, self.bmi_needs) for code in named_codes):
            return
        for index, sentence in enumerate(analysis.sentences):
            if index in analysis.non_clinical:
                continue
            for m in self.bmi.finditer(sentence.text):
                value = float(m.group("value"))
                code = next((c for lo, hi, c in self.bmi_adult if lo <= value < hi), None)
                if code is not None:
                    start, end = sentence.start + m.start(), sentence.start + m.end()
                    e = Evidence(start, end, m.group(), _PRESENT, sentence.section, "rule")
                    yield StatusFinding(code, self.bmi_cite, (e,), "bmi")


def _first(rows: Sequence[RangeRow], code: str) -> RangeRow | None:
    return next((r for r in rows if in_ranges(code, r.conditions)), None)
