"""Chaos: for 60 s, submit tasks steadily while worker processes are killed (-9) and restarted at random.

Run on its own with:  .venv/bin/python -m pytest -m chaos
Afterwards every accepted task has succeeded, none is lost and none has its result recorded twice.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import database
from models import Task
from task_processor import TaskQueue
from values import POOL_NAMES

from .conftest import ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

CHAOS_SECONDS = float(os.environ.get("OPERATOROS_CHAOS_SECONDS", "60"))
"""How long tasks are submitted while workers are killed."""

SUBMIT_EVERY = 0.05
"""Seconds between submissions (about 20 tasks a second)."""


def test_tasks_survive_random_worker_kills(home: Path, sqlite_url: str, tmp_path: Path) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    queue = TaskQueue(engine)
    record = tmp_path / "executions.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=sqlite_url, OPERATOROS_TEST_RECORD=str(record),
               OPERATOROS_TEST_DELAY="0.02")
    rng = random.Random(int(os.environ.get("OPERATOROS_CHAOS_SEED", "7")))

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "worker", "--executor",
                                 "tests.fixtures:record"],
                                env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    workers = [start(), start()]
    killed = 0
    accepted: list[int] = []
    deadline = time.monotonic() + CHAOS_SECONDS
    next_kill = time.monotonic() + rng.uniform(2, 6)
    try:
        while time.monotonic() < deadline:
            accepted.append(queue.submit(rng.choice(POOL_NAMES), f"chaos {len(accepted)}")["id"])
            if time.monotonic() >= next_kill:
                victim = workers.pop(rng.randrange(len(workers)))
                victim.kill()
                victim.wait()
                killed += 1
                workers.append(start())
                if len(workers) < 3 and rng.random() < 0.3:
                    workers.append(start())
                next_kill = time.monotonic() + rng.uniform(2, 6)
            time.sleep(SUBMIT_EVERY)
        finish_by = time.monotonic() + 90
        while queue.counts()["succeeded"] < len(accepted) and time.monotonic() < finish_by:
            time.sleep(0.25)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=30)
    counts = queue.counts()
    assert killed >= CHAOS_SECONDS / 8 and len(accepted) >= CHAOS_SECONDS * 5
    assert counts == {"queued": 0, "running": 0, "succeeded": len(accepted), "failed": 0, "cancelled": 0}
    with engine.connect() as conn:
        results: dict[int, Any] = dict(conn.execute(sa.select(Task.id, Task.result)).all())
    engine.dispose()
    executions = [line.split() for line in record.read_text().splitlines()]
    per_task = Counter(int(t) for t, _, _ in executions)
    assert set(per_task) == set(accepted)  # every accepted task ran; nothing ran that was not accepted
    owners = {(int(t), owner) for t, owner, _ in executions}
    # Each result was recorded once, by an attempt that really ran it; re-runs only follow kills.
    assert all((t, results[t]["owner"]) in owners for t in accepted)
    assert sum(n - 1 for n in per_task.values()) <= killed * 10
