"""Reading clinical notes from disk and loading coded corpora (CodiEsp layout) for evaluation.

`read_note` turns a file into the exact text that offsets are computed against: it decodes
(UTF-8, UTF-16 with a BOM, or a cp1252/latin-1 fallback) and rejects binary, empty or oversized
files, but never normalises line ends or anything else; `load_split` reads one split of notes
with their gold codes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from index.errors import DataError, NoteError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CodedNote",
    "iter_note_paths",
    "load_split",
    "read_note",
]

DEFAULT_MAX_BYTES = 5_000_000
# A decoded note is "binary" when more than this share of its characters are control
# characters other than tab and the line breaks that str.splitlines() knows.
_MAX_CONTROL_RATIO = 0.05
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_NOTES_FOLDER = "text_files_en"
_KINDS = ("D", "P")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9.]*")


# --- one note --------------------------------------------------------------------------------


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


def iter_note_paths(paths: list[Path]) -> list[Path]:
    """The note files to read: each file as given, and every `*.txt` file (sorted by name)
    directly inside each folder given (not in its subfolders).

    Order follows `paths`; a file reached twice (given and also inside a given folder) is
    listed once, where first reached. A path that does not exist raises DataError.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise DataError(f"no such file or folder: {path}")
        if path.is_dir():
            members = sorted((p for p in path.glob("*.txt") if p.is_file()), key=lambda p: p.name)
        else:
            members = [path]
        for member in members:
            key = member.resolve()
            if key not in seen:
                seen.add(key)
                found.append(member)
    return found


# --- a coded corpus --------------------------------------------------------------------------


@dataclass(frozen=True)
class CodedNote:
    """A note of a corpus with its gold codes (upper case, dot kept: "N44.8")."""

    id: str
    text: str
    codes: frozenset[str]


def load_split(data_dir: Path, split: str, limit: int | None = None, kind: str = "D") -> list[CodedNote]:
    """The notes of one split of a CodiEsp-style corpus, with their gold codes, sorted by id.

    Layout: `data_dir/split/text_files_en/<id>.txt` for the notes and
    `data_dir/split/<split><kind>.tsv` for the gold, one `id<TAB>code` per line (`kind` "D" for
    diagnoses, "P" for procedures). Codes are upper-cased, the dot kept; a repeated (id, code)
    line counts once; blank lines are skipped. A note without gold lines is kept with an empty
    set. `limit` keeps the first `limit` notes by id (only those are read).

    Raises DataError for a missing folder or tsv, a malformed tsv line (with its number), a gold
    line whose id has no note file, or a note that cannot be read as text.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, not {limit}")
    split_dir = Path(data_dir) / split
    if not split_dir.is_dir():
        raise DataError(f"split folder not found: {split_dir}")
    notes_dir = split_dir / _NOTES_FOLDER
    if not notes_dir.is_dir():
        raise DataError(f"notes folder not found: {notes_dir}")
    note_paths = {p.stem: p for p in notes_dir.glob("*.txt") if p.is_file()}
    if not note_paths:
        raise DataError(f"no .txt notes in {notes_dir}")
    gold = _read_gold(split_dir / f"{split}{kind}.tsv")
    orphans = sorted(set(gold) - set(note_paths))
    if orphans:
        shown = ", ".join(orphans[:5]) + (", ..." if len(orphans) > 5 else "")
        raise DataError(f"{split}{kind}.tsv in {split_dir} has codes for {len(orphans)} ids without a note: {shown}")
    ids = sorted(note_paths)
    if limit is not None:
        ids = ids[:limit]
    notes = []
    for note_id in ids:
        try:
            text = read_note(note_paths[note_id])
        except NoteError as exc:
            raise DataError(f"corpus note {note_id} in {notes_dir} cannot be used: {exc}") from exc
        notes.append(CodedNote(note_id, text, frozenset(gold.get(note_id, ()))))
    return notes


def _read_gold(tsv: Path) -> dict[str, set[str]]:
    if not tsv.is_file():
        raise DataError(f"gold file not found: {tsv}")
    try:
        content = tsv.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"gold file {tsv} cannot be read as UTF-8 text: {exc}") from exc
    gold: dict[str, set[str]] = {}
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        note_id = fields[0].strip()
        code = fields[1].strip().upper() if len(fields) == 2 else ""
        if len(fields) != 2 or not note_id or not _CODE.fullmatch(code):
            raise DataError(f"gold file {tsv}, line {number}: expected 'id<TAB>code', got {line!r}")
        gold.setdefault(note_id, set()).add(code)
    return gold
