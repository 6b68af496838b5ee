"""Providers end to end: `python main.py` as a subprocess against the tests' fake OpenAI server.

(a) Responses + Conversations: separate CLI processes of one session continue ONE provider
    conversation, kept on the session's row; nothing calls the retired Assistants API.
(b) A failing provider: the CLI still answers, from the built-in analyzers, and says so.
(c) No key and no base URL: every pool answers offline and each reply says where it came from.
(d) The API key never shows: not on stdout or stderr (debug logging on), not in any file of the
    instance or database, not in what the server received beyond the Authorization header.

Not covered: a provider that hangs. The provider timeout (60 s a call, ai_providers.
DEFAULT_TIMEOUT_SECONDS) cannot be set from the environment, so a timeout through the CLI takes
minutes; tests/test_ai_providers.py covers timeouts with short ProviderOptions in-process.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import run_cli
from .fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

SECRET = "sk-e2e-NEVER-SHOWN-8f3a9c2d71b4e605"
"""Dummy API key of these tests."""

SECRET_PART = "NEVER-SHOWN-8f3a9c2d71b4e605"
"""Its distinctive part: a shortened or re-encoded key must not show either."""

OFFLINE_NOTICE = "(Answered offline by OperatorOS's built-in analyzers, not by a language model.)"


@pytest.fixture
def db(sqlite_url: str) -> Iterator[sa.Engine]:
    """The test's database file, opened by the test itself (after the CLI created it)."""
    engine = sa.create_engine(sqlite_url)
    yield engine
    engine.dispose()


def provider_env(cli_env: dict[str, str], provider: str, base_url: str, **extra: str) -> dict[str, str]:
    return {**cli_env, "OPERATOROS_PROVIDER": provider, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": SECRET,
            **extra}


def ask(env: dict[str, str], *args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """`python main.py --json ARGS`: the one JSON reply, and the process."""
    proc = run_cli("--json", *args, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout[-2000:]
    return json.loads(lines[0]), proc


def submitted(reply: dict[str, Any], pool: str | None = None) -> dict[str, Any]:
    """The result of a task the request submitted and saw succeed."""
    assert reply["ok"] is True and reply["intent"] == "submit", (reply["intent"], reply["response"][:500])
    task = reply["data"]["task"]
    assert task["status"] == "succeeded", task
    if pool is not None:
        assert task["pool"] == reply["args"]["pool"] == pool
    return task["result"]


def call_outcomes(db: sa.Engine) -> list[tuple[str, str]]:
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(
            "SELECT provider, outcome FROM provider_calls ORDER BY id"))]


def no_assistants_api(server: FakeOpenAI) -> bool:
    return not any(r.path.startswith(("/v1/assistants", "/v1/threads")) for r in server.requests)


# --- (a) one provider conversation per session, across processes ----------------------------------------

def test_two_processes_of_one_session_continue_one_provider_conversation(
        fake_openai: FakeOpenAI, cli_env: dict[str, str], db: sa.Engine) -> None:
    env = provider_env(cli_env, "openai-responses", fake_openai.base_url)
    status, _ = ask(env, "Show me the system status")
    assert status["ok"] and status["intent"] == "status"
    assert status["data"]["provider"]["configured"] == "openai-responses"
    session_id = status["session_id"]
    assert session_id and fake_openai.requests == []  # a status request calls no provider

    fake_openai.script(Reply.answer("AAPL: down 19.6% over the year."),
                       Reply.answer("MSFT did better than AAPL."))
    first, _ = ask(env, "--session", session_id, "Analyze AAPL stock performance")
    second, _ = ask(env, "--session", session_id, "Compare MSFT and AAPL returns")

    for reply, said in ((first, "AAPL: down 19.6% over the year."), (second, "MSFT did better than AAPL.")):
        assert reply["session_id"] == session_id
        result = submitted(reply, pool="financial")
        assert (result["provider"], result["fallback_from"]) == ("openai-responses", [])
        assert result["text"].startswith(said)
        assert "Not investment advice" in result["text"]  # the policy applies to model replies too
    assert fake_openai.paths() == ["POST /v1/conversations", "POST /v1/responses", "POST /v1/responses"]
    created = fake_openai.requests[0]
    assert created.body["metadata"] == {"operatoros_session": session_id}
    (conversation_id,) = fake_openai.conversations
    one, two = (r.body for r in fake_openai.model_requests())
    assert one["conversation"] == two["conversation"] == conversation_id
    assert one["input"] == [{"type": "message", "role": "user", "content": "Analyze AAPL stock performance"}]
    assert two["input"] == [{"type": "message", "role": "user", "content": "Compare MSFT and AAPL returns"}]
    held = [(item.get("role"), item["type"]) for item in fake_openai.conversations[conversation_id]]
    assert held == [("user", "message"), ("assistant", "message")] * 2
    with db.connect() as conn:
        stored = conn.execute(sa.text("SELECT provider_conversation_id FROM sessions WHERE id = :id"),
                              {"id": session_id}).scalar_one()
    assert stored == conversation_id

    # another user's session gets a conversation of its own
    other, _ = ask(env, "--user", "someone", "Analyze AAPL stock performance")
    assert other["session_id"] != session_id
    assert submitted(other)["provider"] == "openai-responses"
    assert len(fake_openai.conversations) == 2
    other_id = next(c for c in fake_openai.conversations if c != conversation_id)
    assert fake_openai.model_requests()[-1].body["conversation"] == other_id
    with db.connect() as conn:
        rows: dict[str, str | None] = dict(conn.execute(sa.text("SELECT id, provider_conversation_id FROM sessions"))
                                           .all())
    assert rows == {session_id: conversation_id, other["session_id"]: other_id}
    assert no_assistants_api(fake_openai)
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in fake_openai.requests)


# --- (b) a failing provider: fallback to the built-in analyzers -------------------------------------

CHAT, RESPONSES = "openai-chat", "openai-responses"

FAULTS: dict[str, tuple[str, Any, list[tuple[str, str]]]] = {
    # name: (provider, what the server does, the provider_calls rows the request leaves)
    "server_errors": (CHAT, [Reply.error(500)] * 3, [(CHAT, "server_error")] * 3),
    "dropped_connections": (CHAT, [Reply.disconnect()] * 3, [(CHAT, "connection_error")] * 3),
    "retry_after_too_long": (CHAT, [Reply.error(429, retry_after="120")], [(CHAT, "rate_limited")]),
    "responses_and_chat_down": (RESPONSES, "chaos", [(RESPONSES, "conversation")]
                                + [(RESPONSES, "server_error")] * 3 + [(CHAT, "server_error")] * 3),
    "server_unreachable": (CHAT, "refused", [(CHAT, "connection_error")] * 3),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_provider_falls_back_to_the_built_in_analyzers(
        fault: str, fake_openai: FakeOpenAI, cli_env: dict[str, str], db: sa.Engine) -> None:
    provider, behaviour, attempts = FAULTS[fault]
    base_url = fake_openai.base_url
    if behaviour == "chaos":
        fake_openai.chaos(server_error=1.0)
    elif behaviour == "refused":
        base_url = FakeOpenAI.refused_base_url()
    else:
        fake_openai.script(*behaviour)
    reply, proc = ask(provider_env(cli_env, provider, base_url), "what is 15% of 80")
    assert proc.returncode == 0
    result = submitted(reply, pool="general")
    assert (result["provider"], result["model"]) == ("local", "builtin-analyzers")
    assert result["fallback_from"] == list(dict.fromkeys(p for p, o in attempts if o != "conversation"))
    assert "Calculation: 15% of 80 = 12" in result["text"]
    assert OFFLINE_NOTICE in result["text"]
    assert reply["response"].rstrip().endswith("(answered by local)")  # what text mode prints
    assert reply["data"]["task"]["attempts"] == 1  # the fallback answered at the task's first attempt
    assert call_outcomes(db) == attempts + [("local", "ok")]  # each attempt recorded once
    model_calls = [a for a in attempts if a[1] != "conversation"]
    assert len(fake_openai.model_requests()) == (0 if behaviour == "refused" else len(model_calls))
    assert no_assistants_api(fake_openai)


# --- (c) no key, no base URL: every pool offline ------------------------------------------------------------

OFFLINE = {
    "healthcare": ("I have had a mild headache since this morning", "Symptom triage: SELF-CARE"),
    "financial": ("Analyze AAPL stock performance", "AAPL: price analysis"),
    "sports": ("Lakers -150 vs Celtics +130: what are the fair odds?", "Betting strategy from your odds"),
    "business": ("Plan the weekly reporting process for my sales team", "Workflow draft: Weekly reporting"),
    "general": ("What is (1200 * 1.07) / 12?", "Calculation: (1200 * 1.07) / 12 = 107"),
}


@pytest.fixture(scope="module")
def offline_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One offline request per pool, each in an instance of its own, run three at a time up front:
    {pool: (reply, process, database URL)}, or the exception a run raised."""
    def one(pool: str) -> Any:
        try:
            root = tmp_path_factory.mktemp(pool)
            (root / "instance").mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
            env.pop("TASK_BACKEND", None)
            url = f"sqlite:///{root / 'test.db'}"
            env.update(OPERATOROS_HOME=str(root / "instance"), DATABASE_URL=url, OPERATOROS_USER="tester",
                       PYTHONUNBUFFERED="1")
            return (*ask(env, OFFLINE[pool][0]), url)
        except Exception as exc:  # reported by that pool's test
            return exc

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(OFFLINE, pool.map(one, OFFLINE), strict=False))


@pytest.mark.parametrize("pool", list(OFFLINE))
def test_without_key_or_base_url_every_pool_answers_offline_and_says_so(
        pool: str, offline_runs: dict[str, Any]) -> None:
    outcome = offline_runs[pool]
    if isinstance(outcome, Exception):
        raise outcome
    reply, proc, url = outcome
    assert proc.returncode == 0 and proc.stderr == ""
    result = submitted(reply, pool=pool)
    assert (result["provider"], result["model"]) == ("local", "builtin-analyzers")
    assert result["fallback_from"] == []
    assert OFFLINE[pool][1] in result["text"]
    assert OFFLINE_NOTICE in result["text"]
    assert re.search(r"built-in [a-z ]*(analyzers|rules|builder)", result["text"].split("\n\n")[0]), \
        "the reply's first lines say it came from the built-in analyzers"
    assert reply["response"].rstrip().endswith("(answered by local)")
    engine = sa.create_engine(url)
    try:
        assert call_outcomes(engine) == [("local", "ok")]
    finally:
        engine.dispose()


# --- (d) the API key never shows ----------------------------------------------------------------------------

def test_the_api_key_is_sent_only_in_the_authorization_header_and_never_shown_or_stored(
        fake_openai: FakeOpenAI, cli_env: dict[str, str], tmp_path: Path, db: sa.Engine) -> None:
    env = provider_env(cli_env, "openai-responses", fake_openai.base_url, OPERATOROS_DEBUG="1")
    # the server echoes the key in its errors, as real ones do: the key must be masked wherever they go
    fake_openai.script(Reply.error(401, message=f"Incorrect API key provided: {SECRET}"),
                       *[Reply.error(500, message=f"upstream rejected {SECRET}")] * 3)
    fell_back, first = ask(env, "Analyze AAPL stock performance")
    answered, second = ask(env, "Plan the weekly reporting process for my sales team")
    text = run_cli("How healthy is the system?", env=env)  # text mode, with the provider's state

    assert submitted(fell_back)["fallback_from"] == ["openai-responses", "openai-chat"]
    assert submitted(answered)["provider"] == "openai-responses"
    assert text.returncode == 0 and "provider" in text.stdout
    shown = "".join(p.stdout + p.stderr for p in (first, second, text))
    assert "DEBUG" in shown and "HTTP Request: POST" in shown, "debug logging was on"
    assert SECRET not in shown and SECRET_PART not in shown

    with db.connect() as conn:
        errors = [e for (e,) in conn.execute(
            sa.text("SELECT error FROM provider_calls WHERE error IS NOT NULL"))]
    assert any("Incorrect API key provided: ***" in e for e in errors), errors
    assert any("upstream rejected ***" in e for e in errors), errors
    db.dispose()
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.name == "test.db" for f in files)
    for file in files:
        data = file.read_bytes()
        assert SECRET.encode() not in data and SECRET_PART.encode() not in data, file

    assert fake_openai.requests
    for received in fake_openai.requests:
        assert received.headers["authorization"] == f"Bearer {SECRET}"
        rest = json.dumps([received.method, received.path, received.query, received.body,
                           {k: v for k, v in received.headers.items() if k != "authorization"}])
        assert SECRET_PART not in rest, received.path
    assert no_assistants_api(fake_openai)
