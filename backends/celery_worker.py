"""The inside of a Celery worker node of the celery backend: working task rows, leases, the desired size.

What runs in the worker processes (see backends/celery_queue.py for the whole picture): the nodes load
this module's `app` (`celery -A backends.celery_worker`), the deployment's Celery app with the tasks
registered on it; `run_task` claims the
row a message names and works it under a renewed lease; `DesiredSizeAutoscaler` keeps a node's prefork
pool at the desired size in the database; the `operatoros_node` inspect command describes a node.
Each process builds its `_Runtime` (database engines, the queue, the executor, the lease keeper) on
its first task, after the fork.

Per task, a worker process makes two database round trips and no more: the claim of the named row
(one UPDATE ... RETURNING) and the result (one UPDATE guarded by the lease), each a transaction by
itself on a connection the process keeps (task_processor.DirectTaskQueue). Lease renewals, timeouts
and cancellations are a thread's business: one statement a second for all the tasks the process holds.

Nothing here imports celery at import time, and nothing connects before it is used.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from agent_pools import CancelToken, execute_claim
from backends.celery_queue import (
    EXECUTOR_ENV,
    NODE_INSPECT_COMMAND,
    RUN_TASK,
    SWEEP_TASK,
    WORKFLOW_TICK_TASK,
    CeleryBackend,
    CeleryConfig,
    get_app,
)

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.engine import Engine

    from agent_pools import Executor
    from task_processor import Claim, DirectTaskQueue, TaskQueue

logger = logging.getLogger(__name__)

RECONCILE_SECONDS = 1.0
"""How often a worker node compares its concurrency with its pools' desired sizes."""

HEARTBEAT_SECONDS = 1.0
"""How often a worker process renews the leases of the tasks it holds (well inside the lease)."""

WORKER_SYNCHRONOUS_COMMIT = "off"
"""PostgreSQL synchronous_commit of the worker processes' statements (claims, results, renewals, sweeps).

Off: a commit returns before its WAL is flushed to disk, which takes an fsync (3 ms on the test
machine's disk, more than a no-op task's whole cost) out of each of a task's two statements. The
cost: a crash of the PostgreSQL server (or of its machine) forgets the last fraction of a second of
these commits, never part of one and never a later one without an earlier one (the WAL is replayed in
order), and that is what at-least-once with a lease already handles:

- a forgotten claim leaves the row queued: the sweep sends its message again (STALE_QUEUED_SECONDS),
  and a result of that attempt finds no lease of its own and is discarded;
- a forgotten result leaves the row running under a lease that nobody renews: the sweep requeues it
  and the task runs again; its result is then recorded once, under the new lease;
- a forgotten renewal lets a lease expire early: the task may run twice, recorded once;
- a forgotten failure or cancellation leaves the row running: the sweep requeues it, cancels it (its
  cancellation was asked with a synchronous commit) or fails it on its last attempt.

What is not hidden: a client that read the forgotten result before the crash sees the task run again,
and an attempt lost this way may not count against max_attempts. Any later synchronous commit (every
submission, cancellation and workflow step; the API and CLI keep synchronous commits) flushes the WAL
before it, so nothing durable is ever decided on a result that could still be forgotten.
"""

_RUNTIME_LOCK = threading.RLock()
_RUNTIME: tuple[int, _Runtime] | None = None
_WORKFLOWS: tuple[int, Any] | None = None
_AUTOSCALER: type | None = None
_REGISTERED: set[int] = set()


def __getattr__(name: str) -> Any:
    # `celery -A backends.celery_worker worker` looks up the module's `app`, and the worker settings name
    # `backends.celery_worker:DesiredSizeAutoscaler`: both built on first use, so importing this module
    # imports no celery and reads no environment.
    if name == "app":
        return worker_app()
    if name == "DesiredSizeAutoscaler":
        return _autoscaler_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def worker_app(config: CeleryConfig | None = None) -> Celery:
    """The deployment's Celery app (celery_queue.get_app) with the tasks a worker node runs registered on it."""
    app = get_app(config)
    with _RUNTIME_LOCK:
        if id(app) not in _REGISTERED:
            _register_tasks(app)
            _REGISTERED.add(id(app))
    return app


def _register_tasks(app: Celery) -> None:
    @app.task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def _run(task_id: int, pool: str) -> str | None:
        return run_task(task_id, pool)

    @app.task(name=SWEEP_TASK, acks_late=False, ignore_result=True)
    def _sweep() -> dict[str, int]:
        return run_sweep()

    @app.task(name=WORKFLOW_TICK_TASK, acks_late=False, ignore_result=True)
    def _workflows() -> int:
        return workflow_tick()

    register_inspect_command()
    from celery.signals import worker_process_init

    # Each prefork child traces from its start, so that its first task already has Celery's run span.
    worker_process_init.connect(_trace_this_process, weak=False)


def _trace_this_process(**_: Any) -> None:
    """Tracing on (when the OTEL_* variables ask) in this process, after the fork: the exporter's thread
    is this child's; Celery's prerun and postrun signals give each task a run span from its headers."""
    from telemetry import tracing

    if not tracing.enabled() and tracing.setup_from_env():
        tracing.instrument_celery()


def run_task(task_id: int, pool: str, runtime: _Runtime | None = None) -> str | None:
    """Work one task row as a Celery worker process does: claim it by id, run it under a renewed lease.

    Returns:
        The outcome ('succeeded', 'cancelled', or the error), or None when the row was not there to
        claim (a duplicate or stale message, a cancelled task, or one not yet due).
    """
    runtime = runtime or _runtime()
    try:
        claim = runtime.queue.claim(pool, runtime.agent_id(), task_id=task_id)
    except DBAPIError as exc:  # SQLAlchemy's path (not PostgreSQL), whose pool does not ping
        if not exc.connection_invalidated:
            raise
        claim = runtime.queue.claim(pool, runtime.agent_id(), task_id=task_id)  # on a fresh connection
    if claim is None:
        return None
    token = CancelToken()
    with runtime.keeper.holding(claim, token):
        outcome, _ = execute_claim(runtime.queue, runtime.executor, claim, token)
    return outcome


def run_sweep() -> dict[str, int]:
    """The periodic sweep, in this process's runtime (see celery_queue.sweep)."""
    from backends.celery_queue import sweep

    runtime = _runtime()
    return sweep(runtime.queue, runtime.backend)


def workflow_tick() -> int:
    """Fire due workflow schedules and advance unfinished runs (business_automation's tick)."""
    global _WORKFLOWS
    try:
        import business_automation
        engine_cls = business_automation.WorkflowEngine
    except (ImportError, AttributeError):
        return 0
    with _RUNTIME_LOCK:
        if _WORKFLOWS is None or _WORKFLOWS[0] != os.getpid():
            from config import Settings
            from services import build_services

            settings = Settings.from_env()
            svc = build_services(settings, executor=os.environ.get(EXECUTOR_ENV))
            _WORKFLOWS = (os.getpid(), engine_cls(svc.engine, svc.controller))
        workflows = _WORKFLOWS[1]
    report = workflows.tick()
    return len(getattr(report, "runs_started", []))


def register_inspect_command() -> None:
    """Teach this process's Celery the `operatoros_node` inspect command (what a node answers)."""
    from celery.worker.control import inspect_command

    @inspect_command(name=NODE_INSPECT_COMMAND)
    def operatoros_node(state: Any, **kwargs: Any) -> dict[str, Any]:
        """This node's queues, concurrency, processes and active and reserved tasks."""
        from celery.worker import state as worker_state

        consumer = state.consumer
        pool_info = consumer.pool.info if consumer.pool else {}
        processes = pool_info.get("processes") if isinstance(pool_info, dict) else None
        autoscaler = getattr(consumer.controller, "autoscaler", None)
        concurrency = autoscaler.max_concurrency if autoscaler else consumer.pool.num_processes
        queues = [q.name for q in consumer.task_consumer.queues] if consumer.task_consumer else []
        return {"queues": queues, "concurrency": int(concurrency or 0),
                "processes": len(processes) if isinstance(processes, list) else int(concurrency or 0),
                "pids": processes if isinstance(processes, list) else [],
                "active": len(worker_state.active_requests), "reserved": len(worker_state.reserved_requests),
                "pid": os.getpid(), "host": socket.gethostname()}


class _Runtime:
    """What a worker process needs to work tasks: the queue, the executor, the lease keeper.

    Built on a process's first task, so each prefork child has its own database connections.
    """

    def __init__(self, config: CeleryConfig) -> None:
        import database
        from config import Settings
        from services import make_executor
        from task_processor import DirectTaskQueue
        _trace_this_process()  # the solo pool's process (the ops node) has no worker_process_init
        self.settings = Settings.from_env()
        # Two engines: the queue's (see _worker_engine), and ordinary transactions for the schema
        # check and the executor's own records.
        self.db = database.make_engine(self.settings.database_url)
        database.ensure_schema(self.db)
        self.engine = _worker_engine(self.settings.database_url)
        self.backend = CeleryBackend(config)
        self.queue: DirectTaskQueue = DirectTaskQueue(self.engine, self.backend)
        self.executor: Executor = make_executor(self.settings, database.make_session_factory(self.db),
                                                os.environ.get(EXECUTOR_ENV))
        self.keeper = _LeaseKeeper(self.queue)
        self._prefix = f"celery-{socket.gethostname()}:{os.getpid()}"

    def agent_id(self) -> str:
        """A fresh agent id per claim, so that no two claims ever share a lease owner."""
        return f"{self._prefix}-{uuid.uuid4().hex[:8]}"

    def close(self) -> None:
        """Close the queue's kept connection and both engines (tests; a worker process just exits)."""
        self.queue.close()
        self.engine.dispose()
        self.db.dispose()


class _LeaseKeeper:
    """One thread per worker process: renews the leases it holds, enforces timeouts and cancellations."""

    def __init__(self, queue: TaskQueue, interval: float = HEARTBEAT_SECONDS) -> None:
        self.queue = queue
        self.interval = interval
        self._held: dict[str, tuple[Claim, CancelToken, float]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, claim: Claim, token: CancelToken) -> Iterator[None]:
        """Keep the claim's lease alive (and watch its timeout and cancellation) inside the block."""
        with self._lock:
            self._held[claim.owner] = (claim, token, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(claim.owner, None)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self._round()
            except Exception:  # a database hiccup: the lease outlives a few missed renewals
                logger.exception("lease renewal round failed")

    def _round(self) -> None:
        with self._lock:
            held = list(self._held.values())
        if not held:
            return
        now = time.monotonic()
        live = []
        for claim, token, started in held:
            if token.cancelled:
                continue
            if now - started > claim.timeout_seconds:
                token.cancel("timeout")
                self.queue.fail(claim, f"timed out after {claim.timeout_seconds:g} s")
            else:
                live.append((claim, token))
        cancelled = self.queue.renew([claim.owner for claim, _ in live])
        for claim, token in live:
            if claim.owner in cancelled:
                token.cancel("cancelled")


def _runtime() -> _Runtime:
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None or _RUNTIME[0] != os.getpid():  # built after fork, never inherited
            _RUNTIME = (os.getpid(), _Runtime(CeleryConfig.from_env()))
        return _RUNTIME[1]


def _autoscaler_class() -> type:
    global _AUTOSCALER
    if _AUTOSCALER is not None:
        return _AUTOSCALER
    from celery.worker.autoscale import Autoscaler

    class DesiredSizeAutoscaler(Autoscaler):  # type: ignore[misc]
        """Keeps a node's prefork pool at the desired size (in the database) of the pools it consumes.

        Celery calls maybe_scale every keepalive (RECONCILE_SECONDS) in the node's event loop; the
        size is read from the database then, with a connection that is closed again at once. Busy
        processes are never cut short: a shrink refused while all are busy is tried again on the next round.
        """

        max_concurrency: int  # set by Autoscaler.__init__ (celery ships no types)

        def __init__(self, pool: Any, max_concurrency: int, min_concurrency: int = 0, worker: Any = None,
                     keepalive: float = RECONCILE_SECONDS, mutex: Any = None) -> None:
            super().__init__(pool, max_concurrency, min_concurrency, worker=worker, keepalive=RECONCILE_SECONDS,
                             mutex=mutex)
            self._sizes = _DesiredSizes(worker.app if worker is not None else None)

        def maybe_scale(self, req: Any = None) -> None:
            if req is None:  # the periodic call; Celery also calls this on every task message, for nothing here
                super().maybe_scale()

        def _maybe_scale(self, req: Any = None) -> bool:
            target = self._sizes.get()
            if target is None:
                return False
            procs = self.processes
            if target < procs:
                self._shrink(procs - target)
            elif target > procs:
                self._grow(target - procs)
            if target != self.max_concurrency:
                logger.info("pool size %d -> %d", self.max_concurrency, target)
                self._update_consumer_prefetch_count(target)
                self.max_concurrency = self.min_concurrency = target
            return target != procs

    _AUTOSCALER = DesiredSizeAutoscaler
    return _AUTOSCALER


class _DesiredSizes:
    """Reads the desired size of the pools a node consumes, at most every RECONCILE_SECONDS."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._engine: Engine | None = None
        self._pools: list[str] | None = None
        self._next = 0.0
        self._value: int | None = None

    def get(self) -> int | None:
        """The summed desired size, or None when unknown (then the node keeps its size)."""
        now = time.monotonic()
        if now < self._next:
            return self._value
        self._next = now + RECONCILE_SECONDS
        try:
            self._value = self._read()
        except Exception as exc:  # the database is away: keep the current size and try again
            logger.warning("could not read the desired pool sizes: %s: %s", exc.__class__.__name__, exc)
        return self._value

    def _read(self) -> int | None:
        import sqlalchemy as sa

        from models import AgentPool

        if self._pools is None:
            config: CeleryConfig | None = getattr(self.app, "operatoros_config", None)
            consumed = list(self.app.amqp.queues.consume_from) if config is not None else []
            self._pools = [p for q in consumed if config is not None and (p := config.pool_of(q))]
        if not self._pools:
            return None
        if self._engine is None:
            self._engine = _poolless_engine()
        # No connection stays open between reads, so a process forked by a grow inherits none.
        with self._engine.connect() as conn:
            sizes = conn.execute(sa.select(AgentPool.desired_size).where(AgentPool.name.in_(self._pools))).all()
        return sum(int(size) for (size,) in sizes)


def _worker_engine(url: str) -> Engine:
    """The engine of a worker process's queue (on PostgreSQL: autocommit, WORKER_SYNCHRONOUS_COMMIT).

    Each queue operation a worker makes is one atomic statement (the claim of a named task is a single
    conditional UPDATE ... RETURNING; the result, a failure, a renewal are single UPDATEs; the sweep's
    statements are each correct on their own), so it runs in autocommit: one round trip each instead of
    BEGIN, statement, COMMIT. The pool does not ping a connection before lending it (a round trip per
    use): the queue's kept connection is replaced when found dead (DirectTaskQueue), and run_task
    retries once a claim of SQLAlchemy's path that found its connection dead.
    """
    import sqlalchemy as sa

    import database

    database.ensure_sqlite_folder(url)
    options = database.engine_options(url)
    if not database.is_sqlite(url):
        options["connect_args"] = {**options.get("connect_args", {}),
                                   "options": f"-c synchronous_commit={WORKER_SYNCHRONOUS_COMMIT}"}
        options.update(isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    engine = sa.create_engine(url, **options)
    database.configure_engine(engine)
    return engine


def _poolless_engine() -> Engine:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    import database
    from config import Settings

    url = Settings.from_env().database_url
    connect_args = {"timeout": 5} if database.is_sqlite(url) else {"connect_timeout": 5}
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
