"""The case's code list: the live codes in sequence order, each with the colour of its highlights,
its status and the principal mark; Previous/Next (K/J) through the list; then the codes the coder
rejected, each with why and by whom, and apart from them, folded away, the candidates the agent
rejected, each with why. A click on a code selects it.
"""

from __future__ import annotations

import html

import streamlit as st

from app.review.records import AuditEntry, Case, CaseCode
from app.ui.fold import fold
from app.ui.session import select
from app.workbench import (
    CODE_STATUS_COLOURS,
    CodeRow,
    code_rows,
    markdown_table,
    md_escape,
    neighbour,
    rejected_by,
    split_rejected,
)


def code_list(case: Case, codes: list[CaseCode], selected: str | None, entries: list[AuditEntry]) -> None:
    rows = code_rows(codes)
    live = [r for r in rows if r.live]
    mine, agents = split_rejected(rows, entries)
    with st.container(horizontal=True, vertical_alignment="center", wrap=False):
        st.markdown(f"#### Codes ({len(live)})")
        st.space("stretch")
        st.button(
            "Previous",
            key="code_prev",
            shortcut="K",
            type="tertiary",
            icon=":material/keyboard_arrow_up:",
            on_click=lambda: select(case.id, neighbour(codes, selected, -1)),
        )
        st.button(
            "Next",
            key="code_next",
            shortcut="J",
            type="tertiary",
            icon=":material/keyboard_arrow_down:",
            on_click=lambda: select(case.id, neighbour(codes, selected, 1)),
        )
    if not live:
        st.caption("No codes yet: code the note." if case.status == "new" else "No live codes: every one is rejected.")
    for row in live:
        with st.container(horizontal=True, vertical_alignment="center", wrap=False, key=f"row_{row.code}"):
            st.markdown(swatch(row.colour, str(row.sequence)), unsafe_allow_html=True, width="content")
            pick_button(case, row, selected)
            if row.principal:
                st.badge("principal", color="primary")
            st.badge(row.status, color=CODE_STATUS_COLOURS[row.status])
    if mine:
        st.markdown(f"**Rejected by the coder ({len(mine)})**")
        for row in mine:
            rejected_row(case, row, selected, f"by {rejected_by(row.code, entries)}")
    agent_candidates(case, agents, selected)


def agent_candidates(case: Case, agents: list[CodeRow], selected: str | None) -> None:
    """The candidates the agent rejected, folded away: one table of code, title and why, and one
    box that opens a candidate in the code panel (to read its reasoning, or accept it after all).
    A few elements whatever their number, so that a decision's rerun stays quick."""
    box = fold(f"Candidates the agent rejected ({len(agents)}), with why", key=f"candidates_box_{case.id}")
    with box:
        if not box.open:
            return
        if not agents:
            st.caption("The agent rejected no candidate.")
            return
        titles = {r.code: f"{r.code} {r.title}" for r in agents}
        st.selectbox(
            "Open a candidate",
            list(titles),
            format_func=titles.__getitem__,
            index=None,
            placeholder="to read why, or to accept it after all",
            key=f"open_candidate_{case.id}_{selected}",  # empty again once another code is selected
            on_change=lambda key: select(case.id, st.session_state.get(key)),
            args=(f"open_candidate_{case.id}_{selected}",),
        )
        rows = [(r.code, r.title, r.reason) for r in agents]
        st.markdown(markdown_table(("code", "title", "why the agent rejected it"), rows))


def rejected_row(case: Case, row: CodeRow, selected: str | None, by: str) -> None:
    """A rejected code: its button, who rejected it, and why."""
    with st.container(horizontal=True, vertical_alignment="center", wrap=False, key=f"rej_{row.code}"):
        pick_button(case, row, selected)
        st.badge(md_escape(by), color="gray")
    st.caption(md_escape(row.reason))


def pick_button(case: Case, row: CodeRow, selected: str | None) -> None:
    """A code of the list as a button that selects it (outlined while selected)."""
    st.button(
        f"**{row.code}** {md_escape(row.title)}",
        key=f"pick_{row.code}",
        type="secondary" if row.code == selected else "tertiary",
        on_click=select,
        args=(case.id, row.code),
        width="stretch",
        wrap=True,
    )


def swatch(colour: str | None, text: str) -> str:
    """A small square in the code's highlight colour holding its sequence number (HTML)."""
    background = colour or "transparent"
    border = "1px dashed #9ca3af" if colour is None else "1px solid rgba(0,0,0,.15)"
    return (
        f'<div style="background:{background};border:{border};border-radius:4px;width:1.9rem;height:1.9rem;'
        f'display:flex;align-items:center;justify-content:center;color:#111827;font-weight:600">'
        f"{html.escape(text)}</div>"
    )
