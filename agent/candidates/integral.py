"""Signs and symptoms that belong to a diagnosis (Official Guidelines I.B.4-I.B.6).

A coder does not code the cough and fever of a pneumonia, or the dysuria of a urinary tract
infection, once the diagnosis is coded; a symptom that is not routinely part of it (hematuria
beside a pneumonia) is coded. The symptom-diagnosis table lives in
`agent/data/integral_symptoms.json`. Locate marks each symptom candidate with the diagnosis the
note names that it is integral to; the zero-shot verdict leaves it out, and a learned profile
may learn that its corpus's coders code such symptoms all the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from agent import DATA_DIR
from agent.code_ranges import Ranges, in_ranges, ranges
from index.data_files import rule_file

__all__ = ["IntegralRule", "IntegralSymptoms", "is_sequela"]

INTEGRAL_SYMPTOMS = DATA_DIR / "integral_symptoms.json"


def is_sequela(code: str) -> bool:
    """Whether a code reports a sequela by its 7th character "S" (S72.001S)."""
    key = code.replace(".", "")
    return len(key) == 7 and key[-1] == "S"


@dataclass(frozen=True)
class IntegralRule:
    symptoms: Ranges
    integral_to: Ranges
    why: str


@dataclass(frozen=True)
class IntegralSymptoms:
    rules: tuple[IntegralRule, ...]
    sequela_cues: re.Pattern[str]  # a diagnosis named with one is a sequela: its symptom stays

    @classmethod
    @cache
    def default(cls) -> IntegralSymptoms:
        with rule_file(INTEGRAL_SYMPTOMS) as raw:
            return cls(
                tuple(IntegralRule(ranges(r["symptoms"]), ranges(r["integral_to"]), r["why"]) for r in raw["rules"]),
                re.compile(raw["sequela_cues"], re.IGNORECASE),
            )

    def is_symptom(self, code: str) -> bool:
        return any(in_ranges(code, r.symptoms) for r in self.rules)

    def integral_to(self, symptom: str, diagnoses: Iterable[str]) -> tuple[str, str] | None:
        """The first of `diagnoses` the symptom is integral to, with the rule's reason."""
        rules = [r for r in self.rules if in_ranges(symptom, r.symptoms)]
        for code in diagnoses:
            if code == symptom or is_sequela(code) or self.is_symptom(code):
                continue
            for rule in rules:
                if in_ranges(code, rule.integral_to):
                    return code, rule.why
        return None
