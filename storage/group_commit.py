"""Group commit: the write transactions that agent threads of one process ask for at once, committed as one.

On SQLite one writer is in at a time (database.WriterLock queues a process's writers). With many agents
recording results, each transaction paid its own BEGIN IMMEDIATE and COMMIT, wrote its own copy of the
pages it shares with the next one (the task table's and its indexes' hot pages) into the log, and handed
the writer lock and the interpreter's lock from thread to thread. Here a thread that finds another's
transaction under way leaves its work with it and sleeps; the one leading runs every waiting piece of
work in its transaction, in the order they came, and commits them together. Each piece's statements are
guarded as before (a result only under its lease), so committing them together changes what each does
to the rows in no way; they are durable together, as each was alone.

If any statement of the group fails, or the commit does, the transaction is rolled back and each piece
runs again in a transaction of its own, so that each gets the outcome it would have had alone: the
failing piece its error, the others their values. A piece that was alone in its transaction keeps
the outcome it had.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from database import DirectStatements, RunStatement

MAX_GROUP = 16
"""Most pieces of work one transaction carries (a larger group would keep the writer lock from the
process's other writers, such as the supervisor's heartbeat, for longer)."""

T = TypeVar("T")


class _Turn(Generic[T]):
    """One piece of work waiting to be run, and its outcome once it ran."""

    __slots__ = ("work", "value", "error", "done", "wake")

    def __init__(self, work: Callable[[RunStatement], T]) -> None:
        self.work = work
        self.value: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.wake: threading.Lock | None = None
        """Held while its thread sleeps; released when its work is done or when it is to lead."""


class GroupCommit:
    """Runs pieces of work, each a function of a transaction's `run`, in shared write transactions."""

    def __init__(self, statements: DirectStatements, most: int = MAX_GROUP) -> None:
        self._statements = statements
        self._most = most
        self._guard = threading.Lock()
        self._waiting: list[_Turn[Any]] = []
        self._leading = False  # True while some thread leads; the waiting list is empty when False
        self.transactions = 0
        """Transactions committed (for tests and benchmarks)."""
        self.pieces = 0
        """Pieces of work committed (for tests and benchmarks)."""

    def run(self, work: Callable[[RunStatement], T]) -> T:
        """Run `work(run)` in a write transaction, perhaps shared with other threads' work; return its value.

        Raises what the work (or its commit) raised when run in a transaction of its own.
        """
        turn: _Turn[T] = _Turn(work)
        with self._guard:
            self._waiting.append(turn)
            if self._leading:
                turn.wake = threading.Lock()
                turn.wake.acquire()
            else:
                self._leading = True
        if turn.wake is not None:
            turn.wake.acquire()  # until the leader has run it, or hands the lead to this thread
        if not turn.done:
            self._lead()
        if turn.error is not None:
            raise turn.error
        return turn.value  # type: ignore[return-value]  # set by the work when no error was

    def _lead(self) -> None:
        """Run the waiting work (this thread's first) in one transaction, wake its threads, pass the lead on."""
        batch: list[_Turn[Any]] = []
        try:
            batch.extend(self._take(self._most))
            self._commit(batch)
        except BaseException as exc:  # the thread is going down: nobody may sleep on its group for ever
            for turn in batch:
                if not turn.done:
                    turn.error, turn.done = exc, True
            raise
        finally:
            for turn in batch:
                turn.done = True
                if turn.wake is not None:
                    turn.wake.release()
            with self._guard:
                if self._waiting:
                    head = self._waiting[0]
                    assert head.wake is not None  # it came while this thread led: it sleeps
                    head.wake.release()
                else:
                    self._leading = False

    def _take(self, most: int) -> list[_Turn[Any]]:
        with self._guard:
            taken = self._waiting[:most]
            del self._waiting[:len(taken)]
        return taken

    def _commit(self, batch: list[_Turn[Any]]) -> None:
        try:
            with self._statements.begin() as run:
                done = 0
                while done < len(batch):
                    for turn in batch[done:]:
                        turn.value = turn.work(run)
                    done = len(batch)
                    # Work that came while this transaction ran joins it before the commit.
                    batch.extend(self._take(self._most - len(batch)))
        except Exception as exc:
            if len(batch) == 1:  # its own transaction already: that is its outcome
                batch[0].value, batch[0].error, batch[0].done = None, exc, True
                return
            for turn in batch:
                self._alone(turn)
            return
        for turn in batch:
            turn.done = True
        self.transactions += 1
        self.pieces += len(batch)

    def _alone(self, turn: _Turn[Any]) -> None:
        turn.value = None
        try:
            with self._statements.begin() as run:
                turn.value = turn.work(run)
        except Exception as exc:
            turn.error = exc
        else:
            self.transactions += 1
            self.pieces += 1
        turn.done = True
