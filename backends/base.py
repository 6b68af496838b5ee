"""The queue backend interface: how a queued task reaches a worker, and how the controller reads and steers workers.

Two backends implement it: `backends.local.LocalBackend` (agent threads in `serve` and `worker`,
found through their heartbeats in the database) and `backends.celery_queue.CeleryBackend` (Celery
worker nodes over Redis). The task rows stay in the database either way (task_processor.TaskQueue
owns them); a backend only carries the news that a task is ready and runs the workers. The
controller calls only these methods, so it never knows which backend it has; tests/test_queue_backends.py
runs one contract suite against both.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from task_processor import Dispatcher

if TYPE_CHECKING:
    from agent_pools import Executor
    from task_processor import TaskQueue


WORKER_KEYS = ("node", "pools", "concurrency", "processes", "active")
"""What the status shows of each worker node: its name (`<pool>-<pid>@<host>` for Celery, the process
identity for local agents), the pools it serves, how many tasks it may work at once, its live workers
(Celery processes or agent threads) and the tasks it works now."""


class PoolServed(TypedDict):
    """What serves one pool: its live workers, the tasks they work, its failed agents, and its nodes."""

    processes: int
    active: int
    failed: int
    workers: list[dict[str, Any]]
    """Each node serving the pool: node, concurrency, processes, active."""


class PoolView(TypedDict):
    """The workers of every pool at one moment, from one read; `error` says why it could not be read."""

    error: str | None
    pools: dict[str, PoolServed]
    nodes: list[dict[str, Any]]
    """Every live node, with at least the WORKER_KEYS."""


class RestartReport(TypedDict):
    """What a restart released: failed agents (local) and the worker nodes asked to restart (Celery)."""

    restarted_agents: int
    restarted_workers: list[str]


class QueueBackend(Dispatcher, Protocol):
    """A task transport with its workers; TaskQueue dispatches through it, the controller steers it."""

    name: str
    """`local` or `celery` (the TASK_BACKEND value)."""

    def describe(self) -> dict[str, Any]:
        """The backend's identity for the status: its name and its settings worth showing."""

    def ready(self) -> tuple[bool, str]:
        """Whether the transport answers (readiness), and a short description; never raises."""

    def pool_view(self) -> PoolView:
        """Per pool, the live workers and their active tasks; never raises (the error is in the view)."""

    def serves(self, pool: str) -> bool:
        """True when some live worker, in any process, will work the queued tasks of `pool`."""

    def start(self, queue: TaskQueue, executor: Executor) -> str | None:
        """Start this process's workers; returns their process id, or None when workers run elsewhere."""

    def stop(self, timeout: float = 10.0) -> None:
        """Drain and stop this process's workers (busy ones finish their task)."""

    def reconcile(self) -> None:
        """Bring this process's workers to the pools' desired sizes now (they also follow it on their own)."""

    def restart(self, pool: str | None = None) -> RestartReport:
        """Release the failed workers of a pool (or of all pools) so fresh ones replace them."""


def unreachable(what: str, exc: BaseException) -> PoolView:
    """The view of a backend whose workers could not be read."""
    return {"error": f"{what} could not be inspected: {exc.__class__.__name__}: {exc}", "pools": {}, "nodes": []}
