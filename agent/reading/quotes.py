"""Quotes found back in the note: where the words a model or a coder quotes lie, with exact offsets.

A model copies text from the note as evidence, and copies it imperfectly: it adds quotation
marks or ellipses, changes case, folds a line break into a space, or invents the text. So
`find_quote` looks for the quote exactly first, then ignoring case and runs of whitespace,
and always answers with offsets into the note as given (`note[s.start:s.end] == s.text`),
or None; `find_quotes` gives every place a coder's quote lies, searched the loose way.
Its searches are linear in the length of the note (str.find), so a 5 MB note is safe.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from agent.reading.segment import Span

__all__ = ["MIN_QUOTE_CHARS", "clean_quote", "find_quote", "find_quotes"]

MIN_QUOTE_CHARS = 3

# What a model wraps a quote in: quotation marks, ellipses, and the whitespace around them.
_WRAPPERS = "\"'`“”‘’„‚«»‹›"
_ELLIPSES = ("...", "…")
# Typographic characters a model often "straightens"; one for one, so offsets are kept.
_TYPOGRAPHY = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-"})
# A run of whitespace that is not a single plain space: the only runs the loose search rewrites.
_ODD_SPACE = re.compile(r"\s{2,}|[^\S ]")


def clean_quote(quote: str) -> str:
    """The quote without the whitespace, quotation marks and ellipses a model puts around it."""
    text = quote.strip()
    while True:
        before = text
        for mark in _ELLIPSES:
            text = text.removeprefix(mark).removesuffix(mark)
        text = text.strip(_WRAPPERS).strip()
        if text == before:
            return text


def find_quote(note: str, quote: str, near: int | None = None) -> Span | None:
    """Where `quote` lies in `note`, as exact offsets; None when it is not there.

    The exact text is looked for first; failing that, the text ignoring case, runs of
    whitespace and typographic quotes and dashes. When the quote occurs more than once, the
    occurrence whose start is nearest to `near` wins (the first one when `near` is None).
    Quotes shorter than MIN_QUOTE_CHARS (after cleaning) say too little and give None.
    """
    if not isinstance(note, str) or not isinstance(quote, str):
        return None
    text = clean_quote(quote)
    if len(text) < MIN_QUOTE_CHARS or len(text) > len(note):
        return None
    start = _nearest(note, text, near)
    if start is not None:
        return Span(start, start + len(text), text)

    loose = _loosened(note)
    needle = _loosen(text)
    if len(needle) < MIN_QUOTE_CHARS:
        return None
    at = _nearest(loose.text, needle, None if near is None else loose.to_loose(near))
    if at is None:
        return None
    start, end = loose.to_note(at), loose.to_note(at + len(needle) - 1) + 1
    return Span(start, end, note[start:end])


def find_quotes(note: str, quote: str) -> list[Span]:
    """Every place `quote` lies in `note`, ignoring case, runs of whitespace and typographic
    quotes and dashes, as exact offsets into the note, in order; [] when it is not there or
    says too little (shorter than MIN_QUOTE_CHARS). For a coder's quote, where how many
    places the words stand in matters as much as the first."""
    needle = _loosen(clean_quote(quote)) if isinstance(quote, str) else ""
    if len(needle) < MIN_QUOTE_CHARS or not isinstance(note, str):
        return []
    loose = _loosened(note)
    spans = []
    at = loose.text.find(needle)
    while at >= 0:
        start, end = loose.to_note(at), loose.to_note(at + len(needle) - 1) + 1
        spans.append(Span(start, end, note[start:end]))
        at = loose.text.find(needle, at + 1)
    return spans


def _nearest(haystack: str, needle: str, near: int | None) -> int | None:
    """The start of the occurrence of `needle` nearest to `near`; two str.find calls at most."""
    if near is None:
        at = haystack.find(needle)
        return at if at >= 0 else None
    near = min(max(near, 0), len(haystack))
    after = haystack.find(needle, near)
    before = haystack.rfind(needle, 0, near + len(needle) - 1)  # the last one starting before `near`
    found = [i for i in (before, after) if i >= 0]
    return min(found, key=lambda i: (abs(i - near), i)) if found else None


def _loosen(text: str) -> str:
    """Lower case (one character for one), typographic marks straightened, whitespace runs
    made one space, trimmed: how the loose search compares a quote."""
    return " ".join(_lower(text).translate(_TYPOGRAPHY).split())


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):  # lower() only ever lengthens (U+0130), so offsets hold
        return lowered
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


@dataclass(frozen=True)
class _Loosened:
    """A note loosened like a quote, with the map back to the note's offsets.

    Only whitespace runs that are not a single space change length, so the map is kept
    sparse: from loose offset `loose_at[i]` on, note offset = loose offset + `shift[i]`.
    """

    text: str
    loose_at: tuple[int, ...]
    note_at: tuple[int, ...]
    shift: tuple[int, ...]

    def to_note(self, offset: int) -> int:
        i = bisect_right(self.loose_at, offset) - 1
        return offset + (self.shift[i] if i >= 0 else 0)

    def to_loose(self, offset: int) -> int:
        i = bisect_right(self.note_at, offset) - 1
        return offset - (self.shift[i] if i >= 0 else 0)


@lru_cache(maxsize=4)
def _loosened(note: str) -> _Loosened:
    """The loose form of a note; cached, since one answer checks many quotes in one note."""
    lowered = _lower(note).translate(_TYPOGRAPHY)
    pieces: list[str] = []
    loose_at: list[int] = []
    note_at: list[int] = []
    shift: list[int] = []
    pos = 0  # in the note
    removed = 0  # characters removed so far
    for m in _ODD_SPACE.finditer(lowered):
        pieces.append(lowered[pos : m.start()])
        pieces.append(" ")
        removed += len(m.group()) - 1
        pos = m.end()
        loose_at.append(pos - removed)
        note_at.append(pos)
        shift.append(removed)
    pieces.append(lowered[pos:])
    return _Loosened("".join(pieces), tuple(loose_at), tuple(note_at), tuple(shift))
