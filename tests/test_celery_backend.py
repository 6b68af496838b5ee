"""TASK_BACKEND=celery on the real PostgreSQL and Redis: dispatch, sweeps, kill -9, scaling, the API and CLI.

Each test has a database of its own and a Redis namespace of its own (queue names and every key
prefixed, its keys deleted afterwards), so tests and other people's runs on the same Redis never meet.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import database
from agent_pools import CancelToken, ExecutionResult
from models import AgentPool, Task, utcnow
from task_processor import DEFAULT_LEASE_SECONDS, Claim, TaskQueue

from . import fixtures
from .conftest import REDIS_URL, ROOT, SWEEP_SECONDS, TEST_API_KEY, Deployment, run_cli

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


def poison(claim: Claim, token: CancelToken) -> ExecutionResult:
    """Record the execution; then, for an input starting 'poison', kill this worker process (as the OOM
    killer would)."""
    done = fixtures.record(claim, token)
    if claim.input.startswith("poison"):
        os.kill(os.getpid(), signal.SIGKILL)
    return done


# -- fixtures -------------------------------------------------------------------------------------


def _results(engine: sa.Engine) -> dict[int, tuple[str, dict[str, Any] | None, int]]:
    with engine.connect() as conn:
        return {i: (s.value, r, a) for i, s, r, a in conn.execute(sa.select(Task.id, Task.status, Task.result,
                                                                             Task.attempts))}


class _CountingCursor:
    """A DBAPI cursor that notes the SQL of every statement it runs."""

    def __init__(self, cursor: Any, statements: list[str]) -> None:
        self._cursor = cursor
        self._statements = statements

    def execute(self, sql: str, params: Any = None) -> Any:
        self._statements.append(sql)
        return self._cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


# -- no worker process ----------------------------------------------------------------------------


def test_configuration_sets_late_ack_reject_on_lost_and_one_message_per_process(broker: dict[str, Any]) -> None:
    from backends.celery_queue import VISIBILITY_TIMEOUT_SECONDS, CeleryConfig, get_app

    config = CeleryConfig(broker["url"], broker["namespace"])
    conf = get_app(config).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options == {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
                                             "global_keyprefix": f"{broker['namespace']}:"}
    assert {e["task"] for e in conf.beat_schedule.values()} == {"operatoros.sweep", "operatoros.workflow_tick"}
    assert get_app(CeleryConfig(broker["url"], broker["namespace"])) is get_app(config)
    assert config.queue("healthcare") == f"{broker['namespace']}.healthcare"
    assert config.pool_of(config.queue("sports")) == "sports" and config.pool_of(config.ops_queue) is None


def test_a_dead_workers_task_is_sent_again_within_a_minute_by_default() -> None:
    from backends.celery_queue import STALE_QUEUED_SECONDS, SWEEP_SECONDS

    # An expired lease is noticed by the next sweep; a message held by a dead worker, once stale.
    assert DEFAULT_LEASE_SECONDS + SWEEP_SECONDS < 60
    assert STALE_QUEUED_SECONDS + SWEEP_SECONDS < 60


def test_the_celery_backend_needs_a_redis_url(cli_env: dict[str, str], home: Path, sqlite_url: str) -> None:
    from app import create_app
    from config import ConfigError

    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "TASK_BACKEND": "celery",
                    "REDIS_URL": "", "CELERY_BROKER_URL": ""})
    env = {k: v for k, v in cli_env.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    result = run_cli("--json", "status", env={**env, "TASK_BACKEND": "celery"})
    assert result.returncode == 2
    reply = json.loads(result.stdout)
    assert reply["error"]["code"] == "bad_configuration" and "REDIS_URL" in reply["error"]["message"]


def test_local_mode_never_imports_celery_and_celery_mode_imports_it_only_when_used(tmp_path: Path) -> None:
    code = ("import sys, threading; sys.path.insert(0, %r)\n"
            "import backends.celery_queue, main, app\n"
            "assert 'celery' not in sys.modules and 'kombu' not in sys.modules\n"
            "assert threading.active_count() == 1\n"
            "application = app.create_app({'OPERATOROS_HOME': %r, 'DATABASE_URL': 'sqlite:///%s/a.db'})\n"
            "app.services(application).controller.status()\n"
            "assert 'celery' not in sys.modules, 'local mode imported celery'\n"
            "application = app.create_app({'OPERATOROS_HOME': %r, 'DATABASE_URL': 'sqlite:///%s/b.db',\n"
            "                              'TASK_BACKEND': 'celery', 'REDIS_URL': 'redis://127.0.0.1:1/0'})\n"
            "assert 'celery' not in sys.modules, 'building the app imported celery'\n"
            ) % (str(ROOT), str(tmp_path), tmp_path, str(tmp_path), tmp_path)
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""), "OPERATOROS_HOME": str(tmp_path / "h")},
                            timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.postgres
def test_a_submitted_task_is_one_message_and_a_duplicate_message_changes_nothing(
        deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    from backends import celery_worker

    task = deployment.queue.submit("sports", "hello")
    assert deployment.backend.queue_depth("sports") == 1 and deployment.backend.queue_depth("general") == 0
    for name, value in deployment.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(celery_worker.EXECUTOR_ENV, "tests.fixtures:echo")
    runtime = celery_worker._Runtime(deployment.backend.config)
    try:
        assert celery_worker.run_task(task["id"], "sports", runtime) == "succeeded"
        done = deployment.queue.get(task["id"])
        assert done["status"] == "succeeded" and done["result"] == {"text": "echo: hello"} and done["attempts"] == 1
        assert celery_worker.run_task(task["id"], "sports", runtime) is None  # the same message again
        assert deployment.queue.get(task["id"]) == done
        cancelled = deployment.queue.submit("sports", "never")
        deployment.queue.cancel(cancelled["id"])
        assert celery_worker.run_task(cancelled["id"], "sports", runtime) is None
    finally:
        runtime.close()


@pytest.mark.postgres
def test_a_worker_process_works_a_task_in_two_statements_on_its_kept_connection(
        deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    from backends import celery_worker
    from task_processor import DirectTaskQueue

    statements: list[str] = []
    kept = DirectTaskQueue._kept

    def counted(self: DirectTaskQueue) -> tuple[Any, Any]:
        raw, cursor = kept(self)
        return raw, _CountingCursor(cursor, statements)

    monkeypatch.setattr(DirectTaskQueue, "_kept", counted)
    for name, value in deployment.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(celery_worker.EXECUTOR_ENV, "tests.fixtures:echo")
    runtime = celery_worker._Runtime(deployment.backend.config)
    through_sqlalchemy: list[str] = []
    for engine in (runtime.engine, runtime.db):
        sa.event.listen(engine, "before_cursor_execute", lambda *args: through_sqlalchemy.append(args[2]))
    try:
        ids = [deployment.queue.submit("general", f"task {i}")["id"] for i in range(3)]
        for task_id in ids:
            assert celery_worker.run_task(task_id, "general", runtime) == "succeeded"
        assert through_sqlalchemy == []
        per_task = [sql.split(" SET ")[1].split(",")[0] for sql in statements if "lease_expires_at =" not in
                    sql.split(",")[0]]  # not the lease keeper's renewals, if a second went by
        assert per_task == ["status = 'running'", "status = 'succeeded'"] * 3
        results = [deployment.queue.get(i)["result"]["text"] for i in ids]
        assert results == [f"echo: task {n}" for n in range(3)]
    finally:
        runtime.close()


@pytest.mark.postgres
def test_the_direct_queue_has_taskqueues_guards_a_result_is_recorded_once(postgres_url: str) -> None:
    from backends.celery_worker import _worker_engine
    from task_processor import DirectTaskQueue

    engine = database.make_engine(postgres_url)
    database.ensure_schema(engine)
    queue, worker = TaskQueue(engine), _worker_engine(postgres_url)
    direct = DirectTaskQueue(worker)
    try:
        decision = {"pool": "general", "flags": ["prompt_injection"], "urgency": None}
        task = queue.submit("general", "hello", max_attempts=2, timeout_seconds=30, safety=decision)
        assert direct.claim("sports", "agent-0", task_id=task["id"]) is None  # another pool's task
        claim = direct.claim("general", "agent-1", task_id=task["id"])
        assert claim == Claim(task["id"], "general", "hello", 1, 2, 30.0, "agent-1#1", None, None, decision)
        assert direct.claim("general", "agent-2", task_id=task["id"]) is None  # no longer queued
        running = queue.get(task["id"])
        assert running["status"] == "running" and running["lease_owner"] == "agent-1#1"
        left = (datetime.fromisoformat(running["lease_expires_at"]) - utcnow()).total_seconds()
        assert 0 < left <= DEFAULT_LEASE_SECONDS

        assert not direct.complete(replace(claim, owner="agent-2#1"), {"text": "impostor"})
        assert direct.complete(claim, {"text": "héllo"}, tokens_in=3, tokens_out=4, provider="test")
        assert not direct.complete(claim, {"text": "twice"})
        done = queue.get(task["id"])
        assert (done["status"], done["result"], done["tokens_in"], done["tokens_out"], done["provider"],
                done["lease_owner"]) == ("succeeded", {"text": "héllo"}, 3, 4, "test", None)

        # A lease that expired and was swept: the late result is discarded, the next attempt's recorded.
        late = queue.submit("general", "slow")
        first = direct.claim("general", "agent-3", task_id=late["id"])
        assert first is not None
        queue.expire_leases_of("agent-3")
        assert queue.requeue_expired()["requeued"] == 1
        assert not direct.complete(first, {"text": "late"})
        second = direct.claim("general", "agent-4", task_id=late["id"])
        assert second is not None and second.attempt == 2 and direct.complete(second, {"text": "on time"})
        assert queue.get(late["id"])["result"] == {"text": "on time"}

        # Renewal: the owners' leases are extended; those whose task asks to be cancelled are named.
        asked = queue.submit("general", "to cancel")
        held = direct.claim("general", "agent-6", task_id=asked["id"])
        assert held is not None and queue.cancel(asked["id"])["cancel_requested"]
        before = queue.get(asked["id"])["lease_expires_at"]
        time.sleep(0.01)
        owners = [held.owner, "agent-7#1"]
        assert direct.renew(owners) == {held.owner} == queue.renew(owners)
        assert queue.get(asked["id"])["lease_expires_at"] > before

        # Not due yet (a retry's backoff): not claimed.
        waiting = queue.submit("general", "later")
        with engine.begin() as conn:
            conn.execute(sa.update(Task).where(Task.id == waiting["id"])
                         .values(run_after=utcnow() + timedelta(hours=1)))
        assert direct.claim("general", "agent-5", task_id=waiting["id"]) is None
    finally:
        direct.close()
        worker.dispose()
        engine.dispose()


@pytest.mark.postgres
def test_the_direct_queue_replaces_a_dead_connection_and_still_records_the_result(
        postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from backends.celery_worker import _worker_engine
    from task_processor import DirectTaskQueue

    engine = database.make_engine(postgres_url)
    database.ensure_schema(engine)
    queue, worker = TaskQueue(engine), _worker_engine(postgres_url)
    direct = DirectTaskQueue(worker)
    try:
        task = queue.submit("general", "hello")
        claim = direct.claim("general", "agent-1", task_id=task["id"])
        assert claim is not None
        with engine.connect() as conn:  # as a database restart would
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        assert killed >= 1
        assert direct.complete(claim, {"text": "recorded"})
        assert queue.get(task["id"])["result"] == {"text": "recorded"}
        assert "connection was lost; retrying" in caplog.text
    finally:
        direct.close()
        worker.dispose()
        engine.dispose()


def test_the_direct_queue_falls_back_to_taskqueues_statements_off_postgresql(sqlite_url: str) -> None:
    from task_processor import DirectTaskQueue

    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    direct = DirectTaskQueue(engine)
    try:
        task = direct.submit("general", "hello")
        claim = direct.claim("general", "agent-1", task_id=task["id"])
        assert claim is not None and claim.owner == "agent-1#1"
        assert direct.complete(claim, {"text": "done"}) and not direct.complete(claim, {"text": "again"})
        assert direct.get(task["id"])["result"] == {"text": "done"}
    finally:
        direct.close()
        engine.dispose()


def test_broker_ready_pings_the_real_redis_and_reports_a_closed_port_at_once(broker: dict[str, Any]) -> None:
    import socket

    from backends.celery_queue import broker_ready
    from config import Settings

    ready, detail = broker_ready(Settings.from_env({"REDIS_URL": broker["url"]}))
    assert ready, detail
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    ready, detail = broker_ready(Settings.from_env({"REDIS_URL": f"redis://:hunter2@127.0.0.1:{port}/0"}))
    assert not ready and "ConnectionError" in detail and f"127.0.0.1:{port}" in detail
    assert "hunter2" not in detail
    assert time.monotonic() - started < 2
    ready, detail = broker_ready(Settings.from_env({}))
    assert not ready and "REDIS_URL" in detail


@pytest.mark.postgres
def test_the_sweep_requeues_and_resends_an_expired_lease_and_a_lost_message(deployment: Deployment) -> None:
    from backends.celery_queue import sweep

    short = TaskQueue(deployment.engine, deployment.backend, lease_seconds=0.2)
    held = short.submit("healthcare", "claimed by a worker that then died")
    lost = short.submit("financial", "its message is lost")
    with deployment.backend.app.connection_or_acquire() as conn:  # as if consumed by dead workers
        for pool in ("healthcare", "financial"):
            conn.default_channel.queue_purge(deployment.backend.config.queue(pool))
    assert deployment.backend.queue_depth("financial") == 0
    assert short.claim("healthcare", "dead-agent", task_id=held["id"]) is not None
    with deployment.engine.begin() as conn:  # ready for longer than the stale age
        conn.execute(sa.update(Task).where(Task.id == lost["id"]).values(run_after=utcnow() - timedelta(hours=1)))
    time.sleep(0.3)
    swept = sweep(short, deployment.backend)
    assert swept["requeued"] == 1 and swept["failed"] == 0 and swept["resent"] == 1
    assert deployment.backend.queue_depth("healthcare") == 1 and deployment.backend.queue_depth("financial") == 1
    assert short.get(held["id"])["status"] == "queued"
    # Messages waiting in the broker queue: nothing is sent twice.
    assert sweep(short, deployment.backend)["resent"] == 0
    assert deployment.backend.queue_depth("financial") == 1


# -- worker processes -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_500_tasks_on_two_workers_one_killed_with_kill_9_all_succeed_and_are_recorded_once(
        deployment: Deployment) -> None:
    total = 500
    # 0.1 s a task: four processes take ~12 s for the 500, so the kill lands mid-run even when this
    # process is descheduled for seconds on a loaded machine (at 0.02 s all 500 could end unseen).
    first = deployment.start_worker("--pools", "general", delay=0.1)
    second = deployment.start_worker("--pools", "general", delay=0.1)
    victim, survivor = (deployment.wait_node(w, "general", lambda n: n["processes"] == 2) for w in (first, second))
    ids = [deployment.queue.submit("general", f"task {i}")["id"] for i in range(total)]
    deadline = time.monotonic() + 60
    while deployment.queue.counts()["succeeded"] < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert deployment.queue.counts()["succeeded"] < total
    os.kill(victim["pid"], signal.SIGKILL)  # the node's main process: its children die with it
    os.kill(survivor["pids"][0], signal.SIGKILL)  # and one prefork child of the other node
    killed_at = time.monotonic()
    counts = deployment.wait_finished(total, timeout=120)
    assert counts == {"queued": 0, "running": 0, "succeeded": total, "failed": 0, "cancelled": 0}
    assert time.monotonic() - killed_at < 60

    executions = deployment.executions()
    per_task = Counter(t for t, _, _ in executions)
    assert sorted(per_task) == sorted(ids)
    killed = set(victim["pids"]) | {survivor["pids"][0]}
    repeated = {t for t, n in per_task.items() if n > 1}
    assert len(repeated) <= len(killed)  # only what the killed processes had in hand ran twice
    assert all(any(pid in killed for t2, _, pid in executions if t2 == t) for t in repeated)
    results = _results(deployment.engine)
    by_owner = {(t, owner) for t, owner, _ in executions}
    assert all(results[t][0] == "succeeded" and (t, (results[t][1] or {}).get("owner")) in by_owner
               for t in ids)
    pids = {pid for _, _, pid in executions}
    assert pids - killed and pids & set(victim["pids"])  # both workers took part


@pytest.mark.slow
@pytest.mark.postgres
def test_a_task_that_kills_its_worker_every_time_ends_failed_after_max_attempts(deployment: Deployment) -> None:
    worker = deployment.start_worker("--pools", "general", executor="tests.test_celery_backend:poison")
    deployment.wait_node(worker, "general", lambda n: n["processes"] == 2)
    bad = deployment.queue.submit("general", "poison pill", max_attempts=3)
    good = [deployment.queue.submit("general", f"fine {i}")["id"] for i in range(20)]
    # Each attempt: the process dies, the lease expires, the sweep requeues and re-sends.
    counts = deployment.wait_finished(21, timeout=3 * (DEFAULT_LEASE_SECONDS + 10) + 30, failed=1)
    assert counts["succeeded"] == 20 and counts["failed"] == 1
    task = deployment.queue.get(bad["id"])
    assert task["status"] == "failed" and task["attempts"] == 3 and "lease expired" in task["error"]
    per_task = Counter(t for t, _, _ in deployment.executions())
    assert per_task[bad["id"]] == 3 and all(per_task[t] == 1 for t in good)
    time.sleep(2 * float(SWEEP_SECONDS) + 1)  # and it stays failed: no message loops
    assert Counter(t for t, _, _ in deployment.executions())[bad["id"]] == 3
    assert worker.poll() is None


@pytest.mark.slow
@pytest.mark.postgres
def test_scaling_restart_the_api_and_the_cli_work_unchanged_on_celery(deployment: Deployment) -> None:
    from app import create_app, services

    worker = deployment.start_worker("--pools", "general,sports", executor="tests.fixtures:echo")
    deployment.wait_node(worker, "general", lambda n: n["processes"] == 2)
    deployment.wait_node(worker, "sports", lambda n: n["processes"] == 2)
    keys = ("OPERATOROS_HOME", "DATABASE_URL", "REDIS_URL", "TASK_BACKEND", "OPERATOROS_CELERY_NAMESPACE")
    app = create_app({**{k: deployment.env[k] for k in keys}, "OPERATOROS_API_KEY": TEST_API_KEY})
    client = app.test_client()
    try:
        # The API: a task goes through a Celery worker process, not this one.
        task = client.post("/api/tasks", json={"input": "hello", "pool": "general"}, headers=AUTH)
        assert task.status_code == 201
        done = client.get(f"/api/tasks/{task.get_json()['id']}?wait=30", headers=AUTH).get_json()
        assert done["status"] == "succeeded" and done["result"] == {"text": "echo: hello"}
        pool = client.get("/api/pools/general", headers=AUTH).get_json()
        assert pool["live_agents"] == 2 and pool["workers"][0]["concurrency"] == 2

        # Scaling a pool changes its node's concurrency (as Celery's own stats report it), not the others'.
        assert client.post("/api/pools/general/scale", json={"size": 4}, headers=AUTH).status_code == 200
        deployment.wait_node(worker, "general", lambda n: n["processes"] == 4 and n["concurrency"] == 4, timeout=20)
        stats = deployment.backend.app.control.inspect(timeout=1.0).stats() or {}
        general = next(s for name, s in stats.items() if name.startswith(f"general-{worker.pid}@"))
        assert len(general["pool"]["processes"]) == 4 and general["autoscaler"]["max"] == 4
        sports = deployment.node(worker, "sports")
        assert sports is not None and sports["processes"] == 2
        client.post("/api/pools/general/scale", json={"size": 1}, headers=AUTH)
        deployment.wait_node(worker, "general", lambda n: n["processes"] == 1, timeout=20)

        # Restart: Celery's pool_restart; each process is replaced once it has finished a task.
        sports = deployment.node(worker, "sports")
        assert sports is not None
        before = set(sports["pids"])
        restarted = client.post("/api/pools/sports/restart", headers=AUTH).get_json()
        assert [n.split("@")[0] for n in restarted["restarted_workers"]] == [f"sports-{worker.pid}"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for i in range(4):
                services(app).controller.queue.submit("sports", f"after restart {i}")
            now = deployment.node(worker, "sports")
            if now and len(now["pids"]) == 2 and not before & set(now["pids"]):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"sports processes not replaced: {before} -> {deployment.node(worker, 'sports')}")
    finally:
        services(app).engine.dispose()

    # The CLI, in-process on the same deployment: status, scaling, and a request worked by Celery.
    cli_env = {**deployment.env}
    status = run_cli("--json", "Show me the system status", env=cli_env)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)["data"]
    assert data["task_backend"] == "celery"
    pools = {p["name"]: p for p in data["pools"]}
    assert pools["general"]["live_agents"] == 1 and pools["sports"]["live_agents"] == 2
    assert pools["healthcare"]["live_agents"] == 0
    assert {n["node"].split("-")[0] for n in data["backend"]["nodes"]} == {"general", "sports", "ops"}
    scaled = run_cli("--json", "scale the sports pool to 3", env=cli_env)
    assert scaled.returncode == 0 and json.loads(scaled.stdout)["intent"] == "scale", scaled.stdout
    deployment.wait_node(worker, "sports", lambda n: n["processes"] == 3, timeout=20)
    asked = run_cli("--json", "ask the general pool: hello there", env=cli_env)
    reply = json.loads(asked.stdout)
    assert asked.returncode == 0, asked.stdout
    assert reply["data"]["task"]["status"] == "succeeded"
    assert reply["data"]["task"]["result"] == {"text": "echo: hello there"}  # the worker's executor, not inline
    with deployment.engine.connect() as conn:
        assert conn.execute(sa.select(AgentPool.desired_size).where(AgentPool.name == "sports")).scalar() == 3


def test_worker_refuses_unknown_pools(cli_env: dict[str, str]) -> None:
    result = run_cli("worker", "--pools", "astrology", env={**cli_env, "TASK_BACKEND": "celery",
                                                            "REDIS_URL": REDIS_URL})
    assert result.returncode == 2 and "astrology" in result.stderr
    local = run_cli("worker", "--pools", "general", env=cli_env)
    assert local.returncode == 2 and "TASK_BACKEND=celery" in local.stderr


def test_readiness_in_celery_mode_checks_the_broker(broker: dict[str, Any], home: Path, sqlite_url: str) -> None:
    """/api/health/ready is 503 when Redis does not answer, whatever the database says."""
    import socket

    from app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    for url, status in ((broker["url"], 200), (closed, 503)):
        app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                          "TASK_BACKEND": "celery", "REDIS_URL": url,
                          "OPERATOROS_CELERY_NAMESPACE": broker["namespace"],
                          "TESTING": True})
        response = app.test_client().get("/api/health/ready", headers=AUTH)
        body = response.get_json()
        assert response.status_code == status, body
        assert body["database"]["ok"] is True and body["backend"]["ok"] is (status == 200)
