"""The one facade both front doors call: status, health, pools, tasks, scaling, demos, workflows."""
from __future__ import annotations

import logging
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import health_monitor
from command_processor import Command
from config import Settings
from conversation_manager import Caller
from database import session_scope
from errors import NotAvailableYet, NotFound
from models import POOL_NAMES, Agent, AgentPool, AgentStatus, Task, TaskStatus, utcnow

logger = logging.getLogger(__name__)

AGENT_LIVENESS_SECONDS = 15.0
"""An agent whose heartbeat is older than this is not counted as live."""


@dataclass
class Outcome:
    """What a command did: data for the reply, and the task it touched if any."""

    data: dict[str, Any] = field(default_factory=dict)
    task_id: int | None = None


class AgentMasterController:
    """Coordinates the queue, the pools and the providers; front doors call only this."""

    def __init__(self, settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.engine = engine
        self._sessions = session_factory

    def execute(self, command: Command, caller: Caller) -> Outcome:
        """Carry out one understood command on behalf of `caller`."""
        handler = getattr(self, f"_do_{command.intent}", None)
        if handler is None:
            raise NotAvailableYet(f"'{command.intent}' is not available yet in this build of OperatorOS.")
        return handler(command, caller)

    def status(self) -> dict[str, Any]:
        """System overview: pools and their sizes, tasks by status, machine and database."""
        with session_scope(self._sessions) as db:
            pools = self._pool_rows(db)
            counts = dict(db.execute(sa.select(Task.status, sa.func.count()).group_by(Task.status)).all())
        return {
            "pools": pools,
            "tasks": {s.value: int(counts.get(s, 0)) for s in TaskStatus},
            "system": health_monitor.system_metrics(str(self.settings.home)),
            "database": {"url": self.settings.safe_database_url, "dialect": self.engine.dialect.name},
            "task_backend": self.settings.task_backend,
        }

    def health(self) -> dict[str, Any]:
        """Machine metrics and database reachability."""
        database = health_monitor.database_check(self.engine)
        database["url"] = self.settings.safe_database_url
        return {"ok": database["ok"], "system": health_monitor.system_metrics(str(self.settings.home)),
                "database": database}

    def pool_status(self, name: str | None = None) -> list[dict[str, Any]]:
        """Status of one pool, or of all pools."""
        if name is not None and name not in POOL_NAMES:
            raise NotFound(f"No such pool: {name!r}. Pools are {', '.join(POOL_NAMES)}.")
        with session_scope(self._sessions) as db:
            rows = self._pool_rows(db)
        return [r for r in rows if name is None or r["name"] == name]

    def _do_status(self, command: Command, caller: Caller) -> Outcome:
        return Outcome(self.status())

    def _do_health(self, command: Command, caller: Caller) -> Outcome:
        return Outcome(self.health())

    def _do_pools(self, command: Command, caller: Caller) -> Outcome:
        return Outcome({"pools": self.pool_status(command.args.get("pool"))})

    def _do_help(self, command: Command, caller: Caller) -> Outcome:
        return Outcome({})

    def _do_clarify(self, command: Command, caller: Caller) -> Outcome:
        return Outcome({})

    def _pool_rows(self, db: Session) -> list[dict[str, Any]]:
        live_after = utcnow() - timedelta(seconds=AGENT_LIVENESS_SECONDS)
        agents = db.execute(
            sa.select(Agent.pool, Agent.status, sa.func.count())
            .where(Agent.heartbeat_at >= live_after)
            .group_by(Agent.pool, Agent.status)
        ).all()
        by_pool: dict[str, dict[str, int]] = {}
        for pool, status, count in agents:
            by_pool.setdefault(pool, {})[status.value] = int(count)
        queued = dict(db.execute(
            sa.select(Task.pool, sa.func.count()).where(Task.status == TaskStatus.QUEUED).group_by(Task.pool)
        ).all())
        rows = []
        pools = sorted(db.scalars(sa.select(AgentPool)), key=lambda p: _pool_order(p.name))
        for pool in pools:
            states = by_pool.get(pool.name, {})
            rows.append({
                "name": pool.name,
                "desired_size": pool.desired_size,
                "min_size": pool.min_size,
                "max_size": pool.max_size,
                "live_agents": states.get(AgentStatus.IDLE.value, 0) + states.get(AgentStatus.BUSY.value, 0),
                "busy_agents": states.get(AgentStatus.BUSY.value, 0),
                "failed_agents": states.get(AgentStatus.FAILED.value, 0),
                "queued_tasks": int(queued.get(pool.name, 0)),
            })
        return rows


def _pool_order(name: str) -> int:
    return POOL_NAMES.index(name) if name in POOL_NAMES else len(POOL_NAMES)
