"""The whole Tabular entry of a code as a coder reads it: title, place in the hierarchy,
its own and inherited instructional notes, 7th characters, children and index entries."""

from __future__ import annotations

from typing import Any

from index.model import NoteKind
from index.store import CodeStore

NOTE_LABELS = {
    NoteKind.INCLUSION_TERM: "Inclusion term",
    NoteKind.INCLUDES: "Includes",
    NoteKind.EXCLUDES1: "Excludes1",
    NoteKind.EXCLUDES2: "Excludes2",
    NoteKind.CODE_FIRST: "Code first",
    NoteKind.USE_ADDITIONAL_CODE: "Use additional code",
    NoteKind.CODE_ALSO: "Code also",
    NoteKind.NOTE: "Note",
    NoteKind.SEVENTH_NOTE: "7th character note",
}


def describe(store: CodeStore, code: str) -> dict[str, Any]:
    record = store.get(code)
    seventh, seventh_source = store.seventh_characters(record.code)
    return {
        "system": store.info.system,
        "release": store.info.release,
        "code": record.code,
        "title": record.title,
        "kind": record.kind.value,
        "billable": record.billable,
        "chapter": record.chapter,
        "block": record.block,
        "parent": record.parent,
        "ancestors": [{"code": a.code, "title": a.title} for a in store.ancestors(record.code)],
        "children": list(record.children),
        "notes": [
            {"kind": n.kind.value, "label": NOTE_LABELS[n.kind], "text": n.text, "source": n.source}
            for n in store.inherited_notes(record.code)
        ],
        # A code that still needs its 7th character shows the choices; one that has it does not.
        "seventh": [{"char": s.char, "meaning": s.meaning} for s in seventh] if record.kind != "extension" else [],
        "seventh_source": seventh_source,
        "index_entries": [
            {"term": e.term, "code": e.code, "source": e.source, "column": e.column}
            for e in store.index_entries(record.code)
        ],
    }
