"""Bounds on the LLM path: one deadline per note for everything a call takes (connecting,
reading, retries, a server that trickles bytes), and a circuit breaker that stops calling an
endpoint that keeps failing, for a cool-down.

The deadline is kept by the caller, not by the HTTP client: the call runs in a worker thread
and the caller waits for it no longer than the time left; an abandoned call's transport is
closed so that its thread ends too. Retries happen inside the deadline, and a server's
Retry-After is honoured only when it fits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

__all__ = ["CircuitBreaker", "Deadline", "DeadlineExceeded", "LlmLimits", "call_before"]


@dataclass(frozen=True)
class LlmLimits:
    """How long one note may spend on the LLM, how often a failed call is tried again, and how
    the circuit breaker behaves (from the settings: CODA_LLM_TIMEOUT, CODA_LLM_MAX_RETRIES,
    CODA_LLM_COOLDOWN)."""

    deadline: float = 60.0  # seconds per note, every attempt included
    max_retries: int = 2  # further attempts after a transient failure (connection, 5xx, 429)
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    failures_to_open: int = 1  # failed notes in a row before the breaker opens
    cooldown: float = 60.0  # seconds the breaker stays open

    def __post_init__(self) -> None:
        if self.deadline <= 0 or self.cooldown < 0 or self.max_retries < 0 or self.failures_to_open < 1:
            raise ValueError(f"LLM limits out of range: {self}")


class DeadlineExceeded(TimeoutError):
    """The note's time for the LLM ran out."""


class Deadline:
    """The time left for one note, on a monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.ends = self.started + seconds

    def left(self) -> float:
        return max(0.0, self.ends - self._clock())

    def spent(self) -> float:
        return self._clock() - self.started


def call_before(deadline: Deadline, fn: Callable[[], T], abandon: Callable[[], None] = lambda: None) -> T:
    """`fn()` when it returns before the deadline; else DeadlineExceeded, after `abandon()` is
    called to stop the work (closing its connection). `fn`'s own exceptions pass through."""
    box: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller as it is
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="coda-llm-call", daemon=True).start()
    if not done.wait(deadline.left()):
        abandon()
        raise DeadlineExceeded(f"no answer within the deadline of {deadline.ends - deadline.started:g} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


class CircuitBreaker:
    """Counts notes whose LLM call failed in a row; past `failures_to_open` it opens, and the
    endpoint is not called again until the cool-down has passed (then one note tries it).
    Shared by every note a `Coder` codes, so a batch stops calling a dead endpoint."""

    def __init__(self, limits: LlmLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0
        self.last_error = ""

    def closed(self) -> bool:
        """Whether the endpoint may be called now."""
        with self._lock:
            return self._failures < self.limits.failures_to_open or self._clock() >= self._open_until

    def reopens_in(self) -> float:
        with self._lock:
            return max(0.0, self._open_until - self._clock())

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self.last_error = ""

    def failed(self, error: str) -> None:
        with self._lock:
            self._failures += 1
            self.last_error = error
            if self._failures >= self.limits.failures_to_open:
                self._open_until = self._clock() + self.limits.cooldown
