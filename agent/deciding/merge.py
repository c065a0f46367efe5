"""Merging the LLM's codes with the offline reasoner's, after both have passed the gate.

The model's accepted codes join the offline codes. Where the two name the same finding (their
evidence covers the same words) with codes of different categories, the code with the stronger
support stays: billable over a heading, more supporting spans, then the more specific code,
then the higher confidence; the other becomes a candidate saying why. (Two codes of one
category are left to reconcile, which keeps the more specific one.) When more than half of the
codes the model named were rejected, by its checks or by the gate, its answer is set aside as
unreliable and the offline codes stand alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.guidelines.refs import parse_refs
from agent.records import Proposal, Rejected
from index.model import NoteKind
from index.store import CodeStore

__all__ = ["Merged", "merge_with_model"]

LLM_SOURCE = "llm"
_PARTNER_NOTES = frozenset({NoteKind.CODE_FIRST, NoteKind.USE_ADDITIONAL_CODE, NoteKind.CODE_ALSO})
SAME_FINDING = 0.5  # share of the shorter span two spans must have in common to be one finding


@dataclass(frozen=True)
class Merged:
    proposals: list[Proposal]
    rejected: list[Rejected]
    unreliable: str | None = None  # why the model's answer was set aside, when it was


def merge_with_model(proposals: Sequence[Proposal], model_codes: Sequence[str], store: CodeStore) -> Merged:
    """The proposals after the gate, the model's and the offline reasoner's merged; `model_codes`
    are the distinct codes the model named (empty when no model answered)."""
    model = [p for p in proposals if p.source == LLM_SOURCE]
    offline = [p for p in proposals if p.source != LLM_SOURCE]
    if not model_codes:
        return Merged(list(proposals), [])
    accepted = {p.code for p in model}
    lost = [c for c in dict.fromkeys(model_codes) if c not in accepted]
    if len(lost) * 2 > len(model_codes):
        why = (
            f"the model's answer was set aside as unreliable: {len(lost)} of its {len(model_codes)} codes were "
            "rejected by the checks; the offline codes stand alone"
        )
        titles = store.codes([p.code for p in model])
        rejected = [
            Rejected(p.code, titles[p.code].title if p.code in titles else "", why, p.evidence, "merge") for p in model
        ]
        return Merged(_unique(offline), rejected, why)
    records = store.codes([p.code for p in proposals])
    kept = _unique([*model, *offline])
    named_offline = {p.code for p in offline}
    only = {c: "model" for c in accepted - named_offline} | {c: "offline" for c in named_offline - accepted}
    dropped: dict[str, str] = {}
    for a in kept:
        for b in kept:
            if a is b or a.code in dropped or b.code in dropped or a.code[:3] == b.code[:3]:
                continue
            # Only a code one reasoner alone names against one the other alone names; partners
            # (E11.22 and the N18 stage its note asks for) are two findings, not one.
            if {only.get(a.code), only.get(b.code)} != {"model", "offline"} or not _same_finding(a, b):
                continue
            if _partners(a.code, b.code, store):
                continue
            if _strength(b, records) > _strength(a, records):
                words = b.evidence[0].text if b.evidence else ""
                dropped[a.code] = (
                    f"the {_who(a)} and the {_who(b)} name the same finding ('{words}') differently; "
                    f"{b.code} has the stronger support"
                )
    rejected = [
        Rejected(p.code, records[p.code].title if p.code in records else "", dropped[p.code], p.evidence, "merge")
        for p in kept
        if p.code in dropped
    ]
    return Merged([p for p in kept if p.code not in dropped], rejected)


def _unique(proposals: Sequence[Proposal]) -> list[Proposal]:
    """One proposal per code: the first (the model's, when both name it) with both evidence sets."""
    by_code: dict[str, Proposal] = {}
    for p in proposals:
        first = by_code.get(p.code)
        if first is None:
            by_code[p.code] = p
            continue
        seen = {(e.start, e.end) for e in first.evidence}
        extra = tuple(e for e in p.evidence if (e.start, e.end) not in seen)
        evidence = tuple(sorted(first.evidence + extra, key=lambda e: (e.start, e.end)))
        by_code[p.code] = Proposal(first.code, evidence, max(first.confidence, p.confidence), first.steps, first.source)
    return list(by_code.values())


def _partners(a: str, b: str, store: CodeStore) -> bool:
    """Whether a Code first, Use additional code or Code also note of either code names the other."""
    for code, other in ((a, b), (b, a)):
        if store.find(code) is None:
            continue
        for note in store.inherited_notes(code):
            if note.kind in _PARTNER_NOTES and any(ref.reaches(other) for ref in parse_refs(note.text)):
                return True
    return False


def _same_finding(a: Proposal, b: Proposal) -> bool:
    for x in a.evidence:
        for y in b.evidence:
            common = min(x.end, y.end) - max(x.start, y.start)
            if common > 0 and common >= SAME_FINDING * min(x.end - x.start, y.end - y.start):
                return True
    return False


def _strength(p: Proposal, records: dict) -> tuple[bool, int, int, float]:  # type: ignore[type-arg]
    record = records.get(p.code)
    return (record is not None and record.billable, len(p.evidence), len(p.code), p.confidence)


def _who(p: Proposal) -> str:
    return "model" if p.source == LLM_SOURCE else "offline reasoner"
