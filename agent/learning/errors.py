"""Where each missed gold code was lost: the error report of `coda eval --report`.

A gold code the coder did not suggest was lost at one of these steps, read off the final
state of the coding graph (its candidates, and every rejection with the step that made it):

- `not_in_code_book`: the code is not in this code system (CodiEsp's CIE10-ES-only codes);
- `not_located`: no candidate of the note is in the code's category;
- `other_code`: candidates of its category were located, but they were, or walked to, other
  codes (a sibling, a parent, another 7th character);
- `reasoner`: the reasoner rejected it (the reranker's probability, or zero-shot, the
  conventions), with its reason;
- `rule`: the gate or a guideline rule rejected what the reasoner proposed, with its reason.

The note's words go with each miss: the evidence of the candidate that came nearest, or, for a
code never located, the sentence that shares most words with the code's title.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from agent.learning.profile import category
from agent.reading.segment import Analysis
from agent.records import Candidate, Rejected, Suggestion
from index.store import CodeStore

STAGES = ("not_in_code_book", "not_located", "other_code", "reasoner", "rule")
_WORD = re.compile(r"[a-z][a-z0-9]+")
# Title words that say nothing of which sentence names the code.
_TITLE_FILLER = (
    "and or of the in with without to by for due other unspecified not elsewhere classified specified "
    "site part type acute chronic disease disorder"
)
_STOP = frozenset(_TITLE_FILLER.split())
MAX_WORDS = 240  # characters of the note kept per miss


@dataclass(frozen=True)
class Miss:
    note_id: str
    code: str
    title: str
    stage: str  # one of STAGES
    detail: str  # the reason, or the codes its category's candidates reached
    words: str  # the note's words nearest to it


@dataclass(frozen=True)
class Trace:
    """What one coded note leaves for the report: its final state's parts."""

    note_id: str
    analysis: Analysis | None
    candidates: tuple[Candidate, ...]
    codes: tuple[Suggestion, ...]
    rejected: tuple[Rejected, ...]

    @classmethod
    def of(cls, state: dict[str, Any]) -> Trace:
        return cls(
            state["note_id"],
            state.get("analysis"),
            tuple(state.get("candidates", ())),
            tuple(state.get("codes", ())),
            tuple(state.get("rejected", ())),
        )

    def finals(self) -> set[str]:
        """Every code the candidates came to after the walk: suggested or rejected at some step."""
        return {s.code for s in self.codes} | {r.code for r in self.rejected}


def misses(trace: Trace, gold: Iterable[str], store: CodeStore) -> list[Miss]:
    """Each gold code of the note that was not suggested, with the step that lost it."""
    suggested = {s.code for s in trace.codes}
    rejected = {r.code: r for r in trace.rejected}
    out = []
    for code in sorted(set(gold) - suggested):
        record = store.find(code)
        title = record.title if record is not None else ""
        if record is None:
            out.append(Miss(trace.note_id, code, "", "not_in_code_book", "not a code of this code system", ""))
        elif code in rejected:
            r = rejected[code]
            stage = "reasoner" if r.stage == "assign" else "rule"
            words = r.evidence[0].text if r.evidence else _candidate_words(trace, code)
            out.append(Miss(trace.note_id, code, title, stage, f"{r.stage or 'unknown'}: {r.reason}", _cut(words)))
        else:
            near = _near(trace, code)
            if near:
                reached = ", ".join(near)
                words = _candidate_words(trace, code)
                out.append(Miss(trace.note_id, code, title, "other_code", f"its category came to {reached}", words))
            else:
                out.append(Miss(trace.note_id, code, title, "not_located", "", _cut(_best_sentence(trace, title))))
    return out


def summary(all_misses: Sequence[Miss], gold_total: int) -> dict[str, Any]:
    """Counts per stage (and their share of all gold codes), and the most-missed codes per stage."""
    by_stage = Counter(m.stage for m in all_misses)
    top: dict[str, list[tuple[str, int]]] = {}
    for stage in STAGES:
        counts = Counter(m.code for m in all_misses if m.stage == stage)
        top[stage] = counts.most_common(10)
    return {
        "gold_codes": gold_total,
        "missed": len(all_misses),
        "by_stage": {s: by_stage.get(s, 0) for s in STAGES},
        "share_of_gold": {s: round(by_stage.get(s, 0) / gold_total, 4) if gold_total else 0.0 for s in STAGES},
        "most_missed": top,
    }


def report(all_misses: Sequence[Miss], gold_total: int) -> dict[str, Any]:
    return {"summary": summary(all_misses, gold_total), "misses": [asdict(m) for m in all_misses]}


def _near(trace: Trace, code: str) -> list[str]:
    """The codes in `code`'s category that the note's candidates came to (suggested first)."""
    cat = category(code)
    suggested = [s.code for s in trace.codes if category(s.code) == cat]
    rejected = [r.code for r in trace.rejected if category(r.code) == cat]
    located = [c.code for c in trace.candidates if category(c.code) == cat]
    seen = dict.fromkeys([*(f"{c} (suggested)" for c in suggested), *rejected])
    if not seen and located:
        seen = dict.fromkeys(f"{c} (located)" for c in located)
    return list(seen)[:6]


def _candidate_words(trace: Trace, code: str) -> str:
    """The words of the candidate nearest to `code`: its own, else its category's; the words a
    term or rule found before a dense neighbour's whole statement."""
    cat = category(code)
    same = [c for c in trace.candidates if category(c.code) == cat and c.evidence]
    if not same:
        return ""
    nearest = min(same, key=lambda c: c.code != code)  # the first of its own, else of its category
    named = [e for e in nearest.evidence if e.source != "dense"] or list(nearest.evidence)
    return _cut(named[0].text)


def _best_sentence(trace: Trace, title: str) -> str:
    if trace.analysis is None:
        return ""
    wanted = {w for w in _WORD.findall(title.lower()) if w not in _STOP}
    if not wanted:
        return ""
    best, best_score = "", 0
    for sentence in trace.analysis.sentences:
        words = set(_WORD.findall(sentence.text.lower()))
        score = sum(1 for w in wanted if w in words or any(x.startswith(w[:5]) for x in words if len(w) > 5))
        if score > best_score:
            best, best_score = sentence.text, score
    return best


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_WORDS else text[: MAX_WORDS - 1] + "…"
