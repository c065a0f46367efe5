"""The assertion of a statement, as ConText reads it: present, negated, uncertain, historical,
family or hypothetical. A trigger phrase covers the text on its side(s) up to the end of the
sentence or a termination term; the section fills what no trigger decides.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from agent.reading.rules import Category, ContextRules, Direction, normalise_phrase

__all__ = ["Assertion", "assertion_of"]


class Assertion(StrEnum):
    """What a note says about a finding, as far as coding is concerned."""

    PRESENT = "present"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"
    NON_CLINICAL = "non_clinical"  # text addressed to the software or the coder, not about the patient


_CERTAINTY = (Category.NEGATED, Category.UNCERTAIN)
_TEMPORALITY = (Category.HISTORICAL, Category.HYPOTHETICAL, Category.CURRENT)
_FORWARD = (Direction.FORWARD, Direction.BIDIRECTIONAL)
_BACKWARD = (Direction.BACKWARD, Direction.BIDIRECTIONAL)


@lru_cache(maxsize=256)
def _triggers(pattern: re.Pattern[str], text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, normalised phrase) of every trigger phrase in `text`, left to right."""
    return tuple((m.start(), m.end(), normalise_phrase(m.group())) for m in pattern.finditer(text))


def assertion_of(
    sentence_text: str,
    start: int,
    end: int,
    section: str = "body",
    rules: ContextRules | None = None,
) -> Assertion:
    """The ConText assertion of the finding at sentence_text[start:end].

    Each trigger phrase (Chapman et al.) covers the text on its side(s) up to the sentence
    end or a termination term ("but", "however", ";" ...). Triggers that overlap the
    finding are ignored, so a finding "family history of diabetes" is itself PRESENT.
    Three axes are decided apart, the nearest trigger winning within an axis:
    certainty (negated, uncertain), temporality (historical, hypothetical, current) and
    experiencer (family); the section fills an axis no trigger decided ("family_history"
    -> family, "history" -> historical). The result, by precedence: NEGATED, FAMILY,
    HYPOTHETICAL, HISTORICAL, UNCERTAIN, else PRESENT.
    """
    if not 0 <= start <= end <= len(sentence_text):
        raise ValueError(f"span [{start}, {end}) is not inside a text of length {len(sentence_text)}")
    rules = rules or ContextRules.default()
    pattern, table = rules.matcher
    found = [
        (s, e, table[phrase])
        for s, e, phrase in _triggers(pattern, sentence_text)
        if (e <= start or s >= end) and phrase in table
    ]

    # Forward scopes reaching the finding start after the last forward terminator before it;
    # backward scopes end at the first backward terminator after it.
    forward_from = max(
        (e for s, e, r in found if r.category is Category.TERMINATE and r.direction in _FORWARD and e <= start),
        default=0,
    )
    backward_to = min(
        (s for s, e, r in found if r.category is Category.TERMINATE and r.direction in _BACKWARD and s >= end),
        default=len(sentence_text),
    )
    nearest: dict[str, tuple[int, Category]] = {}
    for s, e, rule in found:
        if rule.category in (Category.PSEUDO, Category.TERMINATE):
            continue
        if e <= start and rule.direction in _FORWARD and s >= forward_from:
            distance = start - e
        elif s >= end and rule.direction in _BACKWARD and e <= backward_to:
            distance = s - end
        else:
            continue
        axis = _axis(rule.category)
        if axis not in nearest or distance < nearest[axis][0]:
            nearest[axis] = (distance, rule.category)

    decided = {axis: category for axis, (_, category) in nearest.items()}
    default = rules.section_defaults.get(section)
    if default is not None:
        decided.setdefault(_axis(default), default)
    for category, assertion in _PRECEDENCE:
        if category in decided.values():
            return assertion
    return Assertion.PRESENT


def _axis(category: Category) -> str:
    if category in _CERTAINTY:
        return "certainty"
    if category in _TEMPORALITY:
        return "temporality"
    return "experiencer"


_PRECEDENCE = (
    (Category.NEGATED, Assertion.NEGATED),
    (Category.FAMILY, Assertion.FAMILY),
    (Category.HYPOTHETICAL, Assertion.HYPOTHETICAL),
    (Category.HISTORICAL, Assertion.HISTORICAL),
    (Category.UNCERTAIN, Assertion.UNCERTAIN),
)
