from __future__ import annotations

import json
import sqlite3

import pytest

from index.build import MANIFEST, STORE_FILE, VECTOR_DIR, build_index, find_release
from index.entry import describe
from index.errors import IndexNotBuilt, SourceError, UnknownCode
from index.loaders.cms import CmsReleaseLoader
from index.model import NoteKind
from index.store import CodeStore


@pytest.fixture(scope="module")
def store(mini_data_dir):
    return CodeStore(find_release(mini_data_dir, "icd10cm") / STORE_FILE)


def test_build_writes_a_versioned_release(mini_data_dir):
    path = find_release(mini_data_dir, "icd10cm")
    assert path == mini_data_dir / "icd10cm" / "2026"
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["counts"]["codes"] == 37
    assert manifest["counts"]["vectors"] == 20
    assert manifest["model"] == "all-MiniLM-L6-v2"
    assert (path / VECTOR_DIR / "chroma.sqlite3").is_file()


def test_rebuild_keeps_an_existing_release(mini_data_dir, mini_release, embedder):
    before = (find_release(mini_data_dir, "icd10cm") / MANIFEST).read_text()
    result = build_index(CmsReleaseLoader(mini_release), mini_data_dir, lambda: embedder)
    assert not result.built
    assert (result.path / MANIFEST).read_text() == before


def test_failed_build_leaves_nothing_behind(tmp_path, mini_release):
    def broken_embedder():
        raise SourceError("no model")

    with pytest.raises(SourceError):
        build_index(CmsReleaseLoader(mini_release), tmp_path, broken_embedder)
    assert [p.name for p in (tmp_path / "icd10cm").iterdir()] == []
    with pytest.raises(IndexNotBuilt, match="coda index build"):
        find_release(tmp_path, "icd10cm")


def test_forced_rebuild_swaps_the_release_in(tmp_path, mini_release, embedder):
    first = build_index(CmsReleaseLoader(mini_release), tmp_path, lambda: embedder)
    second = build_index(CmsReleaseLoader(mini_release), tmp_path, lambda: embedder, force=True)
    assert first.path == second.path and second.built
    assert sorted(p.name for p in (tmp_path / "icd10cm").iterdir()) == ["2026"]


def test_store_is_opened_read_only(store):
    with pytest.raises(sqlite3.OperationalError):
        store._conn.execute("DELETE FROM codes")


def test_lookup_accepts_codes_without_dots_or_case(store):
    assert store.get("e1122").code == "E11.22"
    assert store.get(" S72.001a ".strip()).code == "S72.001A"
    with pytest.raises(UnknownCode, match=r"Z99\.999 is not a code"):
        store.get("Z99.999")


def test_inherited_notes_read_up_the_hierarchy(store):
    notes = store.inherited_notes("E11.22")
    assert [(n.kind, n.source) for n in notes] == [
        (NoteKind.USE_ADDITIONAL_CODE, "E11.22"),
        (NoteKind.INCLUDES, "E11"),
        (NoteKind.USE_ADDITIONAL_CODE, "E11"),
        (NoteKind.EXCLUDES1, "E11"),
    ]


def test_index_entries_link_to_codes(store):
    entries = store.index_entries("S72.00")
    assert [e.term for e in entries] == ["Fracture, traumatic, femur, femoral, upper end, neck"]


def test_describe_s72001_shows_seventh_characters_and_inherited_notes(store):
    entry = describe(store, "S72.001")
    assert entry["seventh_source"] == "S72"
    assert [s["char"] for s in entry["seventh"]] == ["A", "B", "D", "S"]
    assert {
        "label": "Excludes1",
        "text": "traumatic amputation of hip and thigh (S78.-)",
        "source": "S72",
    }.items() <= next(n for n in entry["notes"] if n["kind"] == "excludes1").items()
    assert [a["code"] for a in entry["ancestors"]] == ["S72.00", "S72.0", "S72", "S70-S79", "Chapter 19"]
    assert entry["children"][0] == "S72.001A"
    assert not entry["billable"]
