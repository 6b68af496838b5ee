"""AI providers: request and response types, the offline provider, OpenAI-compatible Chat Completions, chain.

Every provider answers `complete(ProviderRequest) -> ProviderResponse`. `build_providers` picks
them from the settings and returns a `ProviderChain` that tries each in turn and ends with the
offline `LocalProvider`, so a provider fault never reaches the caller: the answer names the
provider that gave it and those it fell back from.

Accounting: every attempt (one HTTP call to a provider, or one offline answer) is one row of
provider_calls, tagged with the request's `request_id`. An answered request has exactly one row
with outcome 'ok'; failed attempts, tool-call rounds and Conversations API calls have their own
outcomes (provider_faults.CallOutcome). The openai SDK's own retries are off (`max_retries=0`):
retries, backoff, breakers and budgets are ours, so that each attempt is seen and recorded once.
"""
from __future__ import annotations

import functools
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from config import ConfigError, Settings
from errors import BadRequest
from providers.faults import (
    DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_RESET_TIMEOUT_SECONDS,
    STREAM_RESTART_NOTICE,
    BreakerState,
    CallOutcome,
    CircuitBreaker,
    DeltaGuard,
    MalformedReply,
    ProviderError,
    RetryPolicy,
    capped_timeout,
    classify,
    time_left,
)
from providers.tools import ToolCall, ToolSpec, run_tool
from providers.usage import (
    DEFAULT_USER_COST_BUDGET_USD,
    DEFAULT_USER_TOKEN_BUDGET,
    BudgetExceeded,
    CallRecord,
    UsageLedger,
)
from values import parse_pool

__all__ = [
    "BreakerState", "BudgetExceeded", "CallOutcome", "CircuitBreaker", "LocalProvider", "OpenAIChatProvider",
    "Provider", "ProviderChain", "ProviderError", "ProviderOptions", "ProviderRequest", "ProviderResponse",
    "RetryPolicy", "STREAM_RESTART_NOTICE", "UsageLedger", "build_providers",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_OUTPUT_TOKENS = 1024
"""Output token cap sent with every model call unless the request sets its own."""

MAX_OUTPUT_TOKENS_LIMIT = 32_768
"""Largest max_output_tokens a request may ask for."""

DEFAULT_TIMEOUT_SECONDS = 60.0
"""Timeout of each HTTP call to a provider (read, write and pool, each)."""

DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
"""Timeout of opening a connection: an unreachable host fails fast and the chain falls back."""

DEFAULT_MAX_TOOL_ROUNDS = 4
"""Rounds of tool calls a model may ask for per request; the call after the last round forbids tools."""

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Used when OPENAI_BASE_URL is not set (the SDK's own environment lookup is bypassed)."""

NO_KEY_PLACEHOLDER = "not-needed"
"""Bearer token sent to a compatible server (Ollama, vLLM...) when no OPENAI_API_KEY is set."""

LOCAL_MODEL = "builtin-analyzers"
"""Model name the offline provider reports and records."""

OFFLINE_NOTICE = "(Answered offline by OperatorOS's built-in analyzers, not by a language model.)"
"""Ends every offline reply, as DESIGN.md requires."""

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

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.connect_timeout <= 0 or self.max_tool_rounds < 0:
            raise ValueError("timeouts must be > 0 and max_tool_rounds >= 0")


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
        return self.provider == LocalProvider.name


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


class LocalProvider(Provider):
    """Offline and deterministic: answers with the domain agents' analyzer, never with a model."""

    name = "local"
    model = LOCAL_MODEL

    def __init__(self, analyzer: Callable[[ProviderRequest], str] | None = None, *,
                 ledger: UsageLedger | None = None) -> None:
        self.analyzer = analyzer
        self.ledger = ledger or UsageLedger(None)
        self.breaker = CircuitBreaker()

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        started = time.perf_counter()
        body = self.analyzer(request) if self.analyzer is not None else _generic_offline_reply(request)
        text = body if OFFLINE_NOTICE in body else f"{body.rstrip()}\n\n{OFFLINE_NOTICE}"
        if request.on_delta is not None:
            request.on_delta(text)
        latency_ms = (time.perf_counter() - started) * 1000
        self.ledger.record(CallRecord(self.name, self.model, request.request_id, CallOutcome.OK.value,
                                      latency_ms, user_id=request.user_id, task_id=request.task_id))
        return ProviderResponse(text, [], 0, 0, latency_ms, self.name, self.model, 1,
                                request_id=request.request_id)


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

    def attempt(self, state: CallState, send: Callable[[], ModelReply], max_attempts: int | None = None
                ) -> ModelReply:
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
                reply = send()
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
            time.sleep(pause)

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
        results = [run_tool(state.request.tools, call_id, name, args) for call_id, name, args in calls]
        state.tool_calls.extend(results)
        return results

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


class OpenAIChatProvider(RemoteProvider):
    """Chat Completions on any OpenAI-compatible server, with a bounded function-calling loop."""

    name = "openai-chat"

    def __init__(self, *, max_tokens_param: str = "max_completion_tokens", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_tokens_param = max_tokens_param
        """'max_completion_tokens' (OpenAI) or 'max_tokens' for servers that only know the old name."""

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer, running the model's tool calls with our handlers.

        1. Send the messages (and tools, if any) to /chat/completions, streamed when on_delta is set.
        2. No tool calls: that is the answer.
        3. Else run each tool, append the calls and their outputs, and go to 1; the last allowed
           call sends tool_choice='none', so at most max_tool_rounds + 1 model calls are made.
        """
        state = CallState(request)
        messages = _chat_messages(request)
        tools = [tool.openai_chat_schema() for tool in request.tools]
        rounds = self.options.max_tool_rounds
        for round_no in range(rounds + 1):
            send = functools.partial(self._round, state, messages, tools, round_no == rounds)
            reply = self.attempt(state, send)
            text, calls = reply.value
            if not calls:
                return self.response(state, text)
            if round_no == rounds:
                break
            messages.append({"role": "assistant", "content": text or None, "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in calls]})
            for result in self.run_tools(state, calls):
                messages.append({"role": "tool", "tool_call_id": result.call_id, "content": result.output})
        raise self.tool_loop_error(state)

    def _round(self, state: CallState, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
               final: bool) -> ModelReply:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "timeout": self.call_timeout(state),
                                  self.max_tokens_param: state.request.max_output_tokens}
        if tools:
            kwargs.update(tools=tools, tool_choice="none" if final else "auto")
        if state.emit is not None:
            return self._streamed_round(state, kwargs, messages)
        return _parse_completion(self.client.chat.completions.create(**kwargs))

    def _streamed_round(self, state: CallState, kwargs: dict[str, Any], messages: list[dict[str, Any]]
                        ) -> ModelReply:
        assert state.emit is not None
        parts: list[str] = []
        calls: dict[int, list[str]] = {}
        usage = None
        with self.client.chat.completions.create(**kwargs, stream=True,
                                                 stream_options={"include_usage": True}) as stream:
            for chunk in stream:
                usage = getattr(chunk, "usage", None) or usage
                for choice in getattr(chunk, "choices", None) or []:
                    delta = choice.delta
                    if delta.content:
                        parts.append(delta.content)
                        state.emit(delta.content)
                    for call in delta.tool_calls or []:
                        slot = calls.setdefault(call.index, ["", "", ""])
                        slot[0] = call.id or slot[0]
                        if call.function is not None:
                            slot[1] += call.function.name or ""
                            slot[2] += call.function.arguments or ""
        text = "".join(parts)
        found = [(cid, name, args) for cid, name, args in (calls[i] for i in sorted(calls))]
        if usage is not None:
            tokens_in, tokens_out = usage.prompt_tokens, usage.completion_tokens
        else:
            tokens_in, tokens_out = _estimate_tokens(str(messages)), _estimate_tokens(text + str(found))
        return ModelReply((text, found), _outcome(found), tokens_in, tokens_out)


class ProviderChain:
    """Providers in order of preference, ending with the offline one; `complete` always answers.

    Thread-safe: each provider's breaker is, and the SDK clients are.
    """

    def __init__(self, providers: list[Provider]) -> None:
        if not providers or not isinstance(providers[-1], LocalProvider):
            raise ValueError("a provider chain must end with the LocalProvider")
        self.providers = list(providers)

    @property
    def names(self) -> list[str]:
        """Provider names, in the order they are tried."""
        return [provider.name for provider in self.providers]

    @property
    def primary(self) -> Provider:
        """The provider tried first."""
        return self.providers[0]

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer with the first provider that can; faults fall back to the next.

        1. Try each provider in order; a ProviderError (after that provider's retries, or at once
           when its breaker is open) moves on to the next one.
        2. The offline provider at the end always answers.

        Raises:
            BudgetExceeded: the user's budget is spent (before any paid call is made).
        """
        started = time.perf_counter()
        guard = DeltaGuard.wrap(request.on_delta)
        request = replace(request, on_delta=guard)
        failed: list[str] = []
        attempts = 0
        for provider in self.providers:
            try:
                response = provider.complete(request)
            except ProviderError as exc:
                logger.warning("%s could not answer (%s); falling back", provider.name, exc.outcome.value)
                failed.append(provider.name)
                attempts += exc.attempts
                if guard is not None:
                    guard.restart()
                continue
            response.fallback_from = failed
            response.attempts += attempts
            response.latency_ms = (time.perf_counter() - started) * 1000
            return response
        raise AssertionError("unreachable: the chain ends with the offline provider")

    def breaker_states(self) -> dict[str, str]:
        """{provider name: closed | open | half_open}, for the health monitor."""
        return {provider.name: provider.breaker.state.value for provider in self.providers}

    def close(self) -> None:
        """Release every provider's connections."""
        for provider in self.providers:
            provider.close()

    def __enter__(self) -> ProviderChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_providers(settings: Settings, session_factory: Any,
                    analyzer: Callable[[ProviderRequest], str] | None = None, *,
                    options: ProviderOptions | None = None) -> ProviderChain:
    """The chain for these settings: [openai-responses, openai-chat, local], [openai-chat, local] or [local].

    Args:
        settings: where OPENAI_API_KEY, OPENAI_BASE_URL, OPERATOROS_MODEL and OPERATOROS_PROVIDER come from.
        session_factory: database sessions for provider_calls, budgets and conversations (None: none kept).
        analyzer: the domain agents' offline answerer, used by the LocalProvider.
        options: timeouts, retries, breakers, tool rounds and budgets (defaults otherwise).

    Raises:
        ConfigError: an OpenAI provider is named explicitly but neither a key nor a base URL is set.
    """
    options = options or ProviderOptions()
    ledger = UsageLedger(session_factory, token_budget=options.token_budget,
                         cost_budget_usd=options.cost_budget_usd)
    local = LocalProvider(analyzer, ledger=ledger)
    choice = settings.chosen_provider
    if choice == "local":
        return ProviderChain([local])
    if not settings.openai_api_key and not settings.openai_base_url:
        raise ConfigError(f"OPERATOROS_PROVIDER={choice} needs OPENAI_API_KEY, or OPENAI_BASE_URL for a "
                          "compatible server that needs no key")
    common: dict[str, Any] = {"model": settings.model, "api_key": settings.openai_api_key,
                              "base_url": settings.openai_base_url, "ledger": ledger, "options": options}
    chat = OpenAIChatProvider(**common)
    if choice == "openai-chat":
        return ProviderChain([chat, local])
    from ai_providers_enhanced import OpenAIResponsesProvider

    return ProviderChain([OpenAIResponsesProvider(session_factory=session_factory, **common), chat, local])


def make_openai_client(api_key: str | None, base_url: str, options: ProviderOptions) -> Any:
    """An openai.OpenAI client with the SDK's retries off (ours count and record each attempt)."""
    import openai  # ~0.5 s to import: only paid for when a remote provider is built

    timeout = openai.Timeout(options.timeout, connect=min(options.connect_timeout, options.timeout))
    return openai.OpenAI(api_key=api_key or NO_KEY_PLACEHOLDER, base_url=base_url, max_retries=0,
                         timeout=timeout)


def _chat_messages(request: ProviderRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    return messages + [{"role": m["role"], "content": m["content"]} for m in request.messages]


def _parse_completion(completion: Any) -> ModelReply:
    try:
        message = completion.choices[0].message
        calls = [(call.id, call.function.name, call.function.arguments)
                 for call in message.tool_calls or [] if getattr(call, "type", "function") == "function"]
        usage = completion.usage
        tokens_in, tokens_out = (usage.prompt_tokens, usage.completion_tokens) if usage is not None else (
            0, _estimate_tokens(message.content or ""))
        text = message.content or ""
    except (AttributeError, IndexError, TypeError, KeyError) as exc:
        raise MalformedReply(f"not a chat completion: {type(completion).__name__}") from exc
    return ModelReply((text, calls), _outcome(calls), tokens_in, tokens_out)


def _outcome(calls: list[Any]) -> CallOutcome:
    return CallOutcome.TOOL_CALLS if calls else CallOutcome.OK


def _estimate_tokens(text: str) -> int:
    # About four characters a token: only used when a server reports no usage.
    return max(1, len(text) // 4)


def _generic_offline_reply(request: ProviderRequest) -> str:
    asked = " ".join(request.last_user_text.split())
    asked = asked if len(asked) <= 160 else asked[:157] + "..."
    return (f"No language model is configured or reachable, so I cannot analyse this {request.pool} request "
            f"in depth: \"{asked}\". Set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server) for "
            "model answers; status, health, pools and tasks work fully offline.")
