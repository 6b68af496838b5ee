"""Provider faults: what went wrong, whether to retry, a breaker per provider, restarting a streamed reply."""
from __future__ import annotations

import email.utils
import enum
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from errors import ServiceUnavailable

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 3
"""HTTP attempts per model call (the first plus two retries) before the chain falls back."""

DEFAULT_BACKOFF_BASE_SECONDS = 0.5
"""Delay scale of the first retry; doubled for each later one, then jittered."""

DEFAULT_BACKOFF_MAX_SECONDS = 8.0
"""Longest backoff between two attempts when the server gives no Retry-After."""

DEFAULT_MAX_RETRY_AFTER_SECONDS = 30.0
"""A Retry-After longer than this is not waited for: the chain falls back at once instead."""

DEFAULT_FAILURE_THRESHOLD = 5
"""Consecutive failed attempts that open a provider's breaker."""

DEFAULT_RESET_TIMEOUT_SECONDS = 30.0
"""How long an open breaker refuses calls before it lets one probe through (half-open)."""

MAX_ERROR_CHARS = 500
"""Longest error text kept in provider_calls and in logs."""

STREAM_RESTART_NOTICE = "\n[The connection was interrupted; the answer starts again.]\n"
"""Streamed to on_delta when an attempt that had streamed text fails and another one starts."""


class CallOutcome(str, enum.Enum):
    """How one attempt ended, as stored in provider_calls.outcome."""

    OK = "ok"
    """A model call that gave the final answer (exactly one per answered request)."""
    TOOL_CALLS = "tool_calls"
    """A model call that asked for tools; the loop goes on."""
    CONVERSATION = "conversation"
    """A Conversations API call (create, add items) that succeeded."""
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    MALFORMED = "malformed"
    """The server answered 2xx with a body that is not the expected JSON."""
    CLIENT_ERROR = "client_error"
    """Any 4xx but 429: our request or credentials are wrong; never retried."""
    BREAKER_OPEN = "breaker_open"
    """No call was made: the provider's breaker is open (never stored: nothing was called)."""
    TOOL_LOOP = "tool_loop"
    """The model kept asking for tools past the bound (never stored: the last call is)."""

    @property
    def succeeded(self) -> bool:
        """True for the three outcomes of a call that worked."""
        return self in (CallOutcome.OK, CallOutcome.TOOL_CALLS, CallOutcome.CONVERSATION)


RETRYABLE = frozenset({CallOutcome.RATE_LIMITED, CallOutcome.SERVER_ERROR, CallOutcome.TIMEOUT,
                       CallOutcome.CONNECTION_ERROR, CallOutcome.MALFORMED})
"""Outcomes worth another attempt (429, 5xx, timeouts, connection errors, broken bodies)."""


class ProviderError(ServiceUnavailable):
    """A provider could not answer; the chain catches it and falls back to the next provider."""

    code = "provider_unavailable"

    def __init__(self, message: str, *, provider: str, outcome: CallOutcome, status: int | None = None,
                 retry_after: float | None = None, attempts: int = 0) -> None:
        super().__init__(message, details={"provider": provider, "outcome": outcome.value})
        self.provider = provider
        self.outcome = outcome
        self.status = status
        self.retry_after = retry_after
        self.attempts = attempts

    def mask(self, secret: str | None) -> ProviderError:
        """Shorten the message and mask the secret in it (a server may echo the key back)."""
        self.message = clip(self.message, secret)
        self.args = (self.message,)
        return self

    @property
    def retryable(self) -> bool:
        """True when another attempt may succeed."""
        return self.outcome in RETRYABLE

    @property
    def counts_against_breaker(self) -> bool:
        """Faults of the provider's health (and bad credentials), not of one request's content."""
        return self.retryable or self.status in (401, 403)


class MalformedReply(Exception):
    """The server's 2xx body parsed, but is not what the API promises."""


class BreakerState(str, enum.Enum):
    """closed: calls pass; open: calls refused; half_open: one probe call decides."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after N consecutive failures, refuses calls for a cool-down, then lets one probe through.

    Thread-safe. `allow()` is asked before each attempt, and `record_success()` or
    `record_failure()` told after it. A probe's success closes the breaker; its failure opens it
    again for another cool-down.
    """

    def __init__(self, failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
                 reset_timeout: float = DEFAULT_RESET_TIMEOUT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker whose cool-down is over reads half_open."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                return BreakerState.HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """May a call go out now? In half-open, only one caller at a time gets True."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                self._state, self._probing = BreakerState.HALF_OPEN, False
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        """A call worked: close the breaker and forget earlier failures."""
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                logger.info("circuit breaker closed again")
            self._state, self._failures, self._probing = BreakerState.CLOSED, 0, False

    def record_failure(self) -> None:
        """A call failed: open the breaker after the threshold, or at once when probing."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                if self._state is not BreakerState.OPEN:
                    logger.warning("circuit breaker opened after %d consecutive failures", self._failures)
                self._state, self._opened_at, self._probing = BreakerState.OPEN, self._clock(), False

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_timeout


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a call gets and how long to wait between them."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    """HTTP attempts per model call, the first included."""
    base_delay: float = DEFAULT_BACKOFF_BASE_SECONDS
    """Backoff scale: the n-th retry waits up to base_delay * 2**(n-1) (full jitter)."""
    max_delay: float = DEFAULT_BACKOFF_MAX_SECONDS
    """Backoff ceiling."""
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER_SECONDS
    """A server's Retry-After beyond this is not waited for; the provider gives up at once."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must be >= 0")

    def should_retry(self, error: ProviderError, attempt: int) -> bool:
        """Retry after `attempt` (1-based) failed with `error`?"""
        if not error.retryable or attempt >= self.max_attempts:
            return False
        return error.retry_after is None or error.retry_after <= self.max_retry_after

    def delay(self, error: ProviderError, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before the next attempt: the server's Retry-After, else jittered backoff."""
        if error.retry_after is not None:
            return max(0.0, error.retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling * rng()


class DeltaGuard:
    """Passes streamed text on, and says so when an interrupted answer starts again."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self.emitted = False
        self.restart_pending = False

    @classmethod
    def wrap(cls, sink: Callable[[str], None] | None) -> DeltaGuard | None:
        return sink if sink is None or isinstance(sink, DeltaGuard) else cls(sink)

    def __call__(self, text: str) -> None:
        if not text:
            return
        if self.restart_pending:
            self.restart_pending = False
            self.sink(STREAM_RESTART_NOTICE)
        self.emitted = True
        self.sink(text)

    def restart(self) -> None:
        """The attempt that streamed failed: the next text is preceded by a notice."""
        if self.emitted:
            self.emitted, self.restart_pending = False, True


def classify(exc: BaseException, provider: str) -> ProviderError | None:
    """The ProviderError for an exception from the openai SDK or from parsing its reply, else None."""
    import openai

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(f"{provider}: request timed out", provider=provider, outcome=CallOutcome.TIMEOUT)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"{provider}: connection failed: {_cause(exc)}", provider=provider,
                             outcome=CallOutcome.CONNECTION_ERROR)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, provider)
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, MalformedReply)):
        return ProviderError(f"{provider}: malformed reply: {exc}", provider=provider,
                             outcome=CallOutcome.MALFORMED)
    if isinstance(exc, openai.APIError):
        # An error event in the middle of a stream: the server failed after it had started.
        return ProviderError(f"{provider}: error during the reply: {exc.message}", provider=provider,
                             outcome=CallOutcome.SERVER_ERROR)
    return None


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds a server asks us to wait: retry-after-ms, or Retry-After in seconds or as an HTTP date."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / divisor
        except ValueError:
            if divisor == 1.0:
                return _http_date_delay(raw, now)
            continue
        if math.isfinite(value) and value >= 0:
            return value
    return None


def clip(text: str, secret: str | None = None) -> str:
    """An error text fit to log and store: shortened, with the secret (the API key) masked."""
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "..."


def _status_error(exc: object, provider: str) -> ProviderError:
    status = getattr(exc, "status_code", 0)
    response = getattr(exc, "response", None)
    retry_after = retry_after_seconds(response.headers if response is not None else None)
    message = getattr(exc, "message", str(exc))
    if status == 429:
        outcome = CallOutcome.RATE_LIMITED
    elif status >= 500:
        outcome = CallOutcome.SERVER_ERROR
    else:
        outcome, retry_after = CallOutcome.CLIENT_ERROR, None
    return ProviderError(f"{provider}: HTTP {status}: {message}", provider=provider, outcome=outcome,
                         status=status, retry_after=retry_after)


def _http_date_delay(raw: str, now: float | None) -> float | None:
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    delay = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    return max(0.0, delay)


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{cause.__class__.__name__}" if cause is not None else exc.__class__.__name__


def time_left(deadline: float | None) -> float | None:
    """Seconds until a time.monotonic() deadline (negative once past it); None without a deadline."""
    return None if deadline is None else deadline - time.monotonic()


def capped_timeout(timeout: Any, left: float | None) -> Any:
    """An SDK timeout (float or httpx.Timeout) with every phase cut to `left` seconds, when that is less."""
    if left is None:
        return timeout
    left = max(left, 0.001)
    if isinstance(timeout, (int, float)):
        return min(float(timeout), left)

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return type(timeout)(connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write),
                         pool=cut(timeout.pool))
