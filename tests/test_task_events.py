"""A task's life as events: recorded at each step, streamed over SSE (in order, resumable, owned), followed."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from agent_pools import run_inline
from app import create_app, services

from .conftest import ROOT, TEST_API_KEY, bearer, new_user, run_cli, stop_processes


@pytest.fixture
def app(home: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """The app on a fresh SQLite file with the domain agents (offline provider), no pool workers started."""
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "OPERATOROS_PROVIDER": "local"})
    yield app
    services(app).controller.stop_pools(timeout=5)


@pytest.fixture
def ann(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(new_user(app.test_client(), "ann"))


@pytest.fixture
def bob(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(new_user(app.test_client(), "bob"))


def sse(body: str) -> list[dict[str, Any]]:
    """The events of a server-sent event stream: each with its id (or None), event name and data."""
    events = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            events.append({"id": int(fields["id"]) if "id" in fields else None, "event": fields["event"],
                           "data": json.loads(fields["data"])})
    return events


def submit_and_work(app, client, headers: dict[str, str], text: str, pool: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    task = client.post("/api/tasks", json={"input": text, "pool": pool}, headers=headers).get_json()
    controller = services(app).controller
    assert run_inline(controller.queue, controller.executor, task["id"], pool) == "succeeded"
    return task


def test_the_stream_gives_a_task_s_life_in_order_and_resumes_after_last_event_id(app, ann) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    task = submit_and_work(app, client, ann, "I have chest pain spreading to my left arm and I am sweating",
                           "healthcare")
    response = client.get(f"/api/tasks/{task['id']}/events", headers={**ann, "Accept": "text/event-stream"})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = sse(response.get_data(as_text=True))
    assert [e["event"] for e in events] == ["queued", "claimed", "safety", "succeeded"]
    ids = [e["id"] for e in events]
    assert ids[0] == 0 and ids[1] < ids[2] and ids[3] is None  # queued and the end are read from the task's row
    claimed, safety, done = (e["data"]["data"] for e in events[1:])
    assert claimed["attempt"] == 1 and claimed["worker"].startswith("inline-")
    assert "red_flag" in " ".join(safety["flags"]) or safety["short_circuit"]  # the decision made at submission
    assert safety["triage"] == "emergency" and done["triage"] == "emergency"
    assert done["provider"] == "safety-policy" and "emergency" in done["text"].lower()

    resumed = client.get(f"/api/tasks/{task['id']}/events", headers={**ann, "Last-Event-ID": str(ids[1])})
    assert [(e["id"], e["event"]) for e in sse(resumed.get_data(as_text=True))] == [(ids[2], "safety"),
                                                                                  (None, "succeeded")]
    ended = client.get(f"/api/tasks/{task['id']}/events", headers={**ann, "Last-Event-ID": str(ids[2])})
    assert [e["event"] for e in sse(ended.get_data(as_text=True))] == ["succeeded"]  # the end, again
    as_json = client.get(f"/api/tasks/{task['id']}/events?last_event_id={ids[0]}",
                         headers={**ann, "Accept": "application/json"}).get_json()
    assert [e["kind"] for e in as_json["events"]] == ["claimed", "safety", "succeeded"]


def test_provider_calls_and_retries_are_events(app, ann) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    task = client.post("/api/tasks", json={"input": "Analyze AAPL stock performance", "pool": "financial"},
                       headers=ann).get_json()
    queue = services(app).controller.queue
    queue.retry.base_seconds = queue.retry.cap_seconds = 0.0  # the retry is due at once
    claim = queue.claim("financial", "agent-x")
    assert claim is not None and queue.fail(claim, "RuntimeError: the disk is full") == "queued"
    controller = services(app).controller
    assert run_inline(queue, controller.executor, task["id"], "financial") == "succeeded"
    kinds = [(e["kind"], e["data"].get("attempt")) for e in controller.task_events(
        services(app).conversations.local_caller("admin"), task["id"])]
    assert kinds == [("queued", None), ("claimed", 1), ("retry", 1), ("claimed", 2), ("safety", None),
                     ("provider_call", None), ("succeeded", None)]
    events = client.get(f"/api/tasks/{task['id']}/events", headers={**ann, "Accept": "application/json"}).get_json()
    call = next(e for e in events["events"] if e["kind"] == "provider_call")["data"]
    assert call["provider"] == "local" and call["outcome"] == "ok"


def test_another_user_s_task_is_not_found_and_bad_input_is_a_400(app, ann, bob) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    task = client.post("/api/tasks", json={"input": "hello", "pool": "general"}, headers=ann).get_json()
    other = client.get(f"/api/tasks/{task['id']}/events", headers=bob)
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/tasks/999999/events", headers=ann).status_code == 404
    assert client.get(f"/api/tasks/{task['id']}/events").status_code == 401
    for query in ("seconds=0", "seconds=301", "seconds=abc", "last_event_id=-1", "last_event_id=inf"):
        bad = client.get(f"/api/tasks/{task['id']}/events?{query}", headers=ann)
        assert bad.status_code == 400 and "error" in bad.get_json(), query
    admin = client.get(f"/api/tasks/{task['id']}/events", headers={"Authorization": f"Bearer {TEST_API_KEY}",
                                                                   "Accept": "application/json"})
    assert [e["kind"] for e in admin.get_json()["events"]] == ["queued"]
    assert client.post(f"/api/tasks/{task['id']}/cancel", headers=ann).status_code == 200
    ended = sse(client.get(f"/api/tasks/{task['id']}/events", headers=ann).get_data(as_text=True))
    assert [e["event"] for e in ended] == ["queued", "cancelled"]
    assert ended[1]["data"]["data"]["error"] == "cancelled before it ran"


def test_the_stream_of_an_unserved_task_says_how_to_start_a_worker_and_ends_in_bounded_time(app, ann) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    task = client.post("/api/tasks", json={"input": "hello", "pool": "general"}, headers=ann).get_json()
    started = time.monotonic()
    events = sse(client.get(f"/api/tasks/{task['id']}/events?seconds=1.5", headers=ann).get_data(as_text=True))
    assert time.monotonic() - started < 10
    assert [e["event"] for e in events] == ["queued", "waiting"]
    assert events[1]["id"] is None and "python main.py serve" in events[1]["data"]["data"]["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_follow_task_shows_the_events_of_a_task_worked_by_serve(cli_env: dict[str, str], home: Path) -> None:
    queued = run_cli("--background", "--json", "Analyze AAPL stock performance", env=cli_env)
    task_id = json.loads(queued.stdout)["data"]["task"]["id"]
    unserved = run_cli(f"follow task {task_id}", env=cli_env)
    assert unserved.returncode == 1 and "no worker or server is running" in unserved.stdout
    assert "python main.py serve" in unserved.stdout and "Traceback" not in unserved.stderr

    port = _free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port)], env=cli_env,
                              cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if requests.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        followed = run_cli(f"follow task {task_id}", env=cli_env)
        assert followed.returncode == 0, followed.stdout + followed.stderr[-2000:]
        out = followed.stdout
        for said in ("queued in the financial pool", "claimed by worker", "safety:", "local builtin-analyzers: ok",
                     "succeeded (local)", "Not investment advice"):
            assert said in out, out
        assert out.index("claimed by worker") < out.index("succeeded (local)") < out.index("Not investment advice")

        key = (home / "admin_api_key").read_text().strip()
        over_http = run_cli("--json", "--api", base, f"follow task {task_id}",
                            env={**cli_env, "OPERATOROS_API_KEY": key})
        reply = json.loads(over_http.stdout)
        assert reply["ok"] is True and reply["data"]["task"]["status"] == "succeeded"
        assert [e["kind"] for e in reply["data"]["events"]] == ["queued", "claimed", "safety", "provider_call",
                                                                 "succeeded"]
    finally:
        stop_processes([server])
