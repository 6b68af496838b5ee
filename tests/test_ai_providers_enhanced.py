"""The Responses + Conversations provider over HTTP: one conversation per session, reused, tools, faults."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import database
from ai_providers import ProviderChain, ProviderOptions, ProviderRequest, RetryPolicy, build_providers
from ai_providers_enhanced import CONVERSATION_ITEMS_PER_CALL, OpenAIResponsesProvider
from config import Settings
from models import ConversationSession, ProviderCall, User
from providers.tools import ToolSpec

from .conftest import ROOT
from .fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

SECRET = "sk-test-SECRET-responses-0123456789"
"""API key of these tests."""

FAST = ProviderOptions(timeout=1.0, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
                       reset_timeout=0.3, max_tool_rounds=3)
"""Small delays so that fault tests stay fast."""

LOOKUP = ToolSpec("lookup", "Look a ticker up.",
                  {"type": "object", "properties": {"ticker": {"type": "string"}}},
                  lambda ticker: {"ticker": ticker, "close": 101.5})


Factory = sessionmaker[Session]
"""Database sessions of one test."""

Chains = Callable[..., ProviderChain]
"""Makes a provider chain that is closed at the end of the test."""


@pytest.fixture
def factory(database_url: str) -> Iterator[Factory]:
    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    yield database.make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def chains() -> Iterator[Chains]:
    made: list[ProviderChain] = []

    def make(base_url: str, factory: Any = None, options: ProviderOptions = FAST) -> ProviderChain:
        settings = Settings(home=Path("."), database_url="sqlite://", openai_api_key=SECRET,
                            openai_base_url=base_url, provider="openai-responses")
        made.append(build_providers(settings, factory, options=options))
        return made[-1]

    yield make
    for chain in made:
        chain.close()


def new_session(factory: Factory, conversation_id: str | None = None) -> str:
    with database.session_scope(factory) as session:
        user = User(name=f"user-{os.urandom(4).hex()}")
        session.add(user)
        session.flush()
        row = ConversationSession(user_id=user.id, provider_conversation_id=conversation_id)
        session.add(row)
        session.flush()
        return row.id


def stored_conversation(factory: Factory, session_id: str) -> str | None:
    with database.session_scope(factory) as session:
        return session.scalar(sa.select(ConversationSession.provider_conversation_id)
                              .where(ConversationSession.id == session_id))


def outcomes(factory: Factory) -> list[tuple[str, str]]:
    with database.session_scope(factory) as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            sa.select(ProviderCall.provider, ProviderCall.outcome).order_by(ProviderCall.id))]


def turn(*texts: str) -> list[dict[str, str]]:
    """Alternating user / assistant messages, starting with the user."""
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]


def no_assistants_api(server: FakeOpenAI) -> bool:
    return not any(r.path.startswith(("/v1/assistants", "/v1/threads")) for r in server.requests)


def test_one_conversation_per_session_reused_by_later_requests(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    session_id = new_session(factory)
    chain = chains(fake_openai.base_url, factory)
    first = chain.complete(ProviderRequest(messages=turn("Analyze AAPL"), session_id=session_id,
                                           system="Be brief.", pool="financial", max_output_tokens=200))
    second = chain.complete(ProviderRequest(messages=turn("Analyze AAPL", first.text, "and MSFT?"),
                                            session_id=session_id, pool="financial"))
    assert first.provider == second.provider == "openai-responses"
    assert first.conversation_id == second.conversation_id == stored_conversation(factory, session_id)
    assert fake_openai.paths() == ["POST /v1/conversations", "POST /v1/responses", "POST /v1/responses"]
    one, two = (r.body for r in fake_openai.model_requests())
    assert one["conversation"] == two["conversation"] == first.conversation_id
    assert (one["instructions"], one["max_output_tokens"]) == ("Be brief.", 200)
    assert two["max_output_tokens"] == 1024
    assert one["input"] == [{"type": "message", "role": "user", "content": "Analyze AAPL"}]
    assert two["input"] == [{"type": "message", "role": "user", "content": "and MSFT?"}]
    conversation = fake_openai.conversations[str(first.conversation_id)]
    held = [(item.get("role"), item["type"]) for item in conversation]
    assert held == [("user", "message"), ("assistant", "message")] * 2
    assert outcomes(factory) == [("openai-responses", "conversation"), ("openai-responses", "ok"),
                                 ("openai-responses", "ok")]
    assert no_assistants_api(fake_openai)


def test_a_conversation_is_reused_by_a_second_process_of_the_same_session(
        fake_openai: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    session_id = new_session(database.make_session_factory(engine))
    engine.dispose()
    code = (
        "import json, sys\n"
        "import database\n"
        "from config import Settings\n"
        "from ai_providers import ProviderOptions, ProviderRequest, build_providers\n"
        "settings = Settings.from_env()\n"
        "engine = database.make_engine(settings.database_url)\n"
        "database.ensure_schema(engine)\n"
        "factory = database.make_session_factory(engine)\n"
        "chain = build_providers(settings, factory, options=ProviderOptions(timeout=10))\n"
        "reply = chain.complete(ProviderRequest(messages=json.loads(sys.argv[1]), session_id=sys.argv[2]))\n"
        "chain.close()\n"
        "engine.dispose()\n"
        "print(json.dumps({'provider': reply.provider, 'conversation_id': reply.conversation_id,"
        " 'text': reply.text}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.update(OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=fake_openai.base_url,
               OPERATOROS_PROVIDER="openai-responses", DATABASE_URL=sqlite_url, OPERATOROS_HOME=str(tmp_path))

    def run(messages: list[dict[str, str]]) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-c", code, json.dumps(messages), session_id], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout + done.stderr
        return json.loads(done.stdout)

    first = run(turn("Plan my week"))
    second = run(turn("Plan my week", first["text"], "Move Monday to Tuesday"))
    assert first["provider"] == second["provider"] == "openai-responses"
    assert first["conversation_id"] == second["conversation_id"] is not None
    assert [p for p in fake_openai.paths() if p == "POST /v1/conversations"] == ["POST /v1/conversations"]
    bodies = [r.body for r in fake_openai.model_requests()]
    assert [b["conversation"] for b in bodies] == [first["conversation_id"]] * 2
    assert bodies[1]["input"] == [{"type": "message", "role": "user", "content": "Move Monday to Tuesday"}]


def test_earlier_messages_seed_a_new_conversation_twenty_at_a_time(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    history = turn(*[f"message {n}" for n in range(26)])
    response = chains(fake_openai.base_url, factory).complete(ProviderRequest(
        messages=[*history, {"role": "user", "content": "now what?"}], session_id=new_session(factory)))
    create, add = fake_openai.requests[0], fake_openai.requests[1]
    assert (create.path, len(create.body["items"])) == ("/v1/conversations", CONVERSATION_ITEMS_PER_CALL)
    assert (add.path, len(add.body["items"])) == (f"/v1/conversations/{response.conversation_id}/items", 6)
    contents = [i.get("content") for i in fake_openai.conversations[str(response.conversation_id)]][:27]
    assert contents == [m["content"] for m in history] + ["now what?"]
    assert [o for _, o in outcomes(factory)] == ["conversation", "conversation", "ok"]


def test_a_conversation_the_server_forgot_is_replaced_once(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    session_id = new_session(factory, conversation_id="conv_gone")
    response = chains(fake_openai.base_url, factory).complete(ProviderRequest(
        messages=turn("hi", "hello", "remember me?"), session_id=session_id))
    assert response.provider == "openai-responses" and response.text == "Echo: remember me?"
    assert response.conversation_id != "conv_gone"
    assert stored_conversation(factory, session_id) == response.conversation_id
    assert fake_openai.paths() == ["POST /v1/responses", "POST /v1/conversations", "POST /v1/responses"]
    assert [o for _, o in outcomes(factory)] == ["client_error", "conversation", "ok"]


def test_function_calls_are_answered_with_function_call_output_items(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    fake_openai.script(Reply.tool_call("lookup", {"ticker": "AAPL"}))
    response = chains(fake_openai.base_url, factory).complete(ProviderRequest(
        messages=turn("price of AAPL?"), tools=[LOOKUP], session_id=new_session(factory), pool="financial"))
    expected_output = '{"ticker": "AAPL", "close": 101.5}'
    assert response.text == f"Tool result: {expected_output}"
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("lookup", {"ticker": "AAPL"})]
    first, second = (r.body for r in fake_openai.model_requests())
    assert first["tools"] == [LOOKUP.openai_responses_schema()] and first["tool_choice"] == "auto"
    assert second["conversation"] == response.conversation_id
    assert second["input"] == [{"type": "function_call_output", "call_id": response.tool_calls[0].call_id,
                                "output": expected_output}]
    kinds = [item["type"] for item in fake_openai.conversations[str(response.conversation_id)]]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
    assert [o for _, o in outcomes(factory)] == ["conversation", "tool_calls", "ok"]


def test_without_a_session_tool_rounds_follow_the_previous_response(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.tool_call("lookup", {"ticker": "MSFT"}))
    pieces: list[str] = []
    with OpenAIResponsesProvider(model="gpt-5-mini", api_key=SECRET, base_url=fake_openai.base_url,
                                 options=FAST) as provider:
        response = provider.complete(ProviderRequest(messages=turn("MSFT?"), tools=[LOOKUP],
                                                     on_delta=pieces.append))
    # Streamed: the text as it came, and the answer, tool calls and usage from each stream's final event.
    assert response.conversation_id is None and len(pieces) > 1 and "".join(pieces) == response.text
    assert response.tool_calls[0].arguments == {"ticker": "MSFT"}
    assert response.tokens_in > 0 and response.tokens_out > 0
    first, second = (r.body for r in fake_openai.model_requests())
    assert first["stream"] is True and second["stream"] is True
    assert "conversation" not in first and second["previous_response_id"].startswith("resp_")
    assert fake_openai.conversations == {}


def test_faults_are_retried_then_fall_back_through_chat_to_offline(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    fake_openai.script(Reply.error(500), Reply.slow(3.0))
    session_id = new_session(factory)
    retried = chains(fake_openai.base_url, factory).complete(ProviderRequest(messages=turn("x"),
                                                                             session_id=session_id))
    assert (retried.provider, retried.attempts) == ("openai-responses", 4)
    assert [o for _, o in outcomes(factory)] == ["conversation", "server_error", "timeout", "ok"]

    fallen = chains(FakeOpenAI.refused_base_url(), factory).complete(ProviderRequest(messages=turn("y"),
                                                                                     session_id=session_id))
    assert (fallen.provider, fallen.fallback_from) == ("local", ["openai-responses", "openai-chat"])
    assert [o for _, o in outcomes(factory)][4:] == ["connection_error"] * 6 + ["ok"]
    assert stored_conversation(factory, session_id) == retried.conversation_id


def test_two_first_requests_of_a_session_settle_on_one_conversation(
        fake_openai: FakeOpenAI, factory: Factory, chains: Chains) -> None:
    session_id = new_session(factory)
    fake_openai.script(Reply.slow(0.5, on="/v1/conversations"), Reply.slow(0.5, on="/v1/conversations"))
    chain = chains(fake_openai.base_url, factory)
    replies: list[Any] = [None, None]

    def ask(n: int) -> None:
        replies[n] = chain.complete(ProviderRequest(messages=turn(f"question {n}"), session_id=session_id))

    workers = [threading.Thread(target=ask, args=(n,)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    kept = stored_conversation(factory, session_id)
    assert [r.conversation_id for r in replies] == [kept, kept]
    assert [r.body["conversation"] for r in fake_openai.model_requests()] == [kept, kept]
    assert list(fake_openai.conversations) == [kept]
    assert fake_openai.paths().count("POST /v1/conversations") == 2
    deleted = [p for p in fake_openai.paths() if p.startswith("DELETE /v1/conversations/")]
    assert len(deleted) == 1 and not deleted[0].endswith(str(kept))
