"""A folded part of the page whose content runs only while it is open (a stateful Streamlit
expander), so that a decision's rerun neither builds nor sends what the coder cannot see."""

from __future__ import annotations

from typing import Any

import streamlit as st


def fold(label: str, key: str, expanded: bool = False, icon: str | None = None) -> Any:
    """An expander remembered under `key`; its `.open` says whether to fill it this run."""
    return st.expander(label, expanded=expanded, key=key, icon=icon, on_change="rerun")
