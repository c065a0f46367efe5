"""Assembles the coding graph's dependencies from a built index: created once at the edge.

`open_coder` loads the store, the term matcher, the embedding model and the Chroma index
(the heavy, shared objects), and returns a `Coder` that codes notes through the compiled
graph. The LLM reasoner is wired in only when a chat-model factory is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.assign import HierarchyWalker
from agent.graph import CodingDeps, build_graph, result_of
from agent.llm import LlmReasoner
from agent.locate import Locator
from agent.matcher import TermMatcher
from agent.profile import Profile, profile_dir
from agent.reasoner import Reasoner
from agent.records import CodingResult, Setting
from index.build import STORE_FILE, VECTOR_DIR, find_release
from index.embeddings import Embedder
from index.store import CodeStore
from index.vectors import VectorIndex


@dataclass
class Coder:
    """Codes notes through the graph (without the review pause) with shared dependencies."""

    deps: CodingDeps
    release_dir: Path
    graph: Any

    def code(
        self,
        note: str,
        note_id: str = "note",
        setting: Setting = "outpatient",
        reasoner: str = "offline",
        profile: str | None = None,
    ) -> CodingResult:
        state = self.graph.invoke(
            {"note_id": note_id, "note": note, "setting": setting, "reasoner": reasoner, "profile": profile}
        )
        return result_of(state)

    def profile_path(self, name: str) -> Path:
        return profile_dir(self.release_dir, name)


def open_coder(
    data_dir: Path,
    system: str = "icd10cm",
    release: str | None = None,
    embedder: Embedder | None = None,
    chat_model: Callable[[], BaseChatModel] | None = None,
    dense: bool = True,
) -> Coder:
    release_dir = find_release(data_dir, system, release)
    store = CodeStore(release_dir / STORE_FILE)
    matcher = TermMatcher.from_rows(store.iter_terms(), leaves=store.billable_codes())
    if dense and embedder is None:
        embedder = Embedder()
    vectors = VectorIndex(release_dir / VECTOR_DIR, embedder) if dense and embedder is not None else None
    locator = Locator(store, matcher, vectors, embedder if dense else None)
    walker = HierarchyWalker(store, matcher)

    def load_profile(name: str) -> Profile:
        return Profile.load(profile_dir(release_dir, name))

    llm: Callable[[Reasoner], Reasoner] | None = None
    if chat_model is not None:
        factory = chat_model

        def llm(fallback: Reasoner) -> Reasoner:
            return LlmReasoner(factory(), store, fallback)

    deps = CodingDeps(store, locator, walker, load_profile, llm)
    return Coder(deps, release_dir, build_graph(deps))
