"""storage/checkpoints.py: the SQLite log copied into the database file by a thread of its own."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import database
from agent_pools import PoolSupervisor
from storage.checkpoints import WalCheckpointer, wal_checkpointer
from task_processor import TaskQueue

from .conftest import wait_until

ROWS = 400
ROW_BYTES = 2000
"""About 200 pages of 4 KiB: far under the writers' own threshold (WAL_AUTOCHECKPOINT_PAGES)."""


def _write_rows(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body TEXT)"))
    for i in range(ROWS):  # one transaction each, as agents commit
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO filler (body) VALUES (:body)"), {"body": f"{i:06d}" * (ROW_BYTES // 6)})


def _file_size(url: str) -> int:
    return os.path.getsize(sa.make_url(url).database or "")


def test_writers_leave_checkpoints_to_a_threshold_far_above_sqlites_default(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == database.WAL_AUTOCHECKPOINT_PAGES > 1000
    engine.dispose()


def test_without_the_thread_the_pages_stay_in_the_log_and_with_it_they_reach_the_file(sqlite_url: str,
                                                                                       tmp_path: Path) -> None:
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    engine = database.make_engine(alone)
    _write_rows(engine)
    assert _file_size(alone) < ROWS * ROW_BYTES / 2  # the rows are in the -wal file, not yet in the database's
    engine.dispose()

    engine = database.make_engine(sqlite_url)
    checkpointer = WalCheckpointer(engine, interval=0.01)
    checkpointer.start()
    try:
        _write_rows(engine)
        wait_until(lambda: _file_size(sqlite_url) > ROWS * ROW_BYTES, timeout=10)
    finally:
        checkpointer.stop()
    assert checkpointer.checkpoints >= 1
    with engine.connect() as conn:  # nothing lost on the way: every row reads back
        assert conn.execute(sa.text("SELECT count(*) FROM filler")).scalar() == ROWS
    engine.dispose()


@pytest.mark.postgres
def test_no_checkpointer_for_postgresql(postgres_url: str) -> None:
    engine = database.make_engine(postgres_url)
    assert wal_checkpointer(engine) is None
    with pytest.raises(ValueError, match="SQLite"):
        WalCheckpointer(engine)
    engine.dispose()


def test_a_pool_supervisor_on_sqlite_runs_one_while_it_runs(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    queue = TaskQueue(engine)
    supervisor = PoolSupervisor(engine, queue, lambda claim, token: {"ok": True}, pools=("general",))
    assert supervisor.checkpointer is not None
    supervisor.start()
    try:
        assert any(t.name == "wal-checkpointer" for t in threading.enumerate())
    finally:
        supervisor.stop(timeout=5)
    assert not any(t.name == "wal-checkpointer" for t in threading.enumerate())
    engine.dispose()
