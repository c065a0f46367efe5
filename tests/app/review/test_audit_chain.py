"""Tests of app.review.audit_chain: every audit entry is sealed with a keyed hash of itself and
the entry before it, and `verify` names the first entry changed, inserted or deleted behind the
case store's back, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.records import CodingResult, Evidence, Suggestion
from app.review.audit_chain import seal
from app.review.sql import Database
from app.review.store import CaseStore
from index.store import CodeStore

KEY = b"a key kept in the settings, not the database"
NOTE = "Type 2 diabetes with diabetic CKD.\nHTN.\n"


@pytest.fixture
def trail(case_db: str | Path, book: CodeStore) -> str | Path:
    """A case store with six audited actions on two cases, sealed with KEY."""
    path = case_db
    with CaseStore(path, book, audit_key=KEY) as store:
        for title in ("First", "Second"):
            case = store.create_case(NOTE, title=title)
            codes = [Suggestion("I10", "Essential (primary) hypertension", (Evidence(35, 39, "HTN."),), 0.8)]
            store.save_result(case.id, CodingResult(case.id, codes=codes), "dana")
            store.accept(case.id, "I10", "dana")
            store.set_status(case.id, "done", "dana")
    return path


def tamper(target: str | Path, *statements: str) -> None:
    """What someone who can write the database does: the store's triggers off first, then the rows."""
    database = Database(target)
    with database.transaction(write=True) as conn:
        if conn.dialect == "sqlite":
            guards = ("DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete")
        else:
            guards = ("ALTER TABLE audit DISABLE TRIGGER USER",)
        for statement in (*guards, *statements):
            conn.execute(statement)
    database.close()


def verdict(path: str | Path, book: CodeStore, key: bytes = KEY):
    with CaseStore(path, book) as store:
        return store.verify_audit(key)


def test_an_untouched_trail_holds(trail, book):
    v = verdict(trail, book)
    assert v.intact and v.entries == 6


def test_an_entry_changed_behind_the_stores_back_is_named(trail, book):
    tamper(trail, "UPDATE audit SET coder = 'lee' WHERE id = 3")
    v = verdict(trail, book)
    assert (v.broken, v.why) == (3, "its seal does not match its content and the entry before it")


def test_a_deleted_entry_breaks_the_chain_where_it_was(trail, book):
    tamper(trail, "DELETE FROM audit WHERE id = 2")
    assert (verdict(trail, book).broken, verdict(trail, book).why) == (3, "entry 2 is missing before it (deleted)")


def test_the_last_entry_deleted_and_rewritten_without_the_key_does_not_hold(trail, book):
    database = Database(trail)
    with database.transaction(write=False) as conn:
        row = conn.execute("SELECT * FROM audit WHERE id = 6").fetchone()
    database.close()
    forged = seal(b"a guessed key", None, (6, *row[1:8]))
    tamper(trail, "DELETE FROM audit WHERE id = 6", f"INSERT INTO audit VALUES (6, 'C0002', '{row[2]}', 'lee', "
           f"'status', NULL, NULL, 'in_review -> done', '{forged}')")  # fmt: skip
    assert verdict(trail, book).broken == 6


def test_the_wrong_key_or_unsealed_entries_do_not_hold(trail, book, tmp_path):
    assert verdict(trail, book, b"another key").broken == 1
    path = tmp_path / "unsealed.sqlite"
    with CaseStore(path, book) as store:  # no key: entries carry no seal
        store.create_case(NOTE)
        store.set_status("C0001", "in_review", "dana")
    v = verdict(path, book)
    assert (v.broken, v.why) == (1, "it carries no seal (written without the key, or before the chain)")
