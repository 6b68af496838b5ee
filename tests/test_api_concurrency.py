"""`python main.py serve` on SQLite under 8 concurrent clients: no 5xx, no 'database is locked', JSON only.

One server process (API plus the pool workers of the local backend, which work the submitted tasks
meanwhile) on a fresh SQLite file; 8 client threads, each with its own keep-alive session, send 500
requests each, mixing task submission and reads, pool and status views and the conversational door.
"""
from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import ROOT, free_port, scrubbed_env

pytestmark = pytest.mark.slow

CLIENTS = 8
"""Concurrent client threads, as in the issue."""

REQUESTS_PER_CLIENT = 500
"""Requests each client sends, as in the issue."""

LOAD_DEADLINE_SECONDS = 100.0
"""Clients stop sending after this long, so the test ends even on a very slow machine (and then fails)."""

REQUEST_TIMEOUT_SECONDS = 30.0
"""Longest one request may take; above the 30 s SQLite busy timeout would hide a stuck writer."""

START_TIMEOUT_SECONDS = 30.0
"""How long the server may take to answer its first health check."""

API_KEY = "oos_concurrency_admin_key_0123456789"
"""Admin key the server is started with."""

RATE_LIMIT = "1000000 per minute;100000 per second"
"""High enough that the limiter never answers 429 in this test."""

LOCKED = "database is locked"
"""SQLite's message when a writer gave up waiting; must never reach a client or the log."""

POOLS = ("healthcare", "financial", "sports", "business", "general")

MIX = ("submit", "get", "list", "submit", "get", "pools", "status", "command", "submit", "get")
"""One cycle of a client's requests: 3 submissions, 3 reads of its last task, list, pools, status, command."""


@dataclass
class Server:
    """A running `main.py serve` and where its output goes."""

    base: str
    process: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@dataclass
class ClientLog:
    """What one client saw."""

    sent: int = 0
    problems: list[str] = field(default_factory=list)
    submitted: dict[int, str] = field(default_factory=dict)
    latencies: list[tuple[str, float]] = field(default_factory=list)


@contextlib.contextmanager
def _serving(folder: Path) -> Iterator[Server]:
    """`python main.py serve` on a fresh SQLite file in `folder`, with an admin key and a rate limit out of the way."""
    home = folder / "instance"
    env = scrubbed_env()
    env.update(OPERATOROS_HOME=str(home), DATABASE_URL=f"sqlite:///{folder / 'load.db'}",
               OPERATOROS_API_KEY=API_KEY, OPERATOROS_RATE_LIMIT=RATE_LIMIT, OPERATOROS_USER="tester",
               PYTHONUNBUFFERED="1")
    port = free_port()
    stderr_path = folder / "serve.stderr"
    with open(folder / "serve.stdout", "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port)],
                                   env=env, cwd=str(ROOT), stdout=out, stderr=err)
    running = Server(f"http://127.0.0.1:{port}", process, stderr_path)
    try:
        _wait_until_up(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The module's server, shared by the tests that only send it requests (none stops it)."""
    with _serving(tmp_path_factory.mktemp("concurrency")) as running:
        yield running


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, for a test that stops it."""
    with _serving(tmp_path) as running:
        yield running


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"serve exited with {server.process.returncode}: {server.stderr()[-2000:]}")
        try:
            if requests.get(server.base + "/api/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"serve did not answer within {START_TIMEOUT_SECONDS} s: {server.stderr()[-2000:]}")


def _client(server: Server, number: int, started: float) -> ClientLog:
    """Send this client's requests in the MIX order; note every answer that breaks the contract."""
    log = ClientLog()
    last_task: int | None = None
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        for i in range(REQUESTS_PER_CLIENT):
            if time.monotonic() - started > LOAD_DEADLINE_SECONDS:
                log.problems.append(f"client {number}: deadline reached after {log.sent} requests")
                break
            kind = MIX[i % len(MIX)]
            if kind == "get" and last_task is None:
                kind = "submit"
            method, path, body, expected = _request(kind, number, i, last_task)
            t0 = time.perf_counter()
            response = http.request(method, server.base + path, json=body, timeout=REQUEST_TIMEOUT_SECONDS)
            log.latencies.append((kind, time.perf_counter() - t0))
            log.sent += 1
            payload = _check(response, f"{method} {path}", expected, log.problems)
            if kind == "submit" and isinstance(payload, dict) and isinstance(payload.get("id"), int):
                last_task = payload["id"]
                log.submitted[last_task] = body["input"]  # type: ignore[index]
    return log


def _request(kind: str, client: int, i: int, last_task: int | None
             ) -> tuple[str, str, dict[str, Any] | None, int]:
    """(method, path, JSON body, expected status) of one request of the mix."""
    if kind == "submit":
        text = f"client {client} request {i}: summarise the weekly numbers"
        return "POST", "/api/tasks", {"input": text, "pool": POOLS[(client + i) % len(POOLS)]}, 201
    if kind == "get":
        return "GET", f"/api/tasks/{last_task}", None, 200
    if kind == "list":
        return "GET", "/api/tasks?limit=20", None, 200
    if kind == "pools":
        return "GET", "/api/pools", None, 200
    if kind == "status":
        return "GET", "/api/status", None, 200
    return "POST", "/api/command", {"text": "show me the system status"}, 200


def _check(response: requests.Response, what: str, expected: int, problems: list[str]) -> Any:
    """The JSON payload of a response; a problem noted when it is not JSON, not `expected` or mentions a lock."""
    text = response.text
    if LOCKED in text.lower():
        problems.append(f"{what}: {response.status_code} body mentions {LOCKED!r}: {text[:300]}")
    if response.status_code >= 500 or response.status_code != expected:
        problems.append(f"{what}: HTTP {response.status_code} (expected {expected}): {text[:300]}")
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        problems.append(f"{what}: Content-Type {response.headers.get('Content-Type')!r}: {text[:300]}")
    try:
        return response.json()
    except ValueError:
        problems.append(f"{what}: body is not JSON: {text[:300]}")
        return None


def _read_back(server: Server, submitted: dict[int, str]) -> list[str]:
    """Read every submitted task by id (8 clients again); the problems found."""
    ids = sorted(submitted)
    problems: list[str] = []
    lock = threading.Lock()

    def read(chunk: list[int]) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {API_KEY}"
            for task_id in chunk:
                response = http.get(f"{server.base}/api/tasks/{task_id}", timeout=REQUEST_TIMEOUT_SECONDS)
                found: list[str] = []
                payload = _check(response, f"GET /api/tasks/{task_id}", 200, found)
                if isinstance(payload, dict) and payload.get("input") != submitted[task_id]:
                    found.append(f"task {task_id}: input {payload.get('input')!r} != {submitted[task_id]!r}")
                if found:
                    with lock:
                        problems.extend(found)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(read, [ids[n::CLIENTS] for n in range(CLIENTS)]))
    return problems


def _latency_summary(latencies: list[tuple[str, float]]) -> str:
    """p50/p99 in ms, over all requests and per kind of request."""
    def pct(values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else 0.0

    kinds = {kind: [x for k, x in latencies if k == kind] for kind in dict.fromkeys(MIX)}
    everything = [x for _, x in latencies]
    parts = [f"all p50 {pct(everything, 0.5):.0f} ms p99 {pct(everything, 0.99):.0f} ms"]
    parts += [f"{kind} p50 {pct(xs, 0.5):.0f} p99 {pct(xs, 0.99):.0f}" for kind, xs in kinds.items()]
    return "; ".join(parts)


def test_eight_clients_of_500_requests_get_no_5xx_and_no_database_locked(
        server: Server, record_property: Any) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        logs = list(pool.map(lambda n: _client(server, n, started), range(CLIENTS)))
    elapsed = time.monotonic() - started

    sent = sum(log.sent for log in logs)
    record_property("requests", sent)
    record_property("seconds", round(elapsed, 2))
    print(f"\n{sent} requests by {CLIENTS} clients in {elapsed:.1f} s: {sent / elapsed:.0f} req/s; "
          + _latency_summary([x for log in logs for x in log.latencies]))

    problems = [p for log in logs for p in log.problems]
    assert not problems, f"{len(problems)} bad answers; first ones:\n" + "\n".join(problems[:20])
    assert sent == CLIENTS * REQUESTS_PER_CLIENT

    submitted = {task_id: text for log in logs for task_id, text in log.submitted.items()}
    assert len(submitted) == CLIENTS * sum(1 for i in range(REQUESTS_PER_CLIENT) if MIX[i % len(MIX)] == "submit")
    problems = _read_back(server, submitted)
    assert not problems, f"{len(problems)} submitted tasks unreadable; first ones:\n" + "\n".join(problems[:20])

    assert server.process.poll() is None, "serve died under load"
    err = server.stderr()
    assert LOCKED not in err.lower(), err[-3000:]
    assert "Traceback" not in err, err[-3000:]


def test_sigterm_stops_serve_cleanly(own_server: Server) -> None:
    server = own_server
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=30)
    err = server.stderr()
    assert "Traceback" not in err, err[-3000:]
    assert "Draining agents" in err
    assert code == 0
    assert LOCKED not in err.lower()
