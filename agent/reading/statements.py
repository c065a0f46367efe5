"""Codeable statements: each clause of the note with the assertion of its head word, the unit
every later step codes from.
"""

from __future__ import annotations

import re

from agent.reading.assertion import assertion_of
from agent.reading.segment import Analysis, analyze
from agent.records import Statement

__all__ = ["analyze_note", "head_word", "statements_of"]

_WORD = re.compile(r"\w+")


def head_word(text: str, start: int, end: int) -> tuple[int, int]:
    """The offsets of the last word of text[start:end] (the whole span if it has none): the head
    of most English noun phrases, whose assertion is the phrase's."""
    words = list(_WORD.finditer(text, start, end))
    return (words[-1].start(), words[-1].end()) if words else (start, end)


def statements_of(analysis: Analysis) -> tuple[Statement, ...]:
    """Each clause as a codeable statement. Its assertion is that of its last word, the head
    of most English noun phrases ("no acute chest pain"): a trigger inside the target would
    not count, so the whole clause cannot be the target."""
    out = []
    for clause in analysis.clauses:
        sentence = analysis.sentences[clause.sentence_index]
        offset = clause.start - sentence.start
        start, end = head_word(clause.text, 0, len(clause.text))
        assertion = assertion_of(sentence.text, offset + start, offset + end, sentence.section)
        out.append(
            Statement(clause.start, clause.end, clause.text, assertion.value, sentence.section, clause.sentence_index)
        )
    return tuple(out)


def analyze_note(note: str) -> tuple[Analysis, tuple[Statement, ...]]:
    """The note's segmentation and its codeable statements."""
    analysis = analyze(note)
    return analysis, statements_of(analysis)
