"""The accounts that sign in to the workbench, kept in the case store's `users` table.

Passwords are hashed with argon2id (argon2-cffi, its default parameters); the store never holds
a password. A sign-in names no reason beyond "wrong name or password" for an unknown name, so the
form cannot be used to find out which names exist, and an unknown name costs a hash check like a
known one. After `failures` wrong passwords in a row an account is locked for `lock_minutes`;
a disabled account cannot sign in. Roles: a coder codes cases; an auditor reviews them (second
level); an admin also manages accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.review.database import CaseDatabase
from index.errors import AccountError

Role = Literal["coder", "auditor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
MIN_PASSWORD = 10
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_HASHER = PasswordHasher()
_NOBODY = _HASHER.hash("an unknown name costs a hash check too")
WRONG = "wrong user name or password"


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    disabled: bool
    created_at: str
    locked_until: str | None = None

    def state(self, now: datetime) -> str:
        """disabled, locked (a lock that still runs at `now`) or active: what the account lists show."""
        if self.disabled:
            return "disabled"
        locked = self.locked_until is not None and now < datetime.fromisoformat(self.locked_until)
        return "locked" if locked else "active"


@dataclass(frozen=True)
class SignInPolicy:
    failures: int = 5  # wrong passwords in a row that lock an account
    lock_minutes: int = 15


class Accounts:
    """The accounts of the case store `db`; `policy` says when a run of wrong passwords locks one."""

    def __init__(self, db: CaseDatabase, policy: SignInPolicy | None = None) -> None:
        self.db = db
        self.policy = policy or SignInPolicy()

    def add(self, username: str, password: str, role: str, display_name: str = "") -> Account:
        username = username.strip().lower()
        if not _USERNAME.fullmatch(username):
            raise AccountError(
                f"{username!r} is not a user name: 1 to 40 lower-case letters, digits and . _ -, "
                "starting with a letter or digit"
            )
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
        display_name = " ".join(display_name.split()) or username
        hashed = _HASHER.hash(password)
        with self.db._write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise AccountError(f"there is already an account {username!r}")
            now = self.db._now()
            conn.execute(
                "INSERT INTO users(username, display_name, role, password_hash, created_at) VALUES (?,?,?,?,?)",
                (username, display_name, role, hashed, now),
            )
        return Account(username, display_name, role, False, now)

    def list(self) -> list[Account]:
        with self.db._read() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        return [_account(r) for r in rows]

    def get(self, username: str) -> Account | None:
        with self.db._read() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username.strip().lower(),)).fetchone()
        return _account(row) if row is not None else None

    def set_disabled(self, username: str, disabled: bool = True) -> Account:
        with self.db._write() as conn:
            changed = conn.execute(
                "UPDATE users SET disabled = ?, failures = 0, locked_until = NULL WHERE username = ?",
                (int(disabled), username.strip().lower()),
            ).rowcount
        if not changed:
            raise AccountError(f"there is no account {username!r}")
        account = self.get(username)
        assert account is not None
        return account

    def sign_in(self, username: str, password: str) -> Account:
        """The account, when `password` is its password and it may sign in; else AccountError. A
        wrong password is counted (and may lock the account) before the refusal is raised."""
        username = username.strip().lower()
        with self.db._write() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            refusal = self._check(conn, row, password)
        if refusal:
            raise AccountError(refusal)
        return replace(_account(row), locked_until=None)

    def _check(self, conn, row, password: str) -> str:  # type: ignore[no-untyped-def]
        """Why the sign-in is refused ("" when it is not), with the account's failures updated."""
        if row is None:
            _verify(_NOBODY, password)
            return WRONG
        now = self.db._clock().astimezone(UTC)
        if row["locked_until"] is not None and now < datetime.fromisoformat(row["locked_until"]):
            until = datetime.fromisoformat(row["locked_until"]).strftime("%H:%M UTC")
            return f"this account is locked until {until} after {self.policy.failures} wrong passwords in a row"
        if not _verify(row["password_hash"], password):
            failures, locked = row["failures"] + 1, None
            if failures >= self.policy.failures:
                failures, locked = 0, (now + timedelta(minutes=self.policy.lock_minutes)).isoformat(timespec="seconds")
            update = "UPDATE users SET failures = ?, locked_until = ? WHERE username = ?"
            conn.execute(update, (failures, locked, row["username"]))
            return f"{WRONG}; the account is now locked for {self.policy.lock_minutes} minutes" if locked else WRONG
        if row["disabled"]:
            return f"the account {row['username']!r} is disabled: ask an admin"
        conn.execute("UPDATE users SET failures = 0, locked_until = NULL WHERE username = ?", (row["username"],))
        return ""


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _account(row) -> Account:  # type: ignore[no-untyped-def]
    return Account(
        row["username"], row["display_name"], row["role"], bool(row["disabled"]), row["created_at"], row["locked_until"]
    )
