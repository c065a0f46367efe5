"""The verify tool: the checks the graph runs on a reasoner's proposals, run on the codes a model
means to assign, with why each passes or fails.

In order: (1) the answer checks (`check_answer`: quotes found in the note, not text aimed at the
model, a real code written the store's way); (2) the gate (the words must be in the note and
their assertion must allow the code); (3) billable (a heading or a code without its 7th character
is refused); (4) the guideline checks (`check_all`: Excludes1 conflicts refuse both codes; missing
partners and the claim size are reported, not refused); (5) whether the principal may be one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.guidelines.checks import billing_findings, check_all
from agent.guidelines.gate import GateRules, gate
from agent.guidelines.principal import principal_findings
from agent.reasoners.base import CodingContext
from agent.reasoners.llm_checks import INJECTED, NO_QUOTE, NOT_A_CODE, QUOTE_NOT_FOUND, check_answer
from agent.reasoners.prompts import CodeChoice, CodingAnswer
from agent.records import Finding, Proposal
from agent.tools.results import MAX_SUMMARY_CHARS, ToolResult, bounded, clip
from index.store import CodeStore

__all__ = ["Verified", "verify_codes"]

MESSAGE_CHARS = 320  # of one finding in the text
QUOTE_CHARS = 80
_LABELS = {QUOTE_NOT_FOUND: "quote not found", NO_QUOTE: "no quote", INJECTED: "quote is text aimed at the model"}
_BILLING = frozenset({"unknown", "seventh", "not_billable"})
_BILLING_LABELS = {"seventh": "needs a 7th character", "not_billable": "not billable", "unknown": "not a code"}


@dataclass(frozen=True)
class Verified(ToolResult):
    """The verify tool's answer: besides its text, the choices that pass every check that refuses
    a code (each written the store's way), and each refused code with why."""

    passed: tuple[CodeChoice, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (code, short reason)


@dataclass
class _Check:
    """One choice as it goes through the checks."""

    choice: CodeChoice
    code: str  # the store's code, or the code as given
    proposal: Proposal | None = None
    refusal: str = ""  # short, for the summary
    detail: str = ""  # the full reason, for the text
    notes: tuple[str, ...] = ()

    def refuse(self, label: str, detail: str) -> None:
        if not self.refusal:
            self.refusal, self.detail = label, detail


def verify_codes(
    store: CodeStore, context: CodingContext, choices: Sequence[CodeChoice], principal: str | None = None
) -> Verified:
    """Every check, per choice; see the module's docstring."""
    checks = [_answer_check(store, context, choice) for choice in choices]
    _dedupe(checks)
    _gate(store, context, checks)
    live = [c for c in checks if not c.refusal]
    for finding in billing_findings([c.code for c in live], store):
        for c in live:
            if c.code in finding.codes:
                c.refuse(_BILLING_LABELS.get(finding.kind, finding.kind), finding.message)
    live = [c for c in live if not c.refusal]
    _guideline_checks(store, context, live)
    principal_line, principal_refused = _principal(store, context, checks, principal)
    return _result(checks, principal_line, principal_refused, context.setting)


def _answer_check(store: CodeStore, context: CodingContext, choice: CodeChoice) -> _Check:
    outcome = check_answer(context, CodingAnswer(codes=[choice], rejected=[]), store)
    given = " ".join(choice.code.split())
    if outcome.proposals:
        proposal = outcome.proposals[0]
        return _Check(choice, proposal.code, proposal)
    record = store.find(given) if given else None
    check = _Check(choice, record.code if record is not None else given or "(empty)")
    reason = outcome.rejections[0][1] if outcome.rejections else NO_QUOTE
    label = _LABELS.get(reason) or ("not a code" if NOT_A_CODE in reason else clip(reason, 60))
    check.refuse(label, reason)
    return check


def _dedupe(checks: list[_Check]) -> None:
    first: dict[str, _Check] = {}
    for c in checks:
        if c.proposal is None:
            continue
        if c.code in first:
            c.refuse("named twice", f"{c.code} is already listed above; give each code once")
        else:
            first[c.code] = c


def _gate(store: CodeStore, context: CodingContext, checks: list[_Check]) -> None:
    live = [c for c in checks if c.proposal is not None and not c.refusal]
    records = store.codes([c.code for c in live])
    titles = {code: record.title for code, record in records.items()}
    proposals = [c.proposal for c in live if c.proposal is not None]
    kept, refused = gate(proposals, context.note, context.analysis, context.setting, titles)
    kept_by = {p.code: p for p in kept}
    refused_by = {r.code: r.reason for r in refused}
    for c in live:
        if c.code in kept_by:
            c.proposal = kept_by[c.code]
        else:
            why = refused_by.get(c.code, "no words of the note support it")
            c.refuse(f"gate: {_gate_label(why, context.setting)}", why)


def _gate_label(why: str, setting: str) -> str:
    """A gate refusal in a word or two: negated, family, hypothetical, uncertain ..."""
    for kind, text in GateRules.default().refusals.items():
        if why == text:
            return kind.replace("_", "-")
    if "uncertain" in why.lower():
        return f"uncertain ({setting})"
    if why.startswith("a family-history code"):
        return "not a family member's condition"
    return clip(why, 40)


def _guideline_checks(store: CodeStore, context: CodingContext, live: list[_Check]) -> None:
    findings = [f for f in check_all([c.code for c in live], store, context.setting, context.note)]
    for finding in findings:
        if finding.kind in _BILLING:
            continue
        for c in live:
            if c.code not in finding.codes:
                continue
            if finding.kind == "excludes1":
                other = next((x for x in finding.codes if x != c.code), "")
                c.refuse(f"Excludes1 with {other}", finding.message)
            else:
                c.notes = (*c.notes, _finding_line(finding))


def _finding_line(finding: Finding) -> str:
    what = finding.kind.replace("_", " ")
    return f"{finding.severity} ({what}): {clip(finding.message, MESSAGE_CHARS)}"


def _principal(
    store: CodeStore, context: CodingContext, checks: list[_Check], principal: str | None
) -> tuple[str, bool]:
    """The line on the principal (the one given, else the first code), and whether it is refused."""
    given = " ".join((principal or "").split())
    record = store.find(given) if given else None
    code = record.code if record is not None else given or (checks[0].code if checks else "")
    if not code:
        return "", False
    codes = [c.code for c in checks if not c.refusal]
    findings = principal_findings(codes, code, store, context.setting)
    role = "principal" if context.setting == "inpatient" else "first-listed"
    lines = [clip(f.message, MESSAGE_CHARS) for f in findings]
    refused = any(f.kind == "principal" for f in findings)
    if not refused:
        lines.insert(0, f"{code} may be the {role} diagnosis ({context.setting}).")
    return f"{role}: " + " ".join(lines), refused


def _result(checks: list[_Check], principal_line: str, principal_refused: bool, setting: str) -> Verified:
    passed = [c for c in checks if not c.refusal]
    refused = [c for c in checks if c.refusal]
    lines = [f"verified {_codes(len(checks))} ({setting}): {len(passed)} pass, {len(refused)} refused"]
    for i, c in enumerate(checks, 1):
        if c.refusal:
            lines.append(f"{i}. {c.code} REFUSED ({c.refusal}): {clip(c.detail, MESSAGE_CHARS)}")
        else:
            assert c.proposal is not None
            e = c.proposal.evidence[0]
            quote = clip(e.text, QUOTE_CHARS)
            lines.append(f"{i}. {c.code} PASS: '{quote}' at {e.start}-{e.end} ({e.assertion}, {e.section})")
        lines += [f"   {note}" for note in c.notes]
    if principal_line:
        lines.append(principal_line)
    parts = [f"{c.code} refused ({c.refusal})" for c in refused]
    summary = f"verified {_codes(len(checks))}: {len(passed)} pass" + "".join(f", {p}" for p in parts)
    if principal_refused:
        summary += "; principal refused"
    return Verified(
        text=bounded(lines),
        summary=clip(summary, MAX_SUMMARY_CHARS),
        codes=tuple(dict.fromkeys(c.code for c in checks)),
        passed=tuple(c.choice.model_copy(update={"code": c.code}) for c in passed),
        refused=tuple((c.code, c.refusal) for c in refused),
    )


def _codes(n: int) -> str:
    return f"{n} code" if n == 1 else f"{n} codes"
