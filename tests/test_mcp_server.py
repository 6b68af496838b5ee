"""The MCP front door through the SDK's own client: stdio (`main.py mcp`) and streamable HTTP (/mcp on `serve`)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import CallToolResult

from .conftest import ROOT, TEST_API_KEY, stop_processes
from .test_api_workflows import memo_flow
from .test_main_cli import _free_port

EMERGENCY_FIRST = "EMERGENCY: call your local emergency number now."
CHEST_PAIN = "I have crushing chest pain spreading to my left arm and I am sweating"
TOOLS = {"status", "health", "list_pools", "scale_pool", "restart_pool", "submit_task", "get_task", "list_tasks",
         "cancel_task", "run_demo", "list_workflows", "show_workflow", "create_workflow", "run_workflow", "show_run",
         "approve_step", "reject_step", "cancel_run", "history", "ask", "list_keys", "rotate_key", "revoke_key"}
READ_ONLY = {"status", "health", "list_pools", "get_task", "list_tasks", "list_workflows", "show_workflow", "show_run",
             "history", "list_keys"}
DESTRUCTIVE = {"scale_pool", "restart_pool", "cancel_task", "reject_step", "cancel_run", "ask", "rotate_key",
               "revoke_key"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _env(home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.pop("TASK_BACKEND", None)
    return {**env, "OPERATOROS_HOME": str(home), "DATABASE_URL": database_url, "OPERATOROS_USER": "tester",
            "OPERATOROS_API_KEY": TEST_API_KEY, "PYTHONUNBUFFERED": "1"}


@contextlib.contextmanager
def serving(env: dict[str, str], *extra: str) -> Iterator[str]:
    """`python main.py serve` on a free port; its base URL once it answers."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port), *extra], env=env,
                            cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/api/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        yield base
    finally:
        stop_processes([proc])
    assert "Traceback" not in (proc.stderr.read() if proc.stderr and not proc.stderr.closed else "")


def _user_key(base: str, name: str) -> str:
    created = requests.post(base + "/api/users", json={"name": name},
                            headers={"Authorization": f"Bearer {TEST_API_KEY}"}, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["api_key"]


@contextlib.asynccontextmanager
async def connect(base: str, key: str, **options: Any):  # type: ignore[no-untyped-def]
    """The SDK's client on /mcp with a Bearer key."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http, Client(streamable_http_client(base + "/mcp", http_client=http), **options) as client:
        yield client


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured result, asserting it succeeded."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, _text(result))
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    """A tool error's message, asserting the call failed as a tool error (not a protocol failure)."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, result.structured_content)
    return _text(result)


def _text(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def _check_tool_list(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 40, name
        assert tool.input_schema["type"] == "object" and tool.output_schema is not None, name
        hints = tool.annotations
        assert hints is not None and hints.read_only_hint == (name in READ_ONLY), name
        assert hints.destructive_hint == (name in DESTRUCTIVE), name
    scale = tools["scale_pool"].input_schema
    assert scale["required"] == ["pool"] and {"size", "delta"} <= set(scale["properties"])
    assert tools["get_task"].input_schema["properties"]["task_id"]["minimum"] == 1
    submitted = tools["submit_task"].output_schema
    assert submitted is not None and submitted["properties"]["status"]["enum"] == [
        "queued", "running", "succeeded", "failed", "cancelled"]


async def _workflows(ann: Client, bob: Client) -> None:
    assert "exactly one" in await refused(ann, "create_workflow")
    assert "nowhere" in await refused(ann, "create_workflow", definition={
        **memo_flow(), "steps": [{**memo_flow()["steps"][0], "depends_on": ["nowhere"]}]})
    workflow = await ok(ann, "create_workflow", definition=memo_flow())
    assert (await ok(ann, "show_workflow", workflow_id=workflow["id"]))["name"] == "Memo"
    assert "not_found" in await refused(bob, "show_workflow", workflow_id=workflow["id"])
    assert [w["id"] for w in (await ok(ann, "list_workflows"))["workflows"]] == [workflow["id"]]
    assert (await ok(bob, "list_workflows"))["workflows"] == []
    runs = []
    for _ in range(3):
        run = await ok(ann, "run_workflow", workflow_id=workflow["id"], inputs={"topic": "pricing"})
        for _ in range(20):
            run = await ok(ann, "show_run", run_id=run["id"], wait_seconds=1)
            if run["status"] == "waiting":
                break
        assert run["status"] == "waiting", run
        runs.append(run["id"])
    assert "not_found" in await refused(bob, "approve_step", run_id=runs[0])
    assert (await ok(ann, "approve_step", run_id=runs[0], step="sign_off", note="fine"))["steps"][1]["status"] == "done"
    assert (await ok(ann, "reject_step", run_id=runs[1], note="no"))["status"] == "rejected"
    assert (await ok(ann, "cancel_run", run_id=runs[2]))["status"] == "cancelled"
    assert "conflict" in await refused(ann, "cancel_run", run_id=runs[2])


async def _http_scenario(base: str, ann_key: str, bob_key: str) -> None:
    async with connect(base, TEST_API_KEY) as admin, connect(base, ann_key) as ann, connect(base, bob_key) as bob:
        await _check_tool_list(ann)
        status = await ok(admin, "status")
        assert [p["name"] for p in status["pools"]][0] == "healthcare" and "tasks" in status
        assert "database" in await ok(admin, "health")
        assert [p["name"] for p in (await ok(admin, "list_pools", pool="financial"))["pools"]] == ["financial"]
        assert (await ok(admin, "scale_pool", pool="general", size=3))["desired_size"] == 3
        assert (await ok(admin, "scale_pool", pool="general", delta=-1))["desired_size"] == 2
        assert "bad_request" in await refused(admin, "scale_pool", pool="general", size=2, delta=1)
        assert "unprocessable" in await refused(admin, "scale_pool", pool="general", size=999)
        assert isinstance((await ok(admin, "restart_pool", pool="sports"))["restarted_agents"], int)
        for tool, args in (("scale_pool", {"pool": "general", "size": 1}), ("restart_pool", {})):
            message = await refused(bob, tool, **args)
            assert "forbidden" in message and "Only an admin" in message

        emergency = await ok(ann, "submit_task", text=CHEST_PAIN, pool="general", wait_seconds=30)
        assert emergency["status"] == "succeeded" and emergency["pool"] == "healthcare"
        assert emergency["result"]["text"].splitlines()[0] == EMERGENCY_FIRST
        queued = await ok(ann, "submit_task", text="Summarise this week's sales figures", pool="business")
        assert queued["status"] in ("queued", "running", "succeeded")
        assert (await ok(ann, "get_task", task_id=queued["id"], wait_seconds=30))["status"] == "succeeded"
        mine = {t["id"] for t in (await ok(ann, "list_tasks"))["tasks"]}
        assert mine == {emergency["id"], queued["id"]}
        assert (await ok(ann, "list_tasks", status="succeeded", pool="healthcare"))["tasks"][0]["id"] == emergency["id"]
        assert (await ok(bob, "list_tasks"))["tasks"] == []
        for tool in ("get_task", "cancel_task"):
            assert f"not_found: No such task: {queued['id']}" in await refused(bob, tool, task_id=queued["id"])
        assert "conflict" in await refused(ann, "cancel_task", task_id=queued["id"])  # it has ended
        assert "not_found" in await refused(ann, "get_task", task_id=987654)
        assert "task_id" in await refused(ann, "get_task", task_id="twelve")
        assert "wait_seconds" in await refused(ann, "get_task", task_id=1, wait_seconds=3600)
        assert "pool" in await refused(ann, "submit_task", text="x", pool="casino")
        assert "Unknown tool" in await refused(ann, "drop_tables")

        demo = await ok(ann, "run_demo", domain="healthcare")
        assert demo["ok"] is True and demo["domain"] == "healthcare"
        await _workflows(ann, bob)
        reply = await ok(ann, "ask", text="show me the system status")
        assert reply["ok"] is True and reply["intent"] == "status" and reply["user"].startswith("ann")
        history = await ok(ann, "history")
        assert history["session_id"] == reply["session_id"]
        assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
        assert (await ok(bob, "history")) == {"session_id": None, "messages": []}
        assert "not_found" in await refused(bob, "history", session_id=reply["session_id"])


def test_every_tool_over_streamable_http_with_keys_and_roles(database_url: str, home: Path) -> None:
    with serving(_env(home, database_url)) as base:
        for headers in ({}, {"Authorization": "Bearer oos_wrong_key_0123456789"}, {"Authorization": "Basic x"}):
            refused_call = requests.post(base + "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=10)
            assert refused_call.status_code == 401
            assert refused_call.json()["error"]["code"] == "unauthorized"
            assert refused_call.headers["WWW-Authenticate"].startswith("Bearer")
        asyncio.run(_http_scenario(base, _user_key(base, "ann"), _user_key(base, "bob")))
        assert requests.get(base + "/api/status", headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                            timeout=10).ok  # REST is untouched beside it


def test_waiting_sends_progress_and_a_cancel_stops_the_task(home: Path, sqlite_url: str) -> None:
    async def scenario(base: str) -> None:
        async with connect(base, TEST_API_KEY, mode="legacy") as client:
            updates: list[tuple[float, float | None, str | None]] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                updates.append((progress, total, message))

            result = await client.call_tool("submit_task", {"text": "long work", "pool": "general",
                                                            "wait_seconds": 2.5}, progress_callback=on_progress)
            task = result.structured_content
            assert not result.is_error and task is not None and task["status"] == "running"
            assert updates and updates[0][1] == 2.5 and f"task {task['id']} is running" in (updates[0][2] or "")
            assert [u[0] for u in updates] == sorted(u[0] for u in updates)
            await ok(client, "cancel_task", task_id=task["id"])
            assert (await ok(client, "get_task", task_id=task["id"], wait_seconds=10))["status"] == "cancelled"

    with serving(_env(home, sqlite_url), "--executor", "tests.fixtures:wait_for_cancel") as base:
        asyncio.run(scenario(base))


def test_stdio_serves_the_local_operator(home: Path, sqlite_url: str) -> None:
    async def scenario() -> None:
        env = _env(home, sqlite_url)
        env.pop("OPERATOROS_API_KEY")
        params = StdioServerParameters(command=sys.executable, args=[str(ROOT / "main.py"), "mcp"], env=env,
                                       cwd=str(ROOT))
        async with Client(params) as client:
            await _check_tool_list(client)
            assert (await ok(client, "scale_pool", pool="healthcare", size=3))["desired_size"] == 3  # an admin
            emergency = await ok(client, "submit_task", text=CHEST_PAIN, wait_seconds=30)  # worked inline
            assert emergency["status"] == "succeeded"
            assert emergency["result"]["text"].splitlines()[0] == EMERGENCY_FIRST
            assert "not_found" in await refused(client, "cancel_task", task_id=emergency["id"] + 1)
            assert "size" in await refused(client, "scale_pool", pool="healthcare", size=-1)
            reply = await ok(client, "ask", text="whoami")
            assert reply["ok"] is True and reply["user"] == "tester"

    asyncio.run(scenario())


def test_http_limits_and_dns_rebinding_protection(home: Path, sqlite_url: str) -> None:
    from app import create_app

    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "OPERATOROS_RATE_LIMIT": "4 per minute", "OPERATOROS_MAX_CONTENT_LENGTH": "2000",
                      "OPERATOROS_MCP_ALLOWED_HOSTS": "ops.example.com,localhost"})
    client = app.test_client()
    admin = {**MCP_HEADERS, "Authorization": f"Bearer {TEST_API_KEY}"}
    answered = client.post("/mcp", json=INITIALIZE, headers=admin)
    assert answered.status_code == 200 and b"operatoros" in answered.get_data()
    rebound = client.post("/mcp", json=INITIALIZE, headers={**admin, "Host": "evil.example.net"})
    assert rebound.status_code == 421 and rebound.get_data()  # read to its end, as a server does
    too_big = client.post("/mcp", data=json.dumps({**INITIALIZE, "pad": "x" * 3000}), headers=admin)
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "request_entity_too_large"
    limited = client.post("/mcp", json=INITIALIZE, headers={**admin, "Host": "ops.example.com"})
    assert limited.status_code == 200 and b"operatoros" in limited.get_data()
    over = client.post("/mcp", json=INITIALIZE, headers=admin)
    assert over.status_code == 429 and over.get_json()["error"]["code"] == "too_many_requests"
    assert int(over.headers["Retry-After"]) >= 0
    limiter = app.extensions["operatoros_rate_limiter"]  # counted per user of this database, as REST counts
    assert any(f"/{limiter.scope}user:1/mcp/" in key for key in limiter.storage._windows)


@pytest.mark.parametrize("value,expected", [(None, "localhost"), ("*", None), ("a.example, b.example", "a.example")])
def test_allowed_hosts_setting(value: str | None, expected: str | None) -> None:
    from mcp_server import allowed_hosts

    hosts = allowed_hosts(value)
    assert (hosts is None) if expected is None else (hosts is not None and expected in hosts)
