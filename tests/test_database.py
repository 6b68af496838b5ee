"""Schema creation and upgrade, SQLite tuning, and concurrent start-up, on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import database
from models import Base
from values import POOL_NAMES

from .conftest import ROOT, run_in_threads


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
    barrier = threading.Barrier(8)

    def bump() -> None:
        barrier.wait()
        for _ in range(25):
            with engine.begin() as conn:
                n = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
                conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))

    assert run_in_threads(bump, [()] * 8) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 200
    engine.dispose()


def _concurrent_start(url: str, home: Path, count: int) -> None:
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import database\n"
        "engine = database.make_engine(%r)\n"
        "database.ensure_schema(engine)\n"
    ) % (str(ROOT), url)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    results = [p.communicate(timeout=120) for p in procs]
    failures = [err for p, (_, err) in zip(procs, results, strict=False) if p.returncode != 0]
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


def _no_busy_wait(engine: sa.Engine) -> None:
    """Make SQLite refuse a busy database at once, so only the writer lock can keep writers apart."""
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA busy_timeout=0")


def test_the_writer_lock_queues_concurrent_write_transactions(sqlite_url: str) -> None:
    """With SQLite's busy timeout at 0, concurrent BEGIN IMMEDIATEs would fail 'database is locked' at once."""
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    _no_busy_wait(engine)
    engine.dispose()  # connections made from now on get the listener
    barrier = threading.Barrier(8)

    def write(n: int) -> None:
        barrier.wait()
        for i in range(40):
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO audit_log (actor, action, created_at) "
                                     "VALUES (:a, 'x', '2026-01-01 00:00:00')"), {"a": f"{n}-{i}"})
                conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()

    assert run_in_threads(write, [(n,) for n in range(8)]) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 320
    lock = database.writer_lock(engine)
    assert lock is not None and not lock.locked()
    engine.dispose()


def test_the_writer_lock_is_held_by_write_transactions_only_and_always_released(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    lock = database.writer_lock(engine)
    assert lock is not None and lock is database.writer_lock(database.make_engine(sqlite_url))  # one per file
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        assert lock.locked()
    assert not lock.locked()
    with database.read_only(engine) as conn:
        conn.execute(sa.text("SELECT 1"))
        assert not lock.locked()
    with pytest.raises(ZeroDivisionError), engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        raise ZeroDivisionError
    assert not lock.locked()
    with pytest.raises(sa.exc.OperationalError), engine.begin() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not lock.locked()
    session = database.make_session_factory(engine)()
    session.execute(sa.text("SELECT 1"))
    assert lock.locked()
    session.close()  # closing without commit rolls back, through the pool's reset
    assert not lock.locked()
    engine.dispose()


def test_direct_insert_stores_what_core_stores_and_raises_sqlalchemy_errors(sqlite_url: str) -> None:
    from models import AgentPool, Task, utcnow

    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    table = Task.__table__
    now = utcnow()
    row = {"pool": "general", "input": "x", "status": "queued", "priority": 2, "attempts": 0, "max_attempts": 3,
           "timeout_seconds": 120.0, "run_after": now, "cancel_requested": False, "idempotency_key": "k",
           "user_id": None, "session_id": None, "tokens_in": 0, "tokens_out": 0, "created_at": now}
    insert = database.direct_insert(engine, table, list(row))
    assert insert is not None
    direct_id = insert(row)
    with engine.begin() as conn:
        key = conn.execute(sa.insert(table).values(**{**row, "idempotency_key": "k2"})).inserted_primary_key
    assert key is not None
    core_id = key[0]
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT * FROM tasks ORDER BY id").mappings().all()
    assert [r["id"] for r in stored] == [direct_id, core_id]
    assert {**stored[0], "id": 0, "idempotency_key": ""} == {**stored[1], "id": 0, "idempotency_key": ""}
    with pytest.raises(sa.exc.IntegrityError):
        insert({**row, "pool": "astrology"})  # no such pool: the foreign key is enforced
    assert insert({**row, "idempotency_key": "k3"}) == core_id + 1  # a fresh connection after the error
    assert database.direct_insert(engine, AgentPool.__table__, ["name"]) is not None
    engine.dispose()
    assert insert({**row, "idempotency_key": "k4"}) == core_id + 2  # kept connections closed, new ones made
    engine.dispose()


def test_direct_insert_is_for_sqlite_only(database_url: str) -> None:
    from models import Task

    engine = database.make_engine(database_url)
    found = database.direct_insert(engine, Task.__table__, ["pool"])
    assert (found is not None) == (engine.dialect.name == "sqlite")
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_in_memory_sqlite_gets_no_direct_statements_and_its_queue_works(url: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection to an in-memory database is a database of its own: a detached one has no tables."""
    from models import Task
    from task_processor import TaskQueue

    monkeypatch.chdir(tmp_path)
    engine = database.make_engine(url)
    database.ensure_schema(engine)
    assert list(tmp_path.iterdir()) == []  # no migration lock file: nothing to share with other processes
    assert database.connection_keeper(engine) is None
    assert database.direct_insert(engine, Task.__table__, ["pool"]) is None
    assert database.direct_statements(engine, {"one": sa.text("SELECT 1")}) is None
    queue = TaskQueue(engine)
    task = queue.submit("general", "in memory")
    claim = queue.claim("general", "a")
    assert claim is not None and claim.task_id == task["id"] and queue.complete(claim, {"ok": True})
    assert queue.get(task["id"])["result"] == {"ok": True}
    engine.dispose()


def test_the_connection_keeper_keeps_the_engines_connections_until_it_is_disposed(database_url: str) -> None:
    engine = database.make_engine(database_url)
    keeper = database.connection_keeper(engine)
    if engine.dialect.name != "sqlite":
        assert keeper is None
        return
    assert keeper is not None and keeper is database.connection_keeper(engine)  # one per engine
    taken = [keeper.take() for _ in range(3)]
    assert isinstance(engine.pool, sa.pool.QueuePool)  # SQLite files get SQLAlchemy's default pool
    assert len({id(c) for c in taken}) == 3 and engine.pool.checkedout() == 0  # detached: not the pool's
    pragmas = {tuple(c.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "busy_timeout"))
               for c in taken}
    assert pragmas == {("wal", database.SQLITE_BUSY_TIMEOUT_MS)}  # made by the engine, its connect events ran
    for c in taken:
        keeper.give_back(c)
    again = keeper.take()
    assert again is taken[-1]
    keeper.give_back(again)
    engine.dispose()
    for c in taken:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            c.execute("SELECT 1")
    fresh = keeper.take()
    assert fresh not in taken
    keeper.give_back(fresh)
    engine.dispose()


def test_direct_statements_bind_as_core_and_hold_the_writer_lock_until_the_end(sqlite_url: str) -> None:
    from models import UTCDateTime, utcnow

    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    lock = database.writer_lock(engine)
    log = sa.text("INSERT INTO audit_log (actor, action, details, created_at) "
                  "VALUES (:actor, 'x', :details, :at)").bindparams(sa.bindparam("at", type_=UTCDateTime),
                                                                     sa.bindparam("details", type_=sa.JSON))
    direct = database.direct_statements(engine, {"log": log})
    assert direct is not None and lock is not None
    values = {"actor": "a", "details": {"é": [1, None]}, "at": utcnow()}
    with direct.begin() as run:
        assert run("log", values).rowcount == 1 and lock.locked()
    assert not lock.locked()
    with engine.begin() as conn:
        conn.execute(log, values)
    with pytest.raises(ZeroDivisionError), direct.begin() as run:
        run("log", {**values, "actor": "rolled back"})
        raise ZeroDivisionError
    assert not lock.locked()
    with pytest.raises(sa.exc.IntegrityError), direct.begin() as run:
        run("log", {**values, "actor": None})  # NOT NULL
    assert not lock.locked()
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT actor, details, created_at FROM audit_log ORDER BY id").all()
    assert len(rows) == 2 and rows[0] == rows[1]
    engine.dispose()


def test_a_database_at_0001_upgrades_keeping_its_tasks_and_gets_the_partial_claim_index(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = database.make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(database.MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    database.seed_pools(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tasks (pool, input, status, priority, attempts, max_attempts, "
                             "timeout_seconds, run_after, cancel_requested, tokens_in, tokens_out, created_at) "
                             "VALUES ('general', 'kept', 'queued', 0, 0, 3, 60, '2026-01-01', false, 0, 0, "
                             "'2026-01-01')"))
    database.ensure_schema(engine)
    assert database.current_revision(engine) == database.SCHEMA_REVISION
    indexes = {ix["name"]: ix for ix in sa.inspect(engine).get_indexes("tasks")}
    assert "ix_tasks_status_created" not in indexes
    assert indexes["ix_tasks_claim"]["column_names"][0] == "pool"
    claim = ("SELECT id FROM tasks WHERE pool = 'general' AND status = 'queued' AND run_after <= '2030-01-01' "
             "ORDER BY priority DESC, id LIMIT 1")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            definition = conn.execute(sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_tasks_claim'")).scalar_one()
            conn.execute(sa.text("SET enable_seqscan = off"))  # a one-row table: show that the index applies
            plan = " ".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + claim)))
        else:
            definition = conn.execute(sa.text(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_tasks_claim'")).scalar_one()
            plan = " ".join(str(r) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + claim)))
        assert "WHERE" in definition.upper() and "queued" in definition
        assert "ix_tasks_claim" in plan
        assert conn.execute(sa.text(claim)).scalar_one() is not None
    engine.dispose()


@pytest.mark.parametrize("scope, waits", [(database.read_scope, False), (database.session_scope, True)])
def test_a_read_scope_neither_takes_nor_waits_for_the_write_lock(sqlite_url: str, scope: object, waits: bool) -> None:
    from models import AgentPool

    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    factory = database.make_session_factory(engine)
    seen: list[int] = []

    def read() -> None:
        with scope(factory) as db:  # type: ignore[operator]
            seen.append(db.scalar(sa.select(AgentPool.desired_size).where(AgentPool.name == "general")))

    with engine.begin() as writer:  # this process's writer lock and SQLite's write lock, held
        before = writer.execute(sa.select(AgentPool.desired_size).where(AgentPool.name == "general")).scalar_one()
        writer.execute(sa.update(AgentPool).where(AgentPool.name == "general").values(desired_size=before + 1))
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(1.0)
        # a read scope answers at once with the last committed state; a write scope queues behind the writer
        assert seen == ([] if waits else [before])
    reader.join(10.0)
    assert seen == [before + 1 if waits else before]
    engine.dispose()
