"""The LLM reasoner: a chat model proposes codes with quotes, and Coda checks every one.

The model is asked for a `CodingAnswer` through structured output (tool calling by default,
which OpenAI-compatible local servers support widely). Nothing it says is taken on trust:

- each quote must be found in the note (`find_quote`), and gives exact offsets;
- a quote inside a sentence that addresses the model (prompt injection) is not evidence;
- a code left without evidence is dropped, and so is a code the code system does not have;
- codes are written the store's way ("e1122" becomes "E11.22").

Whatever goes wrong with the model (timeout, connection, an answer that does not parse or
is empty), the reasoner hands the note to its fallback (the offline reasoner) and says why.
No exception reaches the caller.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import SecretStr

from agent.evidence import find_quote, instruction_in
from agent.prompts import MAX_CANDIDATES, SYSTEM_PROMPT, CodeChoice, CodingAnswer, build_user_prompt
from agent.reasoner import Candidate, CodingContext, Reasoner
from agent.records import Evidence, Proposal, Step
from agent.text import Span, assertion_of
from index.errors import ReasonerError
from index.model import Code, CodeKind
from index.store import CodeStore

__all__ = [
    "LlmOutcome",
    "LlmReasoner",
    "StructuredMethod",
    "make_chat_model",
]

log = logging.getLogger(__name__)

StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]

# Reasons a proposed code is dropped; shown to the coder with the code.
NO_QUOTE = "no quote from the note was given"
QUOTE_NOT_FOUND = "quote not found in note"
INJECTED = "evidence is an instruction aimed at the model, not clinical text"
NOT_A_CODE = "not a code"

MAX_CHOICES = 60  # codes read from one answer; a longer list is cut
MAX_QUOTES = 8  # quotes read per code
_SHOWN = 80  # characters of a quote or a rejected text shown in a step
_RATIONALE = 600
_REASON = 300


@dataclass(frozen=True)
class LlmOutcome:
    """What one run of the LLM reasoner produced.

    `rejections` are the codes the model proposed and Coda dropped, each with the reason;
    `declined` the candidates the model itself rejected, with its reason; `fallback_reason`
    says why the fallback reasoner's proposals were used instead, when they were.
    """

    proposals: tuple[Proposal, ...] = ()
    rejections: tuple[tuple[str, str], ...] = ()
    fallback_reason: str | None = None
    declined: tuple[tuple[str, str], ...] = ()

    @property
    def fell_back(self) -> bool:
        return self.fallback_reason is not None


class LlmReasoner:
    """A `Reasoner` backed by a chat model, checked against the note and the code store."""

    name = "llm"

    def __init__(
        self,
        chat_model: BaseChatModel,
        store: CodeStore,
        fallback: Reasoner,
        max_candidates: int = MAX_CANDIDATES,
        method: StructuredMethod = "function_calling",
    ) -> None:
        self.chat_model = chat_model
        self.store = store
        self.fallback = fallback
        self.max_candidates = max_candidates
        self.method: StructuredMethod = method

    # -- the Reasoner protocol ---------------------------------------------------------

    def propose(self, context: CodingContext) -> list[Proposal]:
        return list(self.run(context).proposals)

    def run(self, context: CodingContext) -> LlmOutcome:
        """Ask the model, check its answer; on any failure, the fallback's proposals and why."""
        try:
            answer = self._ask(context)
            return self._check(context, answer)
        except Exception as exc:  # the model, the network, the parser: all end in the fallback
            # The log names the error only: its message may quote the note or the answer.
            log.warning(
                "LLM reasoner failed for note %s (%s); using %s",
                context.note_id,
                type(exc).__name__,
                self._fallback_name,
            )
            return self._fall_back(context, _describe(exc))

    # -- asking ------------------------------------------------------------------------

    def messages(self, context: CodingContext) -> list[SystemMessage | HumanMessage]:
        """The messages sent to the model for `context`."""
        return [
            SystemMessage(SYSTEM_PROMPT),
            HumanMessage(build_user_prompt(context, self.store, self.max_candidates)),
        ]

    def _ask(self, context: CodingContext) -> CodingAnswer:
        structured = self.chat_model.with_structured_output(CodingAnswer, method=self.method, include_raw=True)
        result: Any = structured.invoke(self.messages(context))
        raw = None
        if isinstance(result, dict) and "parsed" in result:
            error = result.get("parsing_error")
            if error is not None:
                raise ReasonerError(f"the answer does not match the schema: {_describe(error)}")
            raw, result = result.get("raw"), result.get("parsed")
        if result is None:
            raise ReasonerError(_why_empty(raw))
        if isinstance(result, dict):  # a parser that gives dicts (json_mode on some models)
            result = CodingAnswer.model_validate(result)
        if not isinstance(result, CodingAnswer):
            raise ReasonerError(f"the model's answer is a {type(result).__name__}, not a CodingAnswer")
        return result

    def _fall_back(self, context: CodingContext, reason: str) -> LlmOutcome:
        try:
            outcome = self.fallback.run(context)
        except Exception as exc:
            log.exception("fallback reasoner %s failed for note %s", self._fallback_name, context.note_id)
            return LlmOutcome(
                fallback_reason=f"{reason}; the {self._fallback_name} reasoner failed too: {_describe(exc)}"
            )
        return LlmOutcome(tuple(outcome.proposals), tuple(outcome.rejections), fallback_reason=reason)

    @property
    def _fallback_name(self) -> str:
        return str(getattr(self.fallback, "name", type(self.fallback).__name__))

    # -- checking ------------------------------------------------------------------------

    def _check(self, context: CodingContext, answer: CodingAnswer) -> LlmOutcome:
        proposals: dict[str, Proposal] = {}
        rejections: list[tuple[str, str]] = []
        choices = answer.codes[:MAX_CHOICES]
        candidates = {c.code: c for c in context.candidates}
        for choice in choices:
            given = " ".join(choice.code.split())
            checked = self._check_choice(context, choice, candidates)
            if isinstance(checked, str):
                rejections.append((given, checked))
                continue
            previous = proposals.get(checked.code)
            proposals[checked.code] = checked if previous is None else _merge(previous, checked)
        for choice in answer.codes[MAX_CHOICES:]:
            rejections.append((" ".join(choice.code.split()), f"more than {MAX_CHOICES} codes in one answer"))

        declined = []
        for rejected in answer.rejected[:MAX_CHOICES]:
            record = self._lookup(rejected.code)
            code = record.code if record is not None else " ".join(rejected.code.split())
            declined.append((code, _cut(rejected.reason, _REASON)))
        return LlmOutcome(tuple(proposals.values()), tuple(rejections), declined=tuple(declined))

    def _check_choice(
        self, context: CodingContext, choice: CodeChoice, candidates: dict[str, Candidate]
    ) -> Proposal | str:
        """The proposal for one choice of the model, or why it is dropped."""
        steps: list[Step] = []
        given = " ".join(choice.code.split())
        record = self._lookup(given)
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
                steps.append(Step("llm", f'quote not found in the note, ignored: "{_cut(quote, _SHOWN)}"'))
                continue
            why = _instruction_at(context, span)
            if why is not None:
                injected += 1
                steps.append(
                    Step("llm", f'quote ignored, it is in text aimed at the model ({why}): "{_cut(span.text, _SHOWN)}"')
                )
                continue
            if all((s.start, s.end) != (span.start, span.end) for s in spans):
                spans.append(span)

        if not spans:
            if injected:
                return INJECTED
            return QUOTE_NOT_FOUND if missing else NO_QUOTE
        if record is None:
            return f"{given or '(empty)'} is {NOT_A_CODE} in {self.store.info.title} {self.store.info.release}"
        if record.kind in (CodeKind.CHAPTER, CodeKind.BLOCK):
            return f"{given} names a {record.kind.value} of the code book, {NOT_A_CODE}"

        if given != record.code:
            steps.insert(0, Step("llm", f"the model wrote {given}; the code is {record.code}"))
        if record.code not in candidates:
            steps.insert(0, Step("llm", "named by the model; not among the located candidates"))
        rationale = _cut(choice.rationale, _RATIONALE) or "(no rationale given)"
        steps.insert(0, Step("llm", rationale))
        evidence = tuple(_evidence(context, span) for span in sorted(spans, key=lambda s: (s.start, s.end)))
        return Proposal(record.code, evidence, choice.confidence, tuple(steps), source="llm")

    def _lookup(self, code: str) -> Code | None:
        code = code.strip()
        if not code:
            return None
        return self.store.find(code)


# --- helpers -----------------------------------------------------------------------------------


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
        why = instruction_in(sentences[i].text)
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


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _why_empty(raw: object) -> str:
    """Why a raw answer gave nothing to parse."""
    if isinstance(raw, AIMessage):
        if raw.invalid_tool_calls:
            error = raw.invalid_tool_calls[0].get("error") or "arguments are not valid JSON"
            return f"the answer is not valid JSON: {_cut(str(error), _REASON)}"
        if raw.content:
            return "the model answered in plain text, not in the requested structure"
    return "the model gave no answer"


def _describe(exc: BaseException) -> str:
    message = _cut(str(exc), _REASON)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# --- the edge ------------------------------------------------------------------------------------


def make_chat_model(
    base_url: str | None,
    model: str,
    api_key: str | SecretStr | None,
    timeout: float,
    max_retries: int,
) -> BaseChatModel:
    """A ChatOpenAI for an OpenAI-compatible endpoint, deterministic (temperature 0), with a
    timeout per call and a bounded number of retries (both from the settings)."""
    from langchain_openai import ChatOpenAI

    key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "not-needed")
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=key,
        timeout=timeout,
        max_retries=max(0, max_retries),
        temperature=0,
    )
