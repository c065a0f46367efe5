"""Generic CSV loader, so that any coding system can be loaded into Coda.

Columns: `code` and `title` are required; `parent` names the parent code (empty for a
root); `billable` (1/0, true/false) is optional and defaults to "has no children"; any
column named after a note kind (includes, inclusionTerm, excludes1, excludes2, codeFirst,
useAdditionalCode, codeAlso, notes) holds notes separated by " | ".
"""

from __future__ import annotations

import csv
from pathlib import Path

from index.errors import SourceError
from index.loaders.base import Progress, quiet
from index.model import Code, CodeKind, CodeSystemData, Note, NoteKind, SystemInfo

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class CsvLoader:
    def __init__(self, path: Path, system: str, release: str | None = None) -> None:
        self.path = path
        self.system = system
        self.release = release or "1"

    def load(self, progress: Progress = quiet) -> CodeSystemData:
        progress(f"reading {self.path}")
        rows = self._rows()
        parents = {row["code"]: (row.get("parent") or "").strip() or None for row in rows}
        children: dict[str, list[str]] = {}
        for code, parent in parents.items():
            if parent is not None:
                if parent not in parents:
                    raise SourceError(f"{self.path}: code {code} names parent {parent}, which is not in the file")
                children.setdefault(parent, []).append(code)
        codes: dict[str, Code] = {}
        for line, row in enumerate(rows, start=2):
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

    def _rows(self) -> list[dict[str, str]]:
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                reader = csv.DictReader(f)
                header = [h.strip() for h in reader.fieldnames or []]
                missing = {"code", "title"} - set(header)
                if missing:
                    raise SourceError(
                        f"{self.path}: missing column(s) {', '.join(sorted(missing))}; "
                        "a code-system CSV needs a header with at least code,title"
                    )
                rows = []
                for line, raw in enumerate(reader, start=2):
                    row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
                    if not row.get("code") or not row.get("title"):
                        raise SourceError(f"{self.path}, line {line}: empty code or title")
                    rows.append(row)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except csv.Error as exc:
            raise SourceError(f"{self.path}: malformed CSV ({exc})") from exc
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot be read ({exc.strerror or exc})") from exc
        if not rows:
            raise SourceError(f"{self.path}: no codes in the file")
        seen: set[str] = set()
        for row in rows:
            if row["code"] in seen:
                raise SourceError(f"{self.path}: code {row['code']} appears twice")
            seen.add(row["code"])
        return rows

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
