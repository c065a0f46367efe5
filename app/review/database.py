"""The database under a case store (`app.review.sql`: a SQLite file, or a PostgreSQL server a team
shares), explicit transactions, the code book that codes are taken from, and the row-level reads
and writes that the store's requests (`app.review.decisions`, `app.review.store`) are made of.

Every write runs in `_write` (one writer at a time, committed together or rolled back on any
error); a decision on a case runs in `_decision`, which refuses a done case, and ends in
`_decided`, which renumbers the codes, starts the review and writes the decision's one audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from agent.reading.note_files import DEFAULT_MAX_BYTES
from app.review import audit_chain, leases
from app.review.records import REVIEW_STARTS, Case, CaseCode
from app.review.rows import CODE_MARKS, case_from_row, code_from_row, code_params
from app.review.schema import open_schema
from app.review.sql import Connection, Database, StoreFailure, first_line
from index.errors import CaseNotFound, DataError, DecisionRefused
from index.model import code_key
from index.pcs.bundled import PcsBook
from index.store import CodeStore

LAST = 1_000_000  # a sequence past every code's, renumbered by `resequence`
# The tables of a case's codes: its diagnoses and its procedures, ordered and rejected alike.
CODE_TABLES = ("case_codes", "case_procedures")


class CaseDatabase:
    """The case store at `target`: a SQLite file (a path; created when missing, migrated when
    older) or a database URL (`postgresql://user@host/db`; its tables are created when missing),
    taking codes from the code book `book`, procedures from the ICD-10-PCS tables at `pcs_book`
    (the bundled ones by default) and notes of at most `max_note_bytes` (UTF-8); see
    `app.review.store.CaseStore`."""

    def __init__(
        self,
        target: str | Path,
        book: CodeStore,
        clock: Callable[[], datetime] | None = None,
        max_note_bytes: int = DEFAULT_MAX_BYTES,
        audit_key: bytes | None = None,
        pcs_book: Path | None = None,
    ) -> None:
        self.audit_key = audit_key  # seals each audit entry (app.review.audit_chain); None: unsealed
        self.book = book
        self._pcs_path = pcs_book  # the ICD-10-PCS tables procedures are taken from; None: the bundled ones
        self._pcs: PcsBook | None = None
        self.max_note_bytes = max_note_bytes
        self._clock = clock or (lambda: datetime.now(UTC))
        self.database = Database(target)
        self.name = self.database.name  # the store in messages: its file, or its URL without a password
        try:
            with self._write() as conn:
                open_schema(conn, self.name)
        except StoreFailure as exc:
            self.database.close()
            raise DataError(f"{self.name} is not a Coda case store: {first_line(exc.__cause__ or exc)}") from exc
        except BaseException:
            self.database.close()
            raise

    def pcs_book(self) -> PcsBook:
        """The ICD-10-PCS tables that procedure codes are checked against, opened on first use."""
        if self._pcs is None:
            self._pcs = PcsBook(self._pcs_path)
        return self._pcs

    @property
    def path(self) -> Path | None:
        """The SQLite file of the store, when it is one."""
        return self.database.path

    def verify_audit(self, key: bytes) -> audit_chain.Verdict:
        """Whether the whole audit trail still holds under `key` (see `app.review.audit_chain`)."""
        with self._read() as conn:
            return audit_chain.verify(conn, key)

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction: everything in it is committed together or not at all."""
        with self.database.transaction(write=True) as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.database.transaction(write=False) as conn:
            yield conn

    def _utc(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _now(self) -> str:
        return self._utc().isoformat(timespec="seconds")

    # -- decisions and rows ----------------------------------------------------------------------

    @contextmanager
    def _decision(self, case_id: str, coder: str) -> Iterator[tuple[Connection, Case]]:
        with self._write() as conn:
            case = self._case(conn, case_id)
            leases.check(conn, case.id, coder, self._utc)
            if case.status == "done":
                raise DecisionRefused(f"case {case.id} is done: set its status back to in_review to change its codes")
            yield conn, case

    def _decided(
        self,
        conn: Connection,
        case: Case,
        coder: str,
        action: str,
        before: str | None,
        after: str | None,
        reason: str,
    ) -> None:
        """The common end of a decision: renumber, audit, and start the review if it had not."""
        resequence(conn, case.id)
        at = self._now()
        status = "in_review" if case.status in REVIEW_STARTS else case.status
        conn.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", (status, at, case.id))
        self._audit(conn, case.id, at, coder, action, before, after, reason)

    def _audit(
        self,
        conn: Connection,
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
    def _set_rejected(conn: Connection, case_id: str, code: str, reason: str, table: str = "case_codes") -> None:
        """A code off the claim: rejected, without the principal mark, after every other code."""
        if table not in CODE_TABLES:
            raise ValueError(f"{table!r} is not a table of a case's codes")
        conn.execute(
            f"UPDATE {table} SET status = 'rejected', reason = ?, principal = 0, sequence = ?"
            " WHERE case_id = ? AND code = ?",
            (reason, LAST, case_id, code),
        )

    def _case(self, conn: Connection, case_id: str) -> Case:
        row = conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise CaseNotFound(f"no case {case_id!r} in the case store {self.name}")
        return case_from_row(row)

    def _codes(self, conn: Connection, case_id: str) -> list[CaseCode]:
        rows = conn.execute("SELECT * FROM case_codes WHERE case_id = ? ORDER BY sequence", (case_id,))
        try:
            return [code_from_row(r) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"the codes of case {case_id} in {self.name} are corrupt: {exc}") from exc

    def _find(self, conn: Connection, case_id: str, code: str) -> CaseCode | None:
        """The case's code spelt any way ("e1122" finds E11.22); None when the case does not hold it."""
        key = code_key(code)
        return next((row for row in self._codes(conn, case_id) if code_key(row.code) == key), None)

    def _code(self, conn: Connection, case_id: str, code: str) -> CaseCode:
        row = self._find(conn, case_id, code)
        if row is None:
            raise CaseNotFound(f"{code.strip() or '(empty)'} is not among the codes of case {case_id}")
        return row

    @staticmethod
    def _insert_code(conn: Connection, c: CaseCode) -> None:
        conn.execute(f"INSERT INTO case_codes VALUES ({CODE_MARKS})", code_params(c))


def resequence(conn: Connection, case_id: str, table: str = "case_codes") -> None:
    """Sequences 1..m again in `table` (the case's codes, or its procedures): the principal, the
    other live codes in their order, the rejected."""
    if table not in CODE_TABLES:
        raise ValueError(f"{table!r} is not a table of a case's codes")
    rows = conn.execute(
        f"SELECT code FROM {table} WHERE case_id = ? ORDER BY status = 'rejected', principal = 0, sequence, code",
        (case_id,),
    ).fetchall()
    conn.executemany(
        f"UPDATE {table} SET sequence = ? WHERE case_id = ? AND code = ?",
        [(i, case_id, r[0]) for i, r in enumerate(rows, 1)],
    )
