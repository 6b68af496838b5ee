"""The engine across real processes: worker processes share the queue; kill -9 loses nothing."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import database
from models import Agent, Task
from task_processor import TaskQueue
from values import POOL_NAMES

from .conftest import ROOT, stop_processes

pytestmark = pytest.mark.slow


@pytest.fixture
def engine_env(home: Path, database_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    record = tmp_path / "executions.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=database_url, OPERATOROS_TEST_RECORD=str(record),
               PYTHONUNBUFFERED="1")
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, delay: float = 0.0) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args,
                                 "--executor", "tests.fixtures:record"],
                                env={**env, "OPERATOROS_TEST_DELAY": str(delay)}, cwd=str(ROOT),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield {"engine": engine, "queue": TaskQueue(engine), "record": record, "start": start}
    stop_processes(procs)
    engine.dispose()


def _wait_all_succeeded(queue: TaskQueue, total: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = queue.counts()
        if counts["succeeded"] == total:
            return
        assert counts["failed"] == 0 and counts["cancelled"] == 0, counts
        time.sleep(0.2)
    raise AssertionError(f"not all tasks succeeded in {timeout} s: {queue.counts()}")


def _executions(record: Path) -> list[tuple[int, str, int]]:
    lines = record.read_text().splitlines() if record.exists() else []
    return [(int(t), owner, int(pid)) for t, owner, pid in (line.split() for line in lines)]


def _results(engine: sa.Engine) -> dict[int, dict[str, Any]]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(Task.id, Task.result)).all())


def _wait_for_agents(engine: sa.Engine, pids: set[int], timeout: float = 120) -> None:
    """Until every process in `pids` has registered its agents (on a loaded machine one may start late)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            processes = set(conn.execute(sa.select(Agent.process).distinct()).scalars())
        if pids <= {int(p.rsplit(":", 1)[1]) for p in processes}:
            return
        time.sleep(0.1)
    raise AssertionError(f"the agents of {sorted(pids)} did not register in {timeout} s")


def test_two_workers_execute_1000_tasks_each_exactly_once(engine_env: dict[str, Any]) -> None:
    queue: TaskQueue = engine_env["queue"]
    workers = [engine_env["start"]("worker"), engine_env["start"]("worker")]
    # Both are up before any work exists, so "both took part" does not depend on which started first.
    _wait_for_agents(engine_env["engine"], {w.pid for w in workers})
    ids = [queue.submit(POOL_NAMES[i % 5], f"task {i}")["id"] for i in range(1000)]
    _wait_all_succeeded(queue, 1000, timeout=120)
    executions = _executions(engine_env["record"])
    per_task = Counter(t for t, _, _ in executions)
    assert sorted(per_task) == sorted(ids)
    assert set(per_task.values()) == {1}
    pids = {pid for _, _, pid in executions}
    assert pids == {w.pid for w in workers}  # both processes took part
    results = _results(engine_env["engine"])
    owners = {t: owner for t, owner, _ in executions}
    assert all(results[t]["owner"] == owners[t] for t in ids)


def test_a_worker_killed_mid_run_loses_nothing_and_records_nothing_twice(engine_env: dict[str, Any]) -> None:
    queue: TaskQueue = engine_env["queue"]
    total = 400
    ids = [queue.submit(POOL_NAMES[i % 5], f"task {i}")["id"] for i in range(total)]
    victim = engine_env["start"]("worker", delay=0.01)
    survivor = engine_env["start"]("worker", delay=0.01)
    deadline = time.monotonic() + 60
    while queue.counts()["succeeded"] < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.kill()  # SIGKILL: no cleanup, its leases simply expire
    victim.wait()
    engine_env["start"]("worker", delay=0.01)  # the replacement
    _wait_all_succeeded(queue, total, timeout=120)
    executions = _executions(engine_env["record"])
    per_task = Counter(t for t, _, _ in executions)
    assert sorted(per_task) == sorted(ids)
    repeated = {t for t, n in per_task.items() if n > 1}
    # Only tasks that the killed worker had in hand may have run twice; each is recorded once.
    victim_tasks = {t for t, _, pid in executions if pid == victim.pid}
    assert repeated <= victim_tasks
    assert len(repeated) <= 10  # at most its agents' in-flight tasks (5 pools x 2 agents)
    results = _results(engine_env["engine"])
    by_owner = {(t, owner) for t, owner, _ in executions}
    assert all((t, results[t]["owner"]) in by_owner for t in ids)
    assert survivor.pid in {pid for _, _, pid in executions}


def test_serve_killed_with_300_tasks_in_hand_finishes_them_all_after_restart(engine_env: dict[str, Any]) -> None:
    queue: TaskQueue = engine_env["queue"]
    total = 300
    for i in range(total):
        queue.submit(POOL_NAMES[i % 5], f"task {i}")
    server = engine_env["start"]("serve", "--port", "0", delay=0.02)
    deadline = time.monotonic() + 60
    while queue.counts()["succeeded"] < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queue.counts()["running"] > 0
    server.kill()
    server.wait()
    assert queue.counts()["succeeded"] < total
    engine_env["start"]("serve", "--port", "0", delay=0.02)
    _wait_all_succeeded(queue, total, timeout=120)
    assert queue.counts() == {"queued": 0, "running": 0, "succeeded": total, "failed": 0, "cancelled": 0}
