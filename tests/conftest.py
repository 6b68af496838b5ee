"""Shared fixtures: a fresh SQLite file or PostgreSQL database per test, the app, and the CLI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("OPERATOROS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
"""Server on which each PostgreSQL test gets a database of its own."""

REQUIRE_SERVICES = os.environ.get("OPERATOROS_REQUIRE_SERVICES") == "1"
"""In CI, a missing PostgreSQL or Redis fails the tests instead of skipping them."""

TEST_API_KEY = "oos_test_admin_key_0123456789"
"""Admin key the app fixture is configured with."""


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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=sqlite_url, OPERATOROS_USER="tester",
               PYTHONUNBUFFERED="1")
    env.pop("TASK_BACKEND", None)
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
