"""Leases on cases: one coder works a case at a time. Opening a case takes its lease for a number
of minutes, renewed as the coder keeps working; while it runs, another account's decisions on
the case are refused with who holds it and until when, and nothing of theirs is half-saved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.review.sql import Connection
from index.errors import DecisionRefused


@dataclass(frozen=True)
class Lease:
    case_id: str
    username: str
    expires_at: str  # ISO 8601, UTC

    def until(self) -> str:
        return datetime.fromisoformat(self.expires_at).strftime("%H:%M UTC")


Clock = Callable[[], datetime]  # the time now, in UTC; read only when a case has a lease


def holder(conn: Connection, case_id: str, clock: Clock) -> Lease | None:
    """The case's running lease, if any."""
    row = conn.execute("SELECT username, expires_at FROM leases WHERE case_id = ?", (case_id,)).fetchone()
    if row is None or datetime.fromisoformat(row[1]) <= clock():
        return None
    return Lease(case_id, row[0], row[1])


def check(conn: Connection, case_id: str, username: str, clock: Clock) -> None:
    """Refuse a change by `username` while another account holds the case's lease, or when
    `username` is an account an admin has disabled (a browser session may outlive the account)."""
    disabled = conn.execute("SELECT disabled FROM users WHERE username = ?", (username,)).fetchone()
    if disabled is not None and disabled[0]:
        raise DecisionRefused(f"the account {username!r} is disabled: your change was not saved")
    lease = holder(conn, case_id, clock)
    if lease is not None and lease.username != username:
        raise DecisionRefused(
            f"case {case_id} is open by {lease.username} until {lease.until()}: your change was not saved. "
            "Take another case, or ask them to close this one"
        )


def take(conn: Connection, case_id: str, username: str, clock: Clock, minutes: int) -> Lease:
    """Take or renew the lease for `username`; refused while another account holds it."""
    now = clock()
    check(conn, case_id, username, lambda: now)
    expires = (now + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    # A coder works one case at a time: opening this one gives back any other they held.
    conn.execute("DELETE FROM leases WHERE username = ? AND case_id <> ?", (username, case_id))
    conn.execute(
        "INSERT INTO leases(case_id, username, expires_at) VALUES (?,?,?)"
        " ON CONFLICT(case_id) DO UPDATE SET username = excluded.username, expires_at = excluded.expires_at",
        (case_id, username, expires),
    )
    return Lease(case_id, username, expires)


def release(conn: Connection, username: str) -> None:
    """Give back every lease `username` holds (signing out)."""
    conn.execute("DELETE FROM leases WHERE username = ?", (username,))
