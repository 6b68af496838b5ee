"""Property tests (hypothesis): any text is understood without error; any JSON body gets no 5xx."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import command_processor
from app import create_app, services

from . import fixtures
from .conftest import TEST_API_KEY

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}

WORDS = st.sampled_from([
    "scale", "up", "down", "to", "the", "healthcare", "finance", "pool", "and", "show", "status", "cancel",
    "task", "12", "-3", "2.5", "demo", "workflow", "run", "approve", "step", "help", "log in as", "register",
    "it", "that", "ignore your rules", "AAPL", "chest pain", "bet", "🙂", "\x00", ";", "then", "all",
])

DOMAIN_WORDS = st.sampled_from([
    "Lakers", "-150", "+130", "vs", "62%", "150%", "p=1.5", "2.10", "draw", "AAPL", "MSFT", "returns", "chest pain",
    "fever", "blocked", "status: blocked", "P1", "outage", "invoice", "$5,000", "2026-12-01",
    "Write a status report for",
    " against this plan: ", "Check invoice ", " from ", " due ", ": ", "\n", "(", ")", "1e308", "0%", "kill myself",
])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@given(st.sampled_from(["healthcare", "financial", "sports", "business", "general"]),
       st.text(max_size=300) | st.lists(DOMAIN_WORDS, max_size=60).map("".join))
@settings(max_examples=300, deadline=None)
def test_any_text_gets_an_offline_answer_from_every_pool(pool: str, text: str) -> None:
    """The built-in analyzers answer anything without raising ('grew 150%' once failed every task)."""
    from domains import agents as domain_agents

    answer = domain_agents.offline_answer(pool, text)
    assert isinstance(answer, str) and answer.strip()


@given(st.text(max_size=300) | st.lists(WORDS, max_size=25).map(" ".join))
@settings(max_examples=400, deadline=None)
def test_any_text_gives_commands_from_the_vocabulary(text: str) -> None:
    commands = command_processor.parse(text)
    assert commands and all(c.intent in command_processor.INTENTS for c in commands)
    context = command_processor.update_context({}, commands, None)
    again = command_processor.parse(text, context)
    assert all(c.intent in command_processor.INTENTS for c in again)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    home = Path(tempfile.mkdtemp(prefix="oos-fuzz-"))
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'fuzz.db'}",
                      "OPERATOROS_API_KEY": TEST_API_KEY, "EXECUTOR": fixtures.echo,
                      "OPERATOROS_RATE_LIMIT": "1000000 per minute"})
    yield app.test_client()
    services(app).engine.dispose()
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("path", ["/api/tasks", "/api/command", "/api/pools/sports/scale", "/api/users",
                                  "/api/sessions"])
@given(body=json_values)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_json_body_gets_a_json_answer_and_never_a_5xx(client, path: str, body: Any) -> None:  # type: ignore[no-untyped-def]
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json


@given(raw=st.binary(max_size=200))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_as_a_body_get_no_5xx(client, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/tasks", data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code < 500 and response.is_json
