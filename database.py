"""Engines, SQLite tuning, and the schema created or upgraded on first use (Alembic)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

SCHEMA_REVISION = "0001"
"""Alembic head this code expects; checked cheaply so start-up skips Alembic when current."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before 'database is locked'."""

PG_MIGRATION_LOCK_ID = 7_430_001
"""pg_advisory_lock key that serialises migrations across processes and machines."""

READ_ONLY_OPTION = "operatoros_read_only"
"""Execution option marking a connection that never writes (see read_only())."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script folder."""


def is_sqlite(url: str | sa.URL) -> bool:
    """True when the URL names a SQLite database."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def engine_options(url: str) -> dict[str, Any]:
    """Engine keyword arguments suited to the database behind the URL."""
    if is_sqlite(url):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def make_engine(url: str) -> Engine:
    """Create an engine for the URL with the project's SQLite tuning applied."""
    ensure_sqlite_folder(url)
    engine = sa.create_engine(url, **engine_options(url))
    configure_engine(engine)
    return engine


def configure_engine(engine: Engine) -> None:
    """Turn on WAL, busy timeout, foreign keys and BEGIN IMMEDIATE for SQLite engines."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_operatoros_configured", False):
        return
    engine._operatoros_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is off so that ours (below) is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A deferred transaction that reads then writes fails with "database is locked"
        # whatever the busy timeout; taking the write lock up front makes it wait instead.
        # Connections opened by read_only() only read, so they neither take nor wait for it.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def read_only(engine: Engine) -> sa.Connection:
    """A connection for reads only: on SQLite its transactions do not take the write lock."""
    return engine.connect().execution_options(**{READ_ONLY_OPTION: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision stamped in the database, or None for an empty one."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine, lock_dir: Path | None = None) -> None:
    """Create or upgrade the schema to SCHEMA_REVISION, safely across concurrent processes."""
    if current_revision(engine) == SCHEMA_REVISION:
        return
    with _migration_lock(engine, lock_dir):
        # Another process may have migrated while we waited for the lock.
        if current_revision(engine) != SCHEMA_REVISION:
            _upgrade(engine)
    seed_pools(engine)


def seed_pools(engine: Engine) -> None:
    """Insert the five fixed pools with their default sizes if they are missing."""
    from models import POOL_NAMES, AgentPool

    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        present = set(session.scalars(sa.select(AgentPool.name)))
        for name in POOL_NAMES:
            if name not in present:
                session.add(AgentPool(name=name, desired_size=2, min_size=0, max_size=32))


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    logger.info("upgrading database schema to %s", SCHEMA_REVISION)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _migration_lock(engine: Engine, lock_dir: Path | None) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK_ID})
                conn.commit()
        return
    from filelock import FileLock

    path = _sqlite_lock_path(engine, lock_dir)
    with FileLock(str(path), timeout=120):
        yield


def _sqlite_lock_path(engine: Engine, lock_dir: Path | None) -> Path:
    database = engine.url.database
    if database and database != ":memory:":
        return Path(database).with_suffix(".migrate.lock")
    base = lock_dir or Path(".")
    return base / "operatoros.migrate.lock"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder that will hold a SQLite file."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
