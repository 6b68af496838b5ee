"""Streamed model text as a task's draft events: coalesced, screened by the reply guard's rules, never the answer."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_pools import run_inline
from app import create_app, services
from domains import routing
from safety.policies import REMOVED_CERTAINTY, RESPONSIBLE_GAMBLING
from telemetry.events import DRAFT_FLUSH_SECONDS, DraftStream, recording

from .conftest import TEST_API_KEY, bearer, new_user, run_cli
from .fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)
from .test_task_events import sse

PACE = 0.03
"""Seconds between the streamed words: a 40-word answer takes over a second, ten coalescing windows."""

TIPS = ("Form favours the home side this season. Their defence has conceded few goals at home. "
        "This one is a guaranteed win for them. The away side is missing two starters. "
        "Weather should not matter much. Injuries can change late, so check the team news. "
        "Odds of 1.8 imply about a 55% chance. That is not far from what the form suggests.")


@pytest.fixture(params=["openai-chat", "openai-responses"])
def app(request: pytest.FixtureRequest, home: Path, sqlite_url: str, fake_openai: FakeOpenAI) -> Iterator[Any]:
    """The app on a fresh SQLite file, answering through each streaming provider against the fake server."""
    if request.param == "openai-responses":
        import openai

        # The SDK builds its stream event types on first use (seconds on this machine): done here, so that
        # the test's deltas are read as they are sent.
        with openai.OpenAI(api_key="sk-warm", base_url=fake_openai.base_url).responses.create(
                model="warm", input="warm", stream=True) as warm:
            list(warm)
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "OPERATOROS_PROVIDER": request.param, "OPENAI_BASE_URL": fake_openai.base_url,
                      "OPENAI_API_KEY": "sk-test-drafts"})
    yield app
    services(app).controller.stop_pools(timeout=5)


def work(app: Any, text: str, pool: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit over the API as a user, work the task here, and return (the task, its SSE events)."""
    client = app.test_client()
    headers = bearer(new_user(client, "ann"))
    task = client.post("/api/tasks", json={"input": text, "pool": pool}, headers=headers).get_json()
    controller = services(app).controller
    assert run_inline(controller.queue, controller.executor, task["id"], pool) == "succeeded"
    body = client.get(f"/api/tasks/{task['id']}/events", headers=headers).get_data(as_text=True)
    done = client.get(f"/api/tasks/{task['id']}", headers=headers).get_json()
    return done, [e["data"] for e in sse(body)]


def test_streamed_text_is_coalesced_draft_events_screened_and_the_answer_is_the_guarded_text(
        app: Any, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply.answer(TIPS, pace=PACE))
    task, events = work(app, "Which team should I back this weekend?", "sports")
    kinds = [e["kind"] for e in events]
    drafts = [e["data"] for e in events if e["kind"] == "text"]
    words = len(TIPS.split())
    assert kinds.index("text") > kinds.index("safety") and kinds[-2:] == ["provider_call", "succeeded"]
    # Coalesced: one event per window of DRAFT_FLUSH_SECONDS, not one per streamed word.
    assert 2 <= len(drafts) <= words * PACE / DRAFT_FLUSH_SECONDS + 2, len(drafts)
    assert all(d["draft"] is True for d in drafts)
    assert [d["chars"] for d in drafts] == sorted({d["chars"] for d in drafts})
    shown = "".join(d["text"] for d in drafts)
    # The sentence the guard removes is never shown, not even as a draft; its marker stands in.
    assert "guaranteed" not in shown and REMOVED_CERTAINTY in shown
    answer = task["result"]["text"]
    assert "guaranteed" not in answer and RESPONSIBLE_GAMBLING in answer
    assert answer.split()[:len(shown.split())] == shown.split()  # the draft is the start of the answer
    assert events[-1]["data"]["text"] == answer  # the end event carries the guarded answer, not a draft
    call = next(e["data"] for e in events if e["kind"] == "provider_call")
    assert call["tokens_out"] > 0 and call["tokens_in"] > 0  # usage from the stream's last chunk
    assert fake_openai.model_requests()[-1].body.get("stream") is True


def test_follow_task_says_the_model_is_writing_and_prints_only_the_guarded_answer(
        app: Any, fake_openai: FakeOpenAI, cli_env: dict[str, str]) -> None:
    fake_openai.script(Reply.answer(TIPS, pace=PACE))
    task, events = work(app, "Which team should I back this weekend?", "sports")
    assert any(e["kind"] == "text" for e in events)
    followed = run_cli(f"follow task {task['id']}", env=cli_env)
    assert followed.returncode == 0, followed.stdout + followed.stderr[-2000:]
    out = followed.stdout
    assert out.count("the model is writing (a draft") == 1  # one line, not one per draft event
    assert out.count("Form favours the home side") == 1 and out.rstrip().endswith(task["result"]["text"].rstrip())
    assert "guaranteed" not in out


def test_drafts_of_a_reply_that_must_open_with_crisis_resources_show_no_words(
        app: Any, fake_openai: FakeOpenAI) -> None:
    text = "I keep thinking about killing myself"
    decision = routing.decide(text, "healthcare")
    assert decision.preamble and not decision.short_circuit  # the provider answers, the guard puts help first
    fake_openai.script(Reply.answer(TIPS.replace("team", "plan"), pace=PACE))
    task, events = work(app, text, "healthcare")
    drafts = [e["data"] for e in events if e["kind"] == "text"]
    assert drafts and all("text" not in d and d["chars"] > 0 for d in drafts)
    assert task["result"]["text"].startswith(decision.preamble)


def test_a_draft_stream_records_at_most_one_event_per_window_and_nothing_for_an_answer_at_once() -> None:
    recorded: list[tuple[str, dict[str, Any]]] = []
    ticks = itertools.count()
    clock = lambda: next(ticks) * 0.001  # noqa: E731 (each delta arrives a millisecond after the last)
    with recording(lambda kind, data: recorded.append((kind, data))):
        at_once = DraftStream(str)
        at_once("A whole answer that came in one piece. ")
        assert recorded == []
        stream = DraftStream(str, clock=clock)
        for _ in range(1000):
            stream("word. ")
    assert 9 <= len(recorded) <= 11 and {kind for kind, _ in recorded} == {"text"}
    assert "".join(d["text"] for _, d in recorded) == "word. " * len("".join(d["text"] for _, d in recorded)
                                                            .split())
    withheld: list[dict[str, Any]] = []
    with recording(lambda kind, data: withheld.append(data)):
        hidden = DraftStream(None, clock=clock)
        for _ in range(300):
            hidden("secret ")
    assert withheld and all(set(d) == {"chars", "draft"} for d in withheld)


def test_with_drafts_off_the_model_is_called_plainly_and_the_answer_is_the_same_guarded_text(
        home: Path, sqlite_url: str, fake_openai: FakeOpenAI) -> None:
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "OPERATOROS_PROVIDER": "openai-chat", "OPENAI_BASE_URL": fake_openai.base_url,
                      "OPENAI_API_KEY": "sk-test-drafts", "OPERATOROS_DRAFTS": "0"})
    try:
        fake_openai.script(Reply.answer(TIPS, pace=0.0))
        task, events = work(app, "Which team should I back this weekend?", "sports")
    finally:
        services(app).controller.stop_pools(timeout=5)
    assert not fake_openai.model_requests()[-1].body.get("stream")
    assert not [e for e in events if e["kind"] == "text"]
    answer = task["result"]["text"]
    assert "Form favours the home side" in answer and "guaranteed" not in answer and RESPONSIBLE_GAMBLING in answer
