"""Generic CSV loader, so that any coding system can be loaded into Coda.

Columns: `code` and `title` are required; `parent` names the parent code (empty for a
root); `billable` (1/0, true/false) is optional and defaults to "has no children"; any
column named after a note kind (includes, inclusionTerm, excludes1, excludes2, codeFirst,
useAdditionalCode, codeAlso, notes) holds notes separated by " | ".

One code per line: a file with a control character (other than tab and line ends), a quote
left open, a value running over two lines or more values than the header names is refused
with its line number, before anything is built.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from index.errors import SourceError
from index.loaders.base import Progress, quiet
from index.model import Code, CodeKind, CodeSystemData, Note, NoteKind, SystemInfo

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # C0 controls but tab, LF and CR


class CsvLoader:
    def __init__(self, path: Path, system: str, release: str | None = None) -> None:
        self.path = path
        self.system = system
        self.release = release or "1"

    def load(self, progress: Progress = quiet) -> CodeSystemData:
        progress(f"reading {self.path}")
        lines = self._rows()
        rows = [row for _, row in lines]
        parents = {row["code"]: (row.get("parent") or "").strip() or None for row in rows}
        children: dict[str, list[str]] = {}
        for code, parent in parents.items():
            if parent is not None:
                if parent not in parents:
                    raise SourceError(f"{self.path}: code {code} names parent {parent}, which is not in the file")
                children.setdefault(parent, []).append(code)
        codes: dict[str, Code] = {}
        for line, row in lines:
            code = row["code"]
            lineage = self._lineage(code, parents)
            kids = tuple(children.get(code, ()))
            codes[code] = Code(
                code=code,
                title=row["title"],
                kind=CodeKind.CHAPTER if parents[code] is None else CodeKind.SUBCATEGORY,
                parent=parents[code],
                children=kids,
                chapter=lineage[-1],
                block=lineage[-2] if len(lineage) > 1 else "",
                billable=self._billable(row.get("billable"), not kids, line),
                notes=tuple(
                    Note(kind, text.strip())
                    for kind in NoteKind
                    for text in (row.get(kind.value) or "").split(" | ")
                    if text.strip()
                ),
            )
        info = SystemInfo(self.system, self.release, self.system, f"csv:{self.path.name}")
        return CodeSystemData(info, codes)

    def _rows(self) -> list[tuple[int, dict[str, str]]]:
        """(line, row) for every code, the line being where the row starts in the file."""
        lines = self._lines()
        reader = csv.reader(lines, strict=True)
        header = [h.strip() for h in self._record(reader) or []]
        missing = {"code", "title"} - set(header)
        if missing:
            raise SourceError(
                f"{self.path}: missing column(s) {', '.join(sorted(missing))}; "
                "a code-system CSV needs a header with at least code,title"
            )
        rows: list[tuple[int, dict[str, str]]] = []
        first: dict[str, int] = {}
        while True:
            line = reader.line_num + 1
            record = self._record(reader)
            if record is None:
                break
            if not record:
                continue  # a blank line
            if any(v.strip() for v in record[len(header) :]):
                raise SourceError(
                    f"{self.path}, line {line}: {len(record)} values where the header names {len(header)} "
                    "columns (a comma in a value that is not quoted?)"
                )
            row = {k: v.strip() for k, v in zip(header, record, strict=False)}
            if not row.get("code") or not row.get("title"):
                raise SourceError(f"{self.path}, line {line}: empty code or title")
            if row["code"] in first:
                raise SourceError(
                    f"{self.path}, line {line}: code {row['code']} appears twice (first on line {first[row['code']]})"
                )
            first[row["code"]] = line
            rows.append((line, row))
        if not rows:
            raise SourceError(f"{self.path}: no codes in the file")
        return rows

    def _lines(self) -> list[str]:
        """The file's lines as text (line ends kept, as csv wants them), refused with the line
        number when not UTF-8 or when a line holds a control character."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot be read ({exc.strerror or exc})") from exc
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise SourceError(f"{self.path}, line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        lines = io.StringIO(text, newline="").readlines()
        for number, text_line in enumerate(lines, start=1):
            if found := _CONTROL.search(text_line):
                raise SourceError(
                    f"{self.path}, line {number}: a control character ({found.group()!r}) at column "
                    f"{found.start() + 1}; a code-system CSV is plain text"
                )
        return lines

    def _record(self, reader: Any) -> list[str] | None:
        """The next record (None at the end), one line long, or SourceError naming its line."""
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise SourceError(f"{self.path}, line {line}: a quote opened on this line is never closed") from exc
            raise SourceError(f"{self.path}, line {line}: malformed CSV ({exc})") from exc
        if reader.line_num > line:
            raise SourceError(
                f"{self.path}, line {line}: a quoted value runs on to line {reader.line_num} "
                "(a quote left open?); a code-system CSV holds one code per line"
            )
        return record

    def _lineage(self, code: str, parents: dict[str, str | None]) -> list[str]:
        lineage = [code]
        while (parent := parents[lineage[-1]]) is not None:
            if parent in lineage:
                raise SourceError(f"{self.path}: the parents of {code} form a cycle")
            lineage.append(parent)
        return lineage

    def _billable(self, value: str | None, default: bool, line: int) -> bool:
        if value is None:
            return default
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return default if v == "" else False
        raise SourceError(f"{self.path}, line {line}: billable must be 1/0 or true/false, not {value!r}")
