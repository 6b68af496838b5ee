"""Shared fixtures: a fresh SQLite file or PostgreSQL database per test, the app, and the CLI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("OPERATOROS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
"""Server on which each PostgreSQL test gets a database of its own."""

REQUIRE_SERVICES = os.environ.get("OPERATOROS_REQUIRE_SERVICES") == "1"
"""In CI, a missing PostgreSQL or Redis fails the tests instead of skipping them."""

TEST_API_KEY = "oos_test_admin_key_0123456789"
"""Admin key the app fixture is configured with."""

REDIS_URL = os.environ.get("OPERATOROS_TEST_REDIS", "redis://127.0.0.1:6379/0")
"""Broker of these tests (each test uses a namespace of its own on it)."""

SWEEP_SECONDS = "1"
"""Sweep period of the tests' workers (the default is 5 s): recovery waits the lease plus this."""

STALE_SECONDS = "5"
"""Age after which the tests' sweeps re-send a message that a dead worker held (30 s by default)."""


def service_missing(what: str, exc: BaseException) -> None:
    """Skip (locally) or fail (in CI) when a required service is absent."""
    message = f"{what} is not reachable: {exc.__class__.__name__}: {exc}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (OPERATOROS_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of this test's own."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    import sqlalchemy as sa

    name = f"oos_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An instance folder of this test's own."""
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def app(home: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """The Flask app on a fresh SQLite file, with a known admin key."""
    from app import create_app

    return create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url,
                       "OPERATOROS_API_KEY": TEST_API_KEY, "TESTING": True})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers that authenticate as the admin."""
    return {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture
def cli_env(home: Path, sqlite_url: str) -> dict[str, str]:
    """Environment for running `python main.py` against this test's database."""
    env = scrubbed_env()
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=sqlite_url, OPERATOROS_USER="tester",
               PYTHONUNBUFFERED="1")
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 60, input: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run `python main.py ARGS` as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=timeout, input=input)


def run_in_threads(target: Callable[..., object], args: list[tuple[object, ...]]) -> list[BaseException]:
    """Run target(*a) for each a in `args`, each in a thread of its own, all at once; the exceptions they raised."""
    errors: list[BaseException] = []

    def guarded(*a: object) -> None:
        try:
            target(*a)
        except BaseException as exc:  # collected for the test to assert on
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=a) for a in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def stop_processes(procs: list[subprocess.Popen[str]], timeout: float = 15) -> None:
    """SIGTERM every process still running, then reap each; one that ignores it is killed."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def scrubbed_env() -> dict[str, str]:
    """This process's environment without any OPENAI_/OPERATOROS_ setting, DATABASE_URL or TASK_BACKEND."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    for name in ("DATABASE_URL", "TASK_BACKEND", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def free_port() -> int:
    """A TCP port of 127.0.0.1 free at this moment."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.05) -> Any:
    """Poll until predicate() is truthy; return its value or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def bearer(key: str) -> dict[str, str]:
    """Authorization header for `key`."""
    return {"Authorization": f"Bearer {key}"}


def new_user(client: Any, name: str, role: str = "user") -> str:
    """Create a user through the API (as the test admin) and return its key."""
    created = client.post("/api/users", json={"name": name, "role": role}, headers=bearer(TEST_API_KEY))
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["api_key"])


def say(client: Any, key: str, text: str, session_id: str | None = None) -> dict[str, Any]:
    """POST /api/command as the holder of `key` and return the reply."""
    body = {"text": text, **({"session_id": session_id} if session_id else {})}
    response = client.post("/api/command", json=body, headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app fixture served over HTTP on a free port of 127.0.0.1, in this process; its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# -- the celery backend: a Redis namespace per test, and a deployment with its worker processes ---------


@pytest.fixture
def broker() -> Iterator[dict[str, Any]]:
    """The Redis of 127.0.0.1 and a namespace of this test's own; its keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        client.close()
        service_missing("Redis at 127.0.0.1:6379", exc)
    namespace = f"oostest-{uuid.uuid4().hex[:10]}"
    yield {"url": REDIS_URL, "namespace": namespace, "client": client}
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


class Deployment:
    """A celery-backend deployment on one PostgreSQL database and one Redis namespace, with its worker processes."""

    def __init__(self, home: Path, database_url: str, tmp_path: Path, broker: dict[str, Any]) -> None:
        import database
        from backends.celery_queue import CeleryBackend, CeleryConfig
        from config import Settings
        from task_processor import TaskQueue

        self.record = tmp_path / "executions.log"
        self.logs = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
        self.env.pop("CELERY_BROKER_URL", None)
        self.env.update(OPERATOROS_HOME=str(home), DATABASE_URL=database_url, REDIS_URL=broker["url"],
                        TASK_BACKEND="celery", OPERATOROS_CELERY_NAMESPACE=broker["namespace"],
                        OPERATOROS_SWEEP_SECONDS=SWEEP_SECONDS, OPERATOROS_STALE_QUEUED_SECONDS=STALE_SECONDS,
                        OPERATOROS_TEST_RECORD=str(self.record), OPERATOROS_USER="tester", PYTHONUNBUFFERED="1")
        self.engine = database.make_engine(database_url)
        database.ensure_schema(self.engine)
        settings = Settings.from_env(self.env)
        self.backend = CeleryBackend(CeleryConfig.from_settings(settings, self.env))
        self.queue = TaskQueue(self.engine, self.backend)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start_worker(self, *args: str, executor: str = "tests.fixtures:record", delay: float = 0.0
                     ) -> subprocess.Popen[bytes]:
        """`python main.py worker ARGS --executor EXECUTOR` (its output in a log file of the test)."""
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "worker", *args, "--executor", executor],
                                env={**self.env, "OPERATOROS_TEST_DELAY": str(delay)}, cwd=str(ROOT),
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def node(self, worker: subprocess.Popen[bytes], pool: str, *, fresh: bool = True) -> dict[str, Any] | None:
        """The Celery node of `pool` that a `main.py worker` process runs, as the inspect broadcast sees it."""
        return next((n for n in self.backend.nodes(fresh=fresh) if n["node"].startswith(f"{pool}-{worker.pid}@")),
                    None)

    def wait_node(self, worker: subprocess.Popen[bytes], pool: str, check: Callable[[dict[str, Any]], bool],
                  timeout: float = 120) -> dict[str, Any]:
        """Wait until the node of `pool` run by `worker` satisfies `check` (~3 s idle; over 60 s at load 12)."""
        deadline = time.monotonic() + timeout
        node = None
        while time.monotonic() < deadline:
            assert worker.poll() is None, self.log_of(worker)
            node = self.node(worker, pool)
            if node is not None and check(node):
                return node
            time.sleep(0.2)
        raise AssertionError(f"node {pool} of worker {worker.pid} not as expected in {timeout} s: {node}")

    def wait_finished(self, total: int, timeout: float, *, failed: int = 0) -> dict[str, int]:
        """Wait until `total` tasks have ended (`failed` of them failed, the rest succeeded)."""
        deadline = time.monotonic() + timeout
        counts = self.queue.counts()
        while time.monotonic() < deadline:
            counts = self.queue.counts()
            assert counts["failed"] <= failed and counts["cancelled"] == 0, counts
            if counts["succeeded"] + counts["failed"] == total:
                return counts
            time.sleep(0.2)
        raise AssertionError(f"tasks not finished in {timeout} s: {counts}")

    def executions(self) -> list[tuple[int, str, int]]:
        """(task id, lease owner, pid) of every execution the record executor saw."""
        lines = self.record.read_text().splitlines() if self.record.exists() else []
        return [(int(t), owner, int(pid)) for t, owner, pid in (line.split() for line in lines)]

    def log_of(self, worker: subprocess.Popen[bytes]) -> str:
        index = self.procs.index(worker)
        return (self.logs / f"worker-{index}.log").read_text(errors="replace")[-4000:]

    def close(self) -> None:
        """Stop the workers warmly, then kill whatever of their process trees is left."""
        import psutil

        trees: list[psutil.Process] = []
        for proc in self.procs:
            try:
                trees += psutil.Process(proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _, alive = psutil.wait_procs(trees, timeout=10)
        for leftover in alive:
            leftover.kill()
        self.engine.dispose()


@pytest.fixture
def deployment(home: Path, postgres_url: str, tmp_path: Path, broker: dict[str, Any]) -> Iterator[Deployment]:
    """A celery deployment on this test's PostgreSQL database and Redis namespace."""
    deployment = Deployment(home, postgres_url, tmp_path, broker)
    try:
        yield deployment
    finally:
        deployment.close()
