"""The offline reasoner: decides which located candidates a note supports, with no network.

Zero-shot it follows the coding conventions directly (a term found and not negated, not a
family member's, not hypothetical; uncertain diagnoses only for inpatients). With a learned
profile, a reranker trained on coded notes scores each candidate instead, so a corpus's
own conventions (for example, coding negated findings) are learned, not hard-coded.
Deterministic for the same note, store and profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from agent import DATA_DIR
from agent.deciding.walk import HierarchyWalker, PatientCues
from agent.reading.assertion import Assertion
from agent.reasoners.base import CodingContext, Outcome
from agent.records import Candidate, Evidence, Proposal, Setting, Step
from index.data_files import rule_file

if TYPE_CHECKING:
    from agent.learning.profile import Profile

CONVENTIONS = DATA_DIR / "conventions.json"
ZERO_SHOT_THRESHOLD = 0.5
COMBINATION_CONFIDENCE = 0.95  # the conventions call for it once both conditions are named
STATUS_CONFIDENCE = 0.75


@dataclass(frozen=True)
class Conventions:
    coded: dict[str, frozenset[str]]  # setting -> assertions that are coded
    reasons: dict[str, str]  # why a statement with that assertion is not coded
    notes: dict[str, str]  # what the coder should confirm when it is

    @classmethod
    @cache
    def default(cls) -> Conventions:
        with rule_file(CONVENTIONS) as raw:
            return cls({k: frozenset(v) for k, v in raw["coded"].items()}, raw["reasons"], raw["notes"])


class OfflineReasoner:
    name = "offline"

    def __init__(self, walker: HierarchyWalker, profile: Profile | None = None) -> None:
        self.walker = walker
        self.profile = profile

    def run(self, context: CodingContext) -> Outcome:
        profile = self.profile
        patient = PatientCues.default().of(context.note)
        walks = [self.walker.walk(c.code, _sentence(context, c), patient) for c in context.candidates]
        finals = [profile.final_code(w.code) if profile else w.code for w in walks]
        if profile is not None:
            verdicts = [zero_shot(c, context.setting)[0] for c in context.candidates]
            rows = profile.rows(context.candidates, finals, profile.note_votes(context), verdicts)
            probabilities = profile.score_rows(rows)
            decisions = [
                (
                    p,
                    f"learned profile '{profile.name}': reranker probability {p:.2f}"
                    f" (threshold {profile.threshold:.2f})",
                )
                for p in probabilities
            ]
            threshold = profile.threshold
        else:
            decisions = [zero_shot(c, context.setting) for c in context.candidates]
            threshold = ZERO_SHOT_THRESHOLD
            for i, walk in enumerate(walks):
                record = self.walker.store.find(walk.code)
                if decisions[i][0] >= threshold and record is not None and not record.billable:
                    decisions[i] = (
                        0.0,
                        f"the note does not say enough to reach a billable code under {walk.code} {record.title}",
                    )
        coded = None if profile is not None else Conventions.default().coded[context.setting]
        proposals: dict[str, Proposal] = {}
        rejections: list[tuple[str, str]] = []
        for cand, walk, final, (score, why) in zip(context.candidates, walks, finals, decisions, strict=True):
            if score < threshold:
                rejections.append((final, why))
                continue
            evidence = _supporting(cand, coded)
            if not evidence:
                rejections.append((final, "no statement in this note supports it"))
                continue
            steps = [
                Step("locate", f"found by {', '.join(cand.sources)}: '{cand.matched}' -> {cand.code} {cand.title}"),
                *(Step("assign", s) for s in walk.steps),
                Step("assign", why),
            ]
            if final != walk.code:
                steps.append(Step("assign", f"{walk.code} -> {final}: the form this profile's corpus codes it in"))
            previous = proposals.get(final)
            if previous is not None:
                evidence = tuple(sorted(set(previous.evidence) | set(cand.evidence), key=lambda e: (e.start, e.end)))
                if previous.confidence >= score:
                    proposals[final] = Proposal(final, evidence, previous.confidence, previous.steps, previous.source)
                    continue
            proposals[final] = Proposal(final, evidence, min(score, 1.0), tuple(steps), evidence[0].source)
        accepted = set(proposals)
        first: dict[str, str] = {}  # a code's first reason: candidates come best first
        for code, why in rejections:
            if code not in accepted:
                first.setdefault(code, why)
        return Outcome(list(proposals.values()), list(first.items()))


def zero_shot(cand: Candidate, setting: Setting) -> tuple[float, str]:
    """The coding conventions' verdict on a candidate, with no learned profile: a confidence
    (0 when not coded) and why. A learned profile takes it as one of its features."""
    f = cand.features
    if f.get("lex_matches", 0) == 0 and f.get("rule_matches", 0) > 0:
        return _rule_verdict(cand, setting)
    if f.get("lex_matches", 0) == 0:
        # Zero-shot suggests only what the note names; a semantic neighbour alone is a
        # lead for the coder (and a feature for a learned profile), not a code.
        sim = f.get("dense_sim", 0.0)
        return 0.0, "not named in the note; only a semantic neighbour" + (f" (similarity {sim:.2f})" if sim else "")
    named = [e for e in cand.evidence if e.source == "lexical"]
    conventions = Conventions.default()
    coded = [e for e in named if e.assertion in conventions.coded[setting]]
    if not coded:
        return 0.0, conventions.reasons.get(named[0].assertion, f"assertion: {named[0].assertion}")
    if f.get("sequela_coded"):
        return (
            0.0,
            "I.C.9.d: a past stroke is coded by its sequela (I69) with its residual deficits, not as a current one",
        )
    if f.get("past_cancer"):
        return (
            0.0,
            "I.C.2.d: the cancer was excised or treated and is gone: a personal-history Z85 code, not the cancer's",
        )
    if f.get("integral_present") or (
        f.get("integral_uncertain") and Assertion.UNCERTAIN.value in conventions.coded[setting]
    ):
        return 0.0, f"{cand.integral}: a symptom routinely part of a coded diagnosis is not coded"
    if f.get("lex_unsubsumed", 0) == 0:
        if f.get("lex_fuller_elsewhere", 0):
            return (
                0.0,
                "the note names this condition more fully elsewhere, in a more specific code of its category",
            )
        return 0.0, "a longer term at the same words names a more specific code"
    size = f.get("lex_size", 1.0)
    confidence = min(0.55 + 0.1 * size + 0.05 * f.get("dense_sim", 0.0), 0.99)
    if f.get("rule_combination"):
        confidence = max(confidence, COMBINATION_CONFIDENCE)
    why = f"the note names it: every word of '{cand.matched}' is in the statement"
    caveat = conventions.notes.get(coded[0].assertion)
    return confidence, f"{why}; {caveat}" if caveat else why


def _rule_verdict(cand: Candidate, setting: Setting) -> tuple[float, str]:
    """A code one of the coder's rules calls for (a long-term drug's Z79 status, a combination
    code): coded when a statement the conventions code carries its words."""
    conventions = Conventions.default()
    coded = _with_family(cand, conventions.coded[setting])
    shown = [e for e in cand.evidence if e.source == "rule" and e.assertion in coded]
    if not shown:
        first = next((e for e in cand.evidence if e.source == "rule"), None)
        why = conventions.reasons.get(first.assertion, "") if first is not None else ""
        return 0.0, why or "the note does not show what the rule needs"
    words = "', '".join(dict.fromkeys(e.text for e in shown))
    confidence = COMBINATION_CONFIDENCE if cand.features.get("rule_combination") else STATUS_CONFIDENCE
    return confidence, f"{cand.matched} (the note: '{words}')"


def _sentence(context: CodingContext, cand: Candidate) -> str:
    """The words the walk reads: the sentence of the candidate's first words, or, for a
    combination, the sentences of all the conditions it combines (the side of a fracture is in
    the fracture's sentence, not the osteoporosis's)."""
    spans = cand.evidence if cand.features.get("rule_combination") else cand.evidence[:1]
    indexes = dict.fromkeys(i for e in spans if (i := context.analysis.sentence_at(e.start)) is not None)
    return " ".join(context.analysis.sentences[i].text for i in indexes)


def _supporting(cand: Candidate, coded: frozenset[str] | None) -> tuple[Evidence, ...]:
    """The spans that support a code: the words that named it (a term or a learned phrase),
    else the statements that mean it (a dense neighbour's, or the one most like a code of
    similar coded notes); only statements with a coded assertion, when the
    conventions say which (a learned profile decides that for itself)."""
    named = [e for e in cand.evidence if e.source in ("lexical", "memory", "rule", "corpus")]
    chosen = named or [e for e in cand.evidence if e.source in ("dense", "neighbours")]
    if coded is not None:
        coded = _with_family(cand, coded)
    return tuple(e for e in chosen if coded is None or e.assertion in coded)


def _with_family(cand: Candidate, coded: frozenset[str]) -> frozenset[str]:
    """The assertions coded for this candidate: a family-history code rests on a relative's condition."""
    return coded | {Assertion.FAMILY.value} if cand.features.get("rule_family") else coded
