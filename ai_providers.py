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
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from config import ConfigError, Settings
from providers.base import (
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_OUTPUT_TOKENS,
    DEFAULT_MAX_TOOL_ROUNDS,
    DEFAULT_TIMEOUT_SECONDS,
    LOCAL_PROVIDER_NAME,
    MAX_OUTPUT_TOKENS_LIMIT,
    MESSAGE_ROLES,
    NO_KEY_PLACEHOLDER,
    OPENAI_DEFAULT_BASE_URL,
    CallState,
    ModelReply,
    Provider,
    ProviderOptions,
    ProviderRequest,
    ProviderResponse,
    RemoteProvider,
    estimate_tokens,
    make_openai_client,
)
from providers.faults import (
    STREAM_RESTART_NOTICE,
    BreakerState,
    CallOutcome,
    CircuitBreaker,
    DeltaGuard,
    MalformedReply,
    ProviderError,
    RetryPolicy,
)
from providers.usage import BudgetExceeded, CallRecord, UsageLedger
from telemetry.events import EventKind, emit

__all__ = [
    "BreakerState", "BudgetExceeded", "CallOutcome", "CircuitBreaker", "LocalProvider", "OpenAIChatProvider",
    "Provider", "ProviderChain", "ProviderError", "ProviderOptions", "ProviderRequest", "ProviderResponse",
    "RetryPolicy", "STREAM_RESTART_NOTICE", "UsageLedger", "build_providers",
    # re-exported from providers.base, where the shared types live (ai_providers_enhanced builds on them)
    "DEFAULT_CONNECT_TIMEOUT_SECONDS", "DEFAULT_MAX_OUTPUT_TOKENS", "DEFAULT_MAX_TOOL_ROUNDS",
    "DEFAULT_TIMEOUT_SECONDS", "MAX_OUTPUT_TOKENS_LIMIT", "MESSAGE_ROLES", "NO_KEY_PLACEHOLDER",
    "OPENAI_DEFAULT_BASE_URL", "CallState", "ModelReply", "RemoteProvider", "make_openai_client",
]

logger = logging.getLogger(__name__)

LOCAL_MODEL = "builtin-analyzers"
"""Model name the offline provider reports and records."""

CHAT_COMPLETIONS_PATH = "/chat/completions"
"""The Chat Completions endpoint, below the client's base URL."""

OFFLINE_NOTICE = "(Answered offline by OperatorOS's built-in analyzers, not by a language model.)"
"""Ends every offline reply, as the README promises."""

class LocalProvider(Provider):
    """Offline and deterministic: answers with the domain agents' analyzer, never with a model."""

    name = LOCAL_PROVIDER_NAME
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
        emit(EventKind.PROVIDER_CALL, {"provider": self.name, "model": self.model, "outcome": CallOutcome.OK.value,
                                       "tokens_in": 0, "tokens_out": 0, "latency_ms": round(latency_ms, 1)})
        return ProviderResponse(text, [], 0, 0, latency_ms, self.name, self.model, 1,
                                request_id=request.request_id)


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
        body: dict[str, Any] = {"model": self.model, "messages": messages,
                                self.max_tokens_param: state.request.max_output_tokens}
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "none" if final else "auto"
        options: Any = {"timeout": self.call_timeout(state)}
        # The body is posted as it is and the reply read as JSON, through the SDK's client (its HTTP, auth,
        # errors, server-sent events): the typed layer around them (create()'s walk of the messages against
        # its typed dicts, a pydantic object built per chunk) cost more CPU than the call itself, and with
        # a pool of agents on a fast model the process is CPU-bound (issue 22: 2.6 ms of CPU per streamed
        # call in one thread, against 5.8 ms through chat.completions.create).
        if state.emit is not None:
            return self._streamed_round(state, body, options, messages)
        reply = self.client.post(CHAT_COMPLETIONS_PATH, body=body, options=options, cast_to=object)
        return _parse_completion(reply)

    def _streamed_round(self, state: CallState, body: dict[str, Any], options: Any,
                        messages: list[dict[str, Any]]) -> ModelReply:
        assert state.emit is not None
        parts: list[str] = []
        calls: dict[int, list[str]] = {}
        usage = None
        with self.client.post(CHAT_COMPLETIONS_PATH, body={**body, "stream": True, "stream_options":
                                                           {"include_usage": True}},
                              options=options, cast_to=object, stream=True, stream_cls=_chunk_stream()) as stream:
            for chunk in stream:
                content, usage = _read_chunk(chunk, calls, usage)
                for text in content:
                    parts.append(text)
                    state.emit(text)
        text = "".join(parts)
        found = [(cid, name, args) for cid, name, args in (calls[i] for i in sorted(calls))]
        if usage is not None:
            tokens_in, tokens_out = usage
        else:
            tokens_in, tokens_out = estimate_tokens(str(messages)), estimate_tokens(text + str(found))
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


def _chat_messages(request: ProviderRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    return messages + [{"role": m["role"], "content": m["content"]} for m in request.messages]


def _parse_completion(completion: Any) -> ModelReply:
    """A chat completion (its JSON) as the text, the tool calls and the tokens of one attempt."""
    try:
        message = completion["choices"][0]["message"]
        calls = [(call["id"], call["function"]["name"], call["function"]["arguments"])
                 for call in message.get("tool_calls") or [] if call.get("type", "function") == "function"]
        text = message.get("content") or ""
        usage = completion.get("usage")
        tokens_in, tokens_out = ((usage["prompt_tokens"], usage["completion_tokens"]) if usage is not None
                                 else (0, estimate_tokens(text)))
    except (AttributeError, IndexError, TypeError, KeyError) as exc:
        raise MalformedReply(f"not a chat completion: {type(completion).__name__}") from exc
    if not isinstance(text, str):
        raise MalformedReply(f"not a chat completion: its content is a {type(text).__name__}")
    return ModelReply((text, calls), _outcome(calls), tokens_in, tokens_out)


def _read_chunk(chunk: Any, calls: dict[int, list[str]], usage: tuple[int, int] | None
                ) -> tuple[list[str], tuple[int, int] | None]:
    """One streamed chunk (its JSON): its pieces of text, its parts of tool calls (added to `calls`: index ->
    [id, name, arguments]) and the usage it reports (else `usage` as it was)."""
    texts: list[str] = []
    try:
        reported = chunk.get("usage")
        if reported:
            usage = (reported["prompt_tokens"], reported["completion_tokens"])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                if not isinstance(content, str):
                    raise TypeError(f"content is a {type(content).__name__}")
                texts.append(content)
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(call["index"], ["", "", ""])
                slot[0] = call.get("id") or slot[0]
                function = call.get("function")
                if function is not None:
                    slot[1] += function.get("name") or ""
                    slot[2] += function.get("arguments") or ""
    except (AttributeError, IndexError, TypeError, KeyError) as exc:
        raise MalformedReply(f"not a chat completion chunk: {exc}") from exc
    return texts, usage


@functools.cache
def _chunk_stream() -> Any:
    """The SDK's stream of server-sent events, yielding each chunk's JSON as it is (no typed object per chunk)."""
    import openai

    return openai.Stream[object]


def _outcome(calls: list[Any]) -> CallOutcome:
    return CallOutcome.TOOL_CALLS if calls else CallOutcome.OK


def _generic_offline_reply(request: ProviderRequest) -> str:
    asked = " ".join(request.last_user_text.split())
    asked = asked if len(asked) <= 160 else asked[:157] + "..."
    return (f"No language model is configured or reachable, so I cannot analyse this {request.pool} request "
            f"in depth: \"{asked}\". Set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server) for "
            "model answers; status, health, pools and tasks work fully offline.")
