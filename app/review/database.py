"""The SQLite file under a case store: one connection behind a lock, explicit transactions, the
code book that codes are taken from, and the row-level reads and writes that the store's requests
(`app.review.decisions`, `app.review.store`) are made of.

Every write runs in `_write` (BEGIN IMMEDIATE ... COMMIT, rolled back on any error); a decision on a
case runs in `_decision`, which refuses a done case, and ends in `_decided`, which renumbers the
codes, starts the review and writes the decision's one audit entry.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from agent.reading.note_files import DEFAULT_MAX_BYTES
from app.review import audit_chain, leases
from app.review.records import REVIEW_STARTS, Case, CaseCode
from app.review.rows import case_from_row, code_from_row, code_params
from app.review.schema import open_schema
from index.errors import CaseNotFound, DataError, DecisionRefused
from index.model import code_key
from index.store import CodeStore

LAST = 1_000_000  # a sequence past every code's, renumbered by `_resequence`


class CaseDatabase:
    """The case store's SQLite file at `path` (created when missing, migrated when older), taking
    codes from the code book `book` and notes of at most `max_note_bytes` (UTF-8); see
    `app.review.store.CaseStore`."""

    def __init__(
        self,
        path: str | Path,
        book: CodeStore,
        clock: Callable[[], datetime] | None = None,
        max_note_bytes: int = DEFAULT_MAX_BYTES,
        audit_key: bytes | None = None,
    ) -> None:
        self.path = Path(path)
        self.audit_key = audit_key  # seals each audit entry (app.review.audit_chain); None: unsealed
        self.book = book
        self.max_note_bytes = max_note_bytes
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun and ended here, explicitly (see _write).
        self._conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            with self._write() as conn:
                open_schema(conn, self.path)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise DataError(f"{self.path} is not a Coda case store: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    def verify_audit(self, key: bytes) -> audit_chain.Verdict:
        """Whether the whole audit trail still holds under `key` (see `app.review.audit_chain`)."""
        with self._read() as conn:
            return audit_chain.verify(conn, key)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it is committed together or not at all."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def _utc(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _now(self) -> str:
        return self._utc().isoformat(timespec="seconds")

    # -- decisions and rows ----------------------------------------------------------------------

    @contextmanager
    def _decision(self, case_id: str, coder: str) -> Iterator[tuple[sqlite3.Connection, Case]]:
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)
            if case.status == "done":
                raise DecisionRefused(f"case {case.id} is done: set its status back to in_review to change its codes")
            yield conn, case

    def _decided(
        self,
        conn: sqlite3.Connection,
        case: Case,
        coder: str,
        action: str,
        before: str | None,
        after: str | None,
        reason: str,
    ) -> None:
        """The common end of a decision: renumber, audit, and start the review if it had not."""
        _resequence(conn, case.id)
        at = self._now()
        status = "in_review" if case.status in REVIEW_STARTS else case.status
        conn.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", (status, at, case.id))
        self._audit(conn, case.id, at, coder, action, before, after, reason)

    def _audit(
        self,
        conn: sqlite3.Connection,
        case_id: str,
        at: str,
        coder: str,
        action: str,
        before: str | None,
        after: str | None,
        reason: str,
    ) -> None:
        audit_chain.append(conn, self.audit_key, (case_id, at, coder, action, before, after, reason))

    @staticmethod
    def _set_rejected(conn: sqlite3.Connection, case_id: str, code: str, reason: str) -> None:
        """A code off the claim: rejected, without the principal mark, after every other code."""
        conn.execute(
            "UPDATE case_codes SET status = 'rejected', reason = ?, principal = 0, sequence = ?"
            " WHERE case_id = ? AND code = ?",
            (reason, LAST, case_id, code),
        )

    def _case(self, conn: sqlite3.Connection, case_id: str) -> Case:
        row = conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise CaseNotFound(f"no case {case_id!r} in the case store {self.path}")
        return case_from_row(row)

    def _codes(self, conn: sqlite3.Connection, case_id: str) -> list[CaseCode]:
        rows = conn.execute("SELECT * FROM case_codes WHERE case_id = ? ORDER BY sequence", (case_id,))
        try:
            return [code_from_row(r) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"the codes of case {case_id} in {self.path} are corrupt: {exc}") from exc

    def _find(self, conn: sqlite3.Connection, case_id: str, code: str) -> CaseCode | None:
        """The case's code spelt any way ("e1122" finds E11.22); None when the case does not hold it."""
        key = code_key(code)
        return next((row for row in self._codes(conn, case_id) if code_key(row.code) == key), None)

    def _code(self, conn: sqlite3.Connection, case_id: str, code: str) -> CaseCode:
        row = self._find(conn, case_id, code)
        if row is None:
            raise CaseNotFound(f"{code.strip() or '(empty)'} is not among the codes of case {case_id}")
        return row

    @staticmethod
    def _insert_code(conn: sqlite3.Connection, c: CaseCode) -> None:
        conn.execute("INSERT INTO case_codes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", code_params(c))


def _resequence(conn: sqlite3.Connection, case_id: str) -> None:
    """Sequences 1..m again: the principal, the other live codes in their order, the rejected."""
    rows = conn.execute(
        "SELECT code FROM case_codes WHERE case_id = ? ORDER BY status = 'rejected', principal = 0, sequence, rowid",
        (case_id,),
    ).fetchall()
    conn.executemany(
        "UPDATE case_codes SET sequence = ? WHERE case_id = ? AND code = ?",
        [(i, case_id, r[0]) for i, r in enumerate(rows, 1)],
    )
