"""Codeable statements: each clause of the note with the assertion of its head word, the unit
every later step codes from. A clause in a sentence addressed to the software or the coder is
non-clinical, whatever its words (`agent.reading.instructions`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from agent.reading.assertion import Assertion, assertion_of
from agent.reading.instructions import non_clinical_sentences
from agent.reading.rules import ContextRules, normalise_phrase
from agent.reading.segment import Analysis, Sentence, analyze
from agent.records import Statement

__all__ = ["analyze_note", "assertion_at", "head_word", "statements_of"]

_WORD = re.compile(r"\w+")


def head_word(text: str, start: int, end: int) -> tuple[int, int]:
    """The offsets of the last word of text[start:end] (the whole span if it has none): the head
    of most English noun phrases, whose assertion is the phrase's."""
    words = list(_WORD.finditer(text, start, end))
    return (words[-1].start(), words[-1].end()) if words else (start, end)


def assertion_at(sentence: Sentence, start: int, end: int, own_words: str = "") -> Assertion:
    """The assertion of the finding at sentence.text[start:end], read at its head word. A trigger
    inside the finding whose phrase is the code's own wording ("without" in "Type 2 diabetes
    mellitus without complications in remission", E11.A; "negative" in "BCR/ABL-negative") is
    the code's, not the note's: it is left out. Any other trigger inside the finding still counts
    ("abdomen: no masses")."""
    text = sentence.text
    if own_words:
        own = normalise_phrase(own_words)
        pattern, _ = ContextRules.default().matcher
        for m in pattern.finditer(text, start, end):
            phrase = normalise_phrase(m.group())
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", own):
                text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    return assertion_of(text, *head_word(text, start, end), sentence.section)


def statements_of(analysis: Analysis) -> tuple[Statement, ...]:
    """Each clause as a codeable statement. Its assertion is that of its last word, the head
    of most English noun phrases ("no acute chest pain"): a trigger inside the target would
    not count, so the whole clause cannot be the target."""
    out = []
    for clause in analysis.clauses:
        sentence = analysis.sentences[clause.sentence_index]
        if clause.sentence_index in analysis.non_clinical:
            assertion = Assertion.NON_CLINICAL
        else:
            offset = clause.start - sentence.start
            start, end = head_word(clause.text, 0, len(clause.text))
            assertion = assertion_of(sentence.text, offset + start, offset + end, sentence.section)
        out.append(
            Statement(clause.start, clause.end, clause.text, assertion.value, sentence.section, clause.sentence_index)
        )
    return tuple(out)


def analyze_note(note: str) -> tuple[Analysis, tuple[Statement, ...]]:
    """The note read: its segmentation with the non-clinical sentences marked, and its codeable
    statements."""
    analysis = analyze(note)
    analysis = replace(analysis, non_clinical=non_clinical_sentences(note, analysis.sentences))
    return analysis, statements_of(analysis)
