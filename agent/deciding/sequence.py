"""The claim's order: the principal (or first-listed) diagnosis first, then the rest as a coder
lists them (Official Guidelines II and IV, the Tabular's sequencing notes).

The rules are data (`agent/data/sequencing.json`): which sections and cue words give the reason
for the encounter, which code ranges follow the conditions (status and history codes) and which
come last (external causes). On top of that order, each code's "Use additional code" note puts
it before the partner it names and its "Code first" note after it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from agent import DATA_DIR
from agent.code_ranges import Ranges, in_ranges, ranges
from agent.guidelines.refs import CodeRef, parse_refs
from agent.reading.segment import Analysis
from agent.records import Proposal
from index.data_files import rule_file
from index.model import NoteKind
from index.store import CodeStore

__all__ = ["SequencingRules", "partner_notes"]

SEQUENCING = DATA_DIR / "sequencing.json"

PartnerNotes = Callable[[str], tuple[tuple[NoteKind, CodeRef], ...]]


@dataclass(frozen=True)
class SequencingRules:
    reason_sections: frozenset[str]
    reason_cues: re.Pattern[str]
    after_conditions: Ranges
    last: Ranges
    drug_effects: re.Pattern[str]  # adverse effect and underdosing codes: after the conditions
    poisonings: re.Pattern[str]  # poisoning codes: before their manifestations

    @classmethod
    @cache
    def default(cls) -> SequencingRules:
        with rule_file(SEQUENCING) as raw:
            return cls(
                frozenset(raw["reason_sections"]),
                re.compile(raw["reason_cues"], re.IGNORECASE),
                ranges(raw["after_conditions"]),
                ranges(raw["last"]),
                re.compile(raw["drug_effect_codes"]),
                re.compile(raw["poisoning_codes"]),
            )

    def order(self, proposals: Sequence[Proposal], analysis: Analysis, partners: PartnerNotes) -> list[Proposal]:
        """The proposals in claim order, principal first."""
        ranked = sorted(proposals, key=lambda p: self._rank(p, analysis))
        return _honour_notes(ranked, partners)

    def is_reason(self, proposal: Proposal, analysis: Analysis) -> bool:
        """Whether the note gives this code's words as the reason for the encounter."""
        for e in proposal.evidence:
            index = analysis.sentence_at(e.start)
            if index is None:
                continue
            sentence = analysis.sentences[index]
            if sentence.section in self.reason_sections:
                return True
            if self.reason_cues.search(sentence.text, 0, max(e.start - sentence.start, 0)):
                return True
        return False

    def _rank(self, p: Proposal, analysis: Analysis) -> tuple[int, bool, int, float]:
        after = in_ranges(p.code, self.after_conditions) or bool(self.drug_effects.match(p.code))
        group = 2 if in_ranges(p.code, self.last) else 1 if after else -1 if self.poisonings.match(p.code) else 0
        first = min((e.start for e in p.evidence), default=1 << 62)
        return group, not self.is_reason(p, analysis), first, -round(p.confidence, 2)


def _honour_notes(ranked: list[Proposal], partners: PartnerNotes) -> list[Proposal]:
    """The ranked order, moved only as the Tabular's notes require: a code before the partner
    its "Use additional code" note names, after the code its "Code first" note names. A cycle
    (two notes that disagree) leaves the ranked order."""
    n = len(ranked)
    before: list[set[int]] = [set() for _ in range(n)]  # before[j]: the codes that must precede j
    for i, p in enumerate(ranked):
        for kind, ref in partners(p.code):
            for j, q in enumerate(ranked):
                if i == j or not ref.covers(q.code):
                    continue
                if kind is NoteKind.USE_ADDITIONAL_CODE:
                    before[j].add(i)
                elif kind is NoteKind.CODE_FIRST:
                    before[i].add(j)
    waiting = [len(b) for b in before]
    ready = [i for i in range(n) if not waiting[i]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in range(n):
            if i in before[j]:
                waiting[j] -= 1
                if not waiting[j]:
                    heapq.heappush(ready, j)
    if len(order) < n:
        return ranked
    return [ranked[i] for i in order]


def partner_notes(store: CodeStore) -> PartnerNotes:
    """The sequencing notes of a code as the code book gives them (its own and inherited)."""

    @cache
    def notes(code: str) -> tuple[tuple[NoteKind, CodeRef], ...]:
        inherited = store.inherited_notes(code) if store.find(code) else []
        return tuple(
            (n.kind, ref)
            for n in inherited
            if n.kind in (NoteKind.USE_ADDITIONAL_CODE, NoteKind.CODE_FIRST)
            for ref in parse_refs(n.text)
        )

    return notes
