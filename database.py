"""Engines, SQLite tuning, and the schema created or upgraded on first use (Alembic)."""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

SCHEMA_REVISION = "0006"
"""Alembic head this code expects; checked cheaply so start-up skips Alembic when current."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before 'database is locked'."""

WAL_SWITCH_RETRY_SECONDS = 0.01
"""Pause between tries of the switch to WAL while another process holds a new file."""

PG_MIGRATION_LOCK_ID = 7_430_001
"""pg_advisory_lock key that serialises migrations across processes and machines."""

READ_ONLY_OPTION = "operatoros_read_only"
"""Execution option marking a connection that never writes (see read_only())."""

WAL_AUTOCHECKPOINT_PAGES = 4_000
"""Log pages past which a committing writer checkpoints itself (SQLite's default: 1,000). Processes that
run agent pools checkpoint in a thread of their own long before (storage/checkpoints.py); this is the
backstop for every other process, and bounds the log (16 MB of 4 KiB pages) if that thread stops."""

DIRECT_CONNECTIONS = 64
"""Most idle SQLite connections an engine keeps for direct statements (more are closed after use): enough
for the agents writing an event or a provider call at once, so a large pool does not reopen them."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script folder."""

_writer_locks: dict[str, WriterLock] = {}
_writer_locks_guard = threading.Lock()
_keepers_guard = threading.Lock()
_memory_migration_lock = threading.Lock()


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
    try:
        engine = sa.create_engine(url, **engine_options(url))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise bad_url(url, exc) from None
    configure_engine(engine)
    return engine


def _journal_mode_wal(cursor: Any) -> None:
    """Switch the file to WAL, waiting out another process that holds it (up to the busy timeout).

    The switch needs the file to itself and SQLite answers it "database is locked" at once, without
    its busy handler, while another process works on the file: two CLI processes starting together
    on a new database file (a user's two terminals, a coding agent's parallel calls) would otherwise
    fail one of them.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_SWITCH_RETRY_SECONDS)


def configure_engine(engine: Engine) -> None:
    """Turn on WAL, busy timeout, foreign keys, BEGIN IMMEDIATE and the writer lock for SQLite engines."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_operatoros_configured", False):
        return
    engine._operatoros_configured = True  # type: ignore[attr-defined]
    lock = writer_lock(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is off so that ours (below) is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _journal_mode_wal(cursor)
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A deferred transaction that reads then writes fails with "database is locked"
        # whatever the busy timeout; taking the write lock up front makes it wait instead.
        # Connections opened by read_only() only read, so they neither take nor wait for it.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        if lock is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        raw = _raw(conn.connection)
        lock.take(raw)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            lock.release(raw)
            raise

    if lock is not None:
        _release_after_transactions(engine, lock)


class WriterLock:
    """One process's queue of SQLite writers: held from BEGIN IMMEDIATE until the commit or rollback has run.

    SQLite lets one writer in at a time and makes the others poll, sleeping between tries, until
    the busy timeout. Threads of one process queue here instead, so the next writer is woken the
    moment the previous one has committed; SQLite's busy timeout is left to arbitrate between
    processes only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None

    def take(self, raw_connection: Any) -> None:
        """Wait for the lock on behalf of the DBAPI connection about to begin a write transaction (or of any
        object the caller then releases it with)."""
        # Bounded by the busy timeout: a thread that opens a second write transaction while holding
        # one would otherwise wait for itself forever; past it, SQLite's own timeout decides as before.
        if self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            self._holder = id(raw_connection)
        else:
            logger.warning("waited %d ms for the SQLite writer lock; beginning without it",
                           SQLITE_BUSY_TIMEOUT_MS)

    def release(self, raw_connection: Any) -> None:
        """Let the next writer in, if this DBAPI connection (or object) holds the lock (else nothing)."""
        if self._holder is not None and self._holder == id(raw_connection):
            self._holder = None
            self._lock.release()

    def locked(self) -> bool:
        """True while some transaction of this process holds the lock."""
        return self._lock.locked()


def writer_lock(engine: Engine) -> WriterLock | None:
    """The WriterLock of the engine's SQLite file (one per file); None for in-memory SQLite or servers."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    path = os.path.realpath(engine.url.database)
    with _writer_locks_guard:
        return _writer_locks.setdefault(path, WriterLock())


def _raw(connection: Any) -> Any:
    """The DBAPI connection behind a pool proxy (or the connection itself)."""
    return getattr(connection, "dbapi_connection", None) or connection


def _release_after_transactions(engine: Engine, lock: WriterLock) -> None:
    """Release the writer lock after the DBAPI commit or rollback (the events fire before it: too early)."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            lock.release(_raw(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            lock.release(_raw(dbapi_connection))

    # The dialect object belongs to this engine and its pool (whose reset-on-return rolls back through it).
    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "invalidate")
    @event.listens_for(engine, "checkin")
    def _on_lost(dbapi_connection: Any, *_rest: Any) -> None:
        # A connection invalidated mid-transaction is never rolled back through the dialect.
        if dbapi_connection is not None:
            lock.release(dbapi_connection)


def read_only(engine: Engine) -> sa.Connection:
    """A connection for reads only: on SQLite its transactions do not take the write lock."""
    return engine.connect().execution_options(**{READ_ONLY_OPTION: True})


class ConnectionKeeper:
    """DBAPI connections made by an engine's pool (connect events and all), detached from it and kept.

    Idle ones wait here for the next direct statement, up to DIRECT_CONNECTIONS, and are closed when
    the engine is disposed. A caller gives back only a connection outside any transaction, and closes
    one that saw an error instead.
    """

    def __init__(self, engine: Engine, most: int = DIRECT_CONNECTIONS) -> None:
        self._engine = engine
        self._most = most
        self._idle: list[Any] = []  # list.pop and list.append are atomic: threads never share a connection
        event.listen(engine, "engine_disposed", self._close_idle)

    def take(self) -> Any:
        """An idle connection, or a new one."""
        try:
            return self._idle.pop()
        except IndexError:
            proxy = self._engine.raw_connection()
            proxy.detach()
            return proxy.dbapi_connection

    def give_back(self, connection: Any) -> None:
        """Keep a connection for the next caller, or close it when enough are idle."""
        if len(self._idle) < self._most:
            self._idle.append(connection)
        else:
            connection.close()

    def _close_idle(self, _engine: Engine) -> None:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return
            connection.close()


def connection_keeper(engine: Engine) -> ConnectionKeeper | None:
    """The engine's one ConnectionKeeper: SQLite files through pysqlite only, else None.

    Not for in-memory SQLite, whose every connection is a database of its own.
    """
    if engine.dialect.driver != "pysqlite" or writer_lock(engine) is None:
        return None
    with _keepers_guard:
        keeper: ConnectionKeeper | None = getattr(engine, "_operatoros_keeper", None)
        if keeper is None:
            keeper = engine._operatoros_keeper = ConnectionKeeper(engine)  # type: ignore[attr-defined]
    return keeper


def direct_insert(engine: Engine, table: sa.Table, columns: Sequence[str]
                  ) -> Callable[[Mapping[str, Any]], int] | None:
    """On SQLite, a function inserting one row of `table` and returning its id, below SQLAlchemy's Connection.

    The row's values go through the columns' own bind processors, so they are stored as an ORM or
    Core insert stores them; the INSERT runs as a single autocommit statement (atomic by itself, no
    BEGIN or COMMIT) and the id comes from lastrowid, so SQLite's write lock is held only inside that
    one call. Its connections come from the engine's ConnectionKeeper. This skips the Connection,
    transaction, events, result and pool checkout and checkin, which cost more than the INSERT
    itself. Errors are SQLAlchemy's, as Core raises them. None where connection_keeper() gives no keeper
    (other databases, in-memory SQLite): use a Core statement there.

    The file's WriterLock is taken around the statement (its values bound before): a statement that
    finds SQLite's lock held by a transaction gets SQLITE_BUSY and SQLite's busy handler sleeps 1, 2,
    5, 10... ms before each new try, so with many agents writing (128 agents: events, provider calls,
    claims and results several hundred times a second) an insert could wait tens of milliseconds, where
    queued on the lock it is woken as soon as the transaction before it has committed.
    """
    keeper = connection_keeper(engine)
    lock = writer_lock(engine)
    if keeper is None or lock is None:
        return None
    dialect = engine.dialect
    dbapi_error = dialect.loaded_dbapi.Error
    names = tuple(columns)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    processors = (_bind_processor(table.c[name].type, dialect) for name in names)
    binds = [(i, process) for i, process in enumerate(processors) if process is not None]

    def insert(values: Mapping[str, Any]) -> int:
        params = [values[name] for name in names]
        try:
            for i, process in binds:  # before the lock: the other writers do not wait for this
                params[i] = process(params[i])
        except Exception as exc:
            raise sa.exc.DBAPIError.instance(sql, params, exc, dbapi_error, dialect=dialect) from exc
        turn = object()
        lock.take(turn)
        try:
            connection = keeper.take()
            try:
                cursor = connection.execute(sql, params)
                if connection.in_transaction:  # pysqlite's implicit BEGIN was turned back on
                    connection.commit()
            except Exception as exc:
                connection.close()  # never reused after an error, whatever its state
                raise sa.exc.DBAPIError.instance(sql, params, exc, dbapi_error, dialect=dialect) from exc
            except BaseException:
                connection.close()
                raise
        finally:
            lock.release(turn)
        keeper.give_back(connection)
        return cursor.lastrowid  # type: ignore[no-any-return]

    return insert


RunStatement = Callable[[str, Mapping[str, Any]], Any]
"""Runs one named statement of a transaction with its parameters; returns its cursor (or Core result)."""


class DirectStatements:
    """Named text statements run in SQLite write transactions below SQLAlchemy's Connection.

    A transaction is what the engine's events make of engine.begin(), without the Connection,
    transaction and result objects or the pool's checkout and checkin: the file's WriterLock is taken,
    then BEGIN IMMEDIATE, the statements, COMMIT (or ROLLBACK on any error), and the lock is released
    only after that. Each statement's SQL text is sent as it is (pysqlite takes :name parameters) and
    its parameters go through the bind processors of the statement's own typed binds, as SQLAlchemy
    would bind them, so values are stored byte for byte alike. Connections come from the engine's
    ConnectionKeeper; one that saw an error is closed, never reused. Errors are raised as Core raises
    them: SQLAlchemy's DBAPIError subclasses, or a StatementError for a value that cannot be bound.
    """

    def __init__(self, keeper: ConnectionKeeper, lock: WriterLock, dialect: sa.Dialect,
                 statements: Mapping[str, sa.TextClause]) -> None:
        self._keeper = keeper
        self._lock = lock
        self._dialect = dialect
        self._statements = {name: (clause.text, _text_bind_processors(clause, dialect))
                            for name, clause in statements.items()}

    @contextmanager
    def begin(self) -> Iterator[RunStatement]:
        """A write transaction: yields run(name, params); commits at the end, rolls back on any error."""
        # The lock first, then a connection: writers queued for the lock hold no connection, so a pool
        # of many agents does not open (and, past DIRECT_CONNECTIONS, close) one per waiting writer.
        turn = object()
        self._lock.take(turn)
        try:
            connection = self._keeper.take()
            try:
                self._execute(connection, "BEGIN IMMEDIATE", ())
                yield partial(self._run, connection)
                self._execute(connection, "COMMIT", ())
            except BaseException:
                _discard(connection)
                raise
        finally:
            self._lock.release(turn)
        self._keeper.give_back(connection)

    def _run(self, connection: Any, name: str, params: Mapping[str, Any]) -> Any:
        sql, processors = self._statements[name]
        return self._execute(connection, sql, params, processors)

    def _execute(self, connection: Any, sql: str, params: Any,
                 processors: Sequence[tuple[str, Callable[[Any], Any]]] = ()) -> Any:
        bound = dict(params) if processors else params
        try:
            for key, process in processors:
                bound[key] = process(bound[key])
            return connection.execute(sql, bound)
        except Exception as exc:  # raised as Core raises it: a DBAPIError subclass, or a StatementError
            dbapi_error = self._dialect.loaded_dbapi.Error
            raise sa.exc.DBAPIError.instance(sql, bound, exc, dbapi_error, dialect=self._dialect) from exc


def direct_statements(engine: Engine, statements: Mapping[str, sa.TextClause]) -> DirectStatements | None:
    """On a SQLite file through pysqlite, DirectStatements for these statements; None elsewhere (use Core)."""
    keeper = connection_keeper(engine)
    lock = writer_lock(engine)
    if keeper is None or lock is None:
        return None
    return DirectStatements(keeper, lock, engine.dialect, statements)


def _bind_processor(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of this type before handing it to the driver (None: nothing)."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _text_bind_processors(clause: sa.TextClause, dialect: sa.Dialect
                          ) -> list[tuple[str, Callable[[Any], Any]]]:
    binds = clause.compile(dialect=dialect).binds
    processors = ((name, _bind_processor(bind.type, dialect)) for name, bind in binds.items())
    return [(name, process) for name, process in processors if process is not None]


def _discard(connection: Any) -> None:
    """Roll back and close a connection that saw an error (a failure to roll back is moot: close ends it)."""
    try:
        connection.rollback()
    except Exception:
        logger.debug("rollback of a discarded SQLite connection failed", exc_info=True)
    finally:
        connection.close()


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


@contextmanager
def read_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads: on SQLite its transaction neither takes nor waits for the write lock
    (this process's writers, or another process's), and reads the last committed state."""
    session = factory()
    try:
        session.connection(execution_options={READ_ONLY_OPTION: True})
        yield session
    finally:
        session.close()  # nothing to commit: the read transaction ends with the session


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision stamped in the database, or None for an empty one."""
    with read_only(engine) as conn:
        return revision_on(conn)


def revision_on(conn: sa.Connection) -> str | None:
    """The Alembic revision stamped in the database, read on an open connection (None for an empty one)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema to SCHEMA_REVISION, safely across concurrent processes."""
    if current_revision(engine) == SCHEMA_REVISION:
        return
    with _migration_lock(engine):
        # Another process may have migrated (and seeded) while we waited for the lock.
        if current_revision(engine) != SCHEMA_REVISION:
            _upgrade(engine)
        # Under the lock: two processes starting on a new file must not both find no pools and both
        # insert them (the second's read-then-write transaction fails with "database is locked").
        seed_pools(engine)


def seed_pools(engine: Engine) -> None:
    """Insert the five fixed pools with their default sizes if they are missing."""
    from models import AgentPool
    from values import POOL_NAMES

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
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK_ID})
                conn.commit()
        return
    if engine.url.database in (None, "", ":memory:"):  # a database of this process only: no file to share
        with _memory_migration_lock:
            yield
        return
    from filelock import FileLock

    path = Path(engine.url.database).with_suffix(".migrate.lock")  # beside the file, for every process
    with FileLock(str(path), timeout=120):
        yield


def bad_url(url: str | sa.URL, exc: Exception) -> Exception:
    """The configuration error for a DATABASE_URL that cannot be opened (its password masked)."""
    from config import ConfigError, redact_url

    return ConfigError(f"DATABASE_URL={redact_url(str(url))!r} is not a database URL OperatorOS can open "
                       f"({exc.__class__.__name__}): use sqlite:///path/to/file.db or "
                       "postgresql://user:password@host:5432/name.")


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder that will hold a SQLite file, and the file readable by its owner only (0600).

    SQLite gives the -wal and -shm files the mode of the database file, so they are 0600 too: they
    hold key hashes and conversation history.

    Raises:
        ConfigError: the URL cannot be read, names no installed driver, or its folder cannot be made.
    """
    try:
        parsed = sa.make_url(url)
        parsed.get_dialect()  # an unknown scheme or driver is a configuration error, found before any engine
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise bad_url(url, exc) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not parsed.database.startswith("file:"):
        path = Path(parsed.database).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise bad_url(url, exc) from None
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if name.stat().st_mode & 0o077:
                    name.chmod(0o600)
