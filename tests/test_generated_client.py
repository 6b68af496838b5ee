"""A Python client generated from the served /api/openapi.json (openapi-python-client), driving a running `serve`.

What a user who never writes HTTP calls by hand does: fetch the document, generate a client with no
warning, and call the API through it. Every answer, 2xx or error, must come back parsed into the model
the document names for its status, and that model must hold the whole body (to_dict() gives it back).
"""
from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from .conftest import ROOT, TEST_API_KEY, stop_processes

pytestmark = pytest.mark.slow

PACKAGE = "operatoros_client"
"""Name of the generated package (its folder under the test's temp folder)."""

START_TIMEOUT_SECONDS = 60.0
"""How long `serve` may take to answer its first health check."""

WAIT_SECONDS = 30.0
"""Long-poll of a task or run through the client (the built-in provider answers in well under it)."""


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """`python main.py serve` on a free port over this test's database; its base URL."""
    port = _free_port()
    home = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.pop("TASK_BACKEND", None)
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=database_url, OPERATOROS_API_KEY=TEST_API_KEY,
               PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    with log.open("w") as log_file:  # a file, not a pipe: the access log must never fill a buffer and block
        process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port)], env=env,
                                   cwd=str(ROOT), stdout=log_file, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield base
    finally:
        stop_processes([process])


@pytest.fixture
def client_package(server: str, tmp_path: Path) -> Iterator[ModuleType]:
    """The client generated from the served document, imported; the generator must warn about nothing."""
    document = requests.get(server + "/api/openapi.json", headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                            timeout=10)
    assert document.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_bytes(document.content)
    out = tmp_path / "generated"
    out.mkdir()
    # The venv's bin first: the generator formats its output with ruff (one of its own dependencies).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(path),
                             "--meta", "none", "--output-path", str(out / PACKAGE), "--fail-on-warning"],
                            env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "Unable" not in output, output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_a_generated_client_drives_the_api_with_every_answer_typed(server: str, client_package: ModuleType) -> None:
    api = _Api(client_package, server)
    m = api.models

    # health, readiness, status and metrics: no key needed for liveness only
    assert api.call("health.get_health", 200, m.Liveness, client=api.anonymous).status == "ok"
    assert api.call("health.get_readiness", 200, m.Readiness).ready is True
    status = api.call("health.get_status", 200, m.StatusOut)
    assert {p.name for p in status.pools} == {"healthcare", "financial", "sports", "business", "general"}
    assert isinstance(status.tasks, m.TaskCounts) and isinstance(status.system, m.SystemMetrics)
    metrics = api.call("health.get_metrics", 200, m.HealthMetrics)
    assert metrics.ok is True and isinstance(metrics.database, m.DatabaseState)
    prometheus = api.module("health.get_prometheus_metrics").sync_detailed(client=api.admin)
    assert prometheus.status_code == 200 and "operatoros_database_up 1.0" in prometheus.parsed
    api.call("health.get_status", 401, m.ErrorBody, client=api.client_for("not-a-key"))
    assert api.call("meta.get_openapi_document", 200, m.OpenAPIDocument).openapi.startswith("3.1")

    # tasks: submit and wait, list, refuse bad input, hide another user's task
    task = api.call("tasks.submit_task", 201, m.TaskOut,
                    body=m.TaskIn(input_="Summarise this week's sales figures", pool=m.Pool.GENERAL))
    done = api.call("tasks.get_task", 200, m.TaskOut, task_id=task.id, wait=WAIT_SECONDS)
    assert done.status == "succeeded" and done.result.text
    listed = api.call("tasks.list_tasks", 200, m.TaskList)
    assert task.id in [t.id for t in listed.tasks]
    bad = api.call("tasks.submit_task", 400, m.ErrorBody, body=m.TaskIn(input_=""))
    assert bad.error.code == "bad_request" and "input" in bad.error.message
    api.call("tasks.get_task", 404, m.ErrorBody, task_id=999_999)

    # pools: scale as admin (sports to 0 so that a task there stays queued), cancel it, refuse a user
    pools = api.call("pools.list_pools", 200, m.PoolList)
    assert len(pools.pools) == 5
    scaled = api.call("pools.scale_pool", 200, m.PoolOut, name="sports", body=m.ScaleIn(size=0))
    assert scaled.desired_size == 0 and scaled.previous_size is not None
    api.call("pools.scale_pool", 422, m.ErrorBody, name="sports", body=m.ScaleIn(size=1000))
    _wait_for(lambda: api.call("pools.get_pool", 200, m.PoolOut, name="sports").live_agents == 0)
    waiting = api.call("tasks.submit_task", 201, m.TaskOut, body=m.TaskIn(input_="Odds of 2.5 on a draw",
                                                                         pool=m.Pool.SPORTS))
    cancelled = api.call("tasks.cancel_task", 200, m.TaskOut, task_id=waiting.id)
    assert cancelled.status == "cancelled"
    assert isinstance(api.call("pools.get_pool", 200, m.PoolOut, name="sports"), m.PoolOut)
    assert api.call("pools.restart_pool", 200, m.RestartOut, name="sports").pool == "sports"

    user = api.call("users.create_user", 201, m.UserOut, body=m.UserIn(name="casey"))
    as_user = api.client_for(user.api_key)
    refused = api.call("pools.scale_pool", 403, m.ErrorBody, client=as_user, name="sports", body=m.ScaleIn(size=2))
    assert refused.error.code == "forbidden"
    api.call("tasks.get_task", 404, m.ErrorBody, client=as_user, task_id=task.id)
    api.call("users.create_user", 403, m.ErrorBody, client=as_user, body=m.UserIn(name="dana"))

    # sessions and the conversational door
    session = api.call("sessions.create_session", 201, m.SessionOut, client=as_user)
    reply = api.call("command.run_command", 200, m.CommandOut, client=as_user,
                     body=m.CommandIn(text="show the status of the general pool", session_id=session.id))
    assert reply.ok is True and reply.session_id == session.id
    assert session.id in [s.id for s in api.call("sessions.list_sessions", 200, m.SessionList, client=as_user).sessions]
    messages = api.call("sessions.list_session_messages", 200, m.MessageList, client=as_user, session_id=session.id)
    assert messages.messages and isinstance(messages.messages[0], m.MessageOut)

    # workflows: create from a description, run it (approving what waits), read it back
    workflow = api.call("workflows.create_workflow", 201, m.WorkflowCreated,
                        body=m.WorkflowIn(description="When a refund is requested, check the order, "
                                                      "have a manager approve it, then notify the customer"))
    run = api.call("workflows.start_workflow_run", 202, m.RunOut, workflow_id=workflow.id, body=m.RunIn())
    run = _finish_run(api, run)
    assert run.status == "succeeded", run.to_dict()
    assert all(isinstance(step, m.StepOut) for step in run.steps)
    listing = api.call("workflows.list_workflows", 200, m.WorkflowList)
    assert [w.id for w in listing.workflows] == [workflow.id]
    detail = api.call("workflows.get_workflow", 200, m.WorkflowDetail, workflow_id=workflow.id)
    assert detail.last_run is not None and detail.last_run.id == run.id
    api.call("workflows.get_workflow", 404, m.ErrorBody, client=as_user, workflow_id=workflow.id)
    api.call("workflows.cancel_workflow_run", 409, m.ErrorBody, run_id=run.id)

    assert [d.domain for d in api.call("demos.list_demos", 200, m.DemoList).demos]
    api.call("demos.run_demo", 404, m.ErrorBody, domain="astrology")


def _finish_run(api: _Api, run: Any) -> Any:
    """Wait for a run to end, approving each approval step it waits on (a bounded number of times)."""
    m = api.models
    for _ in range(10):
        if run.status not in ("running", "waiting"):
            return run
        if run.status == "waiting":
            run = api.call("workflows.approve_workflow_run", 200, m.RunOut, run_id=run.id,
                           body=m.DecisionIn(note="approved by the generated client's test"))
        else:
            run = api.call("workflows.get_workflow_run", 200, m.RunOut, run_id=run.id, wait=WAIT_SECONDS)
    return run


class _Api:
    """The generated package, an admin client, and call(): one operation, its status and model asserted."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.models = importlib.import_module(f"{package.__name__}.models")
        self.anonymous = package.Client(base_url=base_url, raise_on_unexpected_status=True, timeout=None)
        self.admin = self.client_for(TEST_API_KEY)

    def client_for(self, key: str) -> Any:
        """An authenticated client that raises on any status the document does not declare."""
        return self.package.AuthenticatedClient(base_url=self.base_url, token=key, raise_on_unexpected_status=True,
                                                timeout=None)

    def module(self, operation: str) -> ModuleType:
        """The generated module of `tag.operation_id`."""
        return importlib.import_module(f"{self.package.__name__}.api.{operation}")

    def call(self, operation: str, status: int, model: type[Any], *, client: Any = None, **kwargs: Any) -> Any:
        """Call `operation`; assert its status, that the body was parsed into `model`, and that nothing was lost."""
        response = self.module(operation).sync_detailed(client=client or self.admin, **kwargs)
        body = response.content.decode()
        assert response.status_code == status, f"{operation}: {response.status_code} {body}"
        assert isinstance(response.parsed, model), f"{operation}: parsed {type(response.parsed).__name__}"
        assert response.parsed.to_dict() == json.loads(body), f"{operation}: the model does not give back the body"
        return response.parsed


def _wait_for(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    """Poll `condition` until it holds (workers apply a new pool size within a couple of seconds)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not true within {seconds} s"
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(base + "/api/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"serve did not answer within {START_TIMEOUT_SECONDS} s")
