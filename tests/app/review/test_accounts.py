"""Tests of app.review.accounts: accounts in the case store with argon2 hashes, roles, a lock after
a run of wrong passwords, and disabled accounts that cannot sign in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.review.accounts import WRONG, Accounts, SignInPolicy
from app.review.store import CaseStore
from index.errors import AccountError, DecisionRefused
from index.store import CodeStore

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(case_db: str | Path, book: CodeStore, clock: Clock):
    with CaseStore(case_db, book, clock=clock) as store:
        yield Accounts(store, SignInPolicy(failures=3, lock_minutes=15))


def stored_hash(accounts: Accounts, username: str) -> str:
    with accounts.db.database.transaction(write=False) as conn:
        return conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()[0]


def test_an_account_is_kept_with_an_argon2_hash_never_the_password(accounts):
    added = accounts.add("Dana", PASSWORD, "coder", "Dana  Reyes")
    assert (added.username, added.display_name, added.role, added.disabled) == ("dana", "Dana Reyes", "coder", False)
    hashed = stored_hash(accounts, "dana")
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert accounts.list() == [added]
    assert accounts.sign_in(" DANA ", PASSWORD) == added


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("dana", PASSWORD, "coder", "already an account 'dana'"),
        ("a b", PASSWORD, "coder", "is not a user name"),
        ("", PASSWORD, "coder", "is not a user name"),
        ("lee", PASSWORD, "superuser", "role must be one of coder, auditor, admin"),
        ("lee", "short", "coder", "too short: at least 10 characters"),
    ],
)
def test_an_account_request_that_cannot_be_done_says_why_and_adds_nothing(accounts, username, password, role, message):
    accounts.add("dana", PASSWORD, "coder")
    with pytest.raises(AccountError, match=message):
        accounts.add(username, password, role)
    assert [a.username for a in accounts.list()] == ["dana"]


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(accounts):
    accounts.add("dana", PASSWORD, "coder")
    for username, password in [("dana", "not the password"), ("nobody", PASSWORD)]:
        with pytest.raises(AccountError) as refused:
            accounts.sign_in(username, password)
        assert str(refused.value) == WRONG


def test_a_run_of_wrong_passwords_locks_the_account_for_a_while(accounts, clock):
    accounts.add("dana", PASSWORD, "coder")
    for _ in range(2):
        with pytest.raises(AccountError, match=f"^{WRONG}$"):
            accounts.sign_in("dana", "guess")
    with pytest.raises(AccountError, match="now locked for 15 minutes"):
        accounts.sign_in("dana", "guess")
    with pytest.raises(AccountError, match="locked until 09:15 UTC"):
        accounts.sign_in("dana", PASSWORD)  # the right password does not open a locked account
    clock.now += timedelta(minutes=14)
    with pytest.raises(AccountError, match="locked until"):
        accounts.sign_in("dana", PASSWORD)
    assert accounts.get("dana").state(clock.now) == "locked"
    clock.now += timedelta(minutes=2)
    assert accounts.get("dana").state(clock.now) == "active"  # listed as it is, though the lock is still stored
    assert accounts.sign_in("dana", PASSWORD).username == "dana"


def test_a_good_sign_in_clears_the_count_of_wrong_passwords(accounts):
    accounts.add("dana", PASSWORD, "coder")
    for _ in range(2):
        with pytest.raises(AccountError):
            accounts.sign_in("dana", "guess")
    accounts.sign_in("dana", PASSWORD)
    for _ in range(2):
        with pytest.raises(AccountError, match=f"^{WRONG}$"):
            accounts.sign_in("dana", "guess")  # two more are not yet three in a row
    assert accounts.sign_in("dana", PASSWORD).username == "dana"


def test_a_disabled_account_cannot_sign_in_until_enabled(accounts):
    accounts.add("dana", PASSWORD, "auditor")
    assert accounts.set_disabled("dana").disabled
    with pytest.raises(AccountError, match="disabled: ask an admin"):
        accounts.sign_in("dana", PASSWORD)
    with pytest.raises(AccountError, match=f"^{WRONG}$"):
        accounts.sign_in("dana", "guess")  # a wrong password says no more about a disabled account
    accounts.set_disabled("dana", False)
    assert accounts.sign_in("dana", PASSWORD).role == "auditor"
    with pytest.raises(AccountError, match="no account 'lee'"):
        accounts.set_disabled("lee")


def test_a_disabled_account_changes_no_case_though_its_session_lives_on(accounts):
    store = accounts.db
    accounts.add("dana", PASSWORD, "coder")
    case = store.create_case("Essential hypertension.")
    store.open_case(case.id, "dana")
    accounts.set_disabled("dana")
    with pytest.raises(DecisionRefused, match="the account 'dana' is disabled: your change was not saved"):
        store.set_status(case.id, "in_review", "dana")
    with pytest.raises(DecisionRefused, match="is disabled"):
        store.open_case(case.id, "dana")
    assert store.get_case(case.id).status == "new" and [a.action for a in store.audit(case.id)] == []
