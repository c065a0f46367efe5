"""Coded corpora for learning and evaluation (the CodiEsp layout): each split's notes with
their gold codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agent.reading.note_files import read_note
from index.errors import DataError, NoteError

__all__ = ["CodedNote", "load_split"]

_NOTES_FOLDER = "text_files_en"
_KINDS = ("D", "P")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9.]*")


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
