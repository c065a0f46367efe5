"""Segmentation, the first step of reading a note: sections, sentences and clauses.

Every span holds exact offsets into the note as given (Python string indices, that is code
points), so `note[span.start:span.end] == span.text` always holds: the note is never
normalised, and spans are only trimmed of surrounding whitespace.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from agent.reading.rules import LINE_BREAKS, TextRules
from index.errors import NoteError

__all__ = ["Analysis", "Clause", "Section", "Sentence", "Span", "analyze"]


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Section:
    """A section of the note, from its header (if any) to the last non-space before the next.

    `header` is the header as written, colon included ("Past Medical History:"); it is
    None for the "body" before the first header. Sentences never include the header.
    """

    name: str
    start: int
    end: int
    header: Span | None = None


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str
    section: str  # the name of the section the sentence is in


@dataclass(frozen=True, slots=True)
class Clause:
    start: int
    end: int
    text: str
    sentence_index: int  # index into Analysis.sentences


@dataclass(frozen=True, slots=True)
class Analysis:
    """A note read into sections, sentences and clauses; `non_clinical` names the sentences
    (by index) that address the software or the coder rather than describe the patient, each
    with why (`agent.reading.statements.analyze_note` fills it)."""

    sections: tuple[Section, ...] = ()
    sentences: tuple[Sentence, ...] = ()
    clauses: tuple[Clause, ...] = ()
    non_clinical: Mapping[int, str] = field(default_factory=dict)

    def sentence_at(self, offset: int) -> int | None:
        """The index of the sentence that contains note offset `offset`, if any."""
        i = bisect_right(self.sentences, offset, key=lambda s: s.start) - 1
        if i >= 0 and offset < self.sentences[i].end:
            return i
        return None


# --- regexes: all linear (no nested quantifiers, possessive where a retry is possible) ----

_BRK = re.escape(LINE_BREAKS)
_LINE = re.compile(rf"[^{_BRK}]+")
_ALNUM = re.compile(r"[^\W_]")
# A list marker at the start of a line: "1.", "2)", "(3)", "#4", "- ", "* ", "• ".
_LEAD_MARKER = re.compile(
    r"(?:(?P<num>\d{1,3})(?P<delim>[.)])|\((?P<pnum>\d{1,3})\)|#(?P<hnum>\d{1,3})[.):]?|[-*+•◦▪●‣–])"
    r"(?:[ \t]++(?=\S)|[ \t]*+\Z)"  # "2." alone on its line is an empty item, not a sentence
)
# The same numbered markers inside a line ("Diagnoses: 1. HTN 2. DM"); used only when they
# continue the numbering that started the line, so "CKD stage 3. Diabetes." is left alone.
_INLINE_MARKER = re.compile(
    r"(?<=[ \t])(?:(?P<num>\d{1,3})(?P<delim>[.)])|\((?P<pnum>\d{1,3})\)|#(?P<hnum>\d{1,3})[.):]?)"
    r"[ \t]++(?=\S)"
)
# Sentence-final punctuation, with closing brackets or quotes, followed by a space or the end.
_TERMINAL = re.compile(r"[.!?]++[)\]\"'”’»]*+(?=\s|\Z)")
_DOTTED = re.compile(r"[a-z](?:\.[a-z])+")
# Clause boundaries: ";", a comma that is not a thousands separator, "but", "however".
_CLAUSE_BREAK = re.compile(r";|(?<!\d),|,(?!\d)|\b(?:but|however)\b", re.IGNORECASE)
_TOKEN_LOOKBACK = 40


def analyze(note: str, rules: TextRules | None = None) -> Analysis:
    """Split a note into sections, sentences and clauses, with exact offsets into `note`."""
    if not isinstance(note, str):
        raise NoteError(f"a note must be text (str), not {type(note).__name__}")
    rules = rules or TextRules.default()
    sections = _sections(note, rules)
    sentences: list[Sentence] = []
    for section in sections:
        start = section.header.end if section.header else section.start
        sentences.extend(_sentences(note, start, section.end, section.name, rules))
    clauses = [clause for i, sentence in enumerate(sentences) for clause in _clauses(sentence, i)]
    return Analysis(tuple(sections), tuple(sentences), tuple(clauses))


# --- sections ------------------------------------------------------------------------------


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) of `text` without surrounding whitespace; (x, x) when nothing is left."""
    piece = text[start:end]
    left = len(piece) - len(piece.lstrip())
    if left == len(piece):
        return start, start
    return start + left, start + len(piece.rstrip())


def _sections(note: str, rules: TextRules) -> list[Section]:
    headers = list(rules.header_pattern.finditer(note))
    sections: list[Section] = []
    first = headers[0].start("name") if headers else len(note)
    start, end = _trim(note, 0, first)
    if end > start:
        sections.append(Section("body", start, end))
    for i, m in enumerate(headers):
        start = m.start("name")
        header_end = m.end("colon") if m.group("colon") else m.end("name")
        next_start = headers[i + 1].start("name") if i + 1 < len(headers) else len(note)
        end = max(_trim(note, start, next_start)[1], header_end)
        name = rules.section_name(m.group("name")) or "body"
        sections.append(Section(name, start, end, Span(start, header_end, note[start:header_end])))
    return sections


# --- sentences -----------------------------------------------------------------------------


def _sentences(note: str, start: int, end: int, section: str, rules: TextRules) -> Iterator[Sentence]:
    """Sentences of note[start:end]: every line break ends one, and so does a list marker."""
    for line in _LINE.finditer(note, start, end):
        text, base = line.group(), line.start()
        for piece_start, piece_end in _list_items(text):
            for s, e in _split_piece(text, piece_start, piece_end, rules):
                yield Sentence(base + s, base + e, text[s:e], section)


def _marker_key(m: re.Match[str]) -> tuple[str, int] | None:
    """(".", 1) for "1.", (")", 2) for "2)", ("(", 3) for "(3)", ("#", 4) for "#4"; None for a bullet."""
    if m.group("num"):
        return m.group("delim"), int(m.group("num"))
    if m.group("pnum"):
        return "(", int(m.group("pnum"))
    if m.group("hnum"):
        return "#", int(m.group("hnum"))
    return None


def _list_items(line: str) -> Iterator[tuple[int, int]]:
    """The pieces of a line between list markers, markers left out."""
    start = len(line) - len(line.lstrip())
    lead = _LEAD_MARKER.match(line, start)
    if lead is None:
        yield start, len(line)
        return
    key = _marker_key(lead)
    start = lead.end()
    if key is not None:
        kind, number = key
        for m in _INLINE_MARKER.finditer(line, start):
            if _marker_key(m) == (kind, number + 1):
                yield start, m.start()
                start, number = m.end(), number + 1
    yield start, len(line)


def _split_piece(text: str, start: int, end: int, rules: TextRules) -> Iterator[tuple[int, int]]:
    """Trimmed sentences of text[start:end], split after sentence-final punctuation."""
    pos = start
    for m in _TERMINAL.finditer(text, start, end):
        if _ends_sentence(text, m, start, end, rules):
            yield from _keep(text, pos, m.end())
            pos = m.end()
    yield from _keep(text, pos, end)


def _keep(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    start, end = _trim(text, start, end)
    if end > start and _ALNUM.search(text, start, end):
        yield start, end


def _ends_sentence(text: str, m: re.Match[str], start: int, end: int, rules: TextRules) -> bool:
    punct = m.group()
    if not punct.startswith(".") or punct.startswith(".."):
        return True  # "!", "?", an ellipsis
    # The word before the period (a bounded look back: the regexes stay linear).
    p = m.start()
    k = p
    limit = max(start, p - _TOKEN_LOOKBACK)
    while k > limit and not text[k - 1].isspace():
        k -= 1
    token = text[k:p].lstrip("([{\"'“‘").casefold()
    if token[:1].isdigit() and not token.isdigit():
        token = token.lstrip("0123456789")  # "500mg." is "mg."
    if not token:
        return True
    if token in rules.never_end:
        return False
    if token in rules.end_before_capital or (len(token) == 1 and token.isalpha()) or _DOTTED.fullmatch(token):
        k = m.end()
        while k < end and text[k].isspace():
            k += 1
        return k >= end or text[k].isupper()
    return True


# --- clauses -------------------------------------------------------------------------------


def _clauses(sentence: Sentence, index: int) -> Iterator[Clause]:
    text, base = sentence.text, sentence.start
    pos = 0
    for m in _CLAUSE_BREAK.finditer(text):
        for s, e in _keep(text, pos, m.start()):
            yield Clause(base + s, base + e, text[s:e], index)
        pos = m.end()
    for s, e in _keep(text, pos, len(text)):
        yield Clause(base + s, base + e, text[s:e], index)
