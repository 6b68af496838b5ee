"""Issue 19 hardening, and the OWASP API Security Top 10 (2023) checks that apply to this API.

Each test names the item it holds: sign-ins bound to their key, keys withheld, limits on the
authenticated identity, 4xx instead of 500, status by role, file modes, key management, and the
key-leak grep over the database, its WAL, the logs and the responses after the sign-in flows.
"""
from __future__ import annotations

import io
import json
import logging
import re
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import TEST_API_KEY, bearer, new_user, run_cli, say

KEY = re.compile(r"oos_[A-Za-z0-9_\-]{20,}")


def make_app(home: Path, sqlite_url: str, **env: str) -> Any:
    """An app on this test's database with the admin key and `env` overrides."""
    from app import create_app

    return create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url,
                       "OPERATOROS_API_KEY": TEST_API_KEY, "TESTING": True, **env})


def sign_in(client: Any, as_key: str, name: str, key: str) -> str:
    """Sign a session of `as_key`'s user in as `name` with `key`; the session id."""
    asked = say(client, as_key, "log in as " + name)
    done = say(client, as_key, key, asked["session_id"])
    assert done["ok"] and done["user"] == name, done
    return str(asked["session_id"])


# -- (1) sign-ins bound to the key that made them ------------------------------------------------


def test_a_sign_in_ends_when_its_key_is_rotated_or_revoked(app: Any, client: Any) -> None:
    ann, bob = new_user(client, "ann"), new_user(client, "bob")
    session = sign_in(client, ann, "bob", bob)
    assert say(client, ann, "whoami", session)["data"]["name"] == "bob"
    rotated = client.post("/api/users/bob/key", headers=bearer(bob))
    assert rotated.status_code == 200 and rotated.get_json()["api_key"] != bob
    assert client.get("/api/tasks", headers=bearer(bob)).status_code == 401  # the old key, at once
    assert say(client, ann, "whoami", session)["data"]["name"] == "ann"  # and the sign-in made with it
    new_key = rotated.get_json()["api_key"]
    session = sign_in(client, ann, "bob", new_key)
    assert client.delete("/api/users/bob/key", headers=bearer(TEST_API_KEY)).get_json() == \
        {"name": "bob", "active": False}
    assert client.get("/api/tasks", headers=bearer(new_key)).status_code == 401
    assert say(client, ann, "whoami", session)["data"]["name"] == "ann"


def test_a_sign_in_ends_after_its_idle_time_and_on_log_out(home: Path, sqlite_url: str) -> None:
    idle = make_app(home, sqlite_url, OPERATOROS_SIGN_IN_IDLE_SECONDS="0").test_client()
    ann, bob = new_user(idle, "ann"), new_user(idle, "bob")
    asked = say(idle, ann, "log in as bob")
    assert say(idle, ann, bob, asked["session_id"])["response"].startswith("Signed in as bob")
    assert say(idle, ann, "whoami", asked["session_id"])["data"]["name"] == "ann"  # idle longer than 0 s: ended
    lasting = make_app(home, sqlite_url).test_client()
    session = sign_in(lasting, ann, "bob", bob)
    assert say(lasting, ann, "whoami", session)["data"]["name"] == "bob"
    assert "Signed out of bob" in say(lasting, ann, "log out", session)["response"]
    assert say(lasting, ann, "whoami", session)["data"]["name"] == "ann"


def test_a_rotated_admin_key_revokes_the_old_one_at_start_up(home: Path, sqlite_url: str) -> None:
    first = make_app(home, sqlite_url).test_client()
    ann = new_user(first, "ann")
    session = sign_in(first, ann, "admin", TEST_API_KEY)
    assert say(first, ann, "whoami", session)["data"]["role"] == "admin"
    new_admin_key = "oos_the_rotated_admin_key_000000000"
    second = make_app(home, sqlite_url, OPERATOROS_API_KEY=new_admin_key).test_client()
    # the old key is refused before the new one is ever used, and the sign-in it made is over
    assert second.get("/api/tasks", headers=bearer(TEST_API_KEY)).status_code == 401
    assert say(second, ann, "whoami", session)["data"] == {"name": "ann", "role": "user"}
    assert second.get("/api/keys", headers=bearer(new_admin_key)).status_code == 200


# -- (2) keys withheld -------------------------------------------------------------------------


def test_a_key_anywhere_in_a_message_is_never_stored_or_echoed(app: Any, client: Any, sqlite_url: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every record of every logger, as a verbose deployment would write
    bob = new_user(client, "bob")
    ann = new_user(client, "ann")
    first = say(client, ann, f"log in as bob with key {bob}")
    asked = say(client, ann, "log in as bob", first["session_id"])
    wrong = say(client, ann, "oos_a_wrong_key_for_bob_0000000000", asked["session_id"])
    assert wrong["ok"] is False
    again = say(client, ann, bob, asked["session_id"])  # the right key, after the question was spent
    replies = json.dumps([first, asked, wrong, again])
    sessions = client.get("/api/sessions", headers=bearer(ann)).get_data(as_text=True)
    history = client.get(f"/api/sessions/{asked['session_id']}/messages", headers=bearer(ann)).get_data(as_text=True)
    assert bob not in replies + sessions + history
    assert "[API key withheld]" in sessions + history
    assert bob not in caplog.text and "oos_a_wrong_key_for_bob" not in caplog.text  # nor in the logs
    _assert_not_in_files(bob, sqlite_url)


def test_sign_in_from_the_cli_takes_the_key_from_the_environment_not_argv(cli_env: dict[str, str]) -> None:
    created = run_cli("--json", "register bob", env=cli_env)
    key = KEY.search(json.loads(created.stdout)["response"]).group(0)  # type: ignore[union-attr]
    signed = run_cli("--json", "login", "bob", env={**cli_env, "OPERATOROS_SIGN_IN_KEY": key})
    reply = json.loads(signed.stdout)
    assert reply["ok"] and reply["user"] == "bob" and key not in signed.stdout + signed.stderr
    piped = run_cli("--json", "login", "bob", env=cli_env, input=key + "\n")
    assert json.loads(piped.stdout)["user"] == "bob"
    history = run_cli("--json", "show my history", env=cli_env)
    assert key not in history.stdout
    _assert_not_in_files(key, cli_env["DATABASE_URL"])


def _assert_not_in_files(secret: str, url: str) -> None:
    db_file = Path(url.removeprefix("sqlite:///"))
    for path in (db_file, db_file.with_name(db_file.name + "-wal")):
        assert not path.exists() or secret.encode() not in path.read_bytes(), path


# -- (3) limits on the authenticated identity --------------------------------------------------


def test_rate_limits_count_the_user_not_the_header_spelling(home: Path, sqlite_url: str) -> None:
    client = make_app(home, sqlite_url, OPERATOROS_RATE_LIMIT="4 per minute").test_client()
    spellings = [f"Bearer {TEST_API_KEY}", f"bearer {TEST_API_KEY}", f"BEARER {TEST_API_KEY}",
                 f"Bearer  {TEST_API_KEY}", f"bearer   {TEST_API_KEY} "]
    codes = [client.get("/api/pools", headers={"Authorization": h}).status_code for h in spellings]
    assert codes == [200, 200, 200, 200, 429]


def test_failed_authentications_per_address_are_limited(home: Path, sqlite_url: str) -> None:
    client = make_app(home, sqlite_url, OPERATOROS_AUTH_FAILURE_LIMIT="5 per minute").test_client()
    codes = [client.get("/api/pools", headers=bearer(f"oos_guess_{n:030d}")).status_code for n in range(7)]
    assert codes == [401] * 5 + [429] * 2
    refused = client.get("/api/pools", headers=bearer(TEST_API_KEY))  # even the right key, from this address
    assert refused.status_code == 429 and refused.get_json()["error"]["message"] == (
        "Too many failed authentications from this address; try again later.")
    assert client.get("/api/pools", headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                      environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200  # another address


def test_concurrent_long_polls_per_user_are_bounded(home: Path, sqlite_url: str) -> None:
    from api_routes import RATE_LIMITER_KEY

    app = make_app(home, sqlite_url, OPERATOROS_MAX_LONG_POLLS="1")
    client = app.test_client()
    task = client.post("/api/tasks", json={"input": "Analyze AAPL"}, headers=bearer(TEST_API_KEY)).get_json()
    admin = app.extensions["operatoros"].conversations.caller_for_key(TEST_API_KEY)
    with app.extensions[RATE_LIMITER_KEY].long_poll(admin):  # one poll held open
        refused = client.get(f"/api/tasks/{task['id']}?wait=1", headers=bearer(TEST_API_KEY))
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_requests"
        assert client.get(f"/api/tasks/{task['id']}", headers=bearer(TEST_API_KEY)).status_code == 200
    assert client.get(f"/api/tasks/{task['id']}?wait=0.1", headers=bearer(TEST_API_KEY)).status_code == 200


# -- (4) 4xx, never 500 -------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400(client: Any, auth: dict[str, str]) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/command", data=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_a_chunked_body_over_the_limit_is_a_413(client: Any, auth: dict[str, str]) -> None:
    body = b'{"text": "' + b"a" * 1_100_000 + b'"}'
    response = client.post("/api/command", input_stream=io.BytesIO(body),
                           headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "request_entity_too_large"


def test_a_header_over_64_kb_gets_a_json_431_from_the_server(app: Any) -> None:
    from werkzeug.serving import make_server

    import main

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=main._request_handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(b"GET /api/pools HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
    finally:
        server.shutdown()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 431 " in head.split(b"\r\n")[0]
    assert json.loads(body)["error"]["code"].startswith("request_header_fields")


def test_a_key_in_the_url_is_refused(client: Any) -> None:
    response = client.get(f"/api/pools?api_key={TEST_API_KEY}")
    assert response.status_code == 400 and "Authorization" in response.get_json()["error"]["message"]


# -- (6) status by role, files, names, control characters ----------------------------------------


def test_plain_users_see_no_database_url_or_host_figures(app: Any, client: Any, home: Path) -> None:
    ann = new_user(client, "ann")
    for path in ("/api/status", "/api/metrics"):
        seen = client.get(path, headers=bearer(ann))
        assert seen.status_code == 200
        assert "system" not in seen.get_json() and "url" not in seen.get_json()["database"]
        assert str(home) not in seen.get_data(as_text=True)
        assert "system" in client.get(path, headers=bearer(TEST_API_KEY)).get_json()


def test_the_database_and_its_wal_are_readable_by_their_owner_only(app: Any, client: Any, sqlite_url: str) -> None:
    new_user(client, "ann")
    db_file = Path(sqlite_url.removeprefix("sqlite:///"))
    for path in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_one_name_per_user_regardless_of_case(client: Any, auth: dict[str, str]) -> None:
    refused = client.post("/api/users", json={"name": "ADMIN"}, headers=auth)
    assert refused.status_code == 409
    assert say(client, TEST_API_KEY, "register Admin")["error"]["code"] == "conflict"


def test_keys_are_made_by_the_server_only(client: Any) -> None:
    reply = say(client, TEST_API_KEY, "register bob")
    assert reply["ok"] and KEY.search(reply["response"])  # no question asking for a key of bob's choosing
    assert "next message" not in reply["response"]
    assert say(client, TEST_API_KEY, "aaaaaaaaaaaaaaaa", reply["session_id"])["intent"] != "login"


def test_text_replies_carry_no_terminal_escapes(cli_env: dict[str, str]) -> None:
    run_cli("say \x1b[31mred\x1b]0;title\x07 please", env=cli_env)
    shown = run_cli("show my history", env=cli_env)
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "red" in shown.stdout


# -- (7) key management -----------------------------------------------------------------------


def test_keys_are_listed_without_secrets_and_only_for_admins(app: Any, client: Any) -> None:
    ann = new_user(client, "ann")
    listed = client.get("/api/keys", headers=bearer(TEST_API_KEY))
    text = listed.get_data(as_text=True)
    assert listed.status_code == 200 and {k["name"] for k in listed.get_json()["keys"]} >= {"admin", "ann"}
    assert ann not in text and TEST_API_KEY not in text and "hash" not in text
    assert client.get("/api/keys", headers=bearer(ann)).status_code == 403
    assert client.post("/api/users/admin/key", headers=bearer(ann)).status_code == 403


def test_an_admins_own_key_rotates_cleanly(client: Any) -> None:
    rotated = client.post("/api/users/admin/key", headers=bearer(TEST_API_KEY)).get_json()
    assert client.get("/api/keys", headers=bearer(TEST_API_KEY)).status_code == 401
    assert client.get("/api/keys", headers=bearer(rotated["api_key"])).status_code == 200


# -- (8) the CLI's truth and contract --------------------------------------------------------------


def test_the_local_operator_is_named_truthfully(cli_env: dict[str, str]) -> None:
    run_cli("--json", "--user", "ann", "status", env=cli_env)
    with sa.create_engine(cli_env["DATABASE_URL"]).begin() as conn:
        conn.execute(sa.text("UPDATE users SET role = 'user' WHERE name = 'ann'"))
    reply = json.loads(run_cli("--json", "--user", "ann", "whoami", env=cli_env).stdout)
    assert "local operator (admin)" in reply["response"] and "conversation of ann" in reply["response"]
    assert reply["data"]["stored_role"] == "user"


def test_json_usage_errors_print_the_contract(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", "--no-such-flag", env=cli_env)
    assert result.returncode == 2
    reply = json.loads(result.stdout)
    assert reply["ok"] is False and reply["error"]["code"] == "usage_error"


# -- OWASP API Security Top 10 (2023) ------------------------------------------------------------


def test_api1_objects_of_another_user_are_404(app: Any, client: Any) -> None:
    ann, bob = new_user(client, "ann"), new_user(client, "bob")
    task = client.post("/api/tasks", json={"input": "Analyze AAPL"}, headers=bearer(ann)).get_json()
    session = say(client, ann, "status")["session_id"]
    for path in (f"/api/tasks/{task['id']}", f"/api/sessions/{session}/messages"):
        assert client.get(path, headers=bearer(bob)).status_code == 404
    assert client.post(f"/api/tasks/{task['id']}/cancel", headers=bearer(bob)).status_code == 404


def test_api2_and_api3_no_secret_or_hash_in_any_answer(app: Any, client: Any) -> None:
    ann = new_user(client, "ann")
    with app.extensions["operatoros"].engine.connect() as conn:
        hashes = [h for (h,) in conn.execute(sa.text("SELECT api_key_hash FROM users")) if h]
    for path in ("/api/keys", "/api/sessions", "/api/status", "/api/metrics", "/api/tasks", "/api/pools"):
        text = client.get(path, headers=bearer(TEST_API_KEY)).get_data(as_text=True)
        assert not any(h in text for h in hashes) and ann not in text and TEST_API_KEY not in text, path


def test_api5_admin_functions_are_403_for_users(app: Any, client: Any) -> None:
    ann = new_user(client, "ann")
    for method, path in (("post", "/api/pools/sports/scale"), ("post", "/api/pools/sports/restart"),
                         ("post", "/api/users"), ("get", "/api/keys"), ("delete", "/api/users/admin/key")):
        body = {"size": 2} if path.endswith("scale") else {"name": "eve"} if path == "/api/users" else None
        answer = getattr(client, method)(path, json=body, headers=bearer(ann))
        assert answer.status_code == 403, path


def test_api8_errors_are_json_without_stack_traces(client: Any, auth: dict[str, str]) -> None:
    for method, path in (("get", "/api/nothing"), ("delete", "/api/pools"), ("get", "/api/tasks/999999")):
        answer = getattr(client, method)(path, headers=auth)
        assert answer.is_json and "Traceback" not in answer.get_data(as_text=True), path


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token x"])
def test_api2_malformed_credentials_are_401(client: Any, header: str) -> None:
    assert client.get("/api/pools", headers={"Authorization": header}).status_code == 401


# -- (9) workflows: approvers, limits, deletion ----------------------------------------------------


def _spend_flow(approvers: list[str], schedule: str | None = None, tasks: int = 0) -> dict[str, Any]:
    """A workflow whose first step waits for one of `approvers`, after `tasks` task steps in parallel."""
    from workflows.templates import step

    steps = [step(f"t{n}", f"Task {n}", "task", "clerk", pool="business", input="Summarise the spend")
             for n in range(tasks)]
    steps.append(step("sign_off", "Sign off", "approval", "cfo", approvers=approvers))
    return {"version": 1, "name": "Spend", "description": "sign off the spend", "template": None,
            "schedule": schedule, "inputs": {}, "steps": steps}


def _waiting_run(client: Any, key: str, approvers: list[str]) -> int:
    """Save a spend workflow as `key`'s user and start a run, waiting for approval; its id."""
    workflow = client.post("/api/workflows", json={"definition": _spend_flow(approvers)}, headers=bearer(key))
    assert workflow.status_code == 201, workflow.get_json()
    run = client.post(f"/api/workflows/{workflow.get_json()['id']}/runs", json={}, headers=bearer(key)).get_json()
    assert run["status"] == "waiting", run
    return int(run["id"])


def test_only_a_listed_approver_or_an_admin_decides_an_approval(app: Any, client: Any, cli_env: dict[str, str]) -> None:
    ann, cfo, eve = new_user(client, "ann"), new_user(client, "CFO"), new_user(client, "eve")
    run = _waiting_run(client, ann, ["cfo"])
    for verb in ("approve", "reject"):
        refused = client.post(f"/api/workflow-runs/{run}/{verb}", json={}, headers=bearer(ann))  # the owner
        assert refused.status_code == 403 and "only by cfo or an admin" in refused.get_json()["error"]["message"]
    assert say(client, ann, f"approve run {run}")["error"]["code"] == "forbidden"  # the conversational door too
    assert client.post(f"/api/workflow-runs/{run}/approve", json={}, headers=bearer(eve)).status_code == 404
    approved = client.post(f"/api/workflow-runs/{run}/approve", json={}, headers=bearer(cfo))  # names: any case
    assert approved.status_code == 200 and approved.get_json()["steps"][0]["result"]["by"] == "CFO"
    second = _waiting_run(client, ann, ["cfo"])
    assert client.post(f"/api/workflow-runs/{second}/reject", json={}, headers=bearer(TEST_API_KEY)).status_code == 200


def test_a_schedule_fires_at_most_once_per_the_minimum_interval(app: Any, client: Any) -> None:
    ann = new_user(client, "ann")
    every_minute = client.post("/api/workflows", json={"definition": _spend_flow(["ann"], "* * * * *")},
                               headers=bearer(ann))
    assert every_minute.status_code == 400
    assert "at most once every 15 minutes" in every_minute.get_json()["error"]["message"]
    saved = client.post("/api/workflows", json={"definition": _spend_flow(["ann"])}, headers=bearer(ann)).get_json()
    for often in ("*/5 * * * *", "0,10 9 * * *"):
        refused = client.put(f"/api/workflows/{saved['id']}/schedule", json={"schedule": often}, headers=bearer(ann))
        assert refused.status_code == 400
        assert "OPERATOROS_MIN_SCHEDULE_MINUTES" in refused.get_json()["error"]["message"]
    hourly = client.put(f"/api/workflows/{saved['id']}/schedule", json={"schedule": "0 * * * *"}, headers=bearer(ann))
    assert hourly.status_code == 200


def test_active_runs_per_user_and_task_steps_per_run_are_capped(home: Path, sqlite_url: str) -> None:
    client = make_app(home, sqlite_url, OPERATOROS_MAX_ACTIVE_RUNS="2", OPERATOROS_MAX_RUN_TASK_STEPS="3",
                      OPERATOROS_RATE_LIMIT="100000 per minute").test_client()
    ann, bob = new_user(client, "ann"), new_user(client, "bob")
    first = _waiting_run(client, ann, ["ann"])
    workflow = client.get(f"/api/workflow-runs/{first}", headers=bearer(ann)).get_json()["workflow_id"]
    _waiting_run(client, ann, ["ann"])
    third = client.post(f"/api/workflows/{workflow}/runs", json={}, headers=bearer(ann))
    assert third.status_code == 409 and "OPERATOROS_MAX_ACTIVE_RUNS" in third.get_json()["error"]["message"]
    _waiting_run(client, bob, ["bob"])  # the limit is per user
    assert client.post(f"/api/workflow-runs/{first}/cancel", headers=bearer(ann)).status_code == 200
    assert client.post(f"/api/workflows/{workflow}/runs", json={}, headers=bearer(ann)).status_code == 202
    big = client.post("/api/workflows", json={"definition": _spend_flow(["ann"], tasks=4)}, headers=bearer(ann))
    assert big.status_code == 400 and "at most 3" in big.get_json()["error"]["message"]


def test_a_workflow_is_deleted_over_rest_and_the_cli_with_its_runs_cancelled(app: Any, client: Any,
                                                                            cli_env: dict[str, str]) -> None:
    ann, bob = new_user(client, "ann"), new_user(client, "bob")
    run = _waiting_run(client, ann, ["ann"])
    workflow = client.get(f"/api/workflow-runs/{run}", headers=bearer(ann)).get_json()["workflow_id"]
    assert client.delete(f"/api/workflows/{workflow}", headers=bearer(bob)).status_code == 404  # not bob's
    deleted = client.delete(f"/api/workflows/{workflow}", headers=bearer(ann))
    assert deleted.status_code == 200 and deleted.get_json() == {"id": workflow, "deleted": True,
                                                                  "runs_cancelled": [run]}
    assert client.get(f"/api/workflows/{workflow}", headers=bearer(ann)).status_code == 404
    assert client.get(f"/api/workflow-runs/{run}", headers=bearer(ann)).status_code == 404
    other = client.post("/api/workflows", json={"definition": _spend_flow(["ann"])}, headers=bearer(ann)).get_json()
    by_admin = client.delete(f"/api/workflows/{other['id']}", headers=bearer(TEST_API_KEY))
    assert by_admin.status_code == 200

    run_cli("--json", "automate invoice approval", env=cli_env)
    listed = json.loads(run_cli("--json", "list the workflows", env=cli_env).stdout)["data"]["workflows"]
    said = json.loads(run_cli("--json", f"delete workflow {listed[0]['id']}", env=cli_env).stdout)
    assert said["ok"] and said["data"]["deleted"] is True and "Deleted workflow" in said["response"]
    after = json.loads(run_cli("--json", "list the workflows", env=cli_env).stdout)["data"]["workflows"]
    assert listed[0]["id"] not in [w["id"] for w in after]


def test_status_and_health_by_command_mcp_and_prometheus_hide_host_figures_from_users(
        app: Any, client: Any, home: Path) -> None:
    from api.mcp_tools import OperatorTools

    ann = new_user(client, "ann")
    for text in ("status", "health"):
        seen = say(client, ann, text)
        assert "system" not in seen["data"] and "url" not in seen["data"]["database"], text
        assert str(home) not in json.dumps(seen)
        assert "system" in say(client, TEST_API_KEY, text)["data"]
    prometheus = client.get("/metrics", headers=bearer(ann)).get_data(as_text=True)
    assert "operatoros_database_up" in prometheus and "operatoros_cpu_percent" not in prometheus
    assert "operatoros_cpu_percent" in client.get("/metrics", headers=bearer(TEST_API_KEY)).get_data(as_text=True)
    svc = app.extensions["operatoros"]
    tools = OperatorTools(svc, local_caller=svc.conversations.caller_for_key(ann))
    for tool in (tools.status, tools.health):
        reading = tool(None)  # type: ignore[arg-type]
        assert "system" not in reading and "url" not in reading["database"]


# -- (10) configuration errors and paths ------------------------------------------------------------


@pytest.mark.parametrize("url", ["notaurl", "foo://bar"])
def test_a_bad_database_url_is_a_configuration_error(cli_env: dict[str, str], url: str) -> None:
    result = run_cli("--json", "status", env={**cli_env, "DATABASE_URL": url})
    reply = json.loads(result.stdout)
    assert result.returncode == 2 and reply["ok"] is False, result.stdout
    assert reply["error"]["code"] == "bad_configuration" and "DATABASE_URL" in reply["error"]["message"]
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_not_an_internal_error(cli_env: dict[str, str], app: Any) -> None:
    from sqlalchemy.exc import OperationalError

    result = run_cli("--json", "status", env={**cli_env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    reply = json.loads(result.stdout)
    assert result.returncode == 2 and reply["error"]["code"] == "database_unavailable", result.stdout
    with app.test_request_context("/api/pools"):  # the server, when its database stops answering
        answer = app.make_response(app.handle_user_exception(
            OperationalError("SELECT 1", {}, Exception("server closed"))))
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"


def test_error_messages_never_show_the_instance_folder(home: Path) -> None:
    from domains.market_data import resolve_data_file
    from errors import NotFound

    (home / "data").mkdir()
    with pytest.raises(NotFound) as missing:
        resolve_data_file(home / "data", "prices.csv")
    assert str(home) not in missing.value.message and "prices.csv" in missing.value.message


# -- (11) key management from the CLI and MCP ---------------------------------------------------------


def test_keys_are_listed_rotated_and_revoked_from_the_cli(cli_env: dict[str, str]) -> None:
    created = json.loads(run_cli("--json", "register bob", env=cli_env).stdout)
    first = KEY.search(created["response"]).group(0)  # type: ignore[union-attr]
    listed = run_cli("keys", "list", "--json", env=cli_env)
    keys = {k["name"]: k for k in json.loads(listed.stdout)["data"]["keys"]}
    assert listed.returncode == 0 and keys["bob"]["active"] and first not in listed.stdout
    rotated = json.loads(run_cli("--json", "keys", "rotate", "bob", env=cli_env).stdout)
    second = rotated["data"]["api_key"]
    assert rotated["ok"] and second != first and second in rotated["response"]
    with sa.create_engine(cli_env["DATABASE_URL"]).connect() as conn:
        stored = conn.execute(sa.text("SELECT api_key_hash FROM users WHERE name = 'bob'")).scalar_one()
    from conversation_manager import hash_api_key

    assert stored == hash_api_key(second)
    revoked = run_cli("keys", "revoke", "bob", env=cli_env)
    assert revoked.returncode == 0 and "Revoked bob's key" in revoked.stdout
    assert "bob" in run_cli("keys", "list", env=cli_env).stdout
    missing = run_cli("keys", "revoke", "nobody", "--json", env=cli_env)
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_key_tools_over_mcp_are_for_admins_only(app: Any, client: Any) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from api.mcp_tools import OperatorTools

    ann = new_user(client, "ann")
    svc = app.extensions["operatoros"]
    as_ann = OperatorTools(svc, local_caller=svc.conversations.caller_for_key(ann))
    for call in (lambda: as_ann.list_keys(None), lambda: as_ann.rotate_key(None, "ann"),  # type: ignore[arg-type]
                 lambda: as_ann.revoke_key(None, "admin")):  # type: ignore[arg-type]
        with pytest.raises(ToolError, match="forbidden"):
            call()
    as_admin = OperatorTools(svc, local_caller=svc.conversations.caller_for_key(TEST_API_KEY))
    assert "ann" in {k.name for k in as_admin.list_keys(None).keys}  # type: ignore[arg-type]
    rotated = as_admin.rotate_key(None, "ann")  # type: ignore[arg-type]
    assert client.get("/api/tasks", headers=bearer(ann)).status_code == 401
    assert client.get("/api/tasks", headers=bearer(rotated.api_key)).status_code == 200
    assert as_admin.revoke_key(None, "ann").active is False  # type: ignore[arg-type]
    assert client.get("/api/tasks", headers=bearer(rotated.api_key)).status_code == 401
