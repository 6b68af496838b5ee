"""The providers' shared types: request, response and options, the Provider interface, and the
RemoteProvider base of the openai SDK providers (timeouts, retries, breaker, budget, recording).

ai_providers (offline, Chat Completions, the chain) and ai_providers_enhanced (Responses and
Conversations) both build on this module; neither imports the other at import time.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from errors import BadRequest
from providers.faults import (
    DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_RESET_TIMEOUT_SECONDS,
    CallOutcome,
    CircuitBreaker,
    DeltaGuard,
    ProviderError,
    RetryPolicy,
    capped_timeout,
    classify,
    time_left,
)
from providers.tools import ToolCall, ToolSpec, run_tool
from providers.usage import DEFAULT_USER_COST_BUDGET_USD, DEFAULT_USER_TOKEN_BUDGET, CallRecord, UsageLedger
from telemetry import tracing
from telemetry.events import EventKind, emit
from values import parse_pool

if TYPE_CHECKING:
    from safety.policies import SafetyDecision

logger = logging.getLogger(__name__)

LOCAL_PROVIDER_NAME = "local"
"""Name of the offline provider (ai_providers.LocalProvider)."""

DEFAULT_MAX_OUTPUT_TOKENS = 1024
"""Output token cap sent with every model call unless the request sets its own."""

MAX_OUTPUT_TOKENS_LIMIT = 32_768
"""Largest max_output_tokens a request may ask for."""

DEFAULT_TIMEOUT_SECONDS = 60.0
"""Timeout of each HTTP call to a provider (read, write and pool, each)."""

DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
"""Timeout of opening a connection: an unreachable host fails fast and the chain falls back."""

DEFAULT_MAX_CONNECTIONS = 512
"""HTTP connections a provider's client keeps to its server: more than every agent of a process calling at
once (an agent makes one call at a time; idle connections close after the SDK's keep-alive expiry)."""

DEFAULT_MAX_TOOL_ROUNDS = 4
"""Rounds of tool calls a model may ask for per request; the call after the last round forbids tools."""

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Used when OPENAI_BASE_URL is not set (the SDK's own environment lookup is bypassed)."""

NO_KEY_PLACEHOLDER = "not-needed"
"""Bearer token sent to a compatible server (Ollama, vLLM...) when no OPENAI_API_KEY is set."""

MESSAGE_ROLES = ("system", "developer", "user", "assistant")
"""Roles a request's messages may have."""


@dataclass(frozen=True)
class ProviderOptions:
    """Limits shared by the providers of a chain; tests shrink the delays."""

    timeout: float = DEFAULT_TIMEOUT_SECONDS
    """Seconds per HTTP call."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    """Seconds to open a connection (capped by `timeout`)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Attempts and backoff per model call."""
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    """Consecutive failed attempts that open a provider's breaker."""
    reset_timeout: float = DEFAULT_RESET_TIMEOUT_SECONDS
    """Seconds an open breaker waits before a probe."""
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS
    """Tool-call rounds per request."""
    token_budget: int = DEFAULT_USER_TOKEN_BUDGET
    """Tokens per user before paid calls are refused."""
    cost_budget_usd: float = DEFAULT_USER_COST_BUDGET_USD
    """Estimated USD per user before paid calls are refused."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """HTTP connections each provider's client keeps open (one per agent calling at once)."""

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.connect_timeout <= 0 or self.max_tool_rounds < 0 or self.max_connections < 1:
            raise ValueError("timeouts must be > 0, max_tool_rounds >= 0 and max_connections >= 1")


@dataclass
class ProviderRequest:
    """What a domain agent asks a provider."""

    messages: list[dict[str, str]]
    """The conversation so far, oldest first, as {'role', 'content'}; the last turn is the new one."""
    system: str | None = None
    """Instructions for this request (not stored in a provider conversation)."""
    tools: list[ToolSpec] = field(default_factory=list)
    """Functions the model may call; our handlers run them."""
    pool: str = "general"
    """Pool of the agent asking."""
    user_id: int | None = None
    """Whose budget pays, and whose provider_calls rows these are."""
    task_id: int | None = None
    """The task being worked, if any."""
    session_id: str | None = None
    """OperatorOS session: the Responses provider keeps one provider conversation per session."""
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    """Output token cap of each model call."""
    on_delta: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    """Called with each piece of text as it arrives (streaming); None for one answer at the end."""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Ties together the provider_calls rows of this request."""
    deadline: float | None = None
    """time.monotonic() by which an answer is needed (the task's time limit): remote calls are cut to
    fit before it, and past it they give way at once to the offline provider, which always answers."""
    safety: SafetyDecision | None = field(default=None, compare=False)
    """The request's safety decision, made once when its task was submitted: providers and the offline
    analyzers read it and never remake it; the reply guard after the provider applies it."""

    def __post_init__(self) -> None:
        if not self.messages:
            raise BadRequest("a provider request needs at least one message")
        for message in self.messages:
            if message.get("role") not in MESSAGE_ROLES or not isinstance(message.get("content"), str):
                raise BadRequest(f"each message needs a role in {MESSAGE_ROLES} and text content: "
                                 f"{message!r:.80}")
        parse_pool(self.pool)
        if not 1 <= self.max_output_tokens <= MAX_OUTPUT_TOKENS_LIMIT:
            raise BadRequest(f"max_output_tokens must be between 1 and {MAX_OUTPUT_TOKENS_LIMIT}")

    @property
    def last_user_text(self) -> str:
        """The latest user message, or '' when there is none."""
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


@dataclass
class ProviderResponse:
    """A provider's answer and what it cost."""

    text: str
    """The answer."""
    tool_calls: list[ToolCall]
    """Tools the model called, with our handlers' outputs, in order."""
    tokens_in: int
    """Input tokens over every call of this answer."""
    tokens_out: int
    """Output tokens over every call of this answer."""
    latency_ms: float
    """Wall time of the whole request, retries and fallbacks included (the chain's clock)."""
    provider: str
    """Name of the provider that answered: local, openai-chat or openai-responses."""
    model: str
    """Model of that provider."""
    attempts: int
    """Calls made for this answer, over all providers tried (each is one provider_calls row)."""
    fallback_from: list[str] = field(default_factory=list)
    """Providers that failed before this one answered, in order."""
    cost_usd: float = 0.0
    """Estimated USD of the calls of this answer (price table of provider_usage)."""
    request_id: str = ""
    """The request's id, as in provider_calls.request_id."""
    conversation_id: str | None = None
    """Provider conversation used (Responses provider with a session), else None."""

    @property
    def offline(self) -> bool:
        """True when the built-in analyzers answered."""
        return self.provider == LOCAL_PROVIDER_NAME


class Provider(ABC):
    """An AI provider. Implementations raise ProviderError for faults, never anything else for them."""

    name: str = "provider"
    model: str = ""
    metered: bool = False
    """True when calls cost money (budgets are checked)."""
    breaker: CircuitBreaker

    @abstractmethod
    def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer the request.

        Raises:
            ProviderError: the provider could not answer (after its own retries).
            BudgetExceeded: the user's budget is spent (metered providers).
        """

    def close(self) -> None:  # noqa: B027  (optional hook: most providers hold nothing)
        """Release connections; the provider is not used afterwards."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ModelReply:
    """One successful attempt: what it returned, and what to record."""

    value: Any
    outcome: CallOutcome
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass
class CallState:
    """Running totals of one request on one provider."""

    request: ProviderRequest
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    tool_calls: list[ToolCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.emit = DeltaGuard.wrap(self.request.on_delta)


class RemoteProvider(Provider):
    """A provider behind the openai SDK: timeouts, retries, breaker, budget and recording of attempts."""

    metered = True

    def __init__(self, *, model: str, api_key: str | None, base_url: str | None,
                 ledger: UsageLedger | None = None, options: ProviderOptions | None = None,
                 client: Any | None = None) -> None:
        self.model = model
        self.options = options or ProviderOptions()
        self.ledger = ledger or UsageLedger(None)
        self.base_url = base_url or OPENAI_DEFAULT_BASE_URL
        self.breaker = CircuitBreaker(self.options.failure_threshold, self.options.reset_timeout)
        self._secret = api_key
        self._owns_client = client is None
        self.client = client if client is not None else make_openai_client(api_key, self.base_url,
                                                                             self.options)
        self.timeout = self.client.timeout
        """Sent with every call: read/write timeout, and the shorter connect timeout."""

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def attempt(self, state: CallState, send: Callable[[], ModelReply], max_attempts: int | None = None,
                operation: str = "chat") -> ModelReply:
        """Make one model (or Conversations API) call, retrying it within the policy.

        1. Refuse when the user's budget is spent (BudgetExceeded), or when the breaker is open.
        2. Send, with the timeout of every call; a fault of the SDK or of the reply is classified.
        3. Record the attempt once (provider_calls row, user's usage) and tell the breaker.
        4. Return a success; on a fault, give up when it is not retryable or the attempts are
           spent (ProviderError), else wait (Retry-After, or backoff with jitter) and go to 1.
        """
        policy, number = self.options.retry, 0
        limit = max_attempts or policy.max_attempts
        while True:
            number += 1
            left = time_left(state.request.deadline)
            if left is not None and left <= 0:
                raise ProviderError(f"{self.name}: no time left before the task's deadline", provider=self.name,
                                    outcome=CallOutcome.TIMEOUT, attempts=state.attempts)
            self.ledger.check_budget(state.request.user_id)
            if not self.breaker.allow():
                raise ProviderError(f"{self.name}: circuit breaker is open", provider=self.name,
                                    outcome=CallOutcome.BREAKER_OPEN, attempts=state.attempts)
            started = time.perf_counter()
            try:
                with tracing.span(f"{operation} {self.model}", self._span_attributes(state, operation),
                                  client=True) as span:
                    reply = send()
                    tracing.annotate(span, {"gen_ai.usage.input_tokens": reply.tokens_in,
                                            "gen_ai.usage.output_tokens": reply.tokens_out})
            except Exception as exc:
                error = classify(exc, self.name)
                if error is None:
                    self.breaker.record_failure()
                    raise
                error.mask(self._secret)
            else:
                self._record(state, reply.outcome, started, reply.tokens_in, reply.tokens_out)
                self.breaker.record_success()
                return reply
            self._record(state, error.outcome, started, error=error.message)
            (self.breaker.record_failure if error.counts_against_breaker else self.breaker.record_success)()
            if state.emit is not None:
                state.emit.restart()
            if number >= limit or not policy.should_retry(error, number):
                logger.warning("%s: giving up after %d attempt(s): %s", self.name, number, error.message)
                error.attempts = state.attempts
                raise error
            pause = policy.delay(error, number)
            left = time_left(state.request.deadline)
            if left is not None and pause >= left:
                logger.warning("%s: giving up, the task's deadline comes before the next attempt", self.name)
                error.attempts = state.attempts
                raise error
            emit(EventKind.RETRY, {"scope": "provider", "provider": self.name, "attempt": number,
                                   "error": error.message, "delay_seconds": round(pause, 3)})
            time.sleep(pause)

    def _span_attributes(self, state: CallState, operation: str) -> dict[str, Any]:
        """The GenAI conventions' attributes of one model call (`chat {model}` span)."""
        request = state.request
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation, "gen_ai.provider.name": "openai", "gen_ai.request.model": self.model,
            "gen_ai.request.max_tokens": request.max_output_tokens, "gen_ai.conversation.id": request.session_id,
            "server.address": self.client.base_url.host if hasattr(self.client, "base_url") else None,
            "operatoros.provider": self.name, "operatoros.task.id": request.task_id}
        if tracing.content_enabled():
            attributes["gen_ai.input.messages"] = json.dumps(request.messages)
        return attributes

    def call_timeout(self, state: CallState) -> Any:
        """The timeout of one HTTP call: the client's, cut to the time left before the request's deadline."""
        return capped_timeout(self.timeout, time_left(state.request.deadline))

    def response(self, state: CallState, text: str, conversation_id: str | None = None) -> ProviderResponse:
        """The answer of a finished request."""
        if state.emit is not None and not state.emit.emitted:
            state.emit(text)
        return ProviderResponse(text, state.tool_calls, state.tokens_in, state.tokens_out,
                                (time.perf_counter() - state.started) * 1000, self.name, self.model,
                                state.attempts, cost_usd=state.cost_usd, request_id=state.request.request_id,
                                conversation_id=conversation_id)

    def run_tools(self, state: CallState, calls: list[tuple[str, str, str]]) -> list[ToolCall]:
        """Run the (call_id, name, arguments) the model asked for with our handlers."""
        results = [self._run_tool(state, call_id, name, args) for call_id, name, args in calls]
        state.tool_calls.extend(results)
        return results

    def _run_tool(self, state: CallState, call_id: str, name: str, args: str) -> ToolCall:
        """One tool call: an `execute_tool {tool}` span and a tool_call event of the task."""
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                      "gen_ai.tool.call.id": call_id, "gen_ai.tool.type": "function"}
        with tracing.span(f"execute_tool {name}", attributes) as span:
            result = run_tool(state.request.tools, call_id, name, args)
            if result.error:
                tracing.annotate(span, {"error.type": "tool_error"})
            if tracing.content_enabled():
                tracing.annotate(span, {"gen_ai.tool.call.arguments": args, "gen_ai.tool.call.result": result.output})
        emit(EventKind.TOOL_CALL, {"tool": name, "call_id": call_id, "ok": result.error is None,
                                   "error": result.error})
        return result

    def tool_loop_error(self, state: CallState) -> ProviderError:
        """The error when a model keeps asking for tools after they were forbidden."""
        return ProviderError(f"{self.name}: the model still asked for tools after "
                             f"{self.options.max_tool_rounds} round(s)", provider=self.name,
                             outcome=CallOutcome.TOOL_LOOP, attempts=state.attempts)

    def _record(self, state: CallState, outcome: CallOutcome, started: float, tokens_in: int = 0,
                tokens_out: int = 0, error: str | None = None) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        cost = self.ledger.cost(self.model, tokens_in, tokens_out)
        state.attempts += 1
        state.tokens_in += tokens_in
        state.tokens_out += tokens_out
        state.cost_usd += cost
        request = state.request
        self.ledger.record(CallRecord(
            self.name, self.model, request.request_id, outcome.value, latency_ms, tokens_in, tokens_out, cost,
            request.user_id, request.task_id, error))
        emit(EventKind.PROVIDER_CALL, {"provider": self.name, "model": self.model, "outcome": outcome.value,
                                       "tokens_in": tokens_in, "tokens_out": tokens_out,
                                       "latency_ms": round(latency_ms, 1), "error": error})


def make_openai_client(api_key: str | None, base_url: str, options: ProviderOptions) -> Any:
    """An openai.OpenAI client with the SDK's retries off (ours count and record each attempt)."""
    import openai  # ~0.5 s to import: only paid for when a remote provider is built

    timeout = openai.Timeout(options.timeout, connect=min(options.connect_timeout, options.timeout))
    # One client per provider serves every agent of the process: keep a connection per agent alive
    # (the SDK's default keeps 100, so a larger pool would reconnect on every call past them).
    # The Limits class of the HTTP library the SDK is built on (httpx, or httpx2 in newer releases).
    limits = type(openai.DEFAULT_CONNECTION_LIMITS)(max_connections=options.max_connections,
                                                    max_keepalive_connections=options.max_connections)
    return openai.OpenAI(api_key=api_key or NO_KEY_PLACEHOLDER, base_url=base_url, max_retries=0,
                         timeout=timeout, http_client=_closing_http_client()(limits=limits, timeout=timeout))


@functools.cache
def _closing_http_client() -> Any:
    """The SDK's default HTTP client class, closing its connections when collected as the SDK's own client does."""
    import openai

    class ClosingHttpClient(openai.DefaultHttpxClient):  # type: ignore[misc,valid-type]
        def __del__(self) -> None:
            if not self.is_closed:
                with contextlib.suppress(Exception):
                    self.close()

    return ClosingHttpClient


def estimate_tokens(text: str) -> int:
    """Tokens of a text at about four characters a token: only used when a server reports no usage."""
    return max(1, len(text) // 4)
