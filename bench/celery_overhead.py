"""No-op tasks per second through OperatorOS on Celery, beside bare Celery on the same broker and worker settings.

Run (PostgreSQL and Redis at 127.0.0.1, as in the tests):

    .venv/bin/python bench/celery_overhead.py [--tasks 2000] [--concurrency 2] [--rounds 3]

Both sides run one Celery worker node, prefork, with the same concurrency, the same Celery settings
(late acknowledgement, reject on worker lost, prefetch multiplier 1, the same Redis transport options)
and the same worker flags; each has a Redis namespace of its own. Bare Celery's task does nothing.
OperatorOS's goes the whole way: the task row is written to PostgreSQL (the source of truth) and its
id sent; the worker claims the row under a lease, runs a no-op executor with lease renewal armed,
and records the result under the lease.

Each round, for each side: the node is warmed up, then told to stop consuming (Celery's
cancel_consumer); the tasks are submitted (timed: "submit"); the node is told to consume again
(add_consumer) and timed until no task is left ("drain": the workers' throughput). "end to end"
is tasks / (submit + drain). The sides alternate round by round and medians are printed, with each
round's drain figures, so a busy machine weighs on both alike. The target is a drain ratio of at
least 0.7. OperatorOS's node runs the pool's desired size, set to the concurrency measured; both
sides' "is anything left" polls are one cheap request every POLL_SECONDS.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE_NAMESPACE_ENV = "BENCH_BARE_NAMESPACE"
"""Namespace of the bare Celery side, read by its worker process."""

BARE_QUEUE = "noop"
"""Queue suffix of the bare side."""

WARMUP_TASKS = 200
"""Tasks each side works before its timed rounds (worker processes started, connections open)."""

POLL_SECONDS = 0.02
"""How often completion is checked."""


def noop(claim: Any, token: Any) -> dict[str, Any]:
    """OperatorOS executor that does nothing."""
    return {"ok": True}


def __getattr__(name: str) -> Any:
    # `celery -A celery_overhead worker` builds the bare side's app in the worker process.
    if name == "app":
        return bare_app(os.environ["REDIS_URL"], os.environ[BARE_NAMESPACE_ENV])
    raise AttributeError(name)


_BARE: dict[tuple[str, str], Any] = {}


def bare_noop(i: int) -> None:
    """The bare side's task: nothing."""


def bare_app(broker_url: str, namespace: str) -> Any:
    """A bare Celery app with OperatorOS's Celery settings (its own key prefix) and a task that does nothing."""
    key = (broker_url, namespace)
    if key not in _BARE:
        from celery import Celery

        from backends.celery_queue import CeleryConfig, get_app

        ours = get_app(CeleryConfig(broker_url, f"{namespace}-ref")).conf
        app = Celery("bare", broker=broker_url, set_as_current=False)
        app.conf.update({k: ours[k] for k in (
            "task_acks_late", "task_reject_on_worker_lost", "task_ignore_result", "task_time_limit",
            "worker_prefetch_multiplier", "worker_cancel_long_running_tasks_on_connection_loss",
            "worker_send_task_events", "broker_connection_retry_on_startup", "enable_utc", "timezone")})
        app.conf.broker_transport_options = {**ours["broker_transport_options"], "global_keyprefix": f"{namespace}:"}
        app.task(name="bench.noop", ignore_result=True)(bare_noop)
        _BARE[key] = app
    return _BARE[key]


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time consumed so far by these processes (those still alive)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class Side:
    """One side of the comparison: how to start its node, submit a task and tell whether any is left."""

    def __init__(self, name: str, app: Any, queue: str, command: list[str], env: dict[str, str],
                 submit: Callable[[int], None], busy: Callable[[], bool],
                 database_pids: Callable[[], list[int]] = list) -> None:
        self.name = name
        self.app = app
        self.queue = queue
        self.command = command
        self.env = env
        self.submit = submit
        self.busy = busy
        self.database_pids = database_pids
        self.node = command[command.index("-n") + 1]
        self.proc: subprocess.Popen[bytes] | None = None
        self.rates: dict[str, list[float]] = {"submit": [], "drain": [], "end to end": []}
        self.cpu: dict[str, list[float]] = {"node main": [], "node children": [], "postgres": []}

    def start(self, log: Path) -> None:
        """Start the worker node and wait until it answers."""
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(self.command, env=self.env, cwd=str(ROOT), stdout=out, stderr=out)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.app.control.ping(destination=[self.node], timeout=1.0):
                return
            assert self.proc.poll() is None, log.read_text()[-3000:]
        raise RuntimeError(f"{self.node} did not start; see {log}")

    def stop(self) -> None:
        """Stop the node warmly."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def work(self, count: int, start: int) -> tuple[float, float]:
        """Submit `count` tasks while the node does not consume, then time it until all are done."""
        import psutil

        self._control("cancel_consumer")
        assert not self.busy(), f"{self.name}: tasks of an earlier round are left"
        began = time.perf_counter()
        for i in range(count):
            self.submit(start + i)
        submitted = time.perf_counter()
        assert self.proc is not None
        groups = {"node main": [self.proc.pid],
                  "node children": [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)],
                  "postgres": self.database_pids()}
        before = {k: cpu_seconds(v) for k, v in groups.items()}
        self._control("add_consumer")
        released = time.perf_counter()
        while self.busy():
            time.sleep(POLL_SECONDS)
        finished = time.perf_counter()
        for key, pids in groups.items():
            self.cpu[key].append((cpu_seconds(pids) - before[key]) / count * 1000)
        return submitted - began, finished - released

    def _control(self, command: str) -> None:
        replies = self.app.control.broadcast(command, arguments={"queue": self.queue}, destination=[self.node],
                                             reply=True, timeout=5.0, limit=1)
        assert replies, f"{self.node} did not answer {command}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A database of the benchmark's own on the PostgreSQL server, dropped afterwards."""
    import sqlalchemy as sa

    name = f"oos_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def redis_cleanup(url: str, *namespaces: str) -> None:
    """Delete every key of the benchmark's namespaces."""
    import redis

    client = redis.Redis.from_url(url)
    for namespace in namespaces:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    client.close()


def sides(database_url: str, redis_url: str, home: Path, concurrency: int, stamp: str) -> tuple[Side, Side]:
    """The OperatorOS side and the bare side, not started."""
    import redis
    import sqlalchemy as sa

    import database
    from backends.celery_queue import EXECUTOR_ENV, NAMESPACE_ENV, CeleryBackend, CeleryConfig, worker_command
    from models import AgentPool, Task, TaskStatus
    from task_processor import TaskQueue

    ours_ns, bare_ns = f"bench-ours-{stamp}", f"bench-bare-{stamp}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "TASK_BACKEND": "celery",
           "OPERATOROS_HOME": str(home), NAMESPACE_ENV: ours_ns, EXECUTOR_ENV: "celery_overhead:noop",
           BARE_NAMESPACE_ENV: bare_ns}
    env.pop("CELERY_BROKER_URL", None)

    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    # The node's autoscaler follows the pool's desired size (2 when seeded): make it the concurrency
    # measured, as bare Celery's -c is.
    with engine.begin() as conn:
        conn.execute(sa.update(AgentPool).where(AgentPool.name == "general").values(
            desired_size=concurrency, max_size=max(concurrency, 32)))
    config = CeleryConfig(redis_url, ours_ns)
    backend = CeleryBackend(config)
    queue = TaskQueue(engine, backend)
    ours_cmd = worker_command(config, f"general-bench@{stamp}", [config.queue("general")], concurrency=concurrency)
    # Whether an unfinished row is left: one index probe on a kept connection, as light a poll as the
    # bare side's (a count would read every unfinished row's index entry, 50 times a second).
    unfinished = sa.select(sa.exists().where(Task.status.in_([TaskStatus.QUEUED, TaskStatus.RUNNING])))
    poll = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def ours_submit(i: int) -> None:
        queue.submit("general", f"noop {i}")

    def ours_busy() -> bool:
        return bool(poll.execute(unfinished).scalar_one())

    def backends() -> list[int]:
        # The PostgreSQL server processes serving the benchmark's workers (when the server is local);
        # not the poll's (this connection) nor the submissions' (idle during the drain).
        return [pid for (pid,) in poll.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"))]

    ours = Side("OperatorOS on Celery", backend.app, config.queue("general"), ours_cmd, env,
                ours_submit, ours_busy, backends)

    app = bare_app(redis_url, bare_ns)
    bare_queue = f"{bare_ns}.{BARE_QUEUE}"
    bare_cmd = [c if c != "backends.celery_worker" else "celery_overhead" for c in ours_cmd]
    bare_cmd[bare_cmd.index("-n") + 1] = f"bare-bench@{stamp}"
    bare_cmd[bare_cmd.index("-Q") + 1] = bare_queue
    bare_cmd = [c for c in bare_cmd if not c.startswith("--autoscale")] + ["-c", str(concurrency)]
    client = redis.Redis.from_url(redis_url)

    def bare_submit(i: int) -> None:
        app.send_task("bench.noop", args=(i,), queue=bare_queue)

    def bare_busy() -> bool:
        # A late-acknowledged message leaves both the queue and the unacked hash once its task is done.
        with client.pipeline() as pipe:
            # Queued one by one: redis-py types a pipeline's commands as returning their reply, not the pipeline.
            pipe.llen(f"{bare_ns}:{bare_queue}")
            pipe.hlen(f"{bare_ns}:unacked")
            waiting, unacked = pipe.execute()
        return waiting + unacked > 0

    bare = Side("bare Celery", app, bare_queue, bare_cmd, env, bare_submit, bare_busy)
    return ours, bare


def main() -> None:
    """Warm both sides up, run the rounds alternately, print medians and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per round and side")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes of each node")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default=os.environ.get("OPERATOROS_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--postgres-admin-url", default=os.environ.get(
        "OPERATOROS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    stamp = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as tmp, postgres_database(args.postgres_admin_url) as url:
        ours, bare = sides(url, args.redis_url, Path(tmp), args.concurrency, stamp)
        try:
            for side in (ours, bare):
                side.start(Path(tmp) / f"{side.node}.log")
                side.work(WARMUP_TASKS, 0)
            for n in range(args.rounds):
                for side in ((ours, bare) if n % 2 == 0 else (bare, ours)):
                    submit, drain = side.work(args.tasks, (n + 1) * args.tasks)
                    side.rates["submit"].append(args.tasks / submit)
                    side.rates["drain"].append(args.tasks / drain)
                    side.rates["end to end"].append(args.tasks / (submit + drain))
        finally:
            for side in (ours, bare):
                side.stop()
            redis_cleanup(args.redis_url, f"bench-ours-{stamp}", f"bench-bare-{stamp}")
    print(f"{args.tasks} no-op tasks x {args.rounds} rounds, prefork concurrency {args.concurrency}, "
          f"one node per side, medians (tasks/s):")
    print(f"{'':22}{'submit':>10}{'drain':>10}{'end to end':>12}")
    for side in (ours, bare):
        print(f"{side.name:22}" + "".join(f"{statistics.median(side.rates[k]):{w}.0f}"
                                          for k, w in (("submit", 10), ("drain", 10), ("end to end", 12))))
    ratio = {k: statistics.median(ours.rates[k]) / statistics.median(bare.rates[k]) for k in ours.rates}
    print(f"{'ratio':22}" + "".join(f"{ratio[k]:{w}.2f}" for k, w in (("submit", 10), ("drain", 10),
                                                                     ("end to end", 12))))
    print(f"drain ratio {ratio['drain']:.2f} (target >= 0.70): {'met' if ratio['drain'] >= 0.7 else 'NOT met'}")
    print("drain per round (tasks/s, OperatorOS / bare = ratio): " + ", ".join(
        f"{o:.0f} / {b:.0f} = {o / b:.2f}" for o, b in zip(ours.rates["drain"], bare.rates["drain"], strict=False)))
    print("CPU per task during the drain, medians (ms; postgres: its server processes for this database):")
    total = {side.name: sum(statistics.median(v) for v in side.cpu.values()) for side in (ours, bare)}
    for side in (ours, bare):
        print(f"  {side.name:22}" + "  ".join(f"{k} {statistics.median(v):.2f}" for k, v in side.cpu.items())
              + f"  total {total[side.name]:.2f}")
    print(f"  bare / OperatorOS CPU per task: {total[bare.name] / total[ours.name]:.2f} (Redis's own CPU not "
          "counted; on a busy machine throughput follows this ratio)")


if __name__ == "__main__":
    main()
