"""The coding workflow as a LangGraph state machine, built by `build_graph(deps)`.

analyze -> locate -> assign -> gate -> verify -> reconcile -> admission -> procedures. The reasoner
(offline or LLM) decides in `assign`; the other nodes are shared, so every reasoner's proposals
meet the same gate (the words must be in the note and their assertion must allow the code,
`agent.guidelines.gate`) and the same guideline checks. An inpatient case's diagnoses then get a
present-on-admission indicator each, with its reason and evidence (`agent.guidelines.poa`), and
its procedures are built as ICD-10-PCS codes (`agent.procedures`); with the LLM reasoner the
model's own procedure codes join them after the same checks (`agent.procedures.llm`). The graph
ends there: the coder's review happens in the case store (`app.review`), which keeps every
decision and its audit trail. Callers code through `agent.coder.Coder.code`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.candidates.locate import Locator
from agent.deciding.merge import merge_with_model
from agent.deciding.reconcile import reconcile
from agent.deciding.shortlist import shortlist
from agent.deciding.walk import HierarchyWalker
from agent.guidelines.checks import check_all
from agent.guidelines.gate import gate
from agent.guidelines.poa import poa_summary, present_on_admission
from agent.learning.profile import Profile
from agent.procedures import llm as procedure_llm
from agent.procedures.build import ProcedureCoder, principal_first
from agent.procedures.conventions import Conventions
from agent.reading.statements import analyze_note
from agent.reasoners.base import CodingContext, Reasoner
from agent.reasoners.llm import LlmReasoner
from agent.reasoners.offline import OfflineReasoner
from agent.records import CodingResult, NonClinical, Proposal, Rejected
from agent.state import CodingInput, CodingState
from index.model import Code
from index.store import CodeStore


@dataclass
class CodingDeps:
    """Everything the nodes need, created once at the edge and injected."""

    store: CodeStore
    locator: Locator
    walker: HierarchyWalker
    profiles: Callable[[str], Profile | None] | None = None  # name -> learned profile (None: none for diagnoses)
    llm: Callable[[Reasoner], Reasoner] | None = None  # wraps a fallback into the LLM reasoner
    pcs: Callable[[], ProcedureCoder] | None = None  # the ICD-10-PCS builder, made on first use
    conventions: Callable[[str], Conventions | None] | None = None  # profile name -> how it reports procedures
    _profiles: dict[str, Profile | None] = field(default_factory=dict)
    _procedures: ProcedureCoder | None = None

    def profile(self, name: str | None) -> Profile | None:
        """The learned profile called `name`, loaded once; None without a name."""
        if not name or self.profiles is None:
            return None
        if name not in self._profiles:
            self._profiles[name] = self.profiles(name)
        return self._profiles[name]

    def procedure_coder(self) -> ProcedureCoder | None:
        """The ICD-10-PCS builder, loaded once when an inpatient case first needs it."""
        if self._procedures is None and self.pcs is not None:
            self._procedures = self.pcs()
        return self._procedures

    def reasoner(self, name: str, profile: str | None) -> Reasoner:
        offline = OfflineReasoner(self.walker, self.profile(profile))
        if name == "llm" and self.llm is not None:
            return self.llm(offline)
        return offline


class Nodes:
    def __init__(self, deps: CodingDeps) -> None:
        self.deps = deps

    def analyze_note(self, state: CodingState) -> dict[str, Any]:
        analysis, statements = analyze_note(state["note"])
        return {
            "analysis": analysis,
            "statements": statements,
            "progress": [f"analyze: {len(analysis.sentences)} sentences, {len(statements)} statements"],
        }

    def locate_codes(self, state: CodingState) -> dict[str, Any]:
        profile = self.deps.profile(state["options"].profile)
        located = self.deps.locator.locate(state["note"], state["analysis"], state["statements"], profile)
        sources = sorted({s for c in located.candidates for s in c.sources})
        return {
            "candidates": tuple(located.candidates),
            "note_vector": located.note_vector,
            "progress": [f"locate: {len(located.candidates)} candidate codes ({', '.join(sources) or 'none'})"],
        }

    def assign_codes(self, state: CodingState) -> dict[str, Any]:
        note, options = state["note"], state["options"]
        context = CodingContext(
            note_id=state["note_id"],
            note=note,
            analysis=state["analysis"],
            statements=state["statements"],
            candidates=state["candidates"],
            setting=options.setting,
            note_vector=state.get("note_vector"),
        )
        reasoner = self.deps.reasoner(options.reasoner, options.profile)
        outcome = reasoner.run(context)
        proposals = list(outcome.proposals)
        titles = self.deps.store.codes([code for code, _ in outcome.rejections])
        rejected = [Rejected(code, _title(titles, code), reason, stage="assign") for code, reason in outcome.rejections]
        used = reasoner.name if outcome.fallback_reason is None else f"{reasoner.name} (fell back to offline)"
        return {
            "proposals": proposals,
            "rejected": rejected,
            "fallback": outcome.fallback_reason,
            "reasoner_used": used,
            "model_codes": tuple(outcome.model_codes),
            "model_seconds": outcome.model_seconds,
            "model_usage": outcome.usage,
            "agent_trace": tuple(outcome.trace),
            "transcript": outcome.transcript,
            "progress": [f"assign: {len(proposals)} codes proposed by the {used} reasoner"],
        }

    def gate_codes(self, state: CodingState) -> dict[str, Any]:
        """Every reasoner's proposals meet one gate: exact words, and an assertion that allows the code."""
        records = self.deps.store.codes([p.code for p in state["proposals"]])
        titles = {code: record.title for code, record in records.items()}
        kept, refused = gate(state["proposals"], state["note"], state["analysis"], state["options"].setting, titles)
        # A refused proposal's reason comes first: it says more than an earlier candidate's.
        rejected = [*(replace(r, title=titles.get(r.code, "")) for r in refused), *state.get("rejected", [])]
        update: dict[str, Any] = {}
        progress = [f"gate: {len(kept)} codes rest on what the note says, {len(refused)} refused"]
        model_codes = state.get("model_codes", ())
        if model_codes:
            merged = merge_with_model(kept, model_codes, self.deps.store)
            kept, rejected = merged.proposals, [*merged.rejected, *rejected]
            if merged.unreliable is not None:
                update = {"fallback": merged.unreliable, "reasoner_used": "llm (answer set aside: unreliable)"}
            progress.append(f"merge: {len(kept)} codes from the model and the offline reasoner")
        return {"proposals": kept, "rejected": rejected, "progress": progress, **update}

    def verify_codes(self, state: CodingState) -> dict[str, Any]:
        """The code book's checks: a real code, then the Tabular's instructional notes."""
        kept: list[Proposal] = []
        rejected = list(state.get("rejected", []))
        for p in state["proposals"]:
            if self.deps.store.find(p.code) is None:
                rejected.append(Rejected(p.code, "", "not a code in this code system", stage="verify"))
                continue
            kept.append(p)
        findings = check_all([p.code for p in kept], self.deps.store, state["options"].setting, state["note"])
        return {
            "proposals": kept,
            "rejected": rejected,
            "findings": findings,
            "progress": [f"verify: {len(findings)} findings from the guideline checks"],
        }

    def reconcile_codes(self, state: CodingState) -> dict[str, Any]:
        codes, rejected, findings = reconcile(
            state["proposals"],
            state.get("findings", []),
            state.get("rejected", []),
            self.deps.store,
            state["analysis"],
            state["options"].setting,
            learned=state["options"].profile is not None,
        )
        return {
            "codes": codes,
            "rejected": rejected,
            "findings": findings,
            "progress": [f"reconcile: {len(codes)} codes suggested, {len(rejected)} rejected"],
        }

    def propose_poa(self, state: CodingState) -> dict[str, Any]:
        """A present-on-admission indicator for each diagnosis of an inpatient case (Appendix I);
        an outpatient claim carries none."""
        if state["options"].setting != "inpatient":
            return {"progress": ["admission: no POA indicators (outpatient claims carry none)"]}
        codes = present_on_admission(
            state["note"], state.get("codes", []), state["analysis"], state.get("candidates", ())
        )
        return {"codes": codes, "progress": [f"admission: {poa_summary(codes)}"]}

    def code_procedures(self, state: CodingState) -> dict[str, Any]:
        """ICD-10-PCS codes for an inpatient case, built character by character from the note;
        an outpatient case gets none (its procedures are CPT codes, which Coda does not hold)."""
        if state["options"].setting != "inpatient":
            return {"progress": ["procedures: none coded (ICD-10-PCS is for inpatient claims)"]}
        coder = self.deps.procedure_coder()
        if coder is None:
            return {"progress": ["procedures: no ICD-10-PCS tables loaded"]}
        procedures, passed = coder.code(state["note"], state["analysis"])
        progress = [f"procedures: {len(procedures)} ICD-10-PCS codes built, {len(passed)} read and not coded"]
        options = state["options"]
        asks_model = options.reasoner == "llm" and self.deps.llm is not None
        said = procedures or passed or any(s.section == "procedures" for s in state["analysis"].sentences)
        if asks_model and state.get("fallback"):
            progress.append("procedures: the model was not asked (its answer for this note was not used)")
        elif asks_model and said:  # the model sees the tables' rows, held to the same checks
            reasoner = self.deps.reasoner(options.reasoner, options.profile)
            if isinstance(reasoner, LlmReasoner):
                left = reasoner.limits.deadline - (state.get("model_seconds") or 0.0)  # one deadline per note
                procedures, passed, line = procedure_llm.ask_model(
                    reasoner, state["note"], state["analysis"], procedures, passed, coder, left
                )
                progress.append(line)
        name = options.profile
        learned = self.deps.conventions(name) if name and self.deps.conventions is not None else None
        if learned is not None:  # as the profile's corpus reports procedures, and only those it codes
            coded = [(p, *learned.codes(p)) for p in procedures]
            procedures = [learned.report(p) for p in principal_first([p for p, kept, _ in coded if kept])]
            passed = [
                *passed,
                *(Rejected(p.code, p.title, why, p.evidence, "profile") for p, kept, why in coded if not kept),
            ]
        return {"procedures": procedures, "procedure_candidates": passed, "progress": progress}


def build_graph(deps: CodingDeps) -> Any:
    """Compile the coding graph: analyze -> locate -> assign -> gate -> verify -> reconcile ->
    admission -> procedures."""
    nodes = Nodes(deps)
    graph = StateGraph(CodingState, input_schema=CodingInput)
    graph.add_node("analyze", nodes.analyze_note)
    graph.add_node("locate", nodes.locate_codes)
    graph.add_node("assign", nodes.assign_codes)
    graph.add_node("gate", nodes.gate_codes)
    graph.add_node("verify", nodes.verify_codes)
    graph.add_node("reconcile", nodes.reconcile_codes)
    graph.add_node("admission", nodes.propose_poa)
    graph.add_node("procedures", nodes.code_procedures)
    graph.add_edge(START, "analyze")
    graph.add_edge("analyze", "locate")
    graph.add_edge("locate", "assign")
    graph.add_edge("assign", "gate")
    graph.add_edge("gate", "verify")
    graph.add_edge("verify", "reconcile")
    graph.add_edge("reconcile", "admission")
    graph.add_edge("admission", "procedures")
    graph.add_edge("procedures", END)
    return graph.compile()


def result_of(state: CodingState) -> CodingResult:
    """The coding result a finished run's state holds."""
    return CodingResult(
        note_id=state["note_id"],
        codes=list(state.get("codes", [])),
        candidates=shortlist(state.get("rejected", []), state.get("candidates", ()), state["note"]),
        findings=list(state.get("findings", [])),
        reasoner=state.get("reasoner_used", state["options"].reasoner),
        fallback=state.get("fallback"),
        progress=tuple(state.get("progress", [])),
        non_clinical=_non_clinical(state),
        model_seconds=state.get("model_seconds"),
        procedures=list(state.get("procedures", [])),
        procedure_candidates=list(state.get("procedure_candidates", [])),
        usage=state.get("model_usage"),
        agent_trace=tuple(state.get("agent_trace", ())),
        transcript=state.get("transcript"),
    )


def _non_clinical(state: CodingState) -> tuple[NonClinical, ...]:
    analysis = state.get("analysis")
    if analysis is None:
        return ()
    return tuple(
        NonClinical(s.start, s.end, s.text, analysis.non_clinical[i])
        for i, s in enumerate(analysis.sentences)
        if i in analysis.non_clinical
    )


def _title(records: dict[str, Code], code: str) -> str:
    return records[code].title if code in records else ""
