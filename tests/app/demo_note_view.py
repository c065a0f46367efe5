"""Demo of the note view component: `streamlit run tests/app/demo_note_view.py`.

A short note with two overlapping codes (and a line of markup that must show as text). The last
click is written under the note as `Clicked: {...}` (in `.st-key-clicked`) for browser tests.
"""

from __future__ import annotations

import json

import streamlit as st

from app.note_view import note_view, palette

NOTE = (
    "Assessment:\n"
    "Type 2 diabetes mellitus with diabetic chronic kidney disease, stage 3a.\n"
    "Pasted text: <script>alert(1)</script> <img src=x onerror=alert(1)>\n"
)


def _span(phrase: str, code: str) -> tuple[int, int, str]:
    start = NOTE.index(phrase)
    return start, start + len(phrase), code


SPANS = [
    _span("Type 2 diabetes mellitus with diabetic chronic kidney disease", "E11.22"),
    _span("chronic kidney disease, stage 3a", "N18.31"),
]

st.set_page_config(page_title="Coda note view demo")
st.title("Note view")
colours = palette([code for _, _, code in SPANS])
st.markdown("  ".join(f"`{code}`" for code in colours))
selected = st.radio("Selected code", [None, *colours], format_func=lambda c: c or "none", horizontal=True)
click = note_view(NOTE, SPANS, colours, selected=selected, key="demo_note")
with st.container(key="clicked"):  # the page has it as `.st-key-clicked`
    st.text(f"Clicked: {json.dumps(click)}")
