"""The coder's rules at reconcile: one code per finding, and the claim's order.

Of two codes in one category that the same words support, the more specific stays; a residual
code goes when the note codes its condition more specifically (`agent.deciding.residual`); of
an Excludes1 pair the better-supported code stays. What is left is sequenced the way a coder
lists a claim (`agent.deciding.sequence`): the reason for the encounter first, status and history
codes after the conditions, external causes last, and the Tabular's sequencing notes honoured.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.deciding.residual import ResidualRules
from agent.deciding.sequence import SequencingRules, partner_notes
from agent.guidelines.principal import may_be_principal, only_first_listed
from agent.reading.segment import Analysis
from agent.records import Finding, Proposal, Rejected, Suggestion
from index.store import CodeStore

__all__ = ["reconcile"]

MAX_ALTERNATIVES = 8


def reconcile(
    proposals: Sequence[Proposal],
    findings: Sequence[Finding],
    rejected: Sequence[Rejected],
    store: CodeStore,
    analysis: Analysis,
    setting: str,
    learned: bool = False,
) -> tuple[list[Suggestion], list[Rejected], list[Finding]]:
    """The suggestions (principal first), the rejected candidates (each code once, with its
    first reason) and the findings that still concern the suggested codes."""
    keep, dropped = prefer_specific(list(proposals), store)
    keep, residual = ResidualRules.default().apply(keep, learned)
    dropped += residual
    keep, excluded = resolve_excludes1(keep, findings)
    records = store.codes([p.code for p in keep] + [code for code, _ in dropped + excluded])
    rejected = list(rejected)
    for code, why in dropped + excluded:
        rejected.append(Rejected(code, records[code].title if code in records else "", why, stage="reconcile"))
    ordered = _principal_first(SequencingRules.default().order(keep, analysis, partner_notes(store)), store, setting)
    suggestions = [
        Suggestion(
            code=p.code,
            title=records[p.code].title if p.code in records else "",
            evidence=p.evidence,
            confidence=p.confidence,
            reasoning=p.steps,
            principal=i == 0,
            alternatives=alternatives(store, p.code),
        )
        for i, p in enumerate(ordered)
    ]
    final_codes = {s.code for s in suggestions}
    kept_findings = [f for f in findings if not f.codes or set(f.codes) <= final_codes]
    unique_rejected = {r.code: r for r in reversed(rejected) if r.code not in final_codes}
    return suggestions, list(reversed(list(unique_rejected.values()))), kept_findings


def _principal_first(ordered: list[Proposal], store: CodeStore, setting: str) -> list[Proposal]:
    """A Z code that may only be first-listed leads (I.C.21.c.16); else, when the first code may
    not be principal (an external cause, a manifestation, an underdosing), the first that may."""
    lead = next((p for p in ordered if only_first_listed(p.code)), None)
    if lead is None and ordered and may_be_principal(ordered[0].code, setting, store) is not None:
        lead = next((p for p in ordered if may_be_principal(p.code, setting, store) is None), None)
    return ordered if lead is None else [lead, *(p for p in ordered if p is not lead)]


def prefer_specific(proposals: list[Proposal], store: CodeStore) -> tuple[list[Proposal], list[tuple[str, str]]]:
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


def resolve_excludes1(
    proposals: list[Proposal], findings: Sequence[Finding]
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


def alternatives(store: CodeStore, code: str, limit: int = MAX_ALTERNATIVES) -> tuple[str, ...]:
    """Siblings under the same parent: what a coder may switch to in one click."""
    record = store.find(code)
    if record is None or record.parent is None:
        return ()
    parent = store.find(record.parent)
    if parent is None:
        return ()
    return tuple(c for c in parent.children if c != code)[:limit]
