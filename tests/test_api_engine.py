"""The engine's REST endpoints: tasks and pools, with admin rights and per-user visibility."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app import create_app, services
from models import Role

from . import fixtures
from .conftest import TEST_API_KEY


@pytest.fixture
def app(home: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url,
                      "OPERATOROS_API_KEY": TEST_API_KEY, "EXECUTOR": fixtures.echo})
    yield app
    services(app).controller.stop_pools(timeout=5)


@pytest.fixture
def user_auth(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    services(app).conversations.ensure_user_with_key("ann", "oos_ann_key_123456", Role.USER)
    return {"Authorization": "Bearer oos_ann_key_123456"}


@pytest.fixture
def other_auth(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    services(app).conversations.ensure_user_with_key("bob", "oos_bob_key_123456", Role.USER)
    return {"Authorization": "Bearer oos_bob_key_123456"}


def test_submit_then_long_poll_until_done(app, client, user_auth) -> None:  # type: ignore[no-untyped-def]
    services(app).controller.start_pools()
    response = client.post("/api/tasks", json={"input": "hello", "pool": "sports", "priority": 3},
                           headers=user_auth)
    assert response.status_code == 201
    task = response.get_json()
    assert task["status"] == "queued" and task["pool"] == "sports" and task["priority"] == 3
    done = client.get(f"/api/tasks/{task['id']}?wait=10", headers=user_auth).get_json()
    assert done["status"] == "succeeded" and done["result"] == {"text": "echo: hello"}


def test_free_text_is_routed_to_a_pool(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    task = client.post("/api/tasks", json={"input": "Analyze AAPL stock performance"}, headers=user_auth).get_json()
    assert task["pool"] == "financial"
    assert client.post("/api/tasks", json={"input": "what is the capital of France"},
                       headers=user_auth).get_json()["pool"] == "general"


def test_an_idempotency_key_returns_the_same_task(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    body = {"input": "once", "idempotency_key": "req-1"}
    first = client.post("/api/tasks", json=body, headers=user_auth)
    again = client.post("/api/tasks", json=body, headers=user_auth)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]


@pytest.mark.parametrize("body, status", [
    ({}, 400), ({"input": ""}, 400), ({"input": 5}, 400), ({"input": "x", "pool": "astrology"}, 400),
    ({"input": "x", "priority": "high"}, 400), ({"input": "x", "priority": 10_000}, 400),
    ({"input": "x", "status": "succeeded"}, 400), ({"input": "x", "user_id": 1}, 400),
])
def test_bad_task_bodies_are_refused_and_create_nothing(client, user_auth, body, status) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/tasks", json=body, headers=user_auth)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert client.get("/api/tasks", headers=user_auth).get_json()["tasks"] == []


def test_users_see_only_their_own_tasks(client, user_auth, other_auth, auth) -> None:  # type: ignore[no-untyped-def]
    mine = client.post("/api/tasks", json={"input": "ann's"}, headers=user_auth).get_json()
    client.post("/api/tasks", json={"input": "bob's"}, headers=other_auth)
    assert client.get(f"/api/tasks/{mine['id']}", headers=other_auth).status_code == 404
    assert client.post(f"/api/tasks/{mine['id']}/cancel", headers=other_auth).status_code == 404
    assert [t["input"] for t in client.get("/api/tasks", headers=other_auth).get_json()["tasks"]] == ["bob's"]
    assert len(client.get("/api/tasks", headers=auth).get_json()["tasks"]) == 2  # admin sees all
    assert client.get(f"/api/tasks/{mine['id']}", headers=user_auth).status_code == 200


def test_list_filters_and_paginates(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        client.post("/api/tasks", json={"input": f"t{i}", "pool": "general"}, headers=user_auth)
    page = client.get("/api/tasks?limit=2", headers=user_auth).get_json()
    assert [t["input"] for t in page["tasks"]] == ["t4", "t3"]
    nxt = client.get(f"/api/tasks?limit=2&before_id={page['next_before_id']}", headers=user_auth).get_json()
    assert [t["input"] for t in nxt["tasks"]] == ["t2", "t1"]
    assert client.get("/api/tasks?status=queued&pool=general", headers=user_auth).status_code == 200
    assert client.get("/api/tasks?status=bogus", headers=user_auth).status_code == 400
    assert client.get("/api/tasks?limit=0", headers=user_auth).status_code == 400
    assert client.get("/api/tasks?limit=abc", headers=user_auth).status_code == 400


def test_cancel_a_queued_task_then_it_conflicts(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    task = client.post("/api/tasks", json={"input": "x"}, headers=user_auth).get_json()
    response = client.post(f"/api/tasks/{task['id']}/cancel", headers=user_auth)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert client.post(f"/api/tasks/{task['id']}/cancel", headers=user_auth).status_code == 409
    assert client.get("/api/tasks/999999", headers=user_auth).status_code == 404


def test_pools_list_and_one(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    pools = client.get("/api/pools", headers=user_auth).get_json()["pools"]
    assert [p["name"] for p in pools] == ["healthcare", "financial", "sports", "business", "general"]
    assert {"throughput_per_minute", "latency_p95_ms", "error_rate", "utilisation", "queued_tasks",
            "oldest_queued_age_seconds"} <= set(pools[0])
    assert client.get("/api/pools/sports", headers=user_auth).get_json()["name"] == "sports"
    assert client.get("/api/pools/astrology", headers=user_auth).status_code == 404


def test_only_admins_scale_and_restart(client, user_auth, auth) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/pools/sports/scale", json={"size": 4}, headers=user_auth).status_code == 403
    assert client.post("/api/pools/sports/restart", headers=user_auth).status_code == 403
    response = client.post("/api/pools/sports/scale", json={"size": 4}, headers=auth)
    assert response.status_code == 200 and response.get_json()["desired_size"] == 4
    assert client.post("/api/pools/sports/scale", json={"delta": -1}, headers=auth).get_json()["desired_size"] == 3
    assert client.post("/api/pools/sports/restart", headers=auth).get_json()["restarted_agents"] == 0


@pytest.mark.parametrize("body, status", [
    ({"size": 99}, 422), ({"size": -1}, 400), ({"delta": -5}, 422), ({"size": "4"}, 400),
    ({"size": 2, "delta": 1}, 400),
    ({}, 400), ({"size": 2.5}, 400), ({"desired_size": 3}, 400),
])
def test_bad_scale_requests_change_nothing(client, auth, body, status) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/pools/general/scale", json=body, headers=auth).status_code == status
    assert client.get("/api/pools/general", headers=auth).get_json()["desired_size"] == 2


def test_scaling_is_audited(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from models import AuditLog

    client.post("/api/pools/healthcare/scale", json={"size": 5}, headers=auth)
    with services(app).engine.connect() as conn:
        row = conn.execute(sa.select(AuditLog.actor, AuditLog.action, AuditLog.target, AuditLog.details)).one()
    assert tuple(row) == ("admin", "scale", "healthcare", {"from": 2, "to": 5})


def test_wait_returns_when_the_task_ends_not_after_the_full_wait(app, client, user_auth) -> None:  # type: ignore[no-untyped-def]
    task = client.post("/api/tasks", json={"input": "later", "pool": "business"}, headers=user_auth).get_json()
    timer = threading.Timer(0.5, lambda: services(app).controller.start_pools())
    timer.start()
    start = time.monotonic()
    done: dict[str, Any] = client.get(f"/api/tasks/{task['id']}?wait=30", headers=user_auth).get_json()
    timer.join()
    assert done["status"] == "succeeded" and time.monotonic() - start < 10
    assert client.get(f"/api/tasks/{task['id']}?wait=100", headers=user_auth).status_code == 400


@pytest.mark.parametrize("data, message", [
    ("{not json", "The request body is not valid JSON."), ("[]", "input: Field required"),
    ('"text"', "body: Input should be a valid dictionary"),
])
def test_task_bodies_that_are_not_objects_get_the_schema_400(client, user_auth, data, message) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/tasks", data=data, headers={**user_auth, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.is_json
    assert response.get_json()["error"]["message"].startswith(("Invalid request: " + message, message))


@pytest.mark.parametrize("data, status, answer", [
    # pydantic reads these itself: what json.loads and then the schema would have given
    ('{"input": "x", "input": "second"}', 201, "second"), ('{"input": "x", "priority": 2.0}', 201, "x"),
    ('{"input": "x", "priority": NaN}', 400, "Invalid request: priority: "),
    # pydantic refuses these where json.loads reads them (a byte order mark, UTF-16): read as before
    ('\ufeff{"input": "bom"}', 201, "bom"), ('{"input": "sixteen"}'.encode("utf-16"), 201, "sixteen"),
    ('{"input": "x"} trailing', 400, "The request body is not valid JSON."),
])
def test_task_bodies_read_as_json_loads_reads_them(client, user_auth, data, status, answer) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/tasks", data=data, headers={**user_auth, "Content-Type": "application/json"})
    assert response.status_code == status
    body = response.get_json()
    assert body["input"] == answer if status == 201 else body["error"]["message"].startswith(answer)


def test_a_submission_answers_the_whole_task_as_a_read_would(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/tasks", json={"input": "x", "pool": "general"}, headers=user_auth)
    assert created.status_code == 201 and created.headers["Content-Type"] == "application/json"
    assert created.headers["X-RateLimit-Limit"] and created.headers["Retry-After"]
    task = created.get_json()
    read = client.get(f"/api/tasks/{task['id']}", headers=user_auth).get_json()
    assert {k: v for k, v in read.items() if k != "provider"} == task


def test_the_submission_route_is_still_documented(client, user_auth) -> None:  # type: ignore[no-untyped-def]
    post = client.get("/api/openapi.json", headers=user_auth).get_json()["paths"]["/api/tasks"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.rsplit("/", 1)[-1].startswith("TaskIn") and {"200", "201", "400", "429"} <= set(post["responses"])
