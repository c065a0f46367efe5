"""The LLM reasoner: a chat model proposes codes with quotes, and Coda checks every one
(`agent.reasoners.llm_checks`).

The model is asked for a `CodingAnswer` through structured output (tool calling by default,
which OpenAI-compatible local servers support widely). Whatever goes wrong with the model
(timeout, connection, an answer that does not parse or is empty), the reasoner hands the note
to its fallback (the offline reasoner) and says why. No exception reaches the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agent.reasoners.base import CodingContext, Reasoner
from agent.reasoners.chat_model import StructuredMethod
from agent.reasoners.llm_checks import REASON_CHARS, LlmOutcome, check_answer
from agent.reasoners.prompts import MAX_CANDIDATES, SYSTEM_PROMPT, CodingAnswer, build_user_prompt, cut
from index.errors import ReasonerError
from index.store import CodeStore

__all__ = ["LlmReasoner"]

log = logging.getLogger(__name__)


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

    def run(self, context: CodingContext) -> LlmOutcome:
        """Ask the model, check its answer; on any failure, the fallback's proposals and why."""
        try:
            answer = self._ask(context)
            return check_answer(context, answer, self.store)
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


def _why_empty(raw: object) -> str:
    """Why a raw answer gave nothing to parse."""
    if isinstance(raw, AIMessage):
        if raw.invalid_tool_calls:
            error = raw.invalid_tool_calls[0].get("error") or "arguments are not valid JSON"
            return f"the answer is not valid JSON: {cut(str(error), REASON_CHARS)}"
        if raw.content:
            return "the model answered in plain text, not in the requested structure"
    return "the model gave no answer"


def _describe(exc: BaseException) -> str:
    message = cut(str(exc), REASON_CHARS)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
