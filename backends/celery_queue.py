"""The celery task backend: task ids travel over Redis to Celery workers; the database stays the source of truth.

How it fits together (TASK_BACKEND=celery):

1. `TaskQueue.submit` writes the task row, then `CeleryBackend.dispatch` sends one message holding only
   the task id and pool to the pool's Celery queue, `<namespace>.<pool>` (namespace `operatoros` by default).
2. A Celery worker process receives it and runs `operatoros.run_task` (backends/celery_worker.py): it claims that
   very row (`queue.claim(pool, agent, task_id=id)`) under a database lease and works it as an agent
   thread would (lease renewal, timeout, cancellation) through the executor. A duplicate or stale message
   finds the row not queued and does nothing, so a message is only ever a hint; the lease guards against
   recording twice.
3. Messages are acknowledged late and rejected (requeued) when their worker process is lost, so a killed
   worker loses no message. Redis gives an unacknowledged message back only after its visibility timeout
   (an hour), so the database does not wait for it: `operatoros.sweep`, sent by Celery beat every few
   seconds, requeues tasks whose lease expired and sends their message again (a task whose worker keeps
   dying ends failed after max_attempts, since each claim counts an attempt), and sends again the message
   of a task left queued with nothing waiting in its broker queue (a message held by a dead worker).
4. Pool sizes stay desired state in the database. Each pool has its own Celery queue and, on each machine,
   its own worker node (`<pool>-<id>@<host>`, prefork): its concurrency is the pool's size. The node's
   autoscaler (`DesiredSizeAutoscaler`, Celery's `worker_autoscaler` hook) reads the size every second
   and grows or shrinks the prefork pool to it; a busy process is never cut short. A node started by hand
   on several queues (`-Q operatoros.sports,operatoros.general`) runs the sum of their sizes.
   A restart is Celery's `pool_restart` on the pool's nodes; status and metrics read the database and one
   inspect broadcast (`operatoros_node`).
5. `python main.py worker` runs one node per pool plus a small `ops` node (queue `<namespace>.ops`) that
   does the periodic work and embeds beat. Beat may run on every machine: sweeps and workflow ticks are
   safe to run concurrently.

This module is the deployment's side (configuration, the Celery app, the CeleryBackend that dispatches,
inspects and restarts, the node supervisor of `main.py worker`, the broker's readiness); celery_worker.py
is what runs inside the nodes: it registers the tasks on the app (`celery -A backends.celery_worker`), so
nothing here imports it.

Nothing here imports celery at import time, and nothing connects before it is used.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.base import PoolServed, PoolView, RestartReport, unreachable
from telemetry import tracing
from values import POOL_NAMES

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.engine import Engine

    from agent_pools import Executor
    from config import Settings
    from task_processor import TaskQueue

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "operatoros"
"""Prefix of the Celery queues (`operatoros.<pool>`) and of every Redis key the backend uses."""

RUN_TASK = "operatoros.run_task"
"""Name of the Celery task that works one task row."""

SWEEP_TASK = "operatoros.sweep"
"""Name of the periodic task that re-dispatches the tasks of dead workers."""

WORKFLOW_TICK_TASK = "operatoros.workflow_tick"
"""Name of the periodic task that fires workflow schedules and advances runs."""

NODE_INSPECT_COMMAND = "operatoros_node"
"""Inspect command a worker node answers with its queues, processes and active tasks."""

OPS_QUEUE = "ops"
"""Suffix of the queue of periodic work, consumed by the `ops` node of each `main.py worker`."""

SWEEP_SECONDS = 5.0
"""How often beat sends the sweep: a dead worker's task runs again within the lease plus this."""

STALE_QUEUED_SECONDS = 30.0
"""A task ready this long while its broker queue is empty has lost its message: the sweep sends another."""

STALE_REDISPATCH_LIMIT = 500
"""Most messages one sweep sends again for tasks that lost theirs."""

WORKFLOW_TICK_SECONDS = 1.0
"""How often beat sends the workflow tick (due schedules, unfinished runs)."""

VISIBILITY_TIMEOUT_SECONDS = 3600
"""Redis gives an unacknowledged message back after this; the sweep does not wait for it."""

PREFETCH_MULTIPLIER = 1
"""Messages a worker process reserves beyond the one it works: 1, so a killed worker strands few."""

HARD_TIME_LIMIT_SECONDS = 3600 + 60
"""Celery kills a worker process stuck in one task this long (the longest task timeout plus a grace)."""

INSPECT_TIMEOUT_SECONDS = 1.0
"""How long an inspect broadcast waits for the worker nodes' replies (kombu's Redis poll needs a second)."""

BROKER_PING_TIMEOUT_SECONDS = 1.0
"""How long broker_ready waits for Redis to accept a connection and answer a PING."""

CLUSTER_CACHE_SECONDS = 2.0
"""How long the API reuses one inspect broadcast's answer."""

RESPAWN_SECONDS = 2.0
"""`main.py worker` starts a node again this long after it died."""

STOP_TIMEOUT_SECONDS = 60.0
"""How long `main.py worker` lets its nodes finish their tasks when stopped, before killing them."""

EXECUTOR_ENV = "OPERATOROS_EXECUTOR"
"""Executor (`module:function`) of the worker processes; the domain agents when unset."""

NAMESPACE_ENV = "OPERATOROS_CELERY_NAMESPACE"
"""Overrides DEFAULT_NAMESPACE (tests and several deployments on one Redis)."""

SWEEP_ENV = "OPERATOROS_SWEEP_SECONDS"
"""Overrides SWEEP_SECONDS."""

STALE_ENV = "OPERATOROS_STALE_QUEUED_SECONDS"
"""Overrides STALE_QUEUED_SECONDS."""

ENV_NAMES = (EXECUTOR_ENV, NAMESPACE_ENV, SWEEP_ENV, STALE_ENV)
"""Environment variables this module reads."""

_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class CeleryConfig:
    """Where the broker is and how the backend names and times things; equal configs share one Celery app."""

    broker_url: str
    """Redis URL (REDIS_URL or CELERY_BROKER_URL)."""
    namespace: str = DEFAULT_NAMESPACE
    """Prefix of the queue names and of every Redis key."""
    sweep_seconds: float = SWEEP_SECONDS
    """Period of the sweep."""
    stale_queued_seconds: float = STALE_QUEUED_SECONDS
    """Age after which a ready task with an empty broker queue gets its message again."""

    def __post_init__(self) -> None:
        from config import ConfigError

        if not _NAMESPACE_RE.fullmatch(self.namespace):
            raise ConfigError(f"{NAMESPACE_ENV}={self.namespace!r}: use 1 to 40 letters, digits, '-' or '_'.")
        if not self.broker_url.startswith(("redis://", "rediss://", "redis+socket://", "unix://")):
            from config import redact_url

            raise ConfigError(f"The celery backend needs a Redis broker URL, not {redact_url(self.broker_url)!r}.")
        if self.sweep_seconds <= 0 or self.stale_queued_seconds <= 0:
            raise ConfigError(f"{SWEEP_ENV} and {STALE_ENV} must be more than 0.")

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> CeleryConfig:
        """The config of a deployment: broker from the settings, the rest from the environment.

        Raises:
            ConfigError: no broker URL, or a value out of range.
        """
        from config import ConfigError

        env = os.environ if env is None else env
        if not settings.redis_url:
            raise ConfigError("TASK_BACKEND=celery needs a Redis broker: set REDIS_URL (or CELERY_BROKER_URL), "
                              "e.g. redis://127.0.0.1:6379/0.")
        return cls(settings.redis_url, env.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE,
                   _seconds(env, SWEEP_ENV, SWEEP_SECONDS), _seconds(env, STALE_ENV, STALE_QUEUED_SECONDS))

    @classmethod
    def from_env(cls) -> CeleryConfig:
        """The config of this process's environment (what a worker started by `celery -A` uses)."""
        from config import Settings

        return cls.from_settings(Settings.from_env())

    def queue(self, pool: str) -> str:
        """Celery queue of a pool."""
        return f"{self.namespace}.{pool}"

    @property
    def ops_queue(self) -> str:
        """Celery queue of the periodic work."""
        return f"{self.namespace}.{OPS_QUEUE}"

    @property
    def key_prefix(self) -> str:
        """Prefix of every Redis key (kombu's global_keyprefix)."""
        return f"{self.namespace}:"

    def pool_of(self, queue: str) -> str | None:
        """The pool whose queue this is, if any."""
        head, _, pool = queue.rpartition(".")
        return pool if head == self.namespace and pool in POOL_NAMES else None


def get_app(config: CeleryConfig | None = None) -> Celery:
    """The Celery app of a config (from the environment when None), built once per process and config."""
    config = config or CeleryConfig.from_env()
    with _APPS_LOCK:
        app = _APPS.get(config)
        if app is None:
            app = _APPS[config] = _build_app(config)
        return app


class CeleryBackend:
    """The celery queue backend: sends task ids to the pools' Celery queues, reads and steers the worker nodes."""

    name = "celery"

    def __init__(self, config: CeleryConfig) -> None:
        self.config = config
        self._cluster: tuple[float, list[dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Celery:
        """The Celery app (built on first use)."""
        return get_app(self.config)

    def dispatch(self, task_id: int, pool: str, delay: float = 0.0) -> None:
        """Send the task's id to its pool's queue (due `delay` seconds from now).

        A failure to send is logged, not raised: the row is queued, and the sweep sends the message
        again once the broker is back.
        """
        options: dict[str, Any] = {"countdown": delay} if delay > 0 else {}
        trace = tracing.carrier()
        if trace:  # W3C headers on the message: the worker's run span (Celery instrumentation) joins the trace
            options["headers"] = trace
        try:
            self.app.send_task(RUN_TASK, args=(task_id, pool), queue=self.config.queue(pool), **options)
        except Exception as exc:  # the broker is down: the sweep re-sends once it is back
            logger.warning("task %s: its Celery message could not be sent (%s: %s); the sweep will send it",
                           task_id, exc.__class__.__name__, exc)

    def queue_depth(self, pool: str) -> int:
        """Messages waiting in a pool's broker queue (not counting those reserved by workers)."""
        with self.app.connection_or_acquire() as conn:
            return int(conn.default_channel.queue_declare(queue=self.config.queue(pool)).message_count)

    def nodes(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """The live worker nodes: name, pools, concurrency, processes, active and reserved tasks.

        One inspect broadcast, reused for CLUSTER_CACHE_SECONDS unless `fresh`.

        Raises:
            Exception: the broker cannot be reached.
        """
        with self._lock:
            if not fresh and self._cluster and time.monotonic() - self._cluster[0] < CLUSTER_CACHE_SECONDS:
                return self._cluster[1]
        replies = self.app.control.broadcast(NODE_INSPECT_COMMAND, reply=True, timeout=INSPECT_TIMEOUT_SECONDS)
        nodes = []
        for reply in replies or []:
            for name, info in reply.items():
                if isinstance(info, dict) and "queues" in info:
                    pools = sorted({p for q in info["queues"] if (p := self.config.pool_of(q))},
                                   key=POOL_NAMES.index)
                    nodes.append({"node": name, "pools": pools, **info})
        nodes.sort(key=lambda n: n["node"])
        with self._lock:
            self._cluster = (time.monotonic(), nodes)
        return nodes

    def describe(self) -> dict[str, Any]:
        """The backend's name and the namespace of its queues and Redis keys."""
        return {"name": self.name, "namespace": self.config.namespace}

    def ready(self) -> tuple[bool, str]:
        """Whether the Redis broker answers a PING (see ping_broker); never raises."""
        return ping_broker(self.config.broker_url)

    def pool_view(self) -> PoolView:
        """Per pool: the nodes serving it and their processes and active tasks; `error` if unreachable."""
        try:
            nodes = self.nodes()
        except Exception as exc:
            return unreachable("Celery workers", exc)
        pools: dict[str, PoolServed] = {}
        for node in nodes:
            # A node started by hand on several pool queues shares its processes between them: it is
            # counted in each of its pools.
            for pool in node["pools"]:
                view = pools.setdefault(pool, {"processes": 0, "active": 0, "failed": 0, "workers": []})
                view["processes"] += node["processes"]
                view["active"] += node["active"]
                view["workers"].append({k: node[k] for k in ("node", "concurrency", "processes", "active")})
        return {"error": None, "pools": pools, "nodes": nodes}

    def start(self, queue: TaskQueue, executor: Executor) -> str | None:
        """Nothing to start here: Celery worker nodes (`python main.py worker`) work the queue."""
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """Nothing runs here to stop."""

    def reconcile(self) -> None:
        """Nothing to do here: each node's DesiredSizeAutoscaler reads the desired sizes every second."""

    def restart(self, pool: str | None = None) -> RestartReport:
        """Celery's pool_restart on the nodes of a pool (or of every pool); see restart_pool."""
        return {"restarted_agents": 0, "restarted_workers": self.restart_pool(pool)}

    def serves(self, pool: str) -> bool:
        """True when some live node has a process for the pool."""
        try:
            return any(pool in n["pools"] and n["concurrency"] > 0 for n in self.nodes())
        except Exception:
            return False

    def restart_pool(self, pool: str | None = None) -> list[str]:
        """Restart the worker processes of the nodes of a pool (or of every pool): Celery's pool_restart.

        No task is cut short: an idle process is replaced when its next task arrives (it works that
        task, then exits), a busy one after its current task. Returns the nodes asked.
        """
        nodes = [n["node"] for n in self.nodes(fresh=True) if n["pools"] and (pool is None or pool in n["pools"])]
        if nodes:
            self.app.control.pool_restart(destination=nodes, reply=True, timeout=INSPECT_TIMEOUT_SECONDS,
                                          limit=len(nodes))
        return nodes

    def redispatch_stale(self, queue: TaskQueue) -> int:
        """Send again the message of tasks that have waited STALE seconds while their broker queue is empty.

        Such a task's message was lost or is held by a dead worker (reserved, or waiting for its retry
        time); a duplicate is harmless since only one message can claim the row.
        """
        sent = 0
        for pool, ids in queue.stale_queued(self.config.stale_queued_seconds, STALE_REDISPATCH_LIMIT).items():
            if self.queue_depth(pool):
                continue  # messages are waiting: the workers are behind, not missing anything yet
            for task_id in ids:
                self.dispatch(task_id, pool)
            sent += len(ids)
        if sent:
            logger.warning("sweep: sent again the messages of %d tasks that lost theirs", sent)
        return sent


def broker_ready(settings: Settings) -> tuple[bool, str]:
    """Whether the Redis broker at the settings' REDIS_URL (or CELERY_BROKER_URL) answers a PING (readiness)."""
    return ping_broker(settings.redis_url)


def ping_broker(url: str | None) -> tuple[bool, str]:
    """Whether the Redis broker at `url` answers a PING.

    One connection, no retry, BROKER_PING_TIMEOUT_SECONDS to connect and as much to answer; never raises.

    Returns:
        (True, a short description) when Redis answered, else (False, why not); the URL's password is masked.
    """
    from config import redact_url

    if not url:
        return False, "no broker: set REDIS_URL (or CELERY_BROKER_URL)"
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError as exc:
        return False, f"the redis client is not installed ({exc})"
    where = redact_url(url)
    try:
        client = redis.Redis.from_url(_redis_py_url(url), socket_connect_timeout=BROKER_PING_TIMEOUT_SECONDS,
                                      socket_timeout=BROKER_PING_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0))
    except ValueError as exc:  # a URL redis-py cannot read
        return False, f"broker {where}: {exc}"
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return False, f"broker {where} did not answer a PING: {exc.__class__.__name__}: {exc}"
    finally:
        client.close()
    return True, f"broker {where} answered a PING"


def worker_command(config: CeleryConfig, node: str, queues: list[str], *, concurrency: int | None = None,
                   ops: bool = False, beat: bool = False, loglevel: str = "WARNING") -> list[str]:
    """The `celery worker` command line of one node (`main.py worker` runs one per pool, plus ops).

    A pool node runs prefork processes under the desired-size autoscaler; the ops node works the
    periodic tasks in its main process and, with `beat`, embeds the beat scheduler.
    """
    command = [sys.executable, "-m", "celery", "-A", "backends.celery_worker", "worker", "-n", node,
               "-Q", ",".join(queues), "--loglevel", loglevel, "-O", "fair",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if ops:
        command += ["-P", "solo", "-c", "1"]
        if beat:
            command += ["-B", "--scheduler", "celery.beat:Scheduler"]
    else:
        size = max(0, int(concurrency or 0))
        command += ["-P", "prefork", f"--autoscale={size},{size}"]
    return command


def run_workers(settings: Settings, engine: Engine, *, executor: str | None = None,
                pools: tuple[str, ...] = POOL_NAMES, beat: bool = True, loglevel: str = "WARNING") -> int:
    """`python main.py worker` with the celery backend: one Celery node per pool, plus ops; until stopped.

    Each node starts with its pool's desired size, then follows it. A node that dies is started again.
    SIGTERM or Ctrl-C stops the nodes warmly (running tasks finish); the nodes also stop if this
    process is killed.

    Returns:
        The process exit code.
    """
    import sqlalchemy as sa

    from models import AgentPool

    config = CeleryConfig.from_settings(settings)
    with engine.connect() as conn:
        sizes = dict(conn.execute(sa.select(AgentPool.name, AgentPool.desired_size)).all())
    engine.dispose()  # the nodes have their own connections; this process only supervises them
    host, tag = socket.gethostname(), os.getpid()
    commands = {f"{pool}-{tag}@{host}": worker_command(config, f"{pool}-{tag}@{host}", [config.queue(pool)],
                                                       concurrency=sizes.get(pool, 0), loglevel=loglevel)
                for pool in pools}
    commands[f"ops-{tag}@{host}"] = worker_command(config, f"ops-{tag}@{host}", [config.ops_queue], ops=True,
                                                   beat=beat, loglevel=loglevel)
    root = str(Path(__file__).resolve().parent.parent)  # the project root, where the packages are
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    if executor:
        env[EXECUTOR_ENV] = executor
    return _NodeSupervisor(commands, env, root).run()


def sweep(queue: TaskQueue, dispatcher: CeleryBackend) -> dict[str, int]:
    """One sweep: requeue (and re-send) the tasks of dead workers, re-send lost messages."""
    swept = queue.requeue_expired()
    swept["resent"] = dispatcher.redispatch_stale(queue)
    return swept


def _build_app(config: CeleryConfig) -> Celery:
    """The Celery app of a config: its settings and schedule; the worker side registers the tasks on it."""
    from celery import Celery

    app = Celery("operatoros", broker=config.broker_url, set_as_current=False)
    app.operatoros_config = config  # type: ignore[attr-defined]
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_time_limit=HARD_TIME_LIMIT_SECONDS,
        task_default_queue=config.queue("general"),
        worker_prefetch_multiplier=PREFETCH_MULTIPLIER,
        worker_pool_restarts=True,
        worker_autoscaler="backends.celery_worker:DesiredSizeAutoscaler",
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
                                  "global_keyprefix": config.key_prefix},
        enable_utc=True,
        timezone="UTC",
        beat_schedule={
            "sweep": {"task": SWEEP_TASK, "schedule": config.sweep_seconds,
                      "options": {"queue": config.ops_queue, "expires": config.sweep_seconds * 2}},
            "workflows": {"task": WORKFLOW_TICK_TASK, "schedule": WORKFLOW_TICK_SECONDS,
                          "options": {"queue": config.ops_queue, "expires": WORKFLOW_TICK_SECONDS * 5}},
        },
    )

    return app


class _NodeSupervisor:
    """Runs Celery worker nodes as child processes: restarts one that dies, stops them all warmly."""

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str], cwd: str) -> None:
        self.commands = commands
        self.env = env
        self.cwd = cwd
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._stop = threading.Event()
        self._preexec = _parent_death_signal()

    def run(self) -> int:
        """Start the nodes and keep them running until SIGTERM or Ctrl-C; returns the exit code."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._stop.set())
        due = {name: 0.0 for name in self.commands}
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                for name, command in self.commands.items():
                    proc = self.procs.get(name)
                    if proc is not None and proc.poll() is not None:
                        logger.warning("worker node %s exited with %s; starting it again in %.0f s",
                                       name, proc.returncode, RESPAWN_SECONDS)
                        del self.procs[name]
                        due[name] = now + RESPAWN_SECONDS
                    if name not in self.procs and now >= due[name]:
                        self.procs[name] = subprocess.Popen(command, env=self.env, cwd=self.cwd,
                                                            start_new_session=True, preexec_fn=self._preexec)
                self._stop.wait(0.2)
        finally:
            self._stop_all()
        return 0

    def _stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker node pid %s did not stop in time; killing it", proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _parent_death_signal() -> Any:
    """A pre-exec hook giving a node a SIGTERM (warm shutdown) when `main.py worker` dies; None off Linux."""
    try:
        from billiard.util import set_pdeathsig
    except ImportError:
        return None

    def arm() -> None:
        try:
            set_pdeathsig(signal.SIGTERM)
        except OSError:  # not supported here: the node then outlives a killed parent
            pass

    return arm


def _redis_py_url(url: str) -> str:
    """A broker URL as redis-py reads it: kombu's `redis+socket:///p?virtual_host=N` is `unix:///p?db=N`."""
    if not url.startswith("redis+socket://"):
        return url
    return "unix://" + url[len("redis+socket://"):].replace("virtual_host=", "db=")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    from config import ConfigError

    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from exc


_APPS: dict[CeleryConfig, Any] = {}
_APPS_LOCK = threading.RLock()
