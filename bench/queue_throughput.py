"""No-op tasks per second through OperatorOS's local backend on SQLite, beside a bare SQLite floor.

Run:  .venv/bin/python bench/queue_throughput.py [--tasks 3000]

The floor is the least any SQLite queue must do per task: one BEGIN IMMEDIATE transaction that
claims the best queued task (UPDATE ... RETURNING) and one that records its result, with the same
schema, indexes and pragmas (WAL, synchronous=NORMAL), in one thread with no framework. OperatorOS
runs the same work through TaskQueue, agent threads and the pool supervisor (leases, heartbeats).
Both run in the same process one after the other, on fresh database files, and the ratio is printed,
with each side's CPU per task: on a loaded machine the single-threaded floor loses more of its time
slices than the pool, and the CPU ratio is the steadier figure.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

import database  # noqa: E402
from agent_pools import PoolSupervisor  # noqa: E402
from models import AgentPool, Task  # noqa: E402
from task_processor import TaskQueue  # noqa: E402


def fresh_database(folder: Path, name: str, tasks: int) -> sa.Engine:
    """A migrated SQLite file holding `tasks` queued tasks in the general pool, all pools at size 0."""
    engine = database.make_engine(f"sqlite:///{folder / name}")
    database.ensure_schema(engine)
    now = datetime.now(UTC)
    rows = [{"pool": "general", "input": f"noop {i}", "status": "queued", "priority": 0, "attempts": 0,
             "max_attempts": 3, "timeout_seconds": 60.0, "run_after": now, "cancel_requested": False,
             "tokens_in": 0, "tokens_out": 0, "created_at": now} for i in range(tasks)]
    with engine.begin() as conn:
        conn.execute(sa.update(AgentPool).values(desired_size=0))
        conn.execute(sa.insert(Task), rows)
    return engine


def floor(path: Path, tasks: int) -> tuple[float, float]:
    """Tasks per second of a bare sqlite3 claim-and-complete loop, and its CPU seconds per task."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    claim = ("UPDATE tasks SET status='running', attempts=attempts+1, lease_owner='bare#1', "
             "lease_expires_at=?, started_at=? WHERE id=(SELECT id FROM tasks WHERE pool='general' "
             "AND status='queued' AND run_after<=? ORDER BY priority DESC, id LIMIT 1) RETURNING id")
    done = ("UPDATE tasks SET status='succeeded', result='{\"ok\": true}', finished_at=?, lease_owner=NULL "
            "WHERE id=? AND lease_owner='bare#1' AND status='running'")
    start, cpu = time.perf_counter(), time.process_time()
    completed = 0
    while True:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(claim, (now, now, now)).fetchone()
        conn.execute("COMMIT")
        if row is None:
            break
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(done, (now, row[0]))
        conn.execute("COMMIT")
        completed += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    assert completed == tasks
    return tasks / elapsed, cpu / tasks


def operatoros(engine: sa.Engine, tasks: int, size: int) -> tuple[float, float]:
    """Tasks per second through TaskQueue and a pool of `size` agent threads, and the process's CPU seconds
    per task (agents, supervisor and this thread's polling)."""
    queue = TaskQueue(engine)
    supervisor = PoolSupervisor(engine, queue, lambda claim, token: {"ok": True})
    with engine.begin() as conn:
        conn.execute(sa.update(AgentPool).where(AgentPool.name == "general").values(desired_size=size))
    start, cpu = time.perf_counter(), time.process_time()
    supervisor.start()
    while queue.counts()["succeeded"] < tasks:
        time.sleep(0.05)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    supervisor.stop()
    assert queue.counts()["succeeded"] == tasks
    return tasks / elapsed, cpu / tasks


def main() -> None:
    """Run the floor and OperatorOS at pool sizes 2 and 8; print figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor_engine = fresh_database(folder, "floor.db", args.tasks)
        floor_engine.dispose()
        bare, bare_cpu = floor(folder / "floor.db", args.tasks)
        print(f"floor (bare sqlite3 claim+complete, 1 thread): {bare:8.0f} tasks/s   CPU {bare_cpu * 1e6:4.0f} us/task")
        for size in (2, 8):
            engine = fresh_database(folder, f"pool{size}.db", args.tasks)
            ours, ours_cpu = operatoros(engine, args.tasks, size)
            engine.dispose()
            print(f"OperatorOS local backend, pool size {size}:      {ours:8.0f} tasks/s"
                  f"   CPU {ours_cpu * 1e6:4.0f} us/task   ratio to floor {ours / bare:.2f}"
                  f" (CPU ratio, floor / ours: {bare_cpu / ours_cpu:.2f})")


if __name__ == "__main__":
    main()
