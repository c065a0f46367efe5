"""What one browser session of the workbench remembers between runs: messages for the next page
(`flash`), the signed-in account (`app.ui.sign_in`), the open case, each case's selected code
and the key of its note view.

`act` runs one request of the coder against the case store: a refused one (any CodaError) becomes
a message on the next page, never a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.workbench import md_escape
from index.errors import CodaError


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
    """The signed-in account's user name: what every decision is audited under."""
    return st.session_state["account"].username


def open_case(case_id: str) -> None:
    st.session_state["case_id"] = case_id


def selected_code(case_id: str) -> str | None:
    return st.session_state.setdefault("selected", {}).get(case_id)


def select(case_id: str, code: str | None, remount: bool = True) -> None:
    """Select a code of the case. The note view reports a click as a state value, so a second click
    on the same highlight is no news to it: unless the selection came from a click on a highlight
    of one code, the note view is mounted afresh (a new key) so that every highlight answers again."""
    st.session_state.setdefault("selected", {})[case_id] = code
    if remount:
        revisions = st.session_state.setdefault("note_rev", {})
        revisions[case_id] = revisions.get(case_id, 0) + 1


def note_key(case_id: str, spans: list[tuple[int, int, str]]) -> str:
    """The key of the case's note view this run, remembered so that late news from an earlier one
    (the browser can send the state of a view that was just replaced) is ignored."""
    digest = hashlib.sha256(repr(sorted(spans)).encode()).hexdigest()[:12]
    key = f"note_{case_id}_{digest}_{st.session_state.setdefault('note_rev', {}).get(case_id, 0)}"
    st.session_state.setdefault("note_key", {})[case_id] = key
    return key


def is_current_note(key: str, case_id: str) -> bool:
    """Whether `key` is the note view this run mounted for the case (see `note_key`)."""
    return key == st.session_state.get("note_key", {}).get(case_id)
