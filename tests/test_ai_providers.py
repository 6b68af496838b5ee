"""The provider layer over HTTP: the real openai SDK against tests/fake_openai.py, real databases."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import database
from ai_providers import (
    OFFLINE_NOTICE,
    STREAM_RESTART_NOTICE,
    BreakerState,
    BudgetExceeded,
    CallOutcome,
    CircuitBreaker,
    LocalProvider,
    OpenAIChatProvider,
    ProviderChain,
    ProviderError,
    ProviderOptions,
    ProviderRequest,
    RetryPolicy,
    UsageLedger,
    build_providers,
)
from config import ConfigError, Settings
from errors import BadRequest
from models import ProviderCall, User
from providers.faults import retry_after_seconds
from providers.tools import ToolSpec
from providers.usage import UNKNOWN_MODEL_PRICE, estimate_cost
from values import POOL_NAMES

from .conftest import ROOT
from .fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

SECRET = "sk-test-SECRET-0123456789abcdef"
"""API key of these tests; it must never show up in logs, rows or errors."""

FAST = ProviderOptions(timeout=1.0, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05,
                                                      max_retry_after=5.0),
                       failure_threshold=5, reset_timeout=0.3, max_tool_rounds=3)
"""Small delays so that fault tests stay fast."""


Factory = sessionmaker[Session]
"""Database sessions of one test."""

Chains = Callable[..., ProviderChain]
"""Makes a provider chain that is closed at the end of the test."""


@pytest.fixture
def factory(sqlite_url: str) -> Iterator[Factory]:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    yield database.make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def any_factory(database_url: str) -> Iterator[Factory]:
    """The same on SQLite and on PostgreSQL."""
    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    yield database.make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def chains() -> Iterator[Chains]:
    """Build chains against a base URL; every one is closed at the end of the test."""
    made: list[ProviderChain] = []

    def make(base_url: str, factory: Any = None, *, provider: str = "openai-chat",
             options: ProviderOptions = FAST, analyzer: Any = None) -> ProviderChain:
        settings = Settings(home=Path("."), database_url="sqlite://", openai_api_key=SECRET,
                            openai_base_url=base_url, provider=provider)
        chain = build_providers(settings, factory, analyzer, options=options)
        made.append(chain)
        return chain

    yield make
    for chain in made:
        chain.close()


def chat_provider(server: FakeOpenAI, options: ProviderOptions = FAST) -> OpenAIChatProvider:
    return OpenAIChatProvider(model="m", api_key=SECRET, base_url=server.base_url, options=options)


def ask(text: str = "hello", **fields: Any) -> ProviderRequest:
    return ProviderRequest(messages=[{"role": "user", "content": text}], **fields)


def add_user(factory: Factory, name: str = "ann", tokens: int = 0, cost: float = 0.0) -> int:
    with database.session_scope(factory) as session:
        user = User(name=name, tokens_used=tokens, cost_used_usd=cost)
        session.add(user)
        session.flush()
        return user.id


def calls(factory: Factory) -> list[ProviderCall]:
    with database.session_scope(factory) as session:
        return list(session.scalars(sa.select(ProviderCall).order_by(ProviderCall.id)))


def outcomes(factory: Factory) -> list[str]:
    return [row.outcome for row in calls(factory)]


ADD = ToolSpec("add", "Add two numbers.", {"type": "object", "properties": {"a": {"type": "number"},
                                                                            "b": {"type": "number"}}},
               lambda a, b: {"sum": a + b})


# -- the offline provider and the choice of providers --------------------------------------------

def test_offline_reply_without_analyzer_is_honest_and_deterministic() -> None:
    local = LocalProvider()
    first, second = local.complete(ask("Analyze AAPL", pool="financial")), local.complete(ask("Analyze AAPL",
                                                                                             pool="financial"))
    assert first.text == second.text
    assert first.text.endswith(OFFLINE_NOTICE)
    assert "No language model" in first.text and "Analyze AAPL" in first.text
    assert (first.provider, first.tokens_in, first.tokens_out, first.offline) == ("local", 0, 0, True)


def test_offline_reply_uses_the_analyzer_and_always_says_so() -> None:
    seen: list[ProviderRequest] = []

    def analyzer(request: ProviderRequest) -> str:
        seen.append(request)
        return f"Heart rate analysis for: {request.last_user_text}"

    response = LocalProvider(analyzer).complete(ask("my pulse is 90", pool="healthcare"))
    assert response.text == f"Heart rate analysis for: my pulse is 90\n\n{OFFLINE_NOTICE}"
    assert seen[0].pool == "healthcare"
    already = LocalProvider(lambda r: f"Done. {OFFLINE_NOTICE}").complete(ask())
    assert already.text.count(OFFLINE_NOTICE) == 1


@pytest.mark.parametrize(("key", "base_url", "provider", "expected"), [
    (None, None, "auto", "local"),
    ("sk", None, "auto", "openai-responses"),
    ("sk", "http://x/v1", "auto", "openai-chat"),
    (None, "http://x/v1", "auto", "openai-chat"),
    ("sk", None, "openai-chat", "openai-chat"),
    ("sk", "http://x/v1", "openai-responses", "openai-responses"),
    ("sk", None, "local", "local"),
])
def test_provider_choice(key: str | None, base_url: str | None, provider: str, expected: str) -> None:
    settings = Settings(home=Path("."), database_url="sqlite://", openai_api_key=key,
                        openai_base_url=base_url, provider=provider)
    assert settings.chosen_provider == expected


def test_chains_end_with_the_offline_provider(fake_openai: FakeOpenAI, chains: Chains
                                              ) -> None:
    assert chains(fake_openai.base_url).names == ["openai-chat", "local"]
    assert chains(fake_openai.base_url, provider="openai-responses").names == [
        "openai-responses", "openai-chat", "local"]
    with chat_provider(fake_openai) as remote, pytest.raises(ValueError, match="must end with the Local"):
        ProviderChain([remote])


def test_an_explicit_openai_provider_without_key_or_url_is_a_config_error() -> None:
    settings = Settings(home=Path("."), database_url="sqlite://", provider="openai-responses")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_providers(settings, None)


def test_requests_are_validated() -> None:
    with pytest.raises(BadRequest):
        ProviderRequest(messages=[])
    with pytest.raises(BadRequest):
        ask(pool="astrology")
    with pytest.raises(BadRequest):
        ask(max_output_tokens=0)
    with pytest.raises(BadRequest):
        ProviderRequest(messages=[{"role": "robot", "content": "x"}])


def test_without_a_key_every_domain_answers_offline_and_the_sdk_is_not_imported(tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "from config import Settings\n"
        "from ai_providers import build_providers, ProviderRequest, OFFLINE_NOTICE\n"
        "from values import POOL_NAMES\n"
        "chain = build_providers(Settings.from_env(), None)\n"
        "replies = {p: chain.complete(ProviderRequest(messages=[{'role': 'user', 'content': 'help me'}],"
        " pool=p)) for p in POOL_NAMES}\n"
        "print(json.dumps({'names': chain.names, 'openai': 'openai' in sys.modules,"
        " 'offline': {p: r.provider == 'local' and r.text.endswith(OFFLINE_NOTICE)"
        "             for p, r in replies.items()}}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env["OPERATOROS_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {"names": ["local"], "openai": False, "offline": {p: True for p in POOL_NAMES}}


# -- Chat Completions: answers, tools, streaming ---------------------------------------------------

def test_chat_answer_is_recorded_and_charged_once(fake_openai: FakeOpenAI, any_factory: Factory,
                                                  chains: Chains) -> None:
    user_id = add_user(any_factory)
    chain = chains(fake_openai.base_url, any_factory)
    first = chain.complete(ask("Analyze AAPL", user_id=user_id, pool="financial", max_output_tokens=300))
    second = chain.complete(ask("and MSFT?", user_id=user_id, pool="financial"))
    assert (first.text, first.provider, first.attempts, first.fallback_from) == (
        "Echo: Analyze AAPL", "openai-chat", 1, [])
    body = fake_openai.model_requests()[0].body
    assert body["max_completion_tokens"] == 300 and body["model"] == "gpt-5-mini"
    assert fake_openai.model_requests()[1].body["max_completion_tokens"] == 1024
    rows = calls(any_factory)
    assert [(r.provider, r.outcome, r.user_id) for r in rows] == [("openai-chat", "ok", user_id)] * 2
    assert [r.request_id for r in rows] == [first.request_id, second.request_id]
    assert rows[0].tokens_in == first.tokens_in > 0 and rows[0].tokens_out == first.tokens_out > 0
    assert rows[0].cost_usd == pytest.approx(estimate_cost("gpt-5-mini", first.tokens_in, first.tokens_out))
    with database.session_scope(any_factory) as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.tokens_used == sum(r.tokens_in + r.tokens_out for r in rows)
        assert user.cost_used_usd == pytest.approx(sum(r.cost_usd for r in rows))


def test_prices_come_from_the_table_by_longest_prefix() -> None:
    assert estimate_cost("gpt-5-mini-2025-08-07", 1_000_000, 1_000_000) == pytest.approx(2.25)
    assert estimate_cost("gpt-5", 1_000_000, 0) == pytest.approx(1.25)
    assert estimate_cost("llama3:8b", 1_000_000, 0) == pytest.approx(UNKNOWN_MODEL_PRICE[0])


def test_tool_calls_run_our_handlers_and_send_back_their_outputs(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    fake_openai.script(Reply.tool_call("add", {"a": 2, "b": 3}))
    response = chains(fake_openai.base_url, factory).complete(ask("what is 2+3?", tools=[ADD]))
    assert response.text == 'Tool result: {"sum": 5}'
    assert [(c.name, c.arguments, c.output) for c in response.tool_calls] == [("add", {"a": 2, "b": 3},
                                                                               '{"sum": 5}')]
    first, second = (r.body for r in fake_openai.model_requests())
    assert first["tools"][0]["function"]["name"] == "add" and first["tool_choice"] == "auto"
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "add"
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": response.tool_calls[0].call_id,
                                      "content": '{"sum": 5}'}
    assert outcomes(factory) == ["tool_calls", "ok"]
    assert response.attempts == 2


def test_the_tool_loop_is_bounded_then_falls_back(fake_openai: FakeOpenAI, factory: Factory,
                                                  chains: Chains) -> None:
    fake_openai.script(*[Reply.tool_call("add", {"a": 1, "b": 1})] * 10)
    response = chains(fake_openai.base_url, factory).complete(ask("loop", tools=[ADD]))
    sent = fake_openai.model_requests()
    assert len(sent) == FAST.max_tool_rounds + 1
    assert [r.body["tool_choice"] for r in sent] == ["auto"] * FAST.max_tool_rounds + ["none"]
    assert (response.provider, response.fallback_from) == ("local", ["openai-chat"])
    assert response.attempts == FAST.max_tool_rounds + 2


def test_streaming_passes_each_piece_on(fake_openai: FakeOpenAI, chains: Chains) -> None:
    pieces: list[str] = []
    fake_openai.script(Reply.tool_call("add", {"a": 4, "b": 5}))
    response = chains(fake_openai.base_url).complete(ask("stream it", tools=[ADD], on_delta=pieces.append))
    assert len(pieces) > 1 and "".join(pieces) == response.text == 'Tool result: {"sum": 9}'
    assert response.tool_calls[0].arguments == {"a": 4, "b": 5}
    assert all(r.body["stream"] is True for r in fake_openai.model_requests())


def test_a_stream_that_stalls_times_out_and_starts_again(fake_openai: FakeOpenAI, factory: Factory,
                                                         chains: Chains) -> None:
    pieces: list[str] = []
    fake_openai.script(Reply.stall(3.0))
    chain = chains(fake_openai.base_url, factory)
    response = chain.complete(ask("one two three four", on_delta=pieces.append))
    assert response.text == "Echo: one two three four"
    assert STREAM_RESTART_NOTICE in pieces
    assert "".join(pieces).endswith(STREAM_RESTART_NOTICE + response.text)
    assert outcomes(factory) == ["timeout", "ok"]


# -- faults -------------------------------------------------------------------------------------

def test_429_is_retried_after_the_retry_after_delay(fake_openai: FakeOpenAI, factory: Factory,
                                                    chains: Chains) -> None:
    fake_openai.script(Reply.error(429, retry_after="1"))
    response = chains(fake_openai.base_url, factory).complete(ask())
    first, second = fake_openai.model_requests()
    assert second.at - first.at >= 0.95
    assert (response.provider, response.attempts) == ("openai-chat", 2)
    assert outcomes(factory) == ["rate_limited", "ok"]


@pytest.mark.parametrize(("reply", "outcome"), [
    (Reply.error(500), "server_error"),
    (Reply.error(503), "server_error"),
    (Reply.slow(3.0), "timeout"),
    (Reply.malformed(), "malformed"),
    (Reply.disconnect(), "connection_error"),
])
def test_transient_faults_are_retried(reply: Reply, outcome: str, fake_openai: FakeOpenAI,
                                      factory: Factory, chains: Chains) -> None:
    fake_openai.script(reply, reply)
    response = chains(fake_openai.base_url, factory).complete(ask("again"))
    assert (response.text, response.provider, response.attempts) == ("Echo: again", "openai-chat", 3)
    assert outcomes(factory) == [outcome, outcome, "ok"]
    assert len(fake_openai.model_requests()) == 3


def _import_the_sdk() -> None:
    """Import the openai SDK before a stopwatch starts: run first on a busy machine, its import (about 0.5 s)
    is not the work a timing test measures."""
    import openai  # noqa: F401


def test_a_hung_model_gives_way_to_the_offline_answer_before_the_task_deadline(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    """A call slower than the time left is cut at the deadline; no retry is started past it."""
    fake_openai.script(Reply.slow(5.0), Reply.slow(5.0), Reply.slow(5.0))
    patient = ProviderOptions(timeout=30.0, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))
    chain = chains(fake_openai.base_url, factory, options=patient)
    _import_the_sdk()
    started = time.monotonic()
    request = replace(ask("hung"), deadline=started + 2.0)
    response = chain.complete(request)
    elapsed = time.monotonic() - started
    assert (response.provider, response.fallback_from) == ("local", ["openai-chat"])
    assert 1.9 <= elapsed < 4.0, elapsed
    assert outcomes(factory) == ["timeout", "ok"]  # one attempt, cut at the deadline; no retry after it


def test_a_backoff_past_the_deadline_is_not_waited_for(fake_openai: FakeOpenAI, factory: Factory,
                                                       chains: Chains) -> None:
    fake_openai.script(Reply.error(429, retry_after="20"), Reply.error(429, retry_after="20"))
    slow_backoff = ProviderOptions(timeout=5.0, retry=RetryPolicy(max_attempts=3, max_retry_after=60.0))
    chain = chains(fake_openai.base_url, factory, options=slow_backoff)
    _import_the_sdk()
    started = time.monotonic()
    response = chain.complete(replace(ask(), deadline=started + 3.0))
    assert response.provider == "local", (outcomes(factory), fake_openai.paths())
    assert time.monotonic() - started < 2.0
    assert len(fake_openai.model_requests()) == 1, (outcomes(factory), fake_openai.paths())


def test_other_4xx_are_not_retried(fake_openai: FakeOpenAI, factory: Factory,
                                   chains: Chains) -> None:
    fake_openai.script(Reply.error(400))
    response = chains(fake_openai.base_url, factory).complete(ask())
    assert len(fake_openai.model_requests()) == 1
    assert (response.provider, response.fallback_from, response.attempts) == ("local", ["openai-chat"], 2)
    assert outcomes(factory) == ["client_error", "ok"]
    assert [r.provider for r in calls(factory)] == ["openai-chat", "local"]


def test_connection_refused_falls_back_after_the_retries(factory: Factory,
                                                        chains: Chains) -> None:
    response = chains(FakeOpenAI.refused_base_url(), factory).complete(ask())
    assert (response.provider, response.fallback_from) == ("local", ["openai-chat"])
    assert outcomes(factory) == ["connection_error"] * 3 + ["ok"]
    assert OFFLINE_NOTICE in response.text


def test_a_retry_after_too_long_to_wait_falls_back_at_once(fake_openai: FakeOpenAI,
                                                           chains: Chains) -> None:
    fake_openai.script(Reply.error(429, retry_after="120"))
    response = chains(fake_openai.base_url).complete(ask())
    assert response.provider == "local" and len(fake_openai.model_requests()) == 1
    assert response.latency_ms < 1000


def test_the_provider_itself_raises_provider_errors(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.error(404))
    with chat_provider(fake_openai) as provider, pytest.raises(ProviderError) as caught:
        provider.complete(ask())
    error = caught.value
    assert (error.outcome, error.status, error.retryable) == (CallOutcome.CLIENT_ERROR, 404, False)
    assert caught.value.to_dict()["code"] == "provider_unavailable"


def test_retry_delays_jitter_grow_and_honour_retry_after() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=0.3, max_retry_after=10)
    error = ProviderError("x", provider="p", outcome=CallOutcome.SERVER_ERROR)
    delays = [policy.delay(error, n, rng=lambda: 1.0) for n in (1, 2, 3, 4)]
    assert delays == pytest.approx([0.1, 0.2, 0.3, 0.3])
    assert policy.delay(error, 2, rng=lambda: 0.5) == pytest.approx(0.1)
    limited = ProviderError("x", provider="p", outcome=CallOutcome.RATE_LIMITED, retry_after=2.5)
    assert policy.delay(limited, 1) == 2.5
    assert policy.should_retry(error, 4) and not policy.should_retry(error, 5)
    assert not policy.should_retry(ProviderError("x", provider="p", outcome=CallOutcome.CLIENT_ERROR), 1)
    assert not policy.should_retry(ProviderError("x", provider="p", outcome=CallOutcome.RATE_LIMITED,
                                                 retry_after=11), 1)
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None and retry_after_seconds({}) is None


# -- the circuit breaker ----------------------------------------------------------------------------

def test_breaker_opens_refuses_then_probes_once() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_success()
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_breaker_lets_exactly_one_probe_through_under_contention() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0)
    breaker.record_failure()
    barrier = threading.Barrier(8)

    def probe() -> bool:
        barrier.wait()
        return breaker.allow()

    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(lambda _: probe(), range(8)))
    assert allowed.count(True) == 1


def test_an_open_breaker_skips_the_provider_until_a_probe_succeeds(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    options = ProviderOptions(timeout=2.0, retry=RetryPolicy(max_attempts=1), failure_threshold=3,
                              reset_timeout=0.3)
    chain = chains(fake_openai.base_url, factory, options=options)
    fake_openai.script(*[Reply.error(500)] * 3)
    assert [chain.complete(ask()).provider for _ in range(3)] == ["local"] * 3
    assert chain.breaker_states() == {"openai-chat": "open", "local": "closed"}
    skipped = chain.complete(ask())
    assert (skipped.provider, skipped.fallback_from, skipped.attempts) == ("local", ["openai-chat"], 1)
    assert len(fake_openai.model_requests()) == 3
    threading.Event().wait(0.35)
    assert chain.breaker_states()["openai-chat"] == "half_open"
    assert chain.complete(ask("back?")).text == "Echo: back?"
    assert chain.breaker_states()["openai-chat"] == "closed"


def test_bad_credentials_open_the_breaker_but_bad_requests_do_not(fake_openai: FakeOpenAI) -> None:
    options = ProviderOptions(timeout=2.0, failure_threshold=1)
    with chat_provider(fake_openai, options) as provider:
        fake_openai.script(Reply.error(400))
        with pytest.raises(ProviderError):
            provider.complete(ask())
        assert provider.breaker.state is BreakerState.CLOSED
        fake_openai.script(Reply.error(401))
        with pytest.raises(ProviderError):
            provider.complete(ask())
        assert provider.breaker.state is BreakerState.OPEN


# -- budgets ---------------------------------------------------------------------------------------

def test_a_spent_budget_stops_paid_calls_with_a_clear_error(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    options = ProviderOptions(timeout=2.0, token_budget=1000, cost_budget_usd=1.0)
    spent_tokens = add_user(factory, "ann", tokens=1000)
    spent_money = add_user(factory, "bob", cost=1.0)
    chain = chains(fake_openai.base_url, factory, options=options)
    for user_id in (spent_tokens, spent_money):
        with pytest.raises(BudgetExceeded) as caught:
            chain.complete(ask(user_id=user_id))
        assert caught.value.code == "budget_exceeded" and caught.value.http_status == 429
        assert f"User {user_id} has used" in caught.value.message
    assert fake_openai.model_requests() == [] and calls(factory) == []
    offline = ProviderChain([LocalProvider(ledger=UsageLedger(factory, token_budget=1000))])
    assert offline.complete(ask(user_id=spent_tokens)).provider == "local"


def test_the_budget_stops_a_runaway_tool_loop(fake_openai: FakeOpenAI, factory: Factory,
                                              chains: Chains) -> None:
    user_id = add_user(factory)
    fake_openai.script(*[Reply.tool_call("add", {"a": 1, "b": 2})] * 10)
    chain = chains(fake_openai.base_url, factory, options=ProviderOptions(timeout=2.0, token_budget=10,
                                                                          max_tool_rounds=8))
    with pytest.raises(BudgetExceeded):
        chain.complete(ask("loop forever", tools=[ADD], user_id=user_id))
    assert len(fake_openai.model_requests()) == 1
    assert outcomes(factory) == ["tool_calls"]


# -- secrets and forbidden endpoints ------------------------------------------------------------------

def test_the_key_is_sent_but_never_logged_stored_or_shown(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    chain = chains(fake_openai.base_url, factory)
    fake_openai.script(Reply.error(401, message=f"Incorrect API key provided: {SECRET}"), Reply.error(500),
                       Reply.malformed(), Reply.error(429, retry_after="0"))
    for _ in range(3):
        chain.complete(ask())
    chains(FakeOpenAI.refused_base_url(), factory).complete(ask())
    assert fake_openai.model_requests()[0].headers["authorization"] == f"Bearer {SECRET}"
    shown = caplog.text + "".join(capsys.readouterr()) + repr(chain.providers) + repr(Settings(
        home=Path("."), database_url="sqlite://", openai_api_key=SECRET))
    shown += " ".join(f"{r.error} {r.model} {r.provider}" for r in calls(factory))
    assert SECRET not in shown
    assert "client_error" in outcomes(factory) and "connection_error" in outcomes(factory)


# -- acceptance: a flaky server, many concurrent requests, each answered and recorded once --------------

@pytest.mark.slow
def test_under_chaos_every_request_is_answered_and_each_call_recorded_once(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    fake_openai.chaos(rate_limited=0.15, server_error=0.15, slow=0.05, slow_seconds=2.0, retry_after_ms="10")
    options = ProviderOptions(timeout=0.5, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
                              failure_threshold=10, reset_timeout=0.1)
    chain = chains(fake_openai.base_url, factory, options=options)
    user_id = add_user(factory)

    def one(n: int) -> Any:
        return chain.complete(ask(f"request {n}", user_id=user_id, pool=POOL_NAMES[n % len(POOL_NAMES)]))

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(one, range(200)))

    assert all(r.text for r in responses)
    remote = [r for r in responses if r.provider == "openai-chat"]
    assert all(r.text == f"Echo: request {n}" for n, r in enumerate(responses) if r.provider == "openai-chat")
    assert len(remote) > 150, "most requests should be answered by the model after retries"
    rows = calls(factory)
    ok_rows = [r for r in rows if r.outcome == "ok"]
    assert sorted(str(r.request_id) for r in ok_rows) == sorted(r.request_id for r in responses)
    assert {r.request_id: r.provider for r in ok_rows} == {r.request_id: r.provider for r in responses}
    chat_rows = [r for r in rows if r.provider == "openai-chat"]
    deadline = time.monotonic() + 5  # a request the client gave up on may still be on its way in
    while len(fake_openai.model_requests()) < len(chat_rows) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(chat_rows) == len(fake_openai.model_requests())  # each HTTP call the server saw, once
    assert sum(r.attempts for r in responses) == len(rows)
    assert {r.outcome for r in chat_rows} <= {"ok", "rate_limited", "server_error", "timeout"}
    assert not any(p.split()[1].startswith(("/v1/assistants", "/v1/threads")) for p in fake_openai.paths())
