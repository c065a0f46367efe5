"""The checks a coder's request passes before the case store touches its file: a coder's name to
audit it under, a known setting or status, a code with its title, evidence that is exactly where it
says in the note. Each refusal is a DecisionRefused saying what to give instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.records import Evidence
from app.review.records import Case, dotted
from index.errors import CodaError, DecisionRefused
from index.model import code_key

_TITLE_CHARS = 60


def one_of(name: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise DecisionRefused(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def coder_name(coder: str) -> str:
    """The coder's name, white space folded; refused when blank."""
    name = " ".join((coder or "").split())
    if not name:
        raise DecisionRefused("every decision is audited under a coder's name: give one")
    return name


def new_code(code: str, title: str) -> tuple[str, str]:
    """A code the coder chose, dotted, with its title; refused without either."""
    if not code_key(code or ""):
        raise DecisionRefused("give the code to use")
    title = " ".join((title or "").split())
    if not title:
        raise DecisionRefused(f"give the title of {dotted(code)}")
    return dotted(code), title


def title_of(note: str) -> str:
    """A case title from the note's first non-blank line, shortened between words."""
    first = " ".join(next(line for line in note.splitlines() if line.strip()).split())
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[: _TITLE_CHARS - 2]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut[:-1]).rstrip() + "..."


def check_evidence(case: Case, spans: Iterable[Evidence], error: type[CodaError]) -> None:
    """Every span must index the case's note exactly (`note[start:end] == text`); `error` otherwise."""
    for e in spans:
        if not (0 <= e.start <= e.end <= len(case.note)) or case.note[e.start : e.end] != e.text:
            raise error(f"evidence {e.start}-{e.end} {e.text!r} is not at those offsets in the note of case {case.id}")
