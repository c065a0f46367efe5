"""An inpatient case's procedures, after its diagnoses: each ICD-10-PCS code with every character's
meaning and the words that chose it (or why the tables decide it), accepted or rejected as a whole,
or changed one character at a time among the values its table allows; the procedures the agent read
and did not code, with why; and the PCS encoder, which walks the tables one character at a time to
add a procedure. The principal procedure is marked.
"""

from __future__ import annotations

import streamlit as st

from app.review.records import LIVE, Case, CaseProcedure
from app.review.store import CaseStore
from app.ui.fold import fold
from app.ui.session import act, coder_name, flash
from app.workbench import AXIS_HEADER, CODE_STATUS_COLOURS, axis_rows, markdown_table, md_escape


def procedure_panel(store: CaseStore, case: Case, procedures: list[CaseProcedure]) -> None:
    if case.setting != "inpatient":
        return  # outpatient procedures are CPT codes, which Coda does not hold
    live = [p for p in procedures if p.status in LIVE]
    passed = [p for p in procedures if p.status == "rejected"]
    st.markdown(f"#### Procedures, ICD-10-PCS ({len(live)})")
    if not live:
        st.caption("No procedures: the note names none performed in this stay, or none is coded yet.")
    done = case.status == "done"
    for p in live:
        with st.container(border=True, key=f"procedure_{p.code}"):
            procedure_card(store, case, p, done)
    if passed:
        box = fold(f"Procedures not coded ({len(passed)})", key=f"procedures_passed_{case.id}")
        with box:
            if box.open:
                rows = [(p.code, p.title, p.reason) for p in passed]
                st.markdown(markdown_table(("code", "title", "why not"), rows))
    pcs_encoder(store, case, done)


def procedure_card(store: CaseStore, case: Case, p: CaseProcedure, done: bool) -> None:
    with st.container(horizontal=True, vertical_alignment="center", wrap=True):
        st.markdown(f"**{md_escape(p.code)}** {md_escape(p.title)}")
        if p.principal:
            st.badge("principal procedure", color="primary")
        st.badge(p.status, color=CODE_STATUS_COLOURS[p.status])
    st.markdown(markdown_table(AXIS_HEADER, axis_rows(p)))
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=True):
        st.button(
            "Accept",
            key=f"accept_procedure_{p.code}",
            icon=":material/check:",
            disabled=done or p.status != "suggested",
            on_click=accept_procedure,
            args=(store, case.id, p.code),
        )
        st.text_input("Reason to reject", key=f"reject_procedure_reason_{p.code}", disabled=done)
        st.button(
            "Reject",
            key=f"reject_procedure_{p.code}",
            icon=":material/close:",
            disabled=done,
            on_click=reject_procedure,
            args=(store, case.id, p.code),
        )
    if len(p.code) != 7 or done:
        return
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=True):
        position = st.selectbox(
            "Change character",
            list(range(1, 8)),
            format_func=lambda i: f"{i}: {p.axes[i - 1].name}" if i <= len(p.axes) else str(i),
            key=f"change_position_{p.code}",
            index=None,
            placeholder="Choose one",
        )
        values = store.pcs_book().next_values(p.code[: position - 1]) if position else []
        labels = {a.value: f"{a.value}: {a.meaning}" for a in values}
        st.selectbox(
            "to",
            list(labels),
            format_func=labels.__getitem__,
            key=f"change_value_{p.code}",
            index=None,
            placeholder="allowed values",
            disabled=not position,
        )
        st.button(
            "Change",
            key=f"change_procedure_{p.code}",
            icon=":material/edit:",
            disabled=not position,
            on_click=change_procedure,
            args=(store, case.id, p.code),
        )


def pcs_encoder(store: CaseStore, case: Case, done: bool) -> None:
    """Build a code as a coder walks the tables: each character from the values the rows allow
    after the ones chosen before it."""
    box = fold("Add a procedure from the ICD-10-PCS tables", key=f"pcs_encoder_{case.id}", icon=":material/add:")
    with box:
        if not box.open:
            return
        book, prefix = store.pcs_book(), ""
        for position in range(1, 8):
            values = book.next_values(prefix)
            if not values:
                break
            labels = {a.value: f"{a.value}: {a.meaning}" for a in values}
            chosen = st.selectbox(
                f"{position}. {values[0].name}",
                list(labels),
                format_func=labels.__getitem__,
                key=f"pcs_{case.id}_{prefix}",  # a character's box belongs to the characters before it
                index=None,
                placeholder="Choose",
            )
            if chosen is None:
                break
            prefix += chosen
        if len(prefix) == 7:
            st.markdown(f"**{prefix}** {md_escape(book.describe(prefix).title)}")
        st.button(
            "Add procedure",
            key=f"add_procedure_{case.id}",
            icon=":material/add:",
            disabled=done or len(prefix) != 7,
            on_click=add_procedure,
            args=(store, case.id, prefix),
        )


# -- callbacks --------------------------------------------------------------------------------------


def accept_procedure(store: CaseStore, case_id: str, code: str) -> None:
    act(lambda: store.accept_procedure(case_id, code, coder_name()), f"Accepted procedure {code}")


def reject_procedure(store: CaseStore, case_id: str, code: str) -> None:
    reason = (st.session_state.get(f"reject_procedure_reason_{code}") or "").strip()
    if not reason:
        flash("error", f"Say why procedure {code} is rejected: nothing was changed.")
        return
    act(lambda: store.reject_procedure(case_id, code, reason, coder_name()), f"Rejected procedure {code}")


def change_procedure(store: CaseStore, case_id: str, code: str) -> None:
    position = st.session_state.get(f"change_position_{code}")
    value = st.session_state.get(f"change_value_{code}")
    if not position or not value:
        flash("error", "Choose the character and its new value.")
        return
    act(
        lambda: store.change_procedure(case_id, code, position, value, coder_name()),
        f"Changed character {position} of {code}",
    )


def add_procedure(store: CaseStore, case_id: str, code: str) -> None:
    act(lambda: store.add_procedure(case_id, code, coder_name()), f"Added procedure {code}")
