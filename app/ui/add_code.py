"""The encoder: search the code book by words or code, read a result's Tabular entry, and add the
code to the case, linked to words of the note the coder quotes (found where the note has them)."""

from __future__ import annotations

import streamlit as st

from agent.records import Evidence
from app.review.records import Case
from app.review.store import CaseStore
from app.ui.code_panel import render_entry
from app.ui.fold import fold
from app.ui.session import act, coder_name, select
from app.workbench import MAX_QUOTE, md_escape, quote_evidence
from index.entry import describe
from index.errors import CodaError
from index.search import CodeSearch, Filters, Hit


@st.fragment
def add_code_panel(store: CaseStore, search: CodeSearch, case: Case) -> None:
    """The encoder: search the code book by words or code, read the entry, add the code. A
    fragment of its own: a search reruns only this panel; a code added reruns the page."""
    if st.session_state.pop("code_added", False):
        st.rerun(scope="app")
    box = fold("Add a code (search the code book)", key=f"add_code_box_{case.id}")
    with box:
        if not box.open:
            return
        query = st.text_input("A term or a code", key="add_query", placeholder="high blood pressure, E11.22, HTN")
        billable = st.checkbox("Billable codes only", key="add_billable", value=True)
        if not query.strip():
            return
        try:
            hits = cached_search(search, str(search.store.path), query.strip(), billable)
        except CodaError as exc:
            st.warning(md_escape(str(exc)))
            return
        if not hits:
            st.info(f'No codes found for "{md_escape(query.strip())}".')
            return
        st.caption(f'{len(hits)} results for "{md_escape(query.strip())}", best first')
        labels = {h.code: f"{h.code} {md_escape(h.title)}" + ("" if h.billable else " · not billable") for h in hits}
        # Best first, none chosen: the coder picks the code they add, never the first hit by default.
        choice = st.radio(
            "Results", list(labels), key=f"add_choice_{query}", format_func=labels.__getitem__, index=None
        )
        if choice:
            evidence = quoted_evidence(case)
            st.button(
                f"Add {choice} to {case.id}",
                key="add_code",
                type="primary",
                icon=":material/add:",
                disabled=case.status == "done" or evidence is None,
                on_click=add_code,
                args=(store, case.id, choice, evidence or ()),
            )
            render_entry(describe(search.store, choice))


@st.cache_data(max_entries=1024, show_spinner=False)
def cached_search(_search: CodeSearch, book: str, query: str, billable: bool) -> list[Hit]:
    """The encoder's results for a query, once per code book (`book`) and query: every session
    and every coder asking again gets them at once."""
    return _search.search(query, limit=12, filters=Filters(billable=True if billable else None))


def quoted_evidence(case: Case) -> tuple[Evidence, ...] | None:
    """The evidence the coder quotes for a code they add: the words' first place in the note
    (highlighted like the agent's evidence); () when they quote nothing; None when the words
    are not in the note, which keeps the code from being added with a wrong quote."""
    quote = st.text_input(
        "Evidence: words of the note that support it (optional)",
        key="add_quote",
        max_chars=MAX_QUOTE,
        placeholder="diabetic CKD stage 3",
    )
    if not quote.strip():
        return ()
    found = quote_evidence(case.note, quote)
    if not found:
        st.warning("Those words are not in the note: quote them as the note has them.", icon=":material/warning:")
        return None
    where = f"{len(found)} places; the first is linked" if len(found) > 1 else "1 place"
    st.caption(f"Found in {where}: characters {found[0].start}-{found[0].end}.")
    return (found[0],)


def add_code(store: CaseStore, case_id: str, code: str, evidence: tuple[Evidence, ...] = ()) -> None:
    if act(lambda: store.add(case_id, code, coder_name(), evidence), f"Added {code}"):
        select(case_id, code)
    st.session_state["code_added"] = True  # the code list, the note and the claim show it (or why not)
