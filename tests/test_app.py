"""The Flask app and the foundation endpoints: JSON only, auth, limits."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app, services

from .conftest import bearer, new_user, say


def test_liveness_needs_no_key(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readiness_checks_the_database(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/health/ready", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["ready"] is True and body["database"]["dialect"] == "sqlite"


def test_readiness_is_503_when_the_database_is_gone(app, client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    client.get("/api/status", headers=auth)  # authenticate while the database is still there
    # readiness is the controller's: its engine points at a database that is not there
    services(app).controller.engine = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'gone.db'}")
    response = client.get("/api/health/ready", headers=auth)
    assert response.status_code == 503
    assert response.get_json()["ready"] is False


def test_unknown_path_is_a_json_404(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/nowhere", headers=auth)
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"


def test_unknown_path_outside_api_is_json_too(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/index.html")
    assert response.status_code == 404 and response.is_json


def test_wrong_method_is_a_json_405(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.delete("/api/status", headers=auth)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_a_json_400(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/command", data="{not json", headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("body", [[], {"text": 5}, {"text": "  "}, {"text": "status", "dry_run": "yes"}])
def test_invalid_fields_are_a_json_400(client, auth, body) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/command", json=body, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_a_body_past_the_limit_is_a_json_413(home: Path, sqlite_url: str) -> None:
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url,
                      "OPERATOROS_API_KEY": "k" * 20, "OPERATOROS_MAX_CONTENT_LENGTH": "1000"})
    response = app.test_client().post("/api/command", json={"text": "x" * 5000},
                                      headers={"Authorization": "Bearer " + "k" * 20})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_requests_without_a_valid_key_are_401(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/status").status_code == 401
    response = client.get("/api/status", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_status_reports_pools_tasks_and_database_without_secrets(home: Path, tmp_path: Path) -> None:
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
                      "OPERATOROS_API_KEY": "secret-admin-key-123"})
    response = app.test_client().get("/api/status", headers={"Authorization": "Bearer secret-admin-key-123"})
    body = response.get_json()
    assert response.status_code == 200
    assert [p["name"] for p in body["pools"]] == ["healthcare", "financial", "sports", "business", "general"]
    assert body["tasks"] == {"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
    assert body["system"]["memory_total_mb"] > 0
    assert "secret-admin-key-123" not in response.get_data(as_text=True)


def test_the_admin_key_is_stored_hashed(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from .conftest import TEST_API_KEY

    assert client.get("/api/status", headers=auth).status_code == 200
    with services(app).engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT api_key_hash FROM users WHERE name='admin'")).scalar()
    assert stored and TEST_API_KEY not in stored and len(stored) == 64


def test_command_endpoint_gives_the_cli_json(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/command", json={"text": "Show me the system status"}, headers=auth)
    body = response.get_json()
    assert response.status_code == 200
    assert body["ok"] is True and body["intent"] == "status"
    assert set(body) >= {"ok", "intent", "args", "response", "data", "session_id", "user"}
    assert body["user"] == "admin"
    again = client.post("/api/command", json={"text": "status", "session_id": body["session_id"]}, headers=auth)
    assert again.get_json()["session_id"] == body["session_id"]


def test_command_endpoint_refuses_another_users_session(client, auth) -> None:  # type: ignore[no-untyped-def]
    bob, ann = new_user(client, "bob"), new_user(client, "ann")
    bobs = say(client, bob, "status")["session_id"]
    response = client.post("/api/command", json={"text": "status", "session_id": bobs}, headers=bearer(ann))
    assert response.get_json()["ok"] is False
    assert response.get_json()["error"]["code"] == "not_found"
    history = client.get(f"/api/sessions/{bobs}/messages", headers=bearer(bob)).get_json()
    assert [m["content"] for m in history["messages"] if m["role"] == "user"] == ["status"]  # ann's never reached it
    assert say(client, bob, "status", bobs)["session_id"] == bobs  # the session itself works for its owner


def test_an_unexpected_error_is_a_json_500_without_a_traceback(app, client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def explode() -> None:
        raise RuntimeError("boom at /secret/path")

    monkeypatch.setattr(services(app).controller, "status", explode)
    response = client.get("/api/status", headers=auth)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "boom" not in response.get_data(as_text=True)


def test_bad_configuration_is_refused_clearly(home: Path, sqlite_url: str) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="TASK_BACKEND"):
        create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "TASK_BACKEND": "carrier-pigeon"})


def test_the_liveness_fast_path_answers_what_the_flask_view_answers(app) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    from app import HealthFastPath

    assert isinstance(app.wsgi_app, HealthFastPath)
    fast = app.test_client().get("/api/health")
    view = Client(app.wsgi_app.app).get("/api/health")  # the same request, through Flask and the view
    assert (fast.status, fast.get_data(), fast.headers.get("Content-Type"), fast.headers.get("Content-Length")) \
        == (view.status, view.get_data(), view.headers.get("Content-Type"), view.headers.get("Content-Length"))
    assert fast.get_json() == {"status": "ok"}
    assert sorted(fast.headers.keys()) == sorted(view.headers.keys())


def test_only_get_liveness_takes_the_fast_path(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert client.head("/api/health").status_code == 200
    refused = client.post("/api/health")
    assert refused.status_code == 405 and refused.get_json()["error"]["code"] == "method_not_allowed"
    assert client.get("/api/health/").status_code == 404
    assert client.get("/api/health/ready").status_code == 401  # the path's prefix is not enough
    document = client.get("/api/openapi.json", headers=auth).get_json()
    assert "/api/health" in document["paths"]


def test_hooks_and_views_run_as_flask_runs_them(app) -> None:  # type: ignore[no-untyped-def]
    """The app's cheaper ensure_sync hands back plain functions and methods, and leaves async ones to Flask."""
    import functools

    def plain() -> None:
        return None

    async def coroutine() -> None:
        return None

    assert app.ensure_sync(plain) is plain and app.ensure_sync(app.make_response) == app.make_response
    partial = functools.partial(plain)
    assert app.ensure_sync(partial) is partial
    with pytest.raises(RuntimeError, match="async"):  # Flask's own answer: async views need flask[async]
        app.ensure_sync(coroutine)


def test_the_openapi_document_is_built_without_an_app_in_a_fresh_process() -> None:
    """A client generator imports api_routes and asks for the document: no app, no database, no key."""
    import json
    import subprocess
    import sys

    from .conftest import ROOT, scrubbed_env

    script = ("import json, api_routes; first = api_routes.openapi_document(); "
              "print(json.dumps({'same': api_routes.openapi_document() is first, 'openapi': first['openapi'], "
              "'paths': sorted(first['paths'])}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=scrubbed_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout.strip().splitlines()[-1])
    assert document["openapi"].startswith("3.1") and document["same"] is True
    assert {"/api/tasks", "/api/health", "/api/command", "/metrics"} <= set(document["paths"])
