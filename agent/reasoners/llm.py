"""The LLM reasoner: a chat model proposes codes with quotes, and Coda checks every one
(`agent.reasoners.llm_checks`).

The model is asked for a `CodingAnswer` through structured output (tool calling by default,
which OpenAI-compatible local servers support widely). Its accepted codes join the offline
reasoner's. Whatever goes wrong with the model (the deadline, a connection, a 5xx or 429 past
its retries, an answer that does not parse or is empty), the offline codes stand alone and the
outcome says why; a circuit breaker stops calling an endpoint that keeps failing
(`agent.reasoners.limits`). No exception reaches the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from agent.reasoners.base import CodingContext, Outcome, Reasoner
from agent.reasoners.chat_model import StructuredMethod
from agent.reasoners.limits import CircuitBreaker, Deadline, DeadlineExceeded, LlmLimits, call_before
from agent.reasoners.llm_checks import REASON_CHARS, LlmOutcome, check_answer
from agent.reasoners.prompts import MAX_CANDIDATES, SYSTEM_PROMPT, CodingAnswer, build_user_prompt, cut
from index.errors import ReasonerError
from index.store import CodeStore

__all__ = ["LlmReasoner"]

log = logging.getLogger(__name__)
Answer = TypeVar("Answer", bound=BaseModel)
T = TypeVar("T")


class LlmReasoner:
    """A `Reasoner` backed by a chat model, checked against the note and the code store, and
    merged with its fallback (the offline reasoner): the model's accepted codes join the
    offline codes; when the model fails, the offline codes stand alone and the outcome says why.
    """

    name = "llm"

    def __init__(
        self,
        chat_model: BaseChatModel,
        store: CodeStore,
        fallback: Reasoner,
        max_candidates: int = MAX_CANDIDATES,
        method: StructuredMethod = "function_calling",
        limits: LlmLimits | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.store = store
        self.fallback = fallback
        self.max_candidates = max_candidates
        self.method: StructuredMethod = method
        self.limits = limits or LlmLimits()
        self.breaker = breaker or CircuitBreaker(self.limits)

    # -- the Reasoner protocol ---------------------------------------------------------

    def run(self, context: CodingContext) -> LlmOutcome:
        """The offline proposals, and the model's checked ones beside them; on any failure of
        the model, the offline proposals alone and why. No exception reaches the caller."""
        offline, offline_error = self._offline(context)
        if not self.breaker.closed():
            reason = (
                f"the LLM endpoint was not called: it failed on an earlier note ({self.breaker.last_error}); "
                f"it is tried again in {self.breaker.reopens_in():.0f} s"
            )
            return self._fall_back(offline, offline_error, reason, None)
        deadline = Deadline(self.limits.deadline)
        try:
            answer = self._ask_within(context, deadline)
        except Exception as exc:  # the model, the network, the parser: all end in the fallback
            # The log names the error only: its message may quote the note or the answer.
            log.warning("LLM reasoner failed for note %s (%s)", context.note_id, type(exc).__name__)
            if _endpoint_failure(exc):
                self.breaker.failed(_describe(exc))
            return self._fall_back(offline, offline_error, _describe(exc), deadline.spent())
        self.breaker.succeeded()
        checked = check_answer(context, answer, self.store)
        return replace(
            checked,
            proposals=(*checked.proposals, *offline.proposals),
            rejections=(*checked.rejections, *offline.rejections),
            model_seconds=deadline.spent(),
        )

    def consult(
        self, schema: type[Answer], messages: list[Any], seconds: float
    ) -> tuple[Answer | None, str | None, float]:
        """One more question to the model for the same note (the procedures), within `seconds`
        (what the note's deadline has left), under the same retries and circuit breaker:
        (the answer, None, seconds spent), or (None, why not, seconds spent). Never raises."""
        if not self.breaker.closed():
            return (
                None,
                f"the LLM endpoint was not called: it failed on an earlier note ({self.breaker.last_error})",
                0.0,
            )
        if seconds <= 0:
            return None, f"the note's deadline of {self.limits.deadline:g} s was spent on its diagnoses", 0.0
        deadline = Deadline(seconds)
        try:
            answer = self.ask_within(schema, messages, deadline)
        except Exception as exc:  # the model, the network, the parser: the caller keeps what it has
            log.warning("LLM procedures failed (%s)", type(exc).__name__)
            if _endpoint_failure(exc):
                self.breaker.failed(_describe(exc))
            return None, _describe(exc), deadline.spent()
        self.breaker.succeeded()
        return answer, None, deadline.spent()

    # -- asking ------------------------------------------------------------------------

    def messages(self, context: CodingContext) -> list[SystemMessage | HumanMessage]:
        """The messages sent to the model for `context`."""
        return [
            SystemMessage(SYSTEM_PROMPT),
            HumanMessage(build_user_prompt(context, self.store, self.max_candidates)),
        ]

    def _ask_within(self, context: CodingContext, deadline: Deadline) -> CodingAnswer:
        return self.ask_within(CodingAnswer, self.messages(context), deadline)

    def ask_within(self, schema: type[Answer], messages: list[Any], deadline: Deadline) -> Answer:
        """The model's answer in `schema` before the deadline, retrying transient failures (a
        dropped connection, a 5xx, a 429) while the wait still fits in the time left. Raises on
        any failure; the caller falls back."""
        return self.call_within(deadline, lambda: self._ask(schema, messages))

    def call_within(self, deadline: Deadline, call: Callable[[], T]) -> T:
        """`call()` (one request to the model) before the deadline, retried as `ask_within` says."""
        retries = 0
        while True:
            try:
                return call_before(deadline, call, self._abandon)
            except DeadlineExceeded:
                raise
            except Exception as exc:
                if not _endpoint_failure(exc) or retries >= self.limits.max_retries:
                    raise
                wait = _retry_after(exc)
                wait = self.limits.backoff * 2**retries if wait is None else wait
                if wait >= deadline.left():
                    raise ReasonerError(
                        f"{_describe(exc)}; a retry in {wait:g} s would pass the deadline of {self.limits.deadline:g} s"
                    ) from exc
                time.sleep(wait)
                retries += 1

    def _ask(self, schema: type[Answer], messages: list[Any]) -> Answer:
        structured = self.chat_model.with_structured_output(schema, method=self.method, include_raw=True)
        result: Any = structured.invoke(messages)
        raw = None
        if isinstance(result, dict) and "parsed" in result:
            error = result.get("parsing_error")
            if error is not None:
                raise ReasonerError(f"the answer does not match the schema: {_describe(error)}")
            raw, result = result.get("raw"), result.get("parsed")
        if result is None:
            raise ReasonerError(_why_empty(raw))
        if isinstance(result, dict):  # a parser that gives dicts (json_mode on some models)
            result = schema.model_validate(result)
        if not isinstance(result, schema):
            raise ReasonerError(f"the model's answer is a {type(result).__name__}, not a {schema.__name__}")
        return result

    def _abandon(self) -> None:
        """Close the abandoned call's connection, so its thread ends too."""
        client = getattr(self.chat_model, "http_client", None)
        close = getattr(client, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing is best effort: the caller has moved on already
                log.debug("closing the LLM client failed", exc_info=True)

    # -- the fallback --------------------------------------------------------------------

    def _offline(self, context: CodingContext) -> tuple[Outcome, str | None]:
        try:
            return self.fallback.run(context), None
        except Exception as exc:
            log.exception("fallback reasoner %s failed for note %s", self._fallback_name, context.note_id)
            return Outcome(), _describe(exc)

    def _fall_back(self, offline: Outcome, offline_error: str | None, reason: str, seconds: float | None) -> LlmOutcome:
        if offline_error is not None:
            reason = f"{reason}; the {self._fallback_name} reasoner failed too: {offline_error}"
        return LlmOutcome(
            tuple(offline.proposals), tuple(offline.rejections), fallback_reason=reason, model_seconds=seconds
        )

    @property
    def _fallback_name(self) -> str:
        return str(getattr(self.fallback, "name", type(self.fallback).__name__))


def _endpoint_failure(exc: BaseException) -> bool:
    """A failure of the endpoint rather than of the answer: worth a retry, and counted by the
    circuit breaker."""
    if isinstance(exc, DeadlineExceeded | TimeoutError | ConnectionError | httpx.TransportError):
        return True
    if isinstance(exc, openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    """The seconds a 429 or 503 answer asks the client to wait (Retry-After), if it says."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


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
