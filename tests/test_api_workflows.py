"""The workflow, run and demo endpoints: auth, ownership (404 for others' objects), admin reach, JSON errors."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app, services
from models import Role
from workflows.templates import step

from . import fixtures
from .conftest import TEST_API_KEY

ADMIN = {"Authorization": f"Bearer {TEST_API_KEY}"}
DESCRIPTION = "Help me automate my project management workflow"


def memo_flow(name: str = "Memo") -> dict[str, Any]:
    return {"version": 1, "name": name, "description": "draft, sign off, announce", "template": None,
            "schedule": None, "inputs": {"topic": {"description": "what about", "required": True}}, "steps": [
                step("draft", "Draft", "task", "writer", inputs=["topic"], pool="business",
                     input="Draft a memo on {topic}"),
                step("sign_off", "Sign off", "approval", "boss", depends_on=["draft"], approvers=["boss", "ann"]),
                step("announce", "Announce", "notify", "writer", depends_on=["sign_off"], inputs=["topic"],
                     to=["team"], message="Memo on {topic} is out"),
            ]}


@pytest.fixture
def app(home: Path, sqlite_url: str) -> Iterator[Flask]:
    """The app with pool agents and the workflow loop running, as `serve` runs them."""
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "EXECUTOR": fixtures.offline_domain_agents, "OPERATOROS_RATE_LIMIT": "100000 per minute"})
    controller = services(app).controller
    controller.start_pools()
    controller.workflows.start(interval=0.05)
    yield app
    controller.workflows.stop(timeout=5)
    controller.stop_pools(timeout=5)
    services(app).engine.dispose()


def user(app: Flask, name: str) -> dict[str, str]:
    key = f"oos_{name}_key_0123456789"
    services(app).conversations.ensure_user_with_key(name, key, Role.USER)
    return {"Authorization": f"Bearer {key}"}


def until_status(client: FlaskClient, run_id: int, headers: dict[str, str], wanted: str) -> dict[str, Any]:
    """Long-poll the run (bounded) until it reaches `wanted`."""
    for _ in range(20):
        response = client.get(f"/api/workflow-runs/{run_id}?wait=5", headers=headers)
        assert response.status_code == 200, response.get_json()
        run = response.get_json()
        if run["status"] == wanted:
            return run
    raise AssertionError(f"run {run_id} never reached {wanted}: {run}")


def test_every_endpoint_needs_a_key(client: FlaskClient) -> None:
    calls = [("get", "/api/workflows"), ("post", "/api/workflows"), ("get", "/api/workflows/1"),
             ("post", "/api/workflows/1/runs"), ("get", "/api/workflow-runs/1"),
             ("post", "/api/workflow-runs/1/approve"), ("post", "/api/workflow-runs/1/reject"),
             ("post", "/api/workflow-runs/1/cancel"), ("get", "/api/demos"), ("post", "/api/demos/sports"),
             ("put", "/api/workflows/1/schedule"), ("delete", "/api/workflows/1/schedule")]
    for method, path in calls:
        response = getattr(client, method)(path)
        assert response.status_code == 401, (method, path)
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_description_becomes_a_saved_workflow_drafted_by_the_business_agent(app: Flask,
                                                                              client: FlaskClient) -> None:
    ann = user(app, "ann")
    created = client.post("/api/workflows", json={"description": DESCRIPTION}, headers=ann)
    assert created.status_code == 201, created.get_json()
    workflow = created.get_json()
    assert workflow["template"] == "project_management" and workflow["steps"] == 6
    assert workflow["draft"]["definition_source"] == "business agent"
    task = client.get(f"/api/tasks/{workflow['draft']['task']['id']}", headers=ann).get_json()
    assert task["pool"] == "business" and task["status"] == "succeeded"
    assert [s["key"] for s in workflow["step_list"]][:2] == ["plan", "approve_plan"]

    listed = client.get("/api/workflows", headers=ann).get_json()
    assert [w["id"] for w in listed["workflows"]] == [workflow["id"]] and listed["pending_approvals"] == []
    shown = client.get(f"/api/workflows/{workflow['id']}", headers=ann).get_json()
    assert shown["definition"]["steps"][1]["approvers"] == ["project sponsor"] and shown["runs"] == []
    renamed = client.post("/api/workflows", json={"description": DESCRIPTION, "name": "Launch plan"}, headers=ann)
    assert renamed.get_json()["name"] == "Launch plan"


def test_a_definition_is_validated_and_bad_bodies_are_400(app: Flask, client: FlaskClient) -> None:
    ann = user(app, "ann")
    saved = client.post("/api/workflows", json={"definition": memo_flow()}, headers=ann)
    assert saved.status_code == 201 and saved.get_json()["inputs"] == ["topic"]
    assert "draft" not in saved.get_json()
    broken = memo_flow()
    broken["steps"][1]["depends_on"] = ["nowhere"]
    for body in ({"definition": broken}, {}, {"definition": memo_flow(), "description": "both"},
                 {"description": "x", "owner": "me"}, {"description": "   "}, {"definition": memo_flow(), "name": ""}):
        response = client.post("/api/workflows", json=body, headers=ann)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["code"] == "bad_request"
    assert "nowhere" in client.post("/api/workflows", json={"definition": broken},
                                    headers=ann).get_json()["error"]["message"]
    not_json = client.post("/api/workflows", data="{", headers={**ann, "Content-Type": "application/json"})
    assert not_json.status_code == 400
    for raw in ("[]", "null", "\x00"):
        response = client.post(f"/api/workflows/{saved.get_json()['id']}/runs", data=raw,
                               headers={**ann, "Content-Type": "application/json"})
        assert response.status_code == 400, raw
    assert client.get("/api/workflows?limit=0", headers=ann).status_code == 400
    assert client.get("/api/workflows/99999999999999999999999", headers=ann).status_code == 404


def test_a_run_starts_at_once_waits_for_approval_and_is_approved(app: Flask, client: FlaskClient) -> None:
    ann = user(app, "ann")
    workflow = client.post("/api/workflows", json={"definition": memo_flow()}, headers=ann).get_json()
    started = client.post(f"/api/workflows/{workflow['id']}/runs", json={"inputs": {"topic": "pricing"}}, headers=ann)
    assert started.status_code == 202
    run = started.get_json()
    assert started.headers["Location"] == f"/api/workflow-runs/{run['id']}"
    assert run["status"] in ("running", "waiting") and run["inputs"] == {"topic": "pricing"}

    waiting = until_status(client, run["id"], ann, "waiting")
    assert waiting["waiting_for"] == [{"step": 2, "key": "sign_off", "title": "Sign off", "approvers": ["boss", "ann"]}]
    assert waiting["steps"][0]["status"] == "done" and waiting["task_ids"] == [waiting["steps"][0]["task_id"]]
    pending = client.get("/api/workflows", headers=ann).get_json()["pending_approvals"]
    assert [(p["run_id"], p["step"]) for p in pending] == [(run["id"], 2)]

    not_approval = client.post(f"/api/workflow-runs/{run['id']}/approve", json={"step": 1}, headers=ann)
    assert not_approval.status_code == 409 and "not an approval" in not_approval.get_json()["error"]["message"]
    assert client.post(f"/api/workflow-runs/{run['id']}/approve", json={"step": 9}, headers=ann).status_code == 404
    approved = client.post(f"/api/workflow-runs/{run['id']}/approve", json={"step": "sign_off", "note": "ok"},
                           headers=ann)
    assert approved.status_code == 200
    sign_off = approved.get_json()["steps"][1]
    assert sign_off["status"] == "done" and sign_off["result"]["by"] == "ann" and sign_off["result"]["note"] == "ok"
    done = until_status(client, run["id"], ann, "succeeded")
    assert [s["status"] for s in done["steps"]] == ["done", "done", "done"]
    assert done["steps"][2]["result"]["message"] == "Memo on pricing is out"
    again = client.post(f"/api/workflow-runs/{run['id']}/approve", json={}, headers=ann)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert client.post(f"/api/workflow-runs/{run['id']}/cancel", headers=ann).status_code == 409
    history = client.get(f"/api/workflows/{workflow['id']}", headers=ann).get_json()
    assert history["last_run"]["id"] == run["id"] and history["last_run"]["status"] == "succeeded"


def test_a_rejection_or_a_cancel_ends_the_run(app: Flask, client: FlaskClient) -> None:
    ann = user(app, "ann")
    workflow = client.post("/api/workflows", json={"definition": memo_flow()}, headers=ann).get_json()
    first = client.post(f"/api/workflows/{workflow['id']}/runs", json={"inputs": {"topic": "pricing"}},
                        headers=ann).get_json()
    assert first["missing_inputs"] == [] and first["inputs"] == {"topic": "pricing"}
    until_status(client, first["id"], ann, "waiting")
    rejected = client.post(f"/api/workflow-runs/{first['id']}/reject", json={"note": "budget frozen"}, headers=ann)
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["error"] == "step 2 (sign_off) was rejected by ann: budget frozen"
    assert [s["status"] for s in rejected.get_json()["steps"]] == ["done", "rejected", "cancelled"]

    second = client.post(f"/api/workflows/{workflow['id']}/runs", json={"inputs": {"topic": "hiring"}},
                         headers=ann).get_json()
    cancelled = client.post(f"/api/workflow-runs/{second['id']}/cancel", headers=ann)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"

    unknown = client.post(f"/api/workflows/{workflow['id']}/runs", json={"inputs": {"topik": "x"}}, headers=ann)
    assert unknown.status_code == 409 and "Unknown input(s) topik" in unknown.get_json()["error"]["message"]
    too_long = client.post(f"/api/workflows/{workflow['id']}/runs", json={"inputs": {"topic": "x" * 2001}},
                           headers=ann)
    assert too_long.status_code == 400
    assert client.get(f"/api/workflow-runs/{second['id']}?wait=61", headers=ann).status_code == 400


def test_a_user_never_sees_or_touches_another_users_workflows_and_an_admin_does(app: Flask,
                                                                              client: FlaskClient) -> None:
    ann, bob = user(app, "ann"), user(app, "bob")
    workflow = client.post("/api/workflows", json={"definition": memo_flow("Ann's memo")}, headers=ann).get_json()
    run = client.post(f"/api/workflows/{workflow['id']}/runs", json={"inputs": {"topic": "q3"}}, headers=ann).get_json()
    until_status(client, run["id"], ann, "waiting")

    body: dict[str, Any] | None
    for method, path, body in [
            ("get", f"/api/workflows/{workflow['id']}", None),
            ("post", f"/api/workflows/{workflow['id']}/runs", {}),
            ("get", f"/api/workflow-runs/{run['id']}", None),
            ("get", f"/api/workflow-runs/{run['id']}?wait=1", None),
            ("post", f"/api/workflow-runs/{run['id']}/approve", {}),
            ("post", f"/api/workflow-runs/{run['id']}/reject", {}),
            ("post", f"/api/workflow-runs/{run['id']}/cancel", None)]:
        response = getattr(client, method)(path, json=body, headers=bob) if body is not None else \
            getattr(client, method)(path, headers=bob)
        assert response.status_code == 404, (method, path, response.get_json())
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/workflows", headers=bob).get_json() == {"workflows": [], "pending_approvals": []}
    assert client.get(f"/api/workflow-runs/{run['id']}", headers=ann).get_json()["status"] == "waiting"

    everyone = client.get("/api/workflows", headers=ADMIN).get_json()
    assert [w["id"] for w in everyone["workflows"]] == [workflow["id"]]
    assert [p["run_id"] for p in everyone["pending_approvals"]] == [run["id"]]
    decided = client.post(f"/api/workflow-runs/{run['id']}/approve", json={"step": 2}, headers=ADMIN).get_json()
    assert decided["steps"][1]["result"]["by"] == "admin"
    assert until_status(client, run["id"], ann, "succeeded")["user_id"] == workflow["user_id"]


def test_demos_are_listed_and_run_as_the_caller(app: Flask, client: FlaskClient) -> None:
    ann, bob = user(app, "ann"), user(app, "bob")
    demos = client.get("/api/demos", headers=ann).get_json()["demos"]
    assert [d["domain"] for d in demos] == ["healthcare", "financial", "sports", "business"]
    assert all(d["title"] and d["steps"] for d in demos)

    ran = client.post("/api/demos/betting", headers=ann)
    assert ran.status_code == 200
    demo = ran.get_json()
    assert demo["domain"] == "sports" and demo["ok"] is True and len(demo["task_ids"]) == 3
    assert demo["summary"].startswith("Summary: sports demo, 3 steps") and "Step 1/3" in demo["text"]
    for task_id in demo["task_ids"]:
        assert client.get(f"/api/tasks/{task_id}", headers=ann).get_json()["status"] == "succeeded"
        assert client.get(f"/api/tasks/{task_id}", headers=bob).status_code == 404

    business = client.post("/api/demos/business", headers=ann).get_json()
    assert business["ok"] is True and business["workflow_id"] and business["run_id"], business.get("text")
    assert [w["id"] for w in client.get("/api/workflows", headers=ann).get_json()["workflows"]] == [
        business["workflow_id"]]
    assert client.get(f"/api/workflow-runs/{business['run_id']}", headers=ann).get_json()["status"] == "succeeded"
    assert client.get(f"/api/workflow-runs/{business['run_id']}", headers=bob).status_code == 404

    unknown = client.post("/api/demos/cooking", headers=ann)
    assert unknown.status_code == 404 and "demos are healthcare" in unknown.get_json()["error"]["message"]


def test_the_endpoints_are_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json", headers=ADMIN).get_json()
    assert {"/api/workflows", "/api/workflows/{workflow_id}", "/api/workflows/{workflow_id}/runs",
            "/api/workflow-runs/{run_id}", "/api/workflow-runs/{run_id}/approve", "/api/workflow-runs/{run_id}/reject",
            "/api/workflow-runs/{run_id}/cancel", "/api/demos", "/api/demos/{domain}"} <= set(document["paths"])
    start = document["paths"]["/api/workflows/{workflow_id}/runs"]["post"]
    assert "202" in start["responses"] and "404" in start["responses"]
    assert document["paths"]["/api/workflows"]["post"].get("security") != []  # the global Bearer key applies


def test_a_run_without_its_required_inputs_is_a_400_and_starts_nothing(app: Flask, client: FlaskClient) -> None:
    ann = user(app, "ann")
    workflow = client.post("/api/workflows", json={"definition": memo_flow()}, headers=ann).get_json()
    assert workflow["required_inputs"] == ["topic"]
    body: dict[str, Any] | None
    for body in ({}, {"inputs": {}}, {"inputs": {"topic": ""}}, None):
        response = client.post(f"/api/workflows/{workflow['id']}/runs", json=body, headers=ann)
        assert response.status_code == 400, body
        error = response.get_json()["error"]
        assert error["code"] == "bad_request" and "Missing required input(s) topic" in error["message"]
        assert error["details"]["missing_inputs"] == ["topic"]
    assert client.get(f"/api/workflows/{workflow['id']}", headers=ann).get_json()["runs"] == []


def test_a_schedule_is_set_and_removed_over_rest(app: Flask, client: FlaskClient) -> None:
    ann, bob = user(app, "ann"), user(app, "bob")
    workflow = client.post("/api/workflows", json={"definition": memo_flow()}, headers=ann).get_json()
    path = f"/api/workflows/{workflow['id']}/schedule"
    lacking = client.put(path, json={"schedule": "0 9 * * 1"}, headers=ann)
    assert lacking.status_code == 400 and lacking.get_json()["error"]["details"]["missing_inputs"] == ["topic"]
    unreadable = client.put(path, json={"schedule": "now and then", "inputs": {"topic": "x"}}, headers=ann)
    assert unreadable.status_code == 400 and "Cannot read the schedule" in unreadable.get_json()["error"]["message"]
    assert client.put(path, json={"schedule": "0 9 * * 1", "inputs": {"topik": "x"}}, headers=ann).status_code == 409
    assert client.put(path, json={"schedule": "0 9 * * 1", "inputs": {"topic": "x"}}, headers=bob).status_code == 404
    set_ = client.put(path, json={"schedule": "weekdays at 8:30", "inputs": {"topic": "the week"}}, headers=ann)
    assert set_.status_code == 200
    body = set_.get_json()
    assert body["schedule"] == "30 8 * * 1-5" and body["next_run_at"] and body["schedule_needs"] == []
    assert body["definition"]["inputs"]["topic"]["default"] == "the week"
    removed = client.delete(path, headers=ann)
    assert removed.status_code == 200 and removed.get_json()["schedule"] is None
    assert removed.get_json()["next_run_at"] is None
    assert client.delete(path, headers=bob).status_code == 404
