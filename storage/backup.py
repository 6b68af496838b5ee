"""Backups and restores with the databases' own tools: SQLite's online backup API, pg_dump and pg_restore."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from errors import BadRequest, Conflict, ServiceUnavailable
from models import Agent, AgentStatus, AuditLog, utcnow

logger = logging.getLogger(__name__)

BACKUP_DIR = "backups"
"""Folder of the instance folder where backups go when no path is given."""

LIVE_SERVER_SECONDS = 30.0
"""An agent heartbeat newer than this means a `serve` or `worker` is running on the database."""

PG_TOOL_TIMEOUT_SECONDS = 3600
"""Longest a pg_dump or pg_restore may run."""

PG_CLIENT_HINT = ("pg_dump and pg_restore are not installed: install the PostgreSQL client tools "
                  "(Debian/Ubuntu: apt-get install postgresql-client; same major version as the server or newer).")
"""What an operator sees when the PostgreSQL tools are missing."""

BACKUP_ACTION = "db.backup"
"""audit_log.action of a backup (db status reads the last one)."""

RESTORE_ACTION = "db.restore"
"""audit_log.action of a restore."""


@dataclass(frozen=True)
class BackupResult:
    """One backup made."""

    path: Path
    """The backup file."""
    size_bytes: int
    """Its size."""
    seconds: float
    """How long it took."""
    dialect: str
    """sqlite or postgresql."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": str(self.path), "size_bytes": self.size_bytes, "seconds": round(self.seconds, 3),
                "dialect": self.dialect}


def default_backup_path(home: Path, engine: Engine) -> Path:
    """home/backups/operatoros-<UTC time>.<db|dump>, a fresh name for each backup."""
    suffix = "db" if engine.dialect.name == "sqlite" else "dump"
    stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
    return home / BACKUP_DIR / f"operatoros-{stamp}.{suffix}"


def backup(engine: Engine, path: Path, actor: str = "local", actor_user_id: int | None = None) -> BackupResult:
    """Write a consistent copy of the database to `path` while it serves, and record it in audit_log.

    Raises:
        Conflict: `path` exists already.
        ServiceUnavailable: the database or its tools cannot make the copy.
    """
    path = Path(path).expanduser().resolve()
    if path.exists():
        raise Conflict(f"{path} exists already; give a new file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    partial = path.with_name(path.name + ".partial")  # never leave a half-written file under the real name
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(_sqlite_path(engine), partial)
        elif engine.dialect.name == "postgresql":
            _run_pg(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial),
                     "--dbname", libpq_url(engine)])
        else:
            raise ServiceUnavailable(f"No backup for a {engine.dialect.name} database.")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    result = BackupResult(path, path.stat().st_size, time.monotonic() - started, engine.dialect.name)
    _audit(engine, actor, actor_user_id, BACKUP_ACTION, str(path), result.to_dict())
    logger.info("backup of the database written to %s (%d bytes)", path, result.size_bytes)
    return result


def restore(engine: Engine, path: Path, actor: str = "local") -> dict[str, Any]:
    """Replace the database's contents with the backup at `path`; refused while a server runs on it.

    Raises:
        BadRequest: no such backup file, or not a backup of this kind of database.
        Conflict: a `serve` or `worker` is running on the database.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise BadRequest(f"No backup file at {path}.")
    running = live_servers(engine)
    if running:
        raise Conflict(f"A server is running on this database ({', '.join(running)}): stop `serve` and "
                       "`worker` first, then restore.")
    if engine.dialect.name == "sqlite":
        _check_sqlite_file(path)
        engine.dispose()  # no pooled connection may keep the old file's pages
        _sqlite_backup(path, Path(_sqlite_path(engine)))
    elif engine.dialect.name == "postgresql":
        _run_pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                 "--dbname", libpq_url(engine), str(path)])
        engine.dispose()
    else:
        raise ServiceUnavailable(f"No restore for a {engine.dialect.name} database.")
    _audit(engine, actor, None, RESTORE_ACTION, str(path), {"path": str(path)})
    return {"path": str(path), "dialect": engine.dialect.name}


def live_servers(engine: Engine) -> list[str]:
    """The processes (`serve`, `worker`) whose agents wrote a heartbeat lately: they hold the database."""
    since = utcnow() - timedelta(seconds=LIVE_SERVER_SECONDS)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("agents"):
                return []
            rows = conn.execute(sa.select(Agent.process).distinct().where(
                Agent.heartbeat_at >= since, Agent.status.in_([AgentStatus.IDLE, AgentStatus.BUSY]))).scalars()
            return sorted(rows)
    except sa.exc.SQLAlchemyError as exc:
        raise ServiceUnavailable("Cannot read the database to check for running servers "
                                 f"({exc.__class__.__name__}).") from exc


def libpq_url(engine: Engine) -> str:
    """The engine's URL as libpq (pg_dump, pg_restore) takes it: no SQLAlchemy driver suffix."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if database in (None, "", ":memory:"):
        raise ServiceUnavailable("An in-memory SQLite database has no file to back up.")
    return os.path.realpath(database)


def _sqlite_backup(source: str | Path, target: Path) -> None:
    """Copy with sqlite3's backup API in one step: one read snapshot, which in WAL mode blocks no writer."""
    # One step (pages=-1): a copy made in several steps restarts whenever another connection writes,
    # and under a steady load would never end.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True) if Path(source).exists() else None
    if src is None:
        raise ServiceUnavailable(f"No SQLite database at {source}.")
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=-1)
    except sqlite3.Error as exc:
        raise ServiceUnavailable(f"The SQLite backup failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _check_sqlite_file(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise BadRequest(f"{path} is not an OperatorOS SQLite backup ({exc}).") from exc
    if version is None:
        raise BadRequest(f"{path} has no schema revision: not an OperatorOS backup.")


def _run_pg(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise ServiceUnavailable(PG_CLIENT_HINT)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ServiceUnavailable(f"{argv[0]} ran longer than {PG_TOOL_TIMEOUT_SECONDS} s.") from exc
    if done.returncode != 0:
        # The tools' messages name the database and the failing object; never the password (given by URL).
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise ServiceUnavailable(f"{argv[0]} failed: {message}")


def _audit(engine: Engine, actor: str, actor_user_id: int | None, action: str, target: str,
           details: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(AuditLog).values(actor=actor, actor_user_id=actor_user_id, action=action,
                                                          target=target[:200], details=details,
                                                          created_at=utcnow()))
