"""Coda's Streamlit entry point: `streamlit run app/main.py`.

Thin: it reads widgets, calls the core, and renders. Today it is the code-book encoder
(search a term or a code, read the whole Tabular entry); the coding workbench builds on it.
"""

from __future__ import annotations

import os

import streamlit as st

from app.settings import Settings
from index.entry import describe
from index.errors import CodaError
from index.search import CodeSearch, Filters

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@st.cache_resource
def settings() -> Settings:
    return Settings()


@st.cache_resource(show_spinner="Loading the code book and the embedding model ...")
def code_search(system: str) -> CodeSearch:
    from index.embeddings import Embedder

    s = settings()
    return CodeSearch.open(s.data_dir, system, Embedder(), s.release)


def render_entry(search: CodeSearch, code: str) -> None:
    entry = describe(search.store, code)
    st.subheader(f"{entry['code']} {entry['title']}")
    billable = "billable" if entry["billable"] else "not billable"
    st.caption(f"{entry['kind']} · {billable} · {entry['chapter']} · block {entry['block']}")
    if entry["ancestors"]:
        st.markdown(" › ".join(f"`{a['code']}` {a['title']}" for a in reversed(entry["ancestors"])))
    for note in entry["notes"]:
        where = "" if note["source"] == entry["code"] else f" _(from {note['source']})_"
        st.markdown(f"**{note['label']}:** {note['text']}{where}")
    if entry["seventh"]:
        st.markdown(f"**7th characters** (defined at {entry['seventh_source']})")
        st.table([{"7th": s["char"], "meaning": s["meaning"]} for s in entry["seventh"]])
    if entry["children"]:
        st.markdown("**More specific:** " + ", ".join(f"`{c}`" for c in entry["children"]))


def main() -> None:
    st.set_page_config(page_title="Coda", layout="wide")
    st.title("Coda")
    s = settings()
    try:
        search = code_search(s.system)
    except CodaError as exc:
        st.error(f"{exc}")
        st.stop()
    query = st.text_input("Search the code book (a term or a code)", placeholder="high blood pressure, E11.22, HTN")
    billable = st.checkbox("Billable codes only")
    if not query.strip():
        return
    try:
        hits = search.search(query, limit=15, filters=Filters(billable=True if billable else None))
    except CodaError as exc:
        st.warning(str(exc))
        return
    if not hits:
        st.info("No codes found.")
        return
    left, right = st.columns([2, 3])
    with left:
        choice = st.radio(
            "Results",
            [h.code for h in hits],
            format_func=lambda c: next(f"{h.code} {h.title}" for h in hits if h.code == c),
        )
    with right:
        if choice:
            render_entry(search, choice)


main()
