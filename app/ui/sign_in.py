"""Sign-in: nothing of a case is shown until an account of the case store signs in, and a
session ends after the settings' idle minutes, or at once when its account is disabled.

Every decision is audited under the signed-in account's user name (`session.coder_name`).
"""

from __future__ import annotations

import hmac
import time

import streamlit as st

from app.review.accounts import Account, Accounts
from app.ui.session import flash
from app.workbench import md_escape
from index.errors import AccountError


def signed_in(accounts: Accounts, idle_minutes: int, setup_code: str | None = None) -> Account:
    """The account signed in to this browser session; without one, the sign-in form is the page
    (or, while the case store has no account, the form that makes the first admin)."""
    account: Account | None = st.session_state.get("account")
    now = time.monotonic()
    st.session_state["idle_seconds"] = idle_minutes * 60  # what `session.coder_name` checks
    if account is not None:
        current = accounts.get(account.username)
        if now - st.session_state.get("last_seen", now) > idle_minutes * 60:
            sign_out(f"Signed out after {idle_minutes} idle minutes: sign in again.")
        elif current is None or current.disabled:
            sign_out("This account has been disabled: ask an admin.")
        else:
            st.session_state["last_seen"] = now
            st.session_state["account"] = current  # as the case store has it now (its role, its name)
            return current
    if accounts.list():
        _form(accounts)
    else:
        _first_admin(accounts, setup_code)
    st.stop()
    raise AssertionError("unreachable: st.stop ends the run")


def sign_out(message: str = "") -> None:
    """End this browser session's sign-in and forget what it had open."""
    for key in ("account", "last_seen", "case_id", "selected", "team_view", "accounts_view"):
        st.session_state.pop(key, None)
    if message:
        flash("info", message)


def _first_admin(accounts: Accounts, setup_code: str | None) -> None:
    """The first admin account, made with the setup code `coda app` printed in its terminal: only
    someone who can read that terminal can make it."""
    st.title("Coda workbench")
    if not setup_code:
        st.warning(
            "No account can sign in yet. Make the first one with `coda users add NAME --role admin`, "
            "or start the workbench with `coda app` (or `make app`), which offers to make it here.",
            icon=":material/person_add:",
        )
        return
    with st.form("first_admin", width=420):
        st.markdown("#### Make the first admin account")
        code = st.text_input("Setup code (printed where `coda app` runs)", type="password", key="setup_code")
        username = st.text_input("User name", key="first_user")
        name = st.text_input("Full name", key="first_name")
        password = st.text_input("Password", type="password", key="first_password")
        again = st.text_input("Password again", type="password", key="first_again")
        submitted = st.form_submit_button("Make the admin account", type="primary")
    if not submitted:
        return
    if not hmac.compare_digest(code.encode(), setup_code.encode()):
        st.error("That is not the setup code `coda app` printed.", icon=":material/lock:")
        return
    if password != again:
        st.error("The two passwords differ.", icon=":material/error:")
        return
    try:
        accounts.add(username, password, "admin", name)
        account = accounts.sign_in(username, password)
    except AccountError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        return
    _start(account)


def _form(accounts: Accounts) -> None:
    for kind, message in st.session_state.pop("flash", []):
        (st.error if kind == "error" else st.info)(md_escape(message))
    st.title("Coda workbench")
    with st.form("sign_in", enter_to_submit=True, width=420):
        st.markdown("#### Sign in")
        username = st.text_input("User name", key="sign_in_user", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    st.caption("Accounts are made by an admin: `coda users add NAME --role coder`.")
    if not submitted:
        return
    try:
        account = accounts.sign_in(username, password)
    except AccountError as exc:
        st.error(md_escape(str(exc)), icon=":material/lock:")
        return
    _start(account)


def _start(account: Account) -> None:
    """This browser session is now `account`'s: the page runs again, signed in."""
    st.session_state["account"] = account
    st.session_state["last_seen"] = time.monotonic()
    st.rerun()
