"""Bearer tokens for the coding API, issued to the workbench's accounts (`coda users token NAME`):
every API call is then attributed to an account, and a disabled account's tokens stop working.

A token is shown once, when issued; the store keeps only its SHA-256 (a token is 32 random bytes,
so a plain hash is enough: there is nothing to guess). Revoking an account's tokens revokes all of
them at once.
"""

from __future__ import annotations

import hashlib
import secrets

from app.review.accounts import Account, Accounts
from app.review.database import CaseDatabase
from index.errors import AccountError

PREFIX = "coda_"  # a token says what it is, in logs and secret scanners


class ApiTokens:
    def __init__(self, db: CaseDatabase) -> None:
        self.db = db

    def issue(self, username: str) -> str:
        """A new token for the account `username` (enabled); shown once, kept hashed."""
        account = Accounts(self.db).get(username)
        if account is None:
            raise AccountError(f"there is no account {username!r}")
        if account.disabled:
            raise AccountError(f"the account {account.username!r} is disabled: enable it before issuing a token")
        token = PREFIX + secrets.token_urlsafe(32)
        with self.db._write() as conn:
            conn.execute(
                "INSERT INTO api_tokens(token_hash, username, created_at, revoked) VALUES (?,?,?,0)",
                (_hash(token), account.username, self.db._now()),
            )
        return token

    def account(self, token: str) -> Account | None:
        """The enabled account a live token was issued to; None for any other token."""
        if not token.startswith(PREFIX):
            return None
        with self.db._read() as conn:
            row = conn.execute(
                "SELECT username FROM api_tokens WHERE token_hash = ? AND revoked = 0", (_hash(token),)
            ).fetchone()
        if row is None:
            return None
        account = Accounts(self.db).get(row[0])
        return account if account is not None and not account.disabled else None

    def revoke(self, username: str) -> int:
        """Revoke every token of `username`; how many were live."""
        with self.db._write() as conn:
            live = conn.execute(
                "SELECT count(*) FROM api_tokens WHERE username = ? AND revoked = 0", (username.strip().lower(),)
            ).fetchone()[0]
            conn.execute("UPDATE api_tokens SET revoked = 1 WHERE username = ?", (username.strip().lower(),))
        return int(live)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
