"""The checks a request passes before the case store touches its file: a note of text within the
size limit, a coder's name to audit it under, a known setting or status, a code of the code book,
a FHIR reference of the right shape, evidence that is exactly where it says in the note. Each
refusal says what to give instead: a NoteError for the note, a DecisionRefused for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.records import Evidence
from app.review.records import REFERENCE_TYPES, Case
from index.errors import CodaError, DecisionRefused, NoteError
from index.model import Code, CodeKind, code_key
from index.store import CodeStore

_TITLE_CHARS = 60
_MAX_REFERENCE = 512
# A FHIR reference (R4 3.1.3.3): Type/id, optionally after a service base URL and with a version.
_REFERENCE = re.compile(
    r"(?:https?://[A-Za-z0-9\-.:%$]+(?:/[A-Za-z0-9\-.:%$]+)*/)?([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


def note_text(note: str, max_bytes: int) -> str:
    """A note as given, refused (NoteError) when it is blank, is not valid Unicode text or takes
    more than `max_bytes` in UTF-8: the same limit as a note read from a file."""
    if not isinstance(note, str) or not note.strip():
        raise NoteError("the note is empty: paste or upload the clinical note to code")
    try:
        size = len(note.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise NoteError(f"the note is not valid Unicode text (character {exc.start}): paste it again") from None
    if size > max_bytes:
        raise NoteError(
            f"the note is too large: {size:,} bytes in UTF-8, over the limit of {max_bytes:,} bytes "
            "that uploaded notes have too; nothing was saved"
        )
    return note


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


def reason(text: str | None, refusal: str) -> str:
    """The coder's reason, white space folded; `refusal` when it is blank."""
    folded = " ".join((text or "").split())
    if not folded:
        raise DecisionRefused(refusal)
    return folded


def book_code(book: CodeStore, code: str) -> Code:
    """The code book's record of a code the coder chose, spelt any way ("e1122" finds E11.22);
    refused when it is not a code of the code system (unknown, or a chapter or block heading)."""
    given = " ".join((code or "").split())
    if not code_key(given):
        raise DecisionRefused("give the code to use")
    found = book.find(given)
    if found is None or found.kind in (CodeKind.CHAPTER, CodeKind.BLOCK):
        raise DecisionRefused(
            f"{given} is not a code of {book.info.title} {book.info.release}: choose a code from the code book"
        )
    return found


def reference(role: str, value: str | None) -> str | None:
    """A FHIR reference for `role` of the claim ("Patient/123"), stripped; None when blank.
    Refused unless it is reference-shaped and points to a resource type the role allows."""
    one_of("reference", role, REFERENCE_TYPES)
    text = (value or "").strip()
    if not text:
        return None
    allowed = REFERENCE_TYPES[role]
    found = _REFERENCE.fullmatch(text) if len(text) <= _MAX_REFERENCE else None
    if found is None or found.group(1) not in allowed:
        kinds = " or ".join(allowed)
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise DecisionRefused(
            f"the {role} reference must be a FHIR reference to a {kinds}, such as {allowed[0]}/123, not {shown!r}"
        )
    return text


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
