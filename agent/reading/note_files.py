"""Reading a clinical note from disk (the CLI walks the paths a user names: `app/inputs.py`).

`read_note` turns a file into the exact text that offsets are computed against: it decodes
(UTF-8, UTF-16 with a BOM, or a cp1252/latin-1 fallback) and rejects binary, empty or oversized
files, but never normalises line ends or anything else.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from index.errors import NoteError

__all__ = ["DEFAULT_MAX_BYTES", "read_note"]

DEFAULT_MAX_BYTES = 5_000_000
# A decoded note is "binary" when more than this share of its characters are control
# characters other than tab and the line breaks that str.splitlines() knows.
_MAX_CONTROL_RATIO = 0.05
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")


def read_note(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The text of the note file at `path`, exactly as decoded.

    Decoding: UTF-8 (a leading BOM is dropped); else UTF-16 when the file starts with a UTF-16
    BOM; else cp1252, or latin-1 for the few bytes cp1252 leaves undefined, but only when the
    result looks like text. Nothing else is changed ("\\r\\n" stays "\\r\\n"), so offsets into
    the returned string are offsets into the note as given.

    Raises NoteError when the file is missing or unreadable, larger than `max_bytes`, looks
    binary (a NUL character, or more than 5% control characters), or is empty or whitespace.
    """
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, not {max_bytes}")
    path = Path(path)
    try:
        if not path.is_file():
            raise NoteError(f"note {path} not found" if not path.exists() else f"note {path} is not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise NoteError(_too_large(path, size, max_bytes))
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise NoteError(f"note {path} cannot be read: {exc}") from exc
    if len(data) > max_bytes:  # the file grew after stat(), or stat() does not know its size
        raise NoteError(_too_large(path, len(data), max_bytes))
    text = _decode(path, data)
    if not text.strip():
        raise NoteError(f"note {path} is empty")
    reason = _binary_reason(text)
    if reason:
        raise NoteError(f"note {path} looks binary ({reason}), not like text")
    return text


def _too_large(path: Path, size: int, max_bytes: int) -> str:
    return f"note {path} is too large: {size:,} bytes, over the limit of {max_bytes:,} bytes"


def _decode(path: Path, data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError(f"note {path} starts with a UTF-8 BOM but is not valid UTF-8: {exc}") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")  # the BOM picks the byte order and is dropped
        except UnicodeDecodeError as exc:
            raise NoteError(f"note {path} starts with a UTF-16 BOM but is not valid UTF-16: {exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise NoteError(f"note {path} looks binary (contains NUL bytes), not like text")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # never fails; _binary_reason() still judges the result


def _binary_reason(text: str) -> str | None:
    if "\x00" in text:
        return "contains NUL bytes"
    controls = len(_CONTROL.findall(text))
    if controls > _MAX_CONTROL_RATIO * len(text):
        return f"{controls / len(text):.0%} control characters"
    return None
