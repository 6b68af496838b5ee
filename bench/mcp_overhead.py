"""Time of the MCP `status` tool over streamable HTTP beside GET /api/status, on the same `serve`, in one run.

Run:  .venv/bin/python bench/mcp_overhead.py [--calls 200] [--rounds 5]

One `python main.py serve` on a fresh OPERATOROS_HOME and SQLite file. Each round makes `--calls`
sequential GET /api/status requests on one keep-alive connection (http.client), then `--calls`
sequential `status` tool calls through the SDK's own client (one session, the protocol version it
negotiates, one keep-alive connection); rounds alternate so both see the same machine load. Both do
the same work behind the door (controller.status()); the MCP call adds JSON-RPC framing, schema
validation, the SSE response and the ASGI-in-WSGI hop. Reported: median and p95 latency per call over
all rounds, and the ratio of the medians (the issue's target: at most 1.5).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

API_KEY = "oos_bench_admin_key_0123456789"
"""Admin key of the server."""

TARGET = 1.5
"""Largest ratio of the MCP call's median to the REST call's median (the issue)."""

START_TIMEOUT_SECONDS = 60.0
"""How long the server may take to answer its first health check."""

WARMUP_CALLS = 20
"""Calls of each kind before measuring (imports, the MCP event loop, caches)."""


def main() -> int:
    """Start the server, measure both doors in alternating rounds, print the table; 0 when within target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="Calls of each kind per round.")
    parser.add_argument("--rounds", type=int, default=5, help="Alternating rounds.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        port = _free_port()
        env = {**os.environ, "OPERATOROS_HOME": home, "DATABASE_URL": f"sqlite:///{home}/bench.db",
               "OPERATOROS_API_KEY": API_KEY, "OPERATOROS_RATE_LIMIT": "100000000 per minute"}
        server = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port)], env=env,
                                  cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(port)
            rest, mcp = asyncio.run(_measure(port, options.calls, options.rounds))
        finally:
            server.terminate()
            server.wait(30)
    ratio = statistics.median(mcp) / statistics.median(rest)
    print(f"`serve` on 127.0.0.1 (SQLite); {options.rounds} alternating rounds x {options.calls} sequential calls each")
    print(f"{'call':34} {'median':>9} {'p95':>9}")
    for name, times in (("GET /api/status (REST)", rest), ("tools/call status (MCP, HTTP)", mcp)):
        print(f"{name:34} {statistics.median(times) * 1000:7.2f}ms {_p95(times) * 1000:7.2f}ms")
    verdict = "meets target" if ratio <= TARGET else "misses target"
    print(f"ratio MCP/REST (medians): {ratio:.2f}  target <= {TARGET}  {verdict}")
    return 0 if ratio <= TARGET else 1


async def _measure(port: int, calls: int, rounds: int) -> tuple[list[float], list[float]]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    rest_times: list[float] = []
    mcp_times: list[float] = []
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    mcp_http = create_mcp_http_client(headers=headers)
    async with mcp_http, Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=mcp_http)) as client:
        for n in range(rounds + 1):
            warmup = n == 0
            for _ in range(WARMUP_CALLS if warmup else calls):
                started = time.perf_counter()
                connection.request("GET", "/api/status", headers=headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status
                if not warmup:
                    rest_times.append(time.perf_counter() - started)
            for _ in range(WARMUP_CALLS if warmup else calls):
                started = time.perf_counter()
                result = await client.call_tool("status", {})
                assert not result.is_error, result.content
                if not warmup:
                    mcp_times.append(time.perf_counter() - started)
    connection.close()
    return rest_times, mcp_times


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


if __name__ == "__main__":
    sys.exit(main())
