"""What one browser session of the workbench remembers between runs: messages for the next page
(`flash`), the signed-in account (`app.ui.sign_in`), the open case and each case's selected code.

`act` runs one request of the coder against the case store: a refused one (any CodaError) becomes
a message on the next page, never a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.workbench import md_escape
from index.errors import AccountError, CodaError


def flash(kind: str, message: str) -> None:
    """A message for the next page: "error" and "info" stay on the page, "success" is a toast."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("flash", []):
        if kind == "error":
            st.error(md_escape(message), icon=":material/error:")
        elif kind == "info":
            st.info(md_escape(message), icon=":material/info:")
        else:
            st.toast(md_escape(message), icon=":material/check_circle:")


def act(action: Callable[[], Any], done: str | None = None) -> bool:
    """Run one decision; a refused one becomes a message for the coder."""
    try:
        action()
    except CodaError as exc:
        flash("error", str(exc))
        return False
    if done:
        flash("success", done)
    return True


def coder_name() -> str:
    """The signed-in account's user name: what every decision is audited under. A decision runs
    before the page checks the session, so the session is checked here too: one idle past its
    limit (`app.ui.sign_in`) decides nothing (AccountError, which `act` shows) and is signed out
    on the page that follows."""
    account = st.session_state.get("account")
    if account is None or not session_alive():
        raise AccountError("your session has ended: sign in again (nothing was changed)")
    st.session_state["last_seen"] = time.monotonic()
    return account.username


def session_alive() -> bool:
    """Whether the signed-in session is still within its idle limit (set at sign-in)."""
    limit = st.session_state.get("idle_seconds")
    last = st.session_state.get("last_seen")
    return limit is None or last is None or time.monotonic() - last <= limit


def open_case(case_id: str) -> None:
    st.session_state["case_id"] = case_id


def selected_code(case_id: str) -> str | None:
    return st.session_state.setdefault("selected", {}).get(case_id)


def select(case_id: str, code: str | None) -> None:
    """Select a code of the case (the code panel shows it, the note outlines its words)."""
    st.session_state.setdefault("selected", {})[case_id] = code
