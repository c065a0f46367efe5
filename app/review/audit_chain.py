"""The audit trail as evidence: each entry carries a keyed hash (HMAC-SHA256) of itself and of
the entry before it, so an entry changed, inserted or deleted behind the case store's back
breaks the chain from there on, and someone who can write the database but does not hold the
key cannot rebuild it. The key comes from the settings (`CODA_AUDIT_KEY`), never from the
database; `coda audit verify` walks the chain and names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from app.review.sql import Connection

FIELDS = ("id", "case_id", "at", "coder", "action", "code_before", "code_after", "reason")
START = "coda-audit-chain/1"  # what the first entry is chained to


def seal(key: bytes, previous: str | None, entry: tuple[object, ...]) -> str:
    """The keyed hash of an entry (its FIELDS, in order) chained to the one before it."""
    message = json.dumps([previous or START, *entry], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def append(conn: Connection, key: bytes | None, entry: tuple[object, ...]) -> None:
    """Write one entry (FIELDS without its id) after the last one, sealed when there is a key.
    Runs in the caller's write transaction, so ids and the chain follow the order of writes."""
    last = conn.execute("SELECT id, chain FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    number = (last[0] if last else 0) + 1
    full = (number, *entry)
    chain = seal(key, last[1] if last else None, full) if key else None
    conn.execute(f"INSERT INTO audit({', '.join(FIELDS)}, chain) VALUES (?,?,?,?,?,?,?,?,?)", (*full, chain))


@dataclass(frozen=True)
class Verdict:
    entries: int  # entries read
    broken: int | None  # the id of the first entry that does not hold, if any
    why: str = ""

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(conn: Connection, key: bytes) -> Verdict:
    """Walk the whole trail in id order and check each entry's seal against the one before."""
    previous: str | None = None
    expected_id = 1
    count = 0
    for row in conn.execute(f"SELECT {', '.join(FIELDS)}, chain FROM audit ORDER BY id"):
        count += 1
        entry, chain = tuple(row[:-1]), row[-1]
        if row[0] != expected_id:
            return Verdict(count, row[0], f"entry {expected_id} is missing before it (deleted)")
        if chain is None:
            return Verdict(count, row[0], "it carries no seal (written without the key, or before the chain)")
        if not hmac.compare_digest(chain, seal(key, previous, entry)):
            return Verdict(count, row[0], "its seal does not match its content and the entry before it")
        previous, expected_id = chain, expected_id + 1
    return Verdict(count, None)
