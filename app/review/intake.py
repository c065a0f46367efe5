"""New notes for the case store: the synthetic sample notes shipped in assets/samples, and notes
uploaded as files, checked and decoded exactly as `agent.reading.note_files.read_note` reads a note
from disk (a bad file is named, and stops no other)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agent.reading.note_files import DEFAULT_MAX_BYTES, read_note
from index.errors import NoteError

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"


@dataclass(frozen=True)
class Sample:
    """A synthetic note shipped in assets/samples, with the setting its file name gives."""

    name: str  # the file's stem, e.g. "01-outpatient-diabetes-ckd-followup"
    title: str  # its first non-blank line
    setting: str
    path: Path

    def read(self) -> str:
        """The note, read as any note is read from disk; NoteError when it can no longer be."""
        return read_note(self.path)


def list_samples(folder: Path = SAMPLES_DIR) -> list[Sample]:
    """The sample notes in `folder`, by file name. A name holding "-inpatient-" is an inpatient
    note; any other is outpatient. A file that cannot be read as a note is left out."""
    samples = []
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        try:
            text = read_note(path)
        except NoteError:
            continue
        title = next(line.strip() for line in text.splitlines() if line.strip())
        setting = "inpatient" if "-inpatient-" in f"-{path.stem}-" else "outpatient"
        samples.append(Sample(path.stem, title, setting, path))
    return samples


def note_from_upload(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The text of an uploaded note file, checked and decoded exactly as `agent.reading.note_files.read_note`
    reads a note from disk (same encodings, same refusals, nothing normalised).

    Raises NoteError naming the upload ("note discharge.txt is empty").
    """
    shown = Path(name).name or "upload.txt"
    if len(data) > max_bytes:
        raise NoteError(f"note {shown} is too large: {len(data):,} bytes, over the limit of {max_bytes:,} bytes")
    with tempfile.TemporaryDirectory(prefix="coda-upload-") as folder:
        path = Path(folder) / "note.txt"
        path.write_bytes(data)
        try:
            return read_note(path, max_bytes)
        except NoteError as exc:
            raise NoteError(str(exc).replace(str(path), shown)) from None


@dataclass(frozen=True)
class UploadedNote:
    name: str
    text: str | None  # None when the file could not be read
    error: str = ""


def notes_from_uploads(files: Iterable[tuple[str, bytes]], max_bytes: int = DEFAULT_MAX_BYTES) -> list[UploadedNote]:
    """Every uploaded file as a note or as the reason it is not one; a bad file stops no other."""
    out = []
    for name, data in files:
        try:
            out.append(UploadedNote(name, note_from_upload(name, data, max_bytes)))
        except NoteError as exc:
            out.append(UploadedNote(name, None, str(exc)))
    return out


def upload_title(name: str) -> str:
    """A worklist title from an uploaded file's name: "discharge_summary-03.txt" -> "discharge summary 03"."""
    return " ".join(Path(name).stem.replace("_", " ").replace("-", " ").split())
