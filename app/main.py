"""Coda's coder workbench: `streamlit run app/main.py` (or `make app`).

The edge of the app: it reads the settings once per run, holds the heavy objects (embedding model,
the agent's `Coder`, the code search, the case store) in `st.cache_resource`, turns a missing index
into a message, and hands the page to the panels of `app.ui`, which call the review core
(`app.review`) and the page logic (`app.workbench`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from app.review.accounts import Accounts
from app.review.store import CaseStore
from app.settings import Settings
from app.ui.accounts_page import accounts_page
from app.ui.case_page import case_view
from app.ui.session import show_flashes
from app.ui.sidebar import sidebar
from app.ui.sign_in import signed_in
from app.ui.team_page import TEAM_ROLES, team_page
from app.workbench import md_escape
from index.errors import CodaError, IndexNotBuilt
from index.pcs.book import book_path
from index.search import CodeSearch
from index.store import CodeStore

if TYPE_CHECKING:
    from agent.coder import Coder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Two cores and OpenMP's default spin-wait: a busy machine slows the encoder several times over.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

CSS = Path(__file__).parent / "static" / "workbench" / "workbench.css"


@st.cache_resource(show_spinner="Loading the embedding model ...")
def embedder() -> Any:
    from index.embeddings import Embedder

    return Embedder()


@st.cache_resource(show_spinner="Loading the code book ...")
def coder(data_dir: str, system: str, release: str | None, llm_base_url: str | None, _settings: Settings) -> Coder:
    """The agent's one entry, with its dependencies created once; with an LLM endpoint, the LLM reasoner too."""
    from agent.coder import open_coder

    chat_model = _settings.chat_model_factory() if llm_base_url else None
    return open_coder(
        Path(data_dir),
        system,
        release,
        embedder=embedder(),
        chat_model=chat_model,
        llm_limits=_settings.llm_limits(),
        chroma=_settings.chroma_server(),
    )


@st.cache_resource
def code_search(data_dir: str, system: str, release: str | None, _coder: Coder) -> CodeSearch:
    """The encoder over the coder's own store and vectors: nothing is opened twice."""
    return CodeSearch(_coder.deps.store, _coder.deps.locator.vectors)


@st.cache_resource
def case_store(target: str, release_dir: str, _book: CodeStore, _settings: Settings) -> CaseStore:
    """The case store, taking codes from the code book of the release the app codes with, and
    sealing its audit trail with the settings' key (read once, with the store)."""
    return CaseStore(
        _settings.case_store_target(),
        _book,
        audit_key=_settings.audit_key_bytes(),
        pcs_book=book_path(_settings.data_dir),
    )


def main() -> None:
    st.set_page_config(page_title="Coda workbench", page_icon=":material/medical_services:", layout="wide")
    st.html(f"<style>{CSS.read_text(encoding='utf-8')}</style>")
    settings = Settings()
    key = (str(settings.data_dir), settings.system, settings.release)
    try:
        the_coder = coder(*key, settings.llm_base_url, settings)
    except IndexNotBuilt as exc:
        st.title("Coda workbench")
        st.error(
            f"No code book index for {settings.system} in `{settings.data_dir}` yet. Build it once with "
            "`coda index build` (or run `make app`, which builds it and starts the workbench), then reload this page.",
            icon=":material/error:",
        )
        st.caption(md_escape(str(exc)))
        st.stop()
    except CodaError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        st.stop()
    search = code_search(*key, the_coder)
    try:
        store = case_store(str(settings.case_store_target()), str(the_coder.release_dir), search.store, settings)
    except CodaError as exc:  # a shared store unreachable or misconfigured: say so, change nothing
        st.error(md_escape(str(exc)), icon=":material/error:")
        st.stop()
    setup = settings.setup_code.get_secret_value() if settings.setup_code else None
    account = signed_in(Accounts(store, settings.sign_in_policy()), settings.session_idle_minutes, setup)
    case = sidebar(store, settings, the_coder.release_dir)
    show_flashes()
    if st.session_state.get("accounts_view"):
        accounts_page(Accounts(store, settings.sign_in_policy()), account)
        return
    if account.role in TEAM_ROLES and st.session_state.get("team_view"):
        team_page(store)
        return
    if case is None:
        st.title("Coda workbench")
        st.markdown(
            "Add cases in the sidebar: paste a note, upload `.txt` files, or load the synthetic sample notes. "
            "Then code a case, review each suggested code against the words that support it, and export "
            "the claim."
        )
        return
    case_view(store, the_coder, search, case, settings)


main()
