"""The coding workflow as a LangGraph state machine, built by `build_graph(deps)`.

analyze -> locate -> assign -> verify -> reconcile -> review. The reasoner (offline or LLM)
decides in `assign`; the other nodes are shared, so both reasoners meet the same guideline
checks. With `review=True` the graph pauses in `review` (a LangGraph interrupt) until the
coder's decisions resume it; a checkpointer keeps paused cases across restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agent.assign import HierarchyWalker
from agent.guidelines import check_all, guideline_text
from agent.locate import Locator, statements_of
from agent.offline import OfflineReasoner
from agent.profile import Profile
from agent.reasoner import CodingContext, Reasoner
from agent.records import CodingResult, Finding, Proposal, Rejected, Suggestion
from agent.residual import ResidualRules
from agent.state import (
    CodingInput,
    CodingState,
    candidate_from,
    candidate_to,
    finding_from,
    proposal_from,
    proposal_to,
    rejected_from,
    rejected_to,
    statement_from,
    suggestion_from,
    suggestion_to,
)
from agent.text import Analysis, analyze
from index.store import CodeStore

SYMPTOM_CHAPTER = "Chapter 18"


@dataclass
class CodingDeps:
    """Everything the nodes need, created once at the edge and injected."""

    store: CodeStore
    locator: Locator
    walker: HierarchyWalker
    profiles: Callable[[str], Profile] | None = None  # name -> learned profile
    llm: Callable[[Reasoner], Reasoner] | None = None  # wraps a fallback into the LLM reasoner
    _cache: dict[str, Any] = field(default_factory=dict)

    def profile(self, name: str | None) -> Profile | None:
        if not name or self.profiles is None:
            return None
        key = f"profile:{name}"
        if key not in self._cache:
            self._cache[key] = self.profiles(name)
        return self._cache[key]  # type: ignore[no-any-return]

    def reasoner(self, name: str, profile: str | None) -> Reasoner:
        offline = OfflineReasoner(self.walker, self.profile(profile))
        if name == "llm" and self.llm is not None:
            return self.llm(offline)
        return offline


class Nodes:
    def __init__(self, deps: CodingDeps) -> None:
        self.deps = deps

    def analyze_note(self, state: CodingState) -> dict[str, Any]:
        analysis = _analysis(state["note"])
        statements = statements_of(analysis)
        return {
            "statements": [asdict(s) for s in statements],
            "progress": [f"analyze: {len(analysis.sentences)} sentences, {len(statements)} statements"],
        }

    def locate_codes(self, state: CodingState) -> dict[str, Any]:
        note = state["note"]
        statements = tuple(statement_from(s) for s in state["statements"])
        profile = self.deps.profile(state.get("profile"))
        located = self.deps.locator.locate(note, _analysis(note), statements, profile)
        sources = sorted({s for c in located.candidates for s in c.sources})
        return {
            "candidates": [candidate_to(c) for c in located.candidates],
            "note_vector": list(located.note_vector) if located.note_vector is not None else None,
            "progress": [f"locate: {len(located.candidates)} candidate codes ({', '.join(sources) or 'none'})"],
        }

    def assign_codes(self, state: CodingState) -> dict[str, Any]:
        note = state["note"]
        context = CodingContext(
            note_id=state.get("note_id", "note"),
            note=note,
            analysis=_analysis(note),
            statements=tuple(statement_from(s) for s in state["statements"]),
            candidates=tuple(candidate_from(c) for c in state["candidates"]),
            setting=state.get("setting", "outpatient"),
            note_vector=tuple(state["note_vector"]) if state.get("note_vector") else None,
        )
        reasoner = self.deps.reasoner(state.get("reasoner", "offline"), state.get("profile"))
        outcome = reasoner.run(context)
        proposals = [p for p in outcome.proposals if _evidence_is_exact(p, note)]
        titles = self.deps.store.codes([code for code, _ in outcome.rejections])
        rejected = [
            Rejected(code, titles[code].title if code in titles else "", reason) for code, reason in outcome.rejections
        ]
        used = reasoner.name if outcome.fallback_reason is None else f"{reasoner.name} (fell back to offline)"
        return {
            "proposals": [proposal_to(p) for p in proposals],
            "rejected": [rejected_to(r) for r in rejected],
            "fallback": outcome.fallback_reason,
            "reasoner_used": used,
            "progress": [f"assign: {len(proposals)} codes proposed by the {used} reasoner"],
        }

    def verify_codes(self, state: CodingState) -> dict[str, Any]:
        """The setting's rule for uncertain diagnoses, then the Tabular's instructional notes."""
        setting = state.get("setting", "outpatient")
        kept: list[Proposal] = []
        rejected = [rejected_from(r) for r in state.get("rejected", [])]
        for p in (proposal_from(d) for d in state["proposals"]):
            record = self.deps.store.find(p.code)
            if record is None:
                rejected.append(Rejected(p.code, "", "not a code in this code system"))
                continue
            if setting == "outpatient" and p.evidence and all(e.assertion == "uncertain" for e in p.evidence):
                rejected.append(Rejected(p.code, record.title, guideline_text("uncertain_outpatient"), p.evidence))
                continue
            kept.append(p)
        findings = check_all([p.code for p in kept], self.deps.store, setting)
        return {
            "proposals": [proposal_to(p) for p in kept],
            "rejected": [rejected_to(r) for r in rejected],
            "findings": [asdict(f) for f in findings],
            "progress": [f"verify: {len(findings)} findings from the guideline checks"],
        }

    def reconcile_codes(self, state: CodingState) -> dict[str, Any]:
        proposals = [proposal_from(d) for d in state["proposals"]]
        findings = [finding_from(f) for f in state.get("findings", [])]
        rejected = [rejected_from(r) for r in state.get("rejected", [])]
        keep, dropped = _prefer_specific(proposals, self.deps.store)
        keep, residual = ResidualRules.default().apply(keep)
        dropped += residual
        keep, excluded = _resolve_excludes1(keep, findings)
        records = self.deps.store.codes([p.code for p in keep] + [code for code, _ in dropped + excluded])
        for code, why in dropped + excluded:
            rejected.append(Rejected(code, records[code].title if code in records else "", why))
        ordered = sorted(
            keep,
            key=lambda p: (
                records[p.code].chapter == SYMPTOM_CHAPTER if p.code in records else True,
                -round(p.confidence, 2),
                p.evidence[0].start if p.evidence else 0,
            ),
        )
        suggestions = [
            Suggestion(
                code=p.code,
                title=records[p.code].title if p.code in records else "",
                evidence=p.evidence,
                confidence=p.confidence,
                reasoning=p.steps,
                principal=i == 0,
                alternatives=_alternatives(self.deps.store, p.code),
            )
            for i, p in enumerate(ordered)
        ]
        final_codes = {s.code for s in suggestions}
        findings = [f for f in findings if not f.codes or set(f.codes) <= final_codes]
        unique_rejected = {r.code: r for r in reversed(rejected) if r.code not in final_codes}
        return {
            "codes": [suggestion_to(s) for s in suggestions],
            "rejected": [rejected_to(r) for r in reversed(list(unique_rejected.values()))],
            "findings": [asdict(f) for f in findings],
            "progress": [f"reconcile: {len(suggestions)} codes suggested, {len(unique_rejected)} rejected"],
        }

    def review_codes(self, state: CodingState) -> dict[str, Any]:
        decisions = interrupt({"note_id": state.get("note_id"), "codes": state.get("codes", [])})
        return {"review": decisions, "progress": ["review: the coder's decisions were recorded"]}


def build_graph(deps: CodingDeps, checkpointer: Any = None, review: bool = False) -> Any:
    """Compile the coding graph; with `review`, it pauses for the coder after reconcile."""
    nodes = Nodes(deps)
    graph = StateGraph(CodingState, input_schema=CodingInput)
    graph.add_node("analyze", nodes.analyze_note)
    graph.add_node("locate", nodes.locate_codes)
    graph.add_node("assign", nodes.assign_codes)
    graph.add_node("verify", nodes.verify_codes)
    graph.add_node("reconcile", nodes.reconcile_codes)
    graph.add_edge(START, "analyze")
    graph.add_edge("analyze", "locate")
    graph.add_edge("locate", "assign")
    graph.add_edge("assign", "verify")
    graph.add_edge("verify", "reconcile")
    if review:
        graph.add_node("review", nodes.review_codes)
        graph.add_edge("reconcile", "review")
        graph.add_edge("review", END)
    else:
        graph.add_edge("reconcile", END)
    return graph.compile(checkpointer=checkpointer)


def result_of(state: CodingState) -> CodingResult:
    return CodingResult(
        note_id=state.get("note_id", "note"),
        codes=[suggestion_from(d) for d in state.get("codes", [])],
        candidates=[rejected_from(d) for d in state.get("rejected", [])],
        findings=[finding_from(d) for d in state.get("findings", [])],
        reasoner=state.get("reasoner_used", state.get("reasoner", "offline")),
        fallback=state.get("fallback"),
    )


@lru_cache(maxsize=8)
def _analysis(note: str) -> Analysis:
    """The analysis of a note, shared by the nodes of one run: the state holds only plain
    values for the checkpointer, and analysing a note of several MB takes seconds."""
    return analyze(note)


# -- reconcile helpers -------------------------------------------------------------------


def _evidence_is_exact(p: Proposal, note: str) -> bool:
    """A suggestion needs at least one span whose offsets give back its text exactly."""
    return any(0 <= e.start < e.end <= len(note) and note[e.start : e.end] == e.text for e in p.evidence)


def _prefer_specific(proposals: list[Proposal], store: CodeStore) -> tuple[list[Proposal], list[tuple[str, str]]]:
    """Of two codes in one category supported by the same words, keep the more specific
    (a combination code such as E11.22 over E11.9; N18.31 "stage 3a" over N18.30 "stage 3
    unspecified"): a coder would not code both."""
    records = store.codes([p.code for p in proposals])

    def specificity(p: Proposal) -> tuple[int, bool, float]:
        title = records[p.code].title.lower() if p.code in records else ""
        return len(p.code), "unspecified" not in title, p.confidence

    dropped: dict[str, str] = {}
    for a in proposals:
        for b in proposals:
            if a is b or a.code in dropped or b.code in dropped or a.code[:3] != b.code[:3]:
                continue
            if _overlap(a, b) and specificity(b) > specificity(a):
                dropped[a.code] = f"the same words support the more specific {b.code}"
    return [p for p in proposals if p.code not in dropped], list(dropped.items())


def _overlap(a: Proposal, b: Proposal) -> bool:
    return any(x.start < y.end and y.start < x.end for x in a.evidence for y in b.evidence)


def _resolve_excludes1(
    proposals: list[Proposal], findings: list[Finding]
) -> tuple[list[Proposal], list[tuple[str, str]]]:
    """An Excludes1 pair cannot be coded together: keep the better-supported code."""
    by_code = {p.code: p for p in proposals}
    dropped: dict[str, str] = {}
    for f in findings:
        if f.kind != "excludes1" or len(f.codes) != 2:
            continue
        a, b = (by_code.get(c) for c in f.codes)
        if a is None or b is None or a.code in dropped or b.code in dropped:
            continue
        loser, winner = (a, b) if (a.confidence, -len(a.code)) < (b.confidence, -len(b.code)) else (b, a)
        dropped[loser.code] = f"Excludes1 with {winner.code}: {f.message}"
    return [p for p in proposals if p.code not in dropped], list(dropped.items())


def _alternatives(store: CodeStore, code: str, limit: int = 8) -> tuple[str, ...]:
    """Siblings under the same parent: what a coder may switch to in one click."""
    record = store.find(code)
    if record is None or record.parent is None:
        return ()
    parent = store.find(record.parent)
    if parent is None:
        return ()
    return tuple(c for c in parent.children if c != code)[:limit]
