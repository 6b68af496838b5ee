"""The local task backend: agent threads in `serve` and `worker` processes, seen through their database heartbeats.

A queued task wakes this process's idle agents of its pool (LocalDispatcher); agents of other
processes find it by polling. Every process writes its agents' heartbeats to the agents table, so
the view of the workers, and whether a pool is served, are read from there whichever process asks.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backends.base import PoolServed, PoolView, RestartReport, unreachable
from database import read_only
from models import Agent, AgentStatus, utcnow
from task_processor import LocalDispatcher
from values import POOL_NAMES

if TYPE_CHECKING:
    from agent_pools import Executor, PoolSupervisor
    from task_processor import TaskQueue

logger = logging.getLogger(__name__)

AGENT_LIVENESS_SECONDS = 5.0
"""An agent whose heartbeat is older than this is not counted as live."""

_LIVE = (AgentStatus.IDLE, AgentStatus.BUSY)


class LocalBackend(LocalDispatcher):
    """Agent threads per pool in this process (a PoolSupervisor), and the heartbeats of every process's agents."""

    name = "local"

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.supervisor: PoolSupervisor | None = None

    def describe(self) -> dict[str, Any]:
        """The backend's name (it has no settings of its own)."""
        return {"name": self.name}

    def ready(self) -> tuple[bool, str]:
        """Always ready: tasks reach agents through the database, whose readiness is checked on its own."""
        return True, "local backend: agents claim tasks from the database"

    def pool_view(self) -> PoolView:
        """Per pool and per process, the live (fresh heartbeat) and busy agents, and the failed ones."""
        live_after = utcnow() - timedelta(seconds=AGENT_LIVENESS_SECONDS)
        try:
            with read_only(self.engine) as conn:
                counted = conn.execute(
                    sa.select(Agent.pool, Agent.process, Agent.status, sa.func.count())
                    .where(sa.or_(Agent.heartbeat_at >= live_after, Agent.status == AgentStatus.FAILED))
                    .group_by(Agent.pool, Agent.process, Agent.status)).all()
        except sa.exc.SQLAlchemyError as exc:
            return unreachable("The local agents", exc)
        pools: dict[str, PoolServed] = {}
        nodes: dict[str, dict[str, Any]] = {}
        for pool, process, status, count in sorted(counted, key=lambda r: (_order(r[0]), r[1])):
            served = pools.setdefault(pool, {"processes": 0, "active": 0, "failed": 0, "workers": []})
            if status is AgentStatus.FAILED:
                served["failed"] += int(count)
                continue
            if status not in _LIVE:
                continue
            node = nodes.setdefault(process, {"node": process, "pools": [], "concurrency": 0, "processes": 0,
                                              "active": 0})
            busy = int(count) if status is AgentStatus.BUSY else 0
            for target in (served, node):
                target["processes"] += int(count)
                target["active"] += busy
            node["concurrency"] += int(count)
            if pool not in node["pools"]:
                node["pools"].append(pool)
            worker = next((w for w in served["workers"] if w["node"] == process), None)
            if worker is None:
                served["workers"].append({"node": process, "concurrency": int(count), "processes": int(count),
                                          "active": busy})
            else:
                for key in ("concurrency", "processes"):
                    worker[key] += int(count)
                worker["active"] += busy
        return {"error": None, "pools": pools, "nodes": sorted(nodes.values(), key=lambda n: n["node"])}

    def serves(self, pool: str) -> bool:
        """True when an agent of `pool` in any process has a fresh heartbeat and is idle or busy."""
        live_after = utcnow() - timedelta(seconds=AGENT_LIVENESS_SECONDS)
        with read_only(self.engine) as conn:
            return bool(conn.execute(sa.select(sa.func.count()).select_from(Agent).where(
                Agent.pool == pool, Agent.heartbeat_at >= live_after, Agent.status.in_(_LIVE))).scalar())

    def start(self, queue: TaskQueue, executor: Executor) -> str | None:
        """Start this process's agents at the desired sizes (once); returns this process's identity."""
        if self.supervisor is None:
            from agent_pools import PoolSupervisor

            self.supervisor = PoolSupervisor(self.engine, queue, executor)
            self.supervisor.start()
        return self.supervisor.process

    def stop(self, timeout: float = 10.0) -> None:
        """Drain and stop this process's agents."""
        if self.supervisor is not None:
            self.supervisor.stop(timeout)
            self.supervisor = None

    def reconcile(self) -> None:
        """Start or drain this process's agents to the desired sizes now, not at the supervisor's next round."""
        if self.supervisor is not None:
            self.supervisor.reconcile()

    def restart(self, pool: str | None = None) -> RestartReport:
        """Mark the failed agents of a pool (or all) stopped: their supervisors start fresh ones in their place."""
        query = sa.update(Agent).where(Agent.status == AgentStatus.FAILED).values(status=AgentStatus.STOPPED)
        if pool is not None:
            query = query.where(Agent.pool == pool)
        with self.engine.begin() as conn:
            count = conn.execute(query).rowcount
        self.reconcile()
        return {"restarted_agents": int(count), "restarted_workers": []}


def _order(pool: str) -> int:
    return POOL_NAMES.index(pool) if pool in POOL_NAMES else len(POOL_NAMES)
