"""The SQLite store of one code system release: records, index entries and full-text search.

Written once by `index.build`, then opened read-only. Full-text search (FTS5) covers code
titles, inclusion terms, Includes notes and Alphabetic Index terms; each row says which
field it came from so a hit can show the text that matched.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import IndexNotBuilt, UnknownCode
from index.model import (
    INHERITED_NOTE_KINDS,
    Code,
    CodeKind,
    CodeSystemData,
    IndexEntry,
    Note,
    NoteKind,
    SeventhChar,
    SystemInfo,
    code_key,
)

SCHEMA_VERSION = "1"

# How much a match in each field counts; a title match is the strongest evidence.
FIELD_WEIGHTS = {"title": 1.0, "inclusion": 0.95, "index": 0.85, "includes": 0.7}

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE codes(
    code TEXT PRIMARY KEY, key TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,
    parent TEXT, children TEXT NOT NULL, chapter TEXT NOT NULL, block TEXT NOT NULL,
    billable INTEGER NOT NULL, notes TEXT NOT NULL, seventh TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX codes_key ON codes(key);
CREATE TABLE index_entries(
    id INTEGER PRIMARY KEY, term TEXT NOT NULL, path TEXT NOT NULL, code TEXT, code_key TEXT,
    see TEXT, see_also TEXT, nemod TEXT NOT NULL, source TEXT NOT NULL, column_name TEXT
);
CREATE INDEX index_entries_code ON index_entries(code_key);
CREATE VIRTUAL TABLE terms USING fts5(
    text, code UNINDEXED, field UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""

_WORD = re.compile(r"[A-Za-z0-9]+")
_UNASKED = object()  # a code `find` has not been asked for yet (None is a cached answer)


@dataclass(frozen=True)
class LexicalHit:
    code: str
    score: float  # higher is better
    field: str
    text: str  # the indexed text that matched


@dataclass(frozen=True)
class InheritedNote:
    """A note as a coder reads it at a code: its kind, text, and the code that carries it."""

    kind: NoteKind
    text: str
    source: str


def write_store(path: Path, data: CodeSystemData) -> dict[str, int]:
    """Write `data` to a new SQLite file at `path`; returns row counts."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("schema_version", SCHEMA_VERSION),
                ("system", data.info.system),
                ("release", data.info.release),
                ("title", data.info.title),
                ("source", data.info.source),
            ],
        )
        conn.executemany(
            "INSERT INTO codes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    c.code,
                    c.key,
                    c.title,
                    c.kind.value,
                    c.parent,
                    json.dumps(c.children),
                    c.chapter,
                    c.block,
                    int(c.billable),
                    json.dumps([[n.kind.value, n.text] for n in c.notes]),
                    json.dumps([[s.char, s.meaning] for s in c.seventh]),
                    seq,
                )
                for seq, c in enumerate(data.codes.values())
            ),
        )
        by_key = {c.key: c.code for c in data.codes.values()}
        conn.executemany(
            "INSERT INTO index_entries(term, path, code, code_key, see, see_also, nemod, source, column_name)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (
                (
                    e.term,
                    json.dumps(e.path),
                    e.code,
                    code_key(e.code) if e.code else None,
                    e.see,
                    e.see_also,
                    json.dumps(e.nemod),
                    e.source,
                    e.column,
                )
                for e in data.index_entries
            ),
        )
        conn.executemany("INSERT INTO terms(text, code, field) VALUES (?,?,?)", _term_rows(data, by_key))
        conn.commit()
        counts = {
            "codes": conn.execute("SELECT count(*) FROM codes").fetchone()[0],
            "index_entries": conn.execute("SELECT count(*) FROM index_entries").fetchone()[0],
            "terms": conn.execute("SELECT count(*) FROM terms").fetchone()[0],
        }
        conn.execute("INSERT INTO terms(terms) VALUES ('optimize')")
        conn.commit()
    finally:
        conn.close()
    return counts


def searchable(code: Code) -> bool:
    """Codes the encoder and the agent search directly. 7th-character extensions are
    reached through the code they complete, so they do not crowd every fracture search."""
    return code.kind in (CodeKind.CATEGORY, CodeKind.SUBCATEGORY)


def _term_rows(data: CodeSystemData, by_key: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    for c in data.codes.values():
        if not searchable(c):
            continue
        yield c.title, c.code, "title"
        for text in c.notes_of(NoteKind.INCLUSION_TERM):
            yield text, c.code, "inclusion"
        for text in c.notes_of(NoteKind.INCLUDES):
            yield text, c.code, "includes"
    for e in data.index_entries:
        if not e.code:
            continue
        code = by_key.get(code_key(e.code))
        if code is None:
            continue
        yield " ".join((*e.path, e.column or "")).strip(), code, "index"


class CodeStore:
    """Read-only access to one built release."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise IndexNotBuilt(f"no code store at {path}")
        self.path = path
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        self.info = SystemInfo(meta["system"], meta["release"], meta["title"], meta.get("source", ""))
        # The store is read-only and its records are frozen, so each lookup is kept once asked:
        # coding one note asks for the same few hundred codes, and their chains, many times. The
        # caches hold only what was asked (at most the book); a fill is idempotent, so threads
        # sharing the store at worst compute one answer twice. Lists go out as fresh copies.
        self._found: dict[str, Code | None] = {}  # what `find` gives
        self._unstored: set[str] = set()  # asked of `codes`, and no code is written so
        self._ancestors: dict[str, tuple[Code, ...]] = {}
        self._inherited: dict[str, tuple[InheritedNote, ...]] = {}
        self._seventh: dict[str, tuple[tuple[SeventhChar, ...], str | None]] = {}

    def close(self) -> None:
        self._conn.close()
        for cache in (self._found, self._unstored, self._ancestors, self._inherited, self._seventh):
            cache.clear()

    # -- records ---------------------------------------------------------------------

    def find(self, code: str) -> Code | None:
        """The record of `code`, written exactly or with other dots or case; None for no code."""
        found = self._found.get(code, _UNASKED)
        if found is _UNASKED:
            found = self._found[code] = self._find(code)
        return found

    def _find(self, code: str) -> Code | None:
        row = self._conn.execute("SELECT * FROM codes WHERE code = ?", (code,)).fetchone()
        if row is None:
            row = self._conn.execute(
                "SELECT * FROM codes WHERE key = ? ORDER BY seq LIMIT 1", (code_key(code),)
            ).fetchone()
        return _code(row) if row is not None else None

    def get(self, code: str) -> Code:
        found = self.find(code)
        if found is None:
            raise UnknownCode(f"{code.strip() or '(empty)'} is not a code in {self.info.title} {self.info.release}")
        return found

    def codes(self, codes: Iterable[str]) -> dict[str, Code]:
        """The records of the codes written exactly as stored (no other dots or case), in the
        order the query has always given them: each run of 500 asked codes in code order."""
        wanted = list(dict.fromkeys(codes))
        known, unstored = self._found, self._unstored
        missing = [c for c in wanted if c not in known and c not in unstored]
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(f"SELECT * FROM codes WHERE code IN ({marks})", chunk):
                known[row["code"]] = _code(row)  # what `find` gives for a code written exactly
            unstored.update(c for c in chunk if c not in known)
        found: dict[str, Code] = {}
        for i in range(0, len(wanted), 500):
            for code in sorted(wanted[i : i + 500]):
                record = known.get(code)
                if record is not None and record.code == code:
                    found[code] = record
        return found

    def billable_codes(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._conn.execute("SELECT code FROM codes WHERE billable = 1"))

    def ancestors(self, code: str) -> list[Code]:
        """Parent first, chapter last."""
        chain = self._ancestors.get(code)
        if chain is None:
            chain = self._ancestors[code] = self._chain(code)
        return list(chain)

    def _chain(self, code: str) -> tuple[Code, ...]:
        chain: list[Code] = []
        current = self.get(code)
        while current.parent is not None:
            current = self.get(current.parent)
            chain.append(current)
        return tuple(chain)

    def inherited_notes(self, code: str) -> list[InheritedNote]:
        """The notes that apply at `code`: its own, then each ancestor's, nearest first."""
        notes = self._inherited.get(code)
        if notes is None:
            notes = self._inherited[code] = self._notes(code)
        return list(notes)

    def _notes(self, code: str) -> tuple[InheritedNote, ...]:
        own = self.get(code)
        notes = [InheritedNote(n.kind, n.text, own.code) for n in own.notes]
        for ancestor in self.ancestors(code):
            notes.extend(
                InheritedNote(n.kind, n.text, ancestor.code) for n in ancestor.notes if n.kind in INHERITED_NOTE_KINDS
            )
        return tuple(notes)

    def seventh_characters(self, code: str) -> tuple[tuple[SeventhChar, ...], str | None]:
        """The 7th characters defined for `code` (nearest definition wins) and where defined."""
        found = self._seventh.get(code)
        if found is None:
            found = self._seventh[code] = self._seventh_of(code)
        return found

    def _seventh_of(self, code: str) -> tuple[tuple[SeventhChar, ...], str | None]:
        for c in [self.get(code), *self.ancestors(code)]:
            if c.seventh:
                return c.seventh, c.code
        return (), None

    def index_entries(self, code: str, limit: int = 50) -> list[IndexEntry]:
        rows = self._conn.execute(
            "SELECT * FROM index_entries WHERE code_key = ? ORDER BY id LIMIT ?", (code_key(code), limit)
        ).fetchall()
        return [_entry(r) for r in rows]

    def with_prefix(self, prefix: str, limit: int = 20, billable: bool | None = None) -> list[Code]:
        """Codes whose key starts with `prefix` (for code-like queries), shortest first."""
        key = code_key(prefix)
        sql = "SELECT * FROM codes WHERE key >= ? AND key < ? AND kind NOT IN ('chapter', 'block')"
        args: list[object] = [key, key + "\U0010ffff"]
        if billable is not None:
            sql += " AND billable = ?"
            args.append(int(billable))
        sql += " ORDER BY length(key), key LIMIT ?"
        args.append(limit)
        return [_code(r) for r in self._conn.execute(sql, args)]

    def iter_terms(self) -> Iterator[tuple[str, str, str]]:
        """Every indexed text as (text, code, field): titles, inclusion terms, index terms."""
        yield from self._conn.execute("SELECT text, code, field FROM terms ORDER BY rowid")

    # -- full-text search -----------------------------------------------------------------

    def lexical(self, words: list[str], limit: int = 50, match_all: bool = True) -> list[LexicalHit]:
        """Indexed texts that hold the words (all of them, or any), best bm25 first; a code
        may come back once for each of its texts that matches."""
        tokens = [w for w in words if _WORD.fullmatch(w)]
        if not tokens:
            return []
        joiner = " AND " if match_all else " OR "
        query = joiner.join(f'"{t}"' for t in tokens)
        rows = self._conn.execute(
            "SELECT code, field, text, bm25(terms) AS rank FROM terms WHERE terms MATCH ? ORDER BY rank LIMIT ?",
            (query, limit),
        ).fetchall()
        hits = [
            LexicalHit(r["code"], -float(r["rank"]) * FIELD_WEIGHTS.get(r["field"], 0.5), r["field"], r["text"])
            for r in rows
        ]
        return sorted(hits, key=lambda h: (-h.score, h.code))


def _code(row: sqlite3.Row) -> Code:
    return Code(
        code=row["code"],
        title=row["title"],
        kind=CodeKind(row["kind"]),
        parent=row["parent"],
        children=tuple(json.loads(row["children"])),
        chapter=row["chapter"],
        block=row["block"],
        billable=bool(row["billable"]),
        notes=tuple(Note(NoteKind(k), t) for k, t in json.loads(row["notes"])),
        seventh=tuple(SeventhChar(c, m) for c, m in json.loads(row["seventh"])),
    )


def _entry(row: sqlite3.Row) -> IndexEntry:
    return IndexEntry(
        path=tuple(json.loads(row["path"])),
        code=row["code"],
        see=row["see"],
        see_also=row["see_also"],
        nemod=tuple(json.loads(row["nemod"])),
        source=row["source"],
        column=row["column_name"],
    )
