"""Candidates a learned profile brings, as a coder of that site recalls similar charts: the codes
of the coded notes most like this one, each resting on the statement most like the code; and,
in each category the note names in its own words, the code that site codes most there (N05
named, N05.9 is what its coders write). Both are leads the profile's reranker weighs; zero-shot
has no profile and so none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np

from agent.records import Evidence, Statement

if TYPE_CHECKING:
    from agent.learning.profile import Profile
    from agent.learning.retriever import CodeSearch

NEIGHBOUR_CODES = 60  # at most this many codes of the most similar coded notes become candidates
MIN_NEIGHBOUR_VOTE = 0.1  # the share of the neighbours' (similarity-weighted) votes a code needs
CORPUS_SIBLINGS = 1  # a named category brings in this many of the codes its corpus codes most there
MIN_WORDS = 2  # a statement shorter than this is no evidence for a code


@dataclass(frozen=True)
class Lead:
    code: str
    evidence: Evidence
    features: dict[str, float]
    matched: str


def _evidence_rows(statements: Sequence[Statement], embedded: int) -> list[int]:
    """The embedded statements (the first `embedded`) long enough to be a code's evidence."""
    return [i for i, s in enumerate(statements[:embedded]) if len(s.text.split()) >= MIN_WORDS]


def take(leads: list[Lead], slot) -> None:  # type: ignore[no-untyped-def]
    """Make each lead a candidate (or add to one) through the locate step's `slot`."""
    for lead in leads:
        item = slot(lead.code)
        item.add(lead.evidence, lead.evidence.source)
        item.features.update(lead.features)
        item.matched = item.matched or lead.matched


class CorpusLeads:
    def __init__(self) -> None:
        # per index searched (the code book's, a profile's): entries go with the index
        self._code_vectors: WeakKeyDictionary[CodeSearch, dict[str, np.ndarray | None]] = WeakKeyDictionary()

    def neighbours(
        self,
        statements: Sequence[Statement],
        embeddings: np.ndarray | None,
        note_vector: Sequence[float] | None,
        profile: Profile,
        search: CodeSearch | None,
    ) -> list[Lead]:
        """The codes the most similar coded notes share, each on the statement most like it
        (`embeddings` and the vectors `search` holds are in the same space)."""
        if embeddings is None or note_vector is None or search is None:
            return []
        votes = profile.neighbours.votes(note_vector)
        ranked = sorted((-v, c) for c, v in votes.items() if v >= MIN_NEIGHBOUR_VOTE)
        wanted = [c for _, c in ranked[:NEIGHBOUR_CODES]]
        usable = _evidence_rows(statements, len(embeddings))
        if not usable:
            return []
        matrix = embeddings[usable]
        leads = []
        for code, vector in self._vectors(wanted, search).items():
            sims = matrix @ vector
            best = int(np.argmax(sims))
            s = statements[usable[best]]
            leads.append(
                Lead(
                    code,
                    Evidence(s.start, s.end, s.text, s.assertion, s.section, "neighbours"),
                    {"nb_sim": float(sims[best]), "nb_vote": votes[code]},
                    f"coded in similar notes (vote {votes[code]:.2f})",
                )
            )
        return leads

    def siblings(self, named: Mapping[str, Evidence], present: set[str], profile: Profile) -> list[Lead]:
        """In each category the note names (category -> the words naming it), the codes its
        corpus codes most there that are not candidates yet, on the same words."""
        leads = []
        for cat, evidence in named.items():
            for code in profile.category_codes(cat, CORPUS_SIBLINGS):
                if code not in present:
                    leads.append(
                        Lead(
                            code,
                            replace(evidence, source="corpus"),
                            {"corpus_sibling": 1.0},
                            f"coded in this corpus under {cat}, which the note names ('{evidence.text}')",
                        )
                    )
        return leads

    def closeness(
        self, codes: Sequence[str], statements: Sequence[Statement], vectors: np.ndarray | None, search: CodeSearch
    ) -> dict[str, float]:
        """How close each code comes to the note: its greatest cosine similarity to a statement
        (`vectors` and the vectors `search` holds are in the same space)."""
        if vectors is None:
            return {}
        usable = _evidence_rows(statements, len(vectors))
        found = self._vectors(list(codes), search)
        if not usable or not found:
            return {}
        sims = np.stack(list(found.values())) @ vectors[usable].T
        return dict(zip(found, sims.max(axis=1).tolist(), strict=True))

    def _vectors(self, codes: list[str], search: CodeSearch) -> dict[str, np.ndarray]:
        """The vector `search` holds for each code that has one, in the order asked, fetched once."""
        known = self._code_vectors.setdefault(search, {})
        unknown = [c for c in codes if c not in known]
        if unknown:
            got = search.vectors_of(unknown)
            for code in unknown:
                known[code] = got.get(code)
        return {c: v for c in codes if (v := known.get(c)) is not None}
