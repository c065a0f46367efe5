"""Checks of the LLM's answer: nothing the model says is taken on trust.

- each quote must be found in the note (`find_quote`), and gives exact offsets;
- a quote inside a sentence that addresses the software (prompt injection) is not evidence;
- a code left without evidence is dropped, and so is a code the code system does not have;
- codes are written the store's way ("e1122" becomes "E11.22").
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from agent.reading.assertion import assertion_of
from agent.reading.instructions import instruction_in
from agent.reading.quotes import find_quote
from agent.reading.segment import Span
from agent.reasoners.base import CodingContext, Outcome
from agent.reasoners.prompts import CodeChoice, CodingAnswer, cut
from agent.records import Candidate, Evidence, Proposal, Step
from index.model import Code, CodeKind
from index.store import CodeStore

__all__ = ["LlmOutcome", "check_answer"]

# Reasons a proposed code is dropped; shown to the coder with the code.
NO_QUOTE = "no quote from the note was given"
QUOTE_NOT_FOUND = "quote not found in note"
INJECTED = "evidence is an instruction aimed at the model, not clinical text"
NOT_A_CODE = "not a code"

MAX_CHOICES = 60  # codes read from one answer; a longer list is cut
MAX_QUOTES = 8  # quotes read per code
_SHOWN = 80  # characters of a quote or a rejected text shown in a step
_RATIONALE = 600
REASON_CHARS = 300


@dataclass(frozen=True)
class LlmOutcome(Outcome):
    """What one run of the LLM reasoner produced: besides an `Outcome`, the candidates the model
    itself declined, with its reason. `rejections` are the codes the model proposed and Coda
    dropped, each with why; `fallback_reason` says why the offline reasoner's proposals stand
    alone, when they do."""

    declined: tuple[tuple[str, str], ...] = ()


def check_answer(context: CodingContext, answer: CodingAnswer, store: CodeStore) -> LlmOutcome:
    """The model's answer checked against the note and the code store: proposals for the codes
    whose quotes hold, and every dropped code with why."""
    proposals: dict[str, Proposal] = {}
    rejections: list[tuple[str, str]] = []
    choices = answer.codes[:MAX_CHOICES]
    candidates = {c.code: c for c in context.candidates}
    for choice in choices:
        given = " ".join(choice.code.split())
        checked = _check_choice(context, choice, candidates, store)
        if isinstance(checked, str):
            rejections.append((given, checked))
            continue
        previous = proposals.get(checked.code)
        proposals[checked.code] = checked if previous is None else _merge(previous, checked)
    for choice in answer.codes[MAX_CHOICES:]:
        rejections.append((" ".join(choice.code.split()), f"more than {MAX_CHOICES} codes in one answer"))

    declined = []
    for rejected in answer.rejected[:MAX_CHOICES]:
        record = _lookup(store, rejected.code)
        code = record.code if record is not None else " ".join(rejected.code.split())
        declined.append((code, cut(rejected.reason, REASON_CHARS)))
    named = dict.fromkeys(_named(store, choice.code) for choice in answer.codes)
    return LlmOutcome(
        tuple(proposals.values()), tuple(rejections), declined=tuple(declined), model_codes=tuple(c for c in named if c)
    )


def _named(store: CodeStore, given: str) -> str:
    """A code the model named, as the store writes it when the store knows it."""
    record = _lookup(store, given)
    return record.code if record is not None else " ".join(given.split())


def _check_choice(
    context: CodingContext, choice: CodeChoice, candidates: dict[str, Candidate], store: CodeStore
) -> Proposal | str:
    """The proposal for one choice of the model, or why it is dropped."""
    steps: list[Step] = []
    given = " ".join(choice.code.split())
    record = _lookup(store, given)
    near = None
    if record is not None and record.code in candidates and candidates[record.code].evidence:
        near = candidates[record.code].evidence[0].start  # the candidate's own span breaks ties

    spans: list[Span] = []
    missing = injected = 0
    quotes = [q for q in choice.quotes if isinstance(q, str) and q.strip()]
    if len(quotes) > MAX_QUOTES:
        steps.append(Step("llm", f"only the first {MAX_QUOTES} of {len(quotes)} quotes were checked"))
    for quote in quotes[:MAX_QUOTES]:
        span = find_quote(context.note, quote, near)
        if span is None:
            missing += 1
            steps.append(Step("llm", f'quote not found in the note, ignored: "{cut(quote, _SHOWN)}"'))
            continue
        why = _instruction_at(context, span)
        if why is not None:
            injected += 1
            steps.append(
                Step("llm", f'quote ignored, it is in text aimed at the model ({why}): "{cut(span.text, _SHOWN)}"')
            )
            continue
        if all((s.start, s.end) != (span.start, span.end) for s in spans):
            spans.append(span)

    if not spans:
        if injected:
            return INJECTED
        return QUOTE_NOT_FOUND if missing else NO_QUOTE
    if record is None:
        return f"{given or '(empty)'} is {NOT_A_CODE} in {store.info.title} {store.info.release}"
    if record.kind in (CodeKind.CHAPTER, CodeKind.BLOCK):
        return f"{given} names a {record.kind.value} of the code book, {NOT_A_CODE}"

    if given != record.code:
        steps.insert(0, Step("llm", f"the model wrote {given}; the code is {record.code}"))
    if record.code not in candidates:
        steps.insert(0, Step("llm", "named by the model; not among the located candidates"))
    rationale = cut(choice.rationale, _RATIONALE) or "(no rationale given)"
    steps.insert(0, Step("llm", rationale))
    evidence = tuple(_evidence(context, span) for span in sorted(spans, key=lambda s: (s.start, s.end)))
    return Proposal(record.code, evidence, choice.confidence, tuple(steps), source="llm")


def _lookup(store: CodeStore, code: str) -> Code | None:
    code = code.strip()
    if not code:
        return None
    return store.find(code)


def _instruction_at(context: CodingContext, span: Span) -> str | None:
    """Why the text holding `span` addresses the model, if it does: each sentence the span
    touches is checked, and the span itself when no sentence holds it."""
    sentences = context.analysis.sentences
    i = context.analysis.sentence_at(span.start)
    if i is None:
        why = instruction_in(span.text)
        if why is not None:
            return why
        i = bisect_left(sentences, span.start, key=lambda s: s.start)
    while i < len(sentences) and sentences[i].start < span.end:
        why = context.analysis.non_clinical.get(i) or instruction_in(sentences[i].text)
        if why is not None:
            return why
        i += 1
    return None


def _evidence(context: CodingContext, span: Span) -> Evidence:
    """Evidence for a span: assertion and section from the statement holding it, else worked
    out in the sentence holding it (ConText), else a plain present finding."""
    for statement in context.statements:
        if statement.start <= span.start and span.end <= statement.end:
            return Evidence(span.start, span.end, span.text, statement.assertion, statement.section, "llm")
    i = context.analysis.sentence_at(span.start)
    if i is not None:
        sentence = context.analysis.sentences[i]
        if span.end <= sentence.end:
            assertion = assertion_of(
                sentence.text, span.start - sentence.start, span.end - sentence.start, sentence.section
            )
            return Evidence(span.start, span.end, span.text, assertion.value, sentence.section, "llm")
        return Evidence(span.start, span.end, span.text, section=sentence.section, source="llm")
    return Evidence(span.start, span.end, span.text, source="llm")


def _merge(first: Proposal, second: Proposal) -> Proposal:
    """One proposal for a code the model named twice: both evidence sets, the higher confidence."""
    seen = {(e.start, e.end) for e in first.evidence}
    evidence = first.evidence + tuple(e for e in second.evidence if (e.start, e.end) not in seen)
    return Proposal(
        first.code,
        tuple(sorted(evidence, key=lambda e: (e.start, e.end))),
        max(first.confidence, second.confidence),
        first.steps + second.steps,
        source="llm",
    )
