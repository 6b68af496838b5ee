"""SQLite WAL checkpoints in a thread of their own, off the writers' path.

In WAL mode a commit appends pages to the -wal file; a checkpoint copies them back into the database
file and syncs both (with synchronous=NORMAL, the only syncs). By default the writer whose commit takes
the log past 1,000 pages runs it, inside its own transaction's turn: with the writer lock held, every
other writer of the process waits for those syncs. A process that runs agent pools (serve, worker)
writes for a living, so there a WalCheckpointer does it instead, every CHECKPOINT_SECONDS, as a PASSIVE
checkpoint: it takes no writer lock, never waits on a reader and copies what it can. The writers' own
threshold is raised to WAL_AUTOCHECKPOINT_PAGES (database.py) as a backstop, so that a process without a
checkpointer (a CLI call) still checkpoints, and the log stays bounded if this thread ever stops.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

from database import connection_keeper

logger = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 0.05
"""How often a running WalCheckpointer copies the log into the database file (a few microseconds when
there is nothing to copy; at a thousand commits a second, about a hundred pages each time)."""


class WalCheckpointer:
    """A daemon thread that runs `PRAGMA wal_checkpoint(PASSIVE)` on one SQLite file until stopped."""

    def __init__(self, engine: Engine, interval: float = CHECKPOINT_SECONDS) -> None:
        keeper = connection_keeper(engine)
        if keeper is None:
            raise ValueError("a WAL checkpointer needs a SQLite file engine (pysqlite)")
        self._keeper = keeper
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        """Checkpoints that copied at least one page (for tests and benchmarks)."""

    def start(self) -> None:
        """Start checkpointing in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after one last checkpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        connection = self._keeper.take()
        try:
            while not self._stop.wait(self._interval):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()  # never given back: the keeper's connections are for write transactions

    def _checkpoint(self, connection: Any) -> None:
        try:
            busy, _log, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except Exception:  # a failed round is retried at the next one; the writers' backstop still holds
            logger.warning("WAL checkpoint failed", exc_info=True)
            return
        if copied > 0 and not busy:
            self.checkpoints += 1


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """A WalCheckpointer for a SQLite file engine; None for any other database (nothing to do)."""
    if connection_keeper(engine) is None:
        return None
    return WalCheckpointer(engine)
