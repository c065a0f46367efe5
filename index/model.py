"""The code-system model: codes, their instructional notes, 7th characters and index entries.

Every loader (simple-icd-10-cm, CMS release files, CSV, WHO ICD-10) produces a
`CodeSystemData`; the store, the search and the agent only ever see these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class NoteKind(StrEnum):
    """The kinds of Tabular instructional note, named as the Tabular names them."""

    INCLUSION_TERM = "inclusionTerm"
    INCLUDES = "includes"
    EXCLUDES1 = "excludes1"
    EXCLUDES2 = "excludes2"
    CODE_FIRST = "codeFirst"
    USE_ADDITIONAL_CODE = "useAdditionalCode"
    CODE_ALSO = "codeAlso"
    NOTE = "notes"
    SEVENTH_NOTE = "sevenChrNote"


# Notes that apply to every code below the one that carries them (ICD-10-CM conventions,
# section I.A.12-I.A.13 of the Official Guidelines): a coder reads up the hierarchy.
INHERITED_NOTE_KINDS = frozenset(
    {
        NoteKind.INCLUDES,
        NoteKind.EXCLUDES1,
        NoteKind.EXCLUDES2,
        NoteKind.CODE_FIRST,
        NoteKind.USE_ADDITIONAL_CODE,
        NoteKind.CODE_ALSO,
        NoteKind.NOTE,
        NoteKind.SEVENTH_NOTE,
    }
)


class CodeKind(StrEnum):
    CHAPTER = "chapter"
    BLOCK = "block"
    CATEGORY = "category"
    SUBCATEGORY = "subcategory"
    EXTENSION = "extension"  # a code completed with a 7th character


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    text: str


@dataclass(frozen=True)
class SeventhChar:
    char: str
    meaning: str


@dataclass(frozen=True)
class Code:
    """One entry of the Tabular List (a chapter, a block, a category or a code)."""

    code: str
    title: str
    kind: CodeKind
    parent: str | None = None
    children: tuple[str, ...] = ()
    chapter: str = ""
    block: str = ""
    billable: bool = False
    notes: tuple[Note, ...] = ()
    seventh: tuple[SeventhChar, ...] = ()  # 7th characters defined at this level

    @property
    def key(self) -> str:
        return code_key(self.code)

    def notes_of(self, kind: NoteKind) -> tuple[str, ...]:
        return tuple(n.text for n in self.notes if n.kind == kind)


@dataclass(frozen=True)
class IndexEntry:
    """One line of an alphabetic index or of an index table, with its full term path.

    `path` is the main term followed by each subterm; `column` names the table column
    (for example "Malignant Primary" in the Table of Neoplasms) where the code came from.
    """

    path: tuple[str, ...]
    code: str | None = None
    see: str | None = None
    see_also: str | None = None
    nemod: tuple[str, ...] = ()
    source: str = "index"
    column: str | None = None

    @property
    def term(self) -> str:
        return ", ".join(self.path)


@dataclass(frozen=True)
class SystemInfo:
    system: str  # for example "icd10cm"
    release: str  # for example "2026"
    title: str
    source: str = ""  # where it was loaded from, for the record


@dataclass
class CodeSystemData:
    """Everything one loader produces, ready to be written to a store."""

    info: SystemInfo
    codes: dict[str, Code] = field(default_factory=dict)
    index_entries: list[IndexEntry] = field(default_factory=list)


_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def code_key(code: str) -> str:
    """A code reduced to letters and digits, upper case: 'e11.22' and 'E1122' meet here."""
    return _NON_ALNUM.sub("", code.upper())


def looks_like_code(text: str) -> bool:
    """True for a query that is a code or a code prefix (I10, e11.2, S72.001A, 0DTJ4ZZ)."""
    t = text.strip()
    return bool(re.fullmatch(r"[A-Za-z][0-9][0-9A-Za-z]{0,1}(\.?[0-9A-Za-z]{0,5})?|[0-9A-Za-z]{7}", t)) and any(
        ch.isdigit() for ch in t
    )
