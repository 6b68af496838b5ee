"""The one facade both front doors call: status, health, pools, tasks, scaling, demos, workflows."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import health_monitor
from agent_pools import Executor, provider_breakers, run_inline
from backends.base import WORKER_KEYS, PoolView, QueueBackend
from config import Settings
from database import READ_ONLY_OPTION, session_scope
from errors import BadRequest, Forbidden, NotAvailableYet, NotFound, Unprocessable
from models import AgentPool, AuditLog, Task, TaskStatus, utcnow
from storage.stats import status_summary
from task_processor import TaskQueue
from telemetry.events import FINAL_KINDS
from values import POOL_NAMES, Caller, Command

if TYPE_CHECKING:
    from business_automation import WorkflowEngine
    from demo_runner import DemoReport

logger = logging.getLogger(__name__)

METRICS_WINDOW_SECONDS = 300
"""Window of finished tasks over which pool metrics are computed."""

METRICS_SAMPLE = 1000
"""Most recent finished tasks per pool used for latency percentiles."""

WAIT_POLL_SECONDS = 0.05
"""How often a waiting caller re-reads its task."""

FOLLOW_POLL_SECONDS = 0.2
"""How often a follower looks for a task's new events."""

FOLLOW_STATUS_SECONDS = 1.0
"""How often a follower that saw no new events checks whether a queued task has a worker to work it."""

NO_WORKER_MESSAGE = ("Task {id} is queued, but no worker or server is running for the {pool} pool: start one with "
                     "`python main.py serve` (API and workers) or `python main.py worker`.")
"""Said once by a follower of a queued task that nothing will work."""

MAX_WAIT_SECONDS = 300.0
"""Longest a caller may wait for a task's result in one call."""

BACKOFF_POLL_SECONDS = 0.25
"""Longest nap while an inline caller waits out a retry's backoff (a server starting meanwhile takes over)."""


@dataclass
class Outcome:
    """What a command did: data for the reply, and the task it touched if any."""

    data: dict[str, Any] = field(default_factory=dict)
    task_id: int | None = None


class AgentMasterController:
    """Coordinates the queue, the pools and the providers; front doors call only this.

    The queue backend (local agent threads or Celery nodes) is reached only through its interface,
    backends.base.QueueBackend; `queue` dispatches through the same backend.
    """

    def __init__(self, settings: Settings, engine: Engine, session_factory: sessionmaker[Session],
                 queue: TaskQueue, executor: Executor, backend: QueueBackend) -> None:
        self.settings = settings
        self.engine = engine
        self.queue = queue
        self.executor = executor
        self.backend = backend
        self._sessions = session_factory
        self._workflows: WorkflowEngine | None = None

    @property
    def workflows(self) -> WorkflowEngine:
        """Saved workflows and their runs; `serve` and `worker` run its loop (start/stop).

        Made on first use: a status request need not load the workflow modules.
        """
        if self._workflows is None:
            from business_automation import WorkflowEngine

            self._workflows = WorkflowEngine(self.engine, self)
        return self._workflows

    # -- the conversational door ------------------------------------------------------------

    def execute(self, command: Command, caller: Caller, *, background: bool = False,
                session_id: str | None = None, narrate_to: IO[str] | None = None) -> Outcome:
        """Carry out one understood command on behalf of `caller`; a demo narrates to `narrate_to` as it runs."""
        args = command.args
        intent = command.intent
        if intent == "status":
            return Outcome(health_monitor.for_role(self.status(), caller))
        if intent == "health":
            return Outcome(health_monitor.for_role(self.health(), caller))
        if intent == "pools":
            return Outcome({"pools": self.pool_status(args.get("pool"))})
        if intent == "tasks":
            return Outcome({"tasks": self.list_tasks(caller, status=args.get("status"), pool=args.get("pool"))})
        if intent == "task":
            task = self.get_task(caller, _task_id(args))
            if task["status"] == TaskStatus.QUEUED.value and not self.pool_is_served(task["pool"]):
                return Outcome({"task": task, "notice": NO_WORKER_MESSAGE.format(id=task["id"], pool=task["pool"])},
                               task["id"])
            return Outcome({"task": task}, task["id"])
        if intent == "cancel":
            task = self.cancel_task(caller, _task_id(args))
            return Outcome({"task": task}, task["id"])
        if intent == "scale":
            return Outcome({"pool": self.scale(caller, args.get("pool"), size=args.get("size"),
                                               delta=args.get("delta"))})
        if intent == "restart":
            return Outcome(self.restart(caller, args.get("pool")))
        if intent == "submit":
            task = self.submit(caller, args.get("input") or command.text, pool=args.get("pool"),
                               session_id=session_id, wait=not background)
            return Outcome({"task": task}, task["id"])
        if intent == "workflows":
            return Outcome(self.workflows.execute(caller, args, session_id=session_id, background=background))
        if intent == "demo":
            report = self.demo(caller, args.get("domain") or "", session_id=session_id,
                               narrate_to=narrate_to)
            return Outcome({"demo": report.to_dict()})
        if intent == "database":
            from storage.requests import answer  # the backup tools load only for this request

            return Outcome(answer(self.engine, self.settings.home, caller, str(args.get("action") or "status"),
                                  args.get("path")))
        if intent in ("help", "clarify"):
            return Outcome({})
        raise NotAvailableYet(f"'{intent}' is not available yet in this build of OperatorOS.")

    # -- status and pools -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """System overview: pools, tasks by status, machine, database and its storage, provider, workers, alerts."""
        view = self.backend.pool_view()
        reading: dict[str, Any] = {
            "pools": self._pool_status(None, view),
            "tasks": self.queue.counts(),
            "system": health_monitor.system_metrics(str(self.settings.home)),
            "database": {"url": self.settings.safe_database_url, "dialect": self.engine.dialect.name},
            "task_backend": self.backend.name,
            "provider": self.provider_status(),
            "backend": self._backend_reading(view),
            "storage": status_summary(self.engine),
        }
        reading["providers"] = reading["provider"]["breakers"]
        reading["alerts"] = health_monitor.evaluate_alerts(reading)
        return reading

    def health(self) -> dict[str, Any]:
        """Machine, database (with latency), queue, pools, workers and providers, and the alerts they raise."""
        database = health_monitor.database_check(self.engine)
        database["url"] = self.settings.safe_database_url
        reading = {"ok": database["ok"], "system": health_monitor.system_metrics(str(self.settings.home)),
                   "database": database}
        view = self.backend.pool_view()
        if database["ok"]:
            provider = self.provider_status()
            reading.update(tasks=self.queue.counts(), pools=self._pool_status(None, view), provider=provider,
                           providers=provider["breakers"])
        reading["backend"] = self._backend_reading(view)
        reading["ok"] = reading["ok"] and view["error"] is None
        reading["alerts"] = health_monitor.evaluate_alerts(reading)
        return reading

    def readiness(self) -> dict[str, Any]:
        """Whether requests can be served: the database answers and the queue backend's transport does."""
        database = health_monitor.database_check(self.engine)
        ok, detail = self.backend.ready()
        return {"ready": database["ok"] and ok, "database": database,
                "backend": {"name": self.backend.name, "ok": ok, "detail": detail}}

    def _backend_reading(self, view: PoolView) -> dict[str, Any]:
        """The backend's identity and its worker nodes, for a status or health reading."""
        return {**self.backend.describe(), "error": view["error"],
                "nodes": [{k: n[k] for k in WORKER_KEYS} for n in view["nodes"]]}

    def provider_status(self) -> dict[str, Any]:
        """The configured provider, and each provider's circuit state once the chain has been used."""
        breakers = provider_breakers(self.executor)
        return {"configured": self.settings.chosen_provider, "model": self.settings.model, "breakers": breakers}

    def sweep_stuck_tasks(self) -> dict[str, int]:
        """Requeue tasks running past their lease (their worker died); fail those out of attempts."""
        return self.queue.requeue_expired()

    def pool_status(self, name: str | None = None) -> list[dict[str, Any]]:
        """Status and metrics of one pool, or of all pools."""
        if name is not None:
            _check_pool(name)
        return self._pool_status(name, self.backend.pool_view())

    def _pool_status(self, name: str | None, view: PoolView) -> list[dict[str, Any]]:
        """Pool rows with their metrics, and their workers as the backend's view shows them."""
        stats = self.queue.queue_stats()
        with self._sessions() as db:
            # Reads only: on SQLite a read-only transaction neither takes nor waits for the writer lock.
            db.connection(execution_options={READ_ONLY_OPTION: True})
            rows = _pool_rows(db, name)
            metrics = {row["name"]: _pool_metrics(db, row["name"]) for row in rows}
        for row in rows:
            row.update(metrics[row["name"]])
            served = view["pools"].get(row["name"])
            row["live_agents"] = served["processes"] if served else 0
            row["busy_agents"] = min(served["active"], row["live_agents"]) if served else 0
            row["failed_agents"] = served["failed"] if served else 0
            row["workers"] = served["workers"] if served else []
            row["backend_error"] = view["error"]
            row["queued_tasks"] = stats.get(row["name"], {}).get("queued", 0)
            row["oldest_queued_age_seconds"] = stats.get(row["name"], {}).get("oldest_age_seconds")
            row["utilisation"] = round(row["busy_agents"] / row["live_agents"], 3) if row["live_agents"] else 0.0
        return rows

    def scale(self, caller: Caller, pool: str | None, *, size: int | None = None,
              delta: int | None = None) -> dict[str, Any]:
        """Set a pool's desired size (absolute or relative) within its limits; admins only."""
        _require_admin(caller, "scale pools")
        if pool is None:
            raise BadRequest("Say which pool to scale: " + ", ".join(POOL_NAMES) + ".")
        _check_pool(pool)
        if (size is None) == (delta is None):
            raise BadRequest("Give either a size or a delta to scale by, not both.")
        for value, label in ((size, "size"), (delta, "delta")):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise BadRequest(f"The {label} must be a whole number.")
        with session_scope(self._sessions) as db:
            row = db.get(AgentPool, pool)
            assert row is not None  # the five pools are seeded with the schema
            before = row.desired_size
            target = size if size is not None else before + int(delta or 0)
            if not row.min_size <= target <= row.max_size:
                raise Unprocessable(f"The {pool} pool can hold {row.min_size} to {row.max_size} agents; "
                                    f"{target} is out of range (it has {before}).")
            row.desired_size = target
            db.add(AuditLog(actor_user_id=caller.user_id, actor=caller.name, action="scale", target=pool,
                            details={"from": before, "to": target}))
        logger.info("%s scaled %s from %d to %d", caller.name, pool, before, target)
        self.backend.reconcile()
        status = self.pool_status(pool)[0]
        status["previous_size"] = before
        return status

    def restart(self, caller: Caller, pool: str | None = None) -> dict[str, Any]:
        """Release the failed agents of a pool (or all pools) so workers start fresh ones; admins only."""
        _require_admin(caller, "restart agents")
        if pool is not None:
            _check_pool(pool)
        report = self.backend.restart(pool)
        with session_scope(self._sessions) as db:
            db.add(AuditLog(actor_user_id=caller.user_id, actor=caller.name, action="restart",
                            target=pool or "all", details={"failed_agents_released": report["restarted_agents"],
                                                           "workers_restarted": report["restarted_workers"]}))
        result: dict[str, Any] = {"pool": pool, **report}
        result["pools"] = self.pool_status(pool)
        return result

    # -- tasks ------------------------------------------------------------------------------

    def submit(self, caller: Caller, text: str, *, pool: str | None = None, priority: int = 0,
               idempotency_key: str | None = None, session_id: str | None = None,
               wait: bool = False, max_attempts: int | None = None, keep_pool: bool = False) -> dict[str, Any]:
        """Queue domain work; with `wait`, see it through (inline when no agent of its pool is live).

        The pool and the request's safety decision are made here, once, and kept with the task. A
        request showing a medical red flag or self-harm goes to healthcare even when a pool is named,
        unless `keep_pool` (the workflow engine asking the business agent to draft a process).
        """
        from domains import routing  # routing knows the safety rules: a red flag goes to healthcare

        decision = routing.decide(text, pool, keep_pool=keep_pool)
        extra = {} if max_attempts is None else {"max_attempts": max_attempts}
        task = self.queue.submit(decision.pool, text, priority=priority, idempotency_key=idempotency_key,
                                 user_id=caller.user_id, session_id=session_id, safety=decision.to_json(), **extra)
        if not wait or TaskStatus(task["status"]).finished:
            return task
        attempts = task["max_attempts"]
        timeout = task["timeout_seconds"] * attempts + self.queue.retry.cap_seconds * (attempts - 1) + 5
        return self.see_through(caller, task, timeout)

    def see_through(self, caller: Caller, task: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The task once it has ended (or as it is after `timeout` seconds), working it here if need be.

        1. While no live agent serves the task's pool, work each due attempt inline, and wait out
           the backoff before a retry (so a retried task is answered with its final result).
        2. Return a dead process's expired lease to the queue (nothing else sweeps when no server runs).
        3. Otherwise wait for the agents, re-reading the task.
        """
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        while not TaskStatus(task["status"]).finished and time.monotonic() < deadline:
            now = utcnow()
            if task["status"] == TaskStatus.QUEUED.value and not self.pool_is_served(task["pool"]):
                due = datetime.fromisoformat(task["run_after"])
                if due <= now:
                    run_inline(self.queue, self.executor, task["id"], task["pool"])
                else:
                    time.sleep(min((due - now).total_seconds(), BACKOFF_POLL_SECONDS,
                                   max(deadline - time.monotonic(), 0.0)))
            elif task["status"] == TaskStatus.RUNNING.value and task["lease_expires_at"] \
                    and datetime.fromisoformat(task["lease_expires_at"]) < now:
                self.queue.requeue_expired()
            else:
                time.sleep(WAIT_POLL_SECONDS)
            task = self.get_task(caller, task["id"])
        return task

    def get_task(self, caller: Caller, task_id: int) -> dict[str, Any]:
        """One task the caller may see (their own; admins see all)."""
        task = self.queue.get(task_id)
        if not caller.is_admin and task["user_id"] != caller.user_id:
            raise NotFound(f"No such task: {task_id}")
        return task

    def wait_for(self, caller: Caller, task_id: int, timeout: float) -> dict[str, Any]:
        """The task once it has ended, or as it is when `timeout` seconds have passed."""
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        while True:
            task = self.get_task(caller, task_id)
            if TaskStatus(task["status"]).finished or time.monotonic() >= deadline:
                return task
            time.sleep(WAIT_POLL_SECONDS)

    def task_events(self, caller: Caller, task_id: int, after_id: int = -1) -> list[dict[str, Any]]:
        """The events of a task the caller may see (NotFound for another user's), after event `after_id` (-1: all)."""
        self.get_task(caller, task_id)
        return self.queue.events.after(task_id, after_id)

    def follow_events(self, task_id: int, *, after_id: int = -1, seconds: float = MAX_WAIT_SECONDS
                      ) -> Iterator[dict[str, Any]]:
        """Yield a task's events as they are recorded, until its end or `seconds` have passed.

        The caller checks first that the task may be seen (get_task). Besides the task's events, a
        follower gets once, without an id, a 'waiting' notice when the task is queued and no worker
        serves its pool, with the command that starts one.
        """
        deadline = time.monotonic() + min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        checked, warned = 0.0, False
        while True:
            batch = self.queue.events.after(task_id, after_id)
            for event in batch:
                yield event
                if event["kind"] in FINAL_KINDS:
                    return
                after_id = event["id"]
            now = time.monotonic()
            if batch:
                continue
            if now >= deadline:
                return
            if not warned and now - checked >= FOLLOW_STATUS_SECONDS:
                checked = now
                task = self.queue.get(task_id)
                if task["status"] == TaskStatus.QUEUED.value and not self.pool_is_served(task["pool"]):
                    warned = True
                    yield {"id": None, "task_id": task_id, "kind": "waiting", "at": utcnow().isoformat(),
                           "data": {"message": NO_WORKER_MESSAGE.format(id=task_id, pool=task["pool"]),
                                    "start": "python main.py serve"}}
            time.sleep(FOLLOW_POLL_SECONDS)

    def list_tasks(self, caller: Caller, *, status: str | None = None, pool: str | None = None,
                   limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        """Tasks the caller may see, newest first."""
        return self.queue.list(status=status, pool=pool, limit=limit, before_id=before_id,
                               user_id=None if caller.is_admin else caller.user_id)

    def cancel_task(self, caller: Caller, task_id: int) -> dict[str, Any]:
        """Cancel a task the caller may see."""
        self.get_task(caller, task_id)
        return self.queue.cancel(task_id)

    # -- demos ------------------------------------------------------------------------------

    def demo(self, caller: Caller, domain: str, *, session_id: str | None = None,
             narrate_to: IO[str] | None = None) -> DemoReport:
        """Run a scripted demo through the real path (demo_runner), its tasks and workflow the caller's.

        Args:
            narrate_to: where the narration is written as it happens (a terminal's stderr); always
                kept in the report's text.

        Raises:
            NotFound: no demo for `domain`.
        """
        import demo_runner  # only the demo intent needs it

        return demo_runner.run_demo(domain, self, caller, out=narrate_to, progress=False, session_id=session_id,
                                    workflows=self.workflows)

    # -- serving ----------------------------------------------------------------------------

    def start_pools(self) -> str | None:
        """Start this process's workers (for `serve` and `worker`); returns their process id, None when the
        backend's workers run elsewhere (Celery nodes of `python main.py worker`)."""
        return self.backend.start(self.queue, self.executor)

    def stop_pools(self, timeout: float = 10.0) -> None:
        """Drain and stop this process's workers."""
        self.backend.stop(timeout)

    def pool_is_served(self, pool: str) -> bool:
        """True when a live worker of `pool` (in any process) will work its queued tasks."""
        return self.backend.serves(pool)


def _pool_rows(db: Session, name: str | None) -> list[dict[str, Any]]:
    query = sa.select(AgentPool)
    if name is not None:
        query = query.where(AgentPool.name == name)
    rows = []
    for pool in sorted(db.scalars(query), key=lambda p: _pool_order(p.name)):
        rows.append({"name": pool.name, "desired_size": pool.desired_size, "min_size": pool.min_size,
                     "max_size": pool.max_size})
    return rows


def _pool_metrics(db: Session, pool: str) -> dict[str, Any]:
    since = utcnow() - timedelta(seconds=METRICS_WINDOW_SECONDS)
    recent = db.execute(
        sa.select(Task.status, Task.started_at, Task.finished_at)
        .where(Task.pool == pool, Task.finished_at >= since,
               Task.status.in_([TaskStatus.SUCCEEDED, TaskStatus.FAILED]))
        .order_by(Task.finished_at.desc()).limit(METRICS_SAMPLE)
    ).all()
    latencies = sorted((f - s).total_seconds() * 1000 for st, s, f in recent if s and f and st == TaskStatus.SUCCEEDED)
    failed = sum(1 for st, _, _ in recent if st == TaskStatus.FAILED)
    return {
        "throughput_per_minute": round(len(recent) / (METRICS_WINDOW_SECONDS / 60), 2),
        "latency_p50_ms": round(_median(latencies), 1) if latencies else None,
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "error_rate": round(failed / len(recent), 3) if recent else 0.0,
        "window_seconds": METRICS_WINDOW_SECONDS,
    }


def _median(sorted_values: list[float]) -> float:
    middle = len(sorted_values) // 2
    if len(sorted_values) % 2:
        return sorted_values[middle]
    return (sorted_values[middle - 1] + sorted_values[middle]) / 2


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[index]


def _pool_order(name: str) -> int:
    return POOL_NAMES.index(name) if name in POOL_NAMES else len(POOL_NAMES)


def _check_pool(name: str) -> None:
    if name not in POOL_NAMES:
        raise NotFound(f"No such pool: {name!r}. Pools are {', '.join(POOL_NAMES)}.")


def _require_admin(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Only an admin may {what}; {caller.name} is not an admin.")


def _task_id(args: dict[str, Any]) -> int:
    value = args.get("task_id")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest("Say which task, by its number (for example 'show task 12').")
    return value
