"""The database under a case store, on SQLite (a file: the embedded default) or on PostgreSQL (a
server a team's app servers share), through SQLAlchemy Core.

The store's requests are plain SQL with `?` placeholders, in the subset both databases read the
same way; `Connection.execute` binds them as SQLAlchemy parameters, so each driver gets its own
style. Rows come back as `Record`s, read by column name or position.

Writes are serialised on both databases, one transaction at a time: SQLite's BEGIN IMMEDIATE takes
the file's write lock; on PostgreSQL each write transaction first takes one transaction-scoped
advisory lock. The audit trail's chain (`app.review.audit_chain`) needs its entries in one order,
and a decision reads the case before it changes it, so one writer at a time is what keeps several
processes from losing each other's work. Reads run beside writes (SQLite in WAL mode; PostgreSQL
read committed) and see only committed work.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.engine import make_url

from index.errors import DataError

DIALECTS = ("sqlite", "postgresql")
# The key of the advisory lock that serialises writes to a case store on PostgreSQL ("coda").
WRITE_LOCK = 0x636F6461
SQLITE_BUSY_SECONDS = 10.0


class StoreFailure(DataError):
    """The database refused or lost a transaction (rolled back: nothing of it was saved)."""


class Record(tuple):  # type: ignore[type-arg]
    """One row: by position (`row[0]`), by column (`row["code"]`), and as a mapping (`dict(row)`)."""

    _columns: tuple[str, ...]

    def __new__(cls, values: Iterable[Any], columns: tuple[str, ...]) -> Record:
        record = super().__new__(cls, values)
        record._columns = columns
        return record

    def __getitem__(self, key):  # type: ignore[no-untyped-def, override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._columns.index(key))
            except ValueError:
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self._columns


class Rows:
    """The result of one statement: its rows (iterated once) and how many rows it changed."""

    def __init__(self, result: Any) -> None:
        self._result = result
        self.rowcount: int = result.rowcount
        self._columns = tuple(result.keys()) if result.returns_rows else ()

    def __iter__(self) -> Iterator[Record]:
        return (Record(r, self._columns) for r in self._result)

    def fetchone(self) -> Record | None:
        row = self._result.fetchone()
        return None if row is None else Record(row, self._columns)

    def fetchall(self) -> list[Record]:
        return list(self)


class Connection:
    """One transaction's connection: SQL with `?` placeholders in, `Rows` out."""

    def __init__(self, conn: SAConnection, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        clause, count = _bound(sql)
        if count != len(params):
            raise ValueError(f"{count} placeholders but {len(params)} values in: {sql}")
        return Rows(self._conn.execute(clause, _named(params)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [_named(r) for r in rows]
        if rows:
            self._conn.execute(_bound(sql)[0], rows)

    def tables(self) -> set[str]:
        return set(inspect(self._conn).get_table_names())


class Database:
    """A case store's database: a SQLite file at `target` (a path), or the database a URL names
    (`postgresql://...`, `sqlite:///...`). `name` says which in messages, without a password.

    One lock per `Database` keeps its transactions one at a time within the process (the
    workbench's sessions share one store); a transaction opened while the same thread is already
    in one joins it.
    """

    def __init__(self, target: str | Path) -> None:
        url = _url(target)
        self.dialect = url.get_backend_name()
        if self.dialect not in DIALECTS:
            raise DataError(f"a case store lives in SQLite or PostgreSQL, not {self.dialect} ({target})")
        self.name = str(target) if isinstance(target, Path) else url.render_as_string(hide_password=True)
        if self.dialect == "sqlite":
            if url.database:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
        self._lock = threading.RLock()
        self._current: Connection | None = None

    @property
    def path(self) -> Path | None:
        """The SQLite file, when the store is one."""
        database = self.engine.url.database
        return Path(database) if self.dialect == "sqlite" and database else None

    @contextmanager
    def transaction(self, write: bool) -> Iterator[Connection]:
        """One transaction, committed when the block ends and rolled back on any error. A write
        waits for the database's one writer (see the module's note)."""
        with self._lock:
            if self._current is not None:
                yield self._current
                return
            try:
                raw = self.engine.connect()
            except sa_exc.OperationalError as exc:
                raise DataError(f"cannot reach the case store {self.name}: {first_line(exc)}") from exc
            except sa_exc.DBAPIError as exc:  # reached, but not a database (a SQLite file of garbage)
                raise StoreFailure(f"the case store {self.name} failed: {first_line(exc)}") from exc
            try:
                with raw:
                    raw.execution_options(coda_write=write)
                    with raw.begin():
                        if write and self.dialect == "postgresql":
                            raw.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
                        self._current = Connection(raw, self.dialect)
                        try:
                            yield self._current
                        finally:
                            self._current = None
            except sa_exc.DBAPIError as exc:  # a lost server, a full disk, a guard of the schema
                raise StoreFailure(f"the case store {self.name} failed, nothing was saved: {first_line(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            self.engine.dispose()


def _url(target: str | Path):  # type: ignore[no-untyped-def]
    if isinstance(target, Path) or "://" not in str(target):
        return make_url("sqlite://").set(database=str(Path(target)))
    try:
        url = make_url(str(target))
    except sa_exc.ArgumentError as exc:
        raise DataError(f"{target!r} is not a database URL: {exc}") from exc
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")  # the driver Coda installs
    return url


def _sqlite_engine(url) -> Engine:  # type: ignore[no-untyped-def]
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Transactions are begun here (below), not by the driver; foreign keys are enforced and
        # readers do not wait for the writer.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: SAConnection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("coda_write") else "BEGIN")

    return engine


_QUOTED = re.compile(r"('(?:[^']|'')*')")


@lru_cache(maxsize=512)
def _bound(sql: str) -> tuple[TextClause, int]:
    """`sql` with its `?` placeholders (outside quoted literals) as SQLAlchemy's :p0, :p1, ..."""
    parts = _QUOTED.split(sql)
    count = 0
    for i in range(0, len(parts), 2):
        pieces = parts[i].replace(":", "\\:").split("?")
        parts[i] = pieces[0] + "".join(f":p{count + j}{rest}" for j, rest in enumerate(pieces[1:]))
        count += len(pieces) - 1
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace(":", "\\:")
    return text("".join(parts)), count


def _named(params: Sequence[Any]) -> dict[str, Any]:
    return {f"p{i}": v for i, v in enumerate(params)}


def first_line(exc: BaseException) -> str:
    """The first line of what a driver said (the exception SQLAlchemy wraps, when it wraps one)."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
