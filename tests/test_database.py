"""Schema creation and upgrade, SQLite tuning, and concurrent start-up, on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import database
from models import POOL_NAMES, Base

from .conftest import ROOT


def test_schema_is_created_on_first_use_with_every_table(database_url: str) -> None:
    engine = database.make_engine(database_url)
    assert database.current_revision(engine) is None
    database.ensure_schema(engine)
    assert database.current_revision(engine) == database.SCHEMA_REVISION
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as conn:
        pools = {row[0] for row in conn.execute(sa.text("SELECT name FROM agent_pools"))}
    assert pools == set(POOL_NAMES)
    engine.dispose()


def test_migrations_match_the_models(database_url: str) -> None:
    """Alembic's autogenerate finds nothing to add: the migration and models.py agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
    engine.dispose()


def test_schema_revision_is_the_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(database.MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == database.SCHEMA_REVISION


def test_ensure_schema_is_idempotent(database_url: str) -> None:
    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    database.ensure_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM agent_pools")).scalar() == len(POOL_NAMES)
    engine.dispose()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == database.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_sqlite_read_then_write_transactions_do_not_fail_with_locked(sqlite_url: str) -> None:
    """Deferred transactions that read then write deadlock into 'database is locked'; ours wait."""
    engine = database.make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def bump() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with engine.begin() as conn:
                    n = conn.exec_driver_sql("SELECT n FROM counter").scalar()
                    conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 200
    engine.dispose()


def _concurrent_start(url: str, home: Path, count: int) -> None:
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import database\n"
        "engine = database.make_engine(%r)\n"
        "database.ensure_schema(engine, __import__('pathlib').Path(%r))\n"
    ) % (str(ROOT), url, str(home))
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    results = [p.communicate(timeout=120) for p in procs]
    failures = [err for p, (_, err) in zip(procs, results) if p.returncode != 0]
    assert failures == []


def test_processes_starting_at_once_do_not_race_on_the_schema(database_url: str, home: Path) -> None:
    _concurrent_start(database_url, home, 6)
    engine = database.make_engine(database_url)
    assert database.current_revision(engine) == database.SCHEMA_REVISION
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM agent_pools")).scalar() == len(POOL_NAMES)
    engine.dispose()


def test_seed_pools_restores_a_missing_pool(database_url: str) -> None:
    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM agent_pools WHERE name = 'sports'"))
    database.seed_pools(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT desired_size FROM agent_pools WHERE name='sports'")).scalar() == 2
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_in_memory_sqlite_urls_are_accepted(url: str) -> None:
    engine = database.make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()
