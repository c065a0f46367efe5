"""Coding a backlog: `coda batch INPUT OUTPUT` reads notes from a folder of .txt files, a JSONL file
({"id", "text"} a line) or a Parquet file (columns id and text), codes each one, and writes one
record per note, the same record `coda code --json` prints, with the note's `key`.

A run is resumable: a note's key is a hash of its text and of everything that decides its codes
(the code-set release and the build of its index, the profile's files, the care setting and the
reasoner), and a note whose key is already in OUTPUT without an error is skipped. A note that
cannot be read or coded gets a record with its `error` and stops nothing; it is tried again on the
next run. JSONL output is appended note by note, so a run that is stopped keeps what it finished;
Parquet is written once at the end (whole, through a temporary file).

Two engines give the same records: `local` codes in this process and needs no Ray; `ray` codes on
a Ray cluster (`app.batch_ray`), each actor loading the index, models and profile once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.reading.note_files import DEFAULT_MAX_BYTES, read_note
from index.errors import CodaError, DataError, NoteError

FORMATS = (".jsonl", ".parquet")
GB_PER_WORKER = 1.5  # what one coder (index, models, profile) holds in memory, measured on this machine


@dataclass(frozen=True)
class BatchNote:
    """One note of the input, or why it cannot be coded (`text` None)."""

    id: str
    text: str | None
    error: str = ""


@dataclass(frozen=True)
class RunIdentity:
    """Everything that decides a note's codes besides its text."""

    release: str  # the code set and the build of its index: "icd10cm 2026 built 2026-11-29T12:34:59Z"
    profile: str  # the profile's name and a hash of its files, or "" for none
    setting: str
    reasoner: str

    def key(self, text: str) -> str:
        parts = [self.release, self.profile, self.setting, self.reasoner, text]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


@dataclass
class BatchReport:
    coded: int = 0
    skipped: int = 0  # coded before with the same key
    failed: int = 0


def read_batch(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[BatchNote]:
    """The notes of INPUT in their order; NoteError when INPUT itself cannot be read. A note that
    cannot be read, or an id given twice, becomes a BatchNote with its error."""
    if path.is_dir():
        notes = [_read_file(p, max_bytes) for p in sorted(path.glob("*.txt"))]
    elif path.suffix == ".jsonl":
        notes = list(_read_jsonl(path, max_bytes))
    elif path.suffix == ".parquet":
        notes = list(_read_parquet(path, max_bytes))
    else:
        raise NoteError(f"{path} is not a folder of .txt notes, a .jsonl file or a .parquet file")
    seen: set[str] = set()
    out = []
    for note in notes:
        if note.id in seen:
            note = BatchNote(note.id, None, f"the id {note.id!r} is given twice: only its first note is coded")
        seen.add(note.id)
        out.append(note)
    return out


def _read_file(path: Path, max_bytes: int) -> BatchNote:
    try:
        return BatchNote(path.stem, read_note(path, max_bytes))
    except NoteError as exc:
        return BatchNote(path.stem, None, str(exc))


def _checked(note_id: object, text: object, where: str, max_bytes: int) -> BatchNote:
    if not isinstance(note_id, str) or not note_id.strip():
        return BatchNote(where, None, f"{where}: no id (a non-empty string)")
    if not isinstance(text, str) or not text.strip():
        return BatchNote(note_id, None, f"{where}: no text (a non-empty string)")
    if len(text.encode("utf-8")) > max_bytes:
        return BatchNote(note_id, None, f"{where}: the note is over the limit of {max_bytes:,} bytes")
    return BatchNote(note_id, text)


def _read_jsonl(path: Path, max_bytes: int) -> Iterator[BatchNote]:
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise NoteError(f"{path} cannot be read: {exc.strerror or exc}") from None
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"line {n}"
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield BatchNote(where, None, f"{where}: not a JSON object in UTF-8 ({exc})")
            continue
        if not isinstance(row, dict):
            yield BatchNote(where, None, f"{where}: not a JSON object")
            continue
        yield _checked(row.get("id"), row.get("text"), where, max_bytes)


def _read_parquet(path: Path, max_bytes: int) -> Iterator[BatchNote]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise NoteError(f"{path} cannot be read as Parquet: {exc}") from None
    missing = {"id", "text"} - set(table.column_names)
    if missing:
        raise NoteError(f"{path} has no column {', '.join(sorted(missing))}: a batch reads the columns id and text")
    for n, row in enumerate(table.select(["id", "text"]).to_pylist(), 1):
        yield _checked(row["id"], row["text"], f"row {n}", max_bytes)


def run_identity(release_dir: Path, profile_dir: Path | None, setting: str, reasoner: str) -> RunIdentity:
    """The identity of a run over the index built in `release_dir`, with the profile in `profile_dir`."""
    try:
        manifest = json.loads((release_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{release_dir} has no readable manifest.json: build the index again ({exc})") from None
    release = f"{manifest.get('system')} {manifest.get('release')} built {manifest.get('built_at')}"
    profile = ""
    if profile_dir is not None:
        digest = hashlib.sha256()
        for path in sorted(p for p in profile_dir.rglob("*") if p.is_file()):
            digest.update(path.relative_to(profile_dir).as_posix().encode("utf-8") + b"\0")
            digest.update(path.read_bytes())
        profile = f"{profile_dir.name} {digest.hexdigest()[:16]}"
    return RunIdentity(release, profile, setting, reasoner)


def done_keys(output: Path) -> set[str]:
    """The keys of the notes OUTPUT holds coded (records with an error are tried again)."""
    return {r["key"] for r in read_output(output) if "key" in r and "error" not in r}


def read_output(output: Path) -> list[dict[str, Any]]:
    """The records of an earlier run's OUTPUT (none when it does not exist yet)."""
    if not output.exists():
        return []
    if output.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [json.loads(r) for r in pq.read_table(output, columns=["record"]).column("record").to_pylist()]
    records = []
    for n, line in enumerate(output.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise DataError(f"{output} line {n} is not a record of coda batch: write to a new file") from None
    return records


def check_output(output: Path) -> None:
    if output.suffix not in FORMATS:
        raise DataError(f"{output}: the output is a .jsonl or a .parquet file")


class OutputWriter:
    """Where records go: appended to a JSONL file note by note, or gathered for one Parquet file."""

    def __init__(self, output: Path) -> None:
        check_output(output)
        self.output = output
        self._parquet = output.suffix == ".parquet"
        self._kept = read_output(output) if self._parquet else []

    def write(self, record: dict[str, Any]) -> None:
        if self._parquet:
            self._kept.append(record)
            return
        with self.output.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def close(self) -> None:
        if not self._parquet:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "id": [str(r.get("id", "")) for r in self._kept],
                "key": [str(r.get("key", "")) for r in self._kept],
                "error": [r.get("error") for r in self._kept],
                "record": [json.dumps(r) for r in self._kept],
            }
        )
        partial = self.output.with_name(self.output.name + ".partial")
        pq.write_table(table, partial)
        os.replace(partial, self.output)


# A coder of one note: (note id, text) -> the record of `coda code --json`.
CodeOne = Callable[[str, str], dict[str, Any]]


def code_batch(
    notes: Iterable[BatchNote],
    identity: RunIdentity,
    done: set[str],
    engine: Callable[[list[BatchNote]], Iterator[dict[str, Any]]],
    writer: OutputWriter,
    on_progress: Callable[[BatchReport, int], None] = lambda report, total: None,
) -> BatchReport:
    """Code the notes not yet done with `engine` (records in the notes' order), write each record
    with its key, and report how many were coded, skipped and failed."""
    report = BatchReport()
    todo: list[BatchNote] = []
    for note in notes:
        if note.text is not None and identity.key(note.text) in done:
            report.skipped += 1
        elif note.text is None:
            writer.write({"id": note.id, "error": note.error})
            report.failed += 1
        else:
            todo.append(note)
    total = len(todo)
    for note, record in zip(todo, engine(todo), strict=True):
        record = {**record, "id": note.id, "key": identity.key(note.text or "")}
        writer.write(record)
        if "error" in record:
            report.failed += 1
        else:
            report.coded += 1
        on_progress(report, total)
    writer.close()
    return report


def local_engine(code_one: CodeOne) -> Callable[[list[BatchNote]], Iterator[dict[str, Any]]]:
    """Code each note in this process, one after the other."""

    def run(notes: list[BatchNote]) -> Iterator[dict[str, Any]]:
        for note in notes:
            yield coded_record(code_one, note)

    return run


def coded_record(code_one: CodeOne, note: BatchNote) -> dict[str, Any]:
    """The note's record, or its error: a note that fails stops no other."""
    try:
        return code_one(note.id, note.text or "")
    except CodaError as exc:
        return {"id": note.id, "error": str(exc)}


def workers_for_memory(cpus: int, available_bytes: int) -> int:
    """How many coders fit: one per core, at most as many as the memory holds at GB_PER_WORKER each
    (with a fifth left over), and at least one."""
    fit = int(available_bytes * 0.8 / (GB_PER_WORKER * 1e9))
    return max(1, min(cpus, fit))


def available_memory() -> int:
    """The memory available now (MemAvailable of /proc/meminfo), in bytes; 0 when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
