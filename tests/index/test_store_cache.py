"""Tests of index.store.CodeStore's kept answers: the read-only store answers each lookup once,
and a kept answer is the answer a store that was never asked before gives."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.errors import UnknownCode
from index.loaders.cms import CmsReleaseLoader
from index.store import CodeStore, write_store


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, mini_release: Path) -> Path:
    path = tmp_path_factory.mktemp("store-cache") / "codes.sqlite"
    write_store(path, CmsReleaseLoader(mini_release).load())
    return path


@pytest.fixture
def store(book: Path) -> Iterator[CodeStore]:
    opened = CodeStore(book)
    yield opened
    opened.close()


def _stored(book: Path) -> list[str]:
    conn = sqlite3.connect(book)
    try:
        return [r[0] for r in conn.execute("SELECT code FROM codes ORDER BY seq")]
    finally:
        conn.close()


def _asked(book: Path) -> list[str]:
    """Every stored code, as stored and as a coder may write it, and codes the book lacks."""
    codes = _stored(book)
    return [
        *codes,
        *(c.lower() for c in codes),
        *(c.replace(".", "") for c in codes),
        "Z99.999",
        "E11.9 ",
        "",
    ]


def _answers(store: CodeStore, code: str) -> tuple[object, ...]:
    found = store.find(code)
    if found is None:
        return (None,)
    return (
        found,
        store.get(code),
        store.ancestors(code),
        store.inherited_notes(code),
        store.seventh_characters(code),
    )


def test_kept_answers_are_the_answers_of_a_fresh_store(book: Path, store: CodeStore) -> None:
    asked = _asked(book)
    random.Random(4).shuffle(asked)
    for code in asked:  # warm: every code asked, the chains and notes of its ancestors with it
        _answers(store, code)
    for code in asked:
        fresh = CodeStore(book)
        try:
            assert _answers(store, code) == _answers(fresh, code), code
        finally:
            fresh.close()


def test_codes_keep_the_order_the_query_gave(book: Path, store: CodeStore) -> None:
    """Each run of 500 asked codes in code order, as `WHERE code IN (...)` returns them."""
    asked = [*_asked(book), *(f"X{i:03d}" for i in range(700))]
    rng = random.Random(9)
    conn = sqlite3.connect(book)
    try:
        for _ in range(3):
            rng.shuffle(asked)
            wanted = [*asked[:40], *asked]  # repeats count once, where first asked
            unique = list(dict.fromkeys(wanted))
            expected: list[str] = []
            for i in range(0, len(unique), 500):
                chunk = unique[i : i + 500]
                marks = ",".join("?" * len(chunk))
                expected += [r[0] for r in conn.execute(f"SELECT code FROM codes WHERE code IN ({marks})", chunk)]
            for _ in range(2):  # cold, then kept
                got = store.codes(wanted)
                assert list(got) == expected
                assert all(got[c] == store.find(c) for c in got)
            store.find(rng.choice(asked))  # a lookup in between changes nothing
    finally:
        conn.close()


def test_codes_leave_out_codes_not_written_as_stored(store: CodeStore) -> None:
    assert store.find("e1122") is not None  # `find` reads other dots and case
    assert store.codes(["e1122", "E1122", "E11.22", "Z99.999"]).keys() == {"E11.22"}


def test_each_lookup_reaches_sqlite_once(store: CodeStore) -> None:
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)

    def ask() -> None:
        for code in ("S72.001A", "E11.22", "e1122", "Z99.999"):
            _answers(store, code)
        store.codes(["E11.22", "S72.001A", "I10", "not-a-code"])

    ask()
    assert statements
    statements.clear()
    ask()
    assert statements == []


def test_callers_cannot_change_a_kept_answer(store: CodeStore) -> None:
    before = (store.ancestors("S72.001A"), store.inherited_notes("S72.001A"), store.codes(["E11.22"]))
    chain, notes, records = store.ancestors("S72.001A"), store.inherited_notes("S72.001A"), store.codes(["E11.22"])
    assert isinstance(chain, list) and isinstance(notes, list)
    chain.clear()
    notes.append(notes[0])
    records.clear()
    assert store.ancestors("S72.001A") == before[0]
    assert store.inherited_notes("S72.001A") == before[1]
    assert store.codes(["E11.22"]) == before[2]


def test_an_unknown_code_is_refused_every_time(store: CodeStore) -> None:
    for _ in range(2):
        with pytest.raises(UnknownCode, match=r"Z99\.999 is not a code"):
            store.get("Z99.999")
        with pytest.raises(UnknownCode):
            store.ancestors("Z99.999")
        with pytest.raises(UnknownCode):
            store.inherited_notes("Z99.999")
        with pytest.raises(UnknownCode):
            store.seventh_characters("Z99.999")


def test_threads_share_one_store(book: Path, store: CodeStore) -> None:
    asked = _asked(book)
    fresh = CodeStore(book)
    try:
        expected = {code: _answers(fresh, code) for code in asked}
    finally:
        fresh.close()
    wrong: list[str] = []

    def work(seed: int) -> None:
        order = asked[:]
        random.Random(seed).shuffle(order)
        for code in order:
            if _answers(store, code) != expected[code]:
                wrong.append(code)
            store.codes(order[:10])

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_a_closed_store_forgets_and_refuses(book: Path) -> None:
    opened = CodeStore(book)
    opened.get("E11.22")
    opened.ancestors("E11.22")
    opened.close()
    with pytest.raises(sqlite3.ProgrammingError):
        opened.get("E11.22")
    with pytest.raises(sqlite3.ProgrammingError):
        opened.ancestors("E11.22")
