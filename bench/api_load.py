"""Requests per second and p99 latency of GET /api/health and POST /api/tasks, beside a bare Flask app.

Run:  .venv/bin/python bench/api_load.py [--seconds 3] [--rounds 3] [--clients 8] [--profile] [--tree DIR]

Two gunicorn servers run at once on 127.0.0.1 with the same settings (-w 2 -k gthread --threads 4):
`app:create_app()` (a fresh OPERATOROS_HOME and SQLite file, an admin key, a rate limit out of the
way; gunicorn starts no pool workers, so submitted tasks just queue) and bench/bare_app.py (the
same two endpoints as a JSON reply and one SQLite row inserted, with the same pragmas). The load
comes from a second process (this file with --generate): `--clients` threads, each on one
keep-alive HTTP/1.1 connection (http.client, lighter than requests so the generator takes less of
the CPU the servers need), sending one endpoint as fast as answers come for `--seconds`. Each
endpoint is measured `--rounds` times per app, bare and ours alternating so both see the same
machine load; requests per second are totals over all rounds, p99 over all their latencies. Beside
them, the CPU time (user + system) the server's processes spent per answered request, read from /proc
around each measurement: it depends far less on what else the machine runs than requests per second.
Targets (the issue): ours at least 0.8 of bare for health and 0.5 for task submission.
`--profile` adds where our request path spends its CPU time (cProfile over the Flask test client).
`--tree DIR` serves another tree's `app:create_app()` (an older commit unpacked with `git archive`)
against the same floor and load generator, so two trees can be compared by one script.

Both servers keep SQLite in WAL mode with synchronous=NORMAL and a 30 s busy timeout. Ours also
enforces foreign keys and keeps the tasks table's indexes (the claim, leases, per-user listing,
idempotency keys): its INSERT does about three times the bare one's work inside SQLite.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent

API_KEY = "oos_bench_admin_key_0123456789"
"""Admin key of our server."""

RATE_LIMIT = "100000000 per minute;10000000 per second"
"""High enough that the limiter never answers 429 here (it still counts every request)."""

GUNICORN_ARGS = ("-w", "2", "-k", "gthread", "--threads", "4")
"""Worker settings, the same for both servers."""

TASK_BODY = {"input": "Summarise this week's sales figures for the board", "pool": "general"}
"""What each POST /api/tasks sends, to both apps."""

TARGETS = {"GET /api/health": 0.8, "POST /api/tasks": 0.5}
"""Least ratio of our requests per second to the bare app's, per endpoint (the issue)."""

START_TIMEOUT_SECONDS = 60.0
"""How long a server may take to answer its first health check."""

WARMUP_SECONDS = 1.0
"""Load sent to each endpoint of each app before measuring (imports, first user, caches)."""


@dataclass
class Endpoint:
    """One measured request."""

    method: str
    path: str
    expected: int
    body: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = (Endpoint("GET", "/api/health", 200), Endpoint("POST", "/api/tasks", 201, TASK_BODY))


@dataclass
class Server:
    """A gunicorn process serving one app."""

    label: str
    port: int
    process: subprocess.Popen[bytes]
    headers: dict[str, str]
    log: Path


@dataclass
class Sample:
    """Requests and latencies of one app on one endpoint, over all rounds."""

    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    unexpected: dict[int, int] = field(default_factory=dict)
    cpu_seconds: float | None = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_request(self) -> float | None:
        """Server CPU seconds per request, None where /proc cannot be read."""
        return self.cpu_seconds / self.requests if self.cpu_seconds is not None and self.requests else None

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


# -- the load generator (second process) -----------------------------------------------------


def generate(port: int, method: str, path: str, body: str | None, headers: dict[str, str], clients: int,
             seconds: float) -> dict[str, Any]:
    """Send `method path` from `clients` keep-alive connections for `seconds`; counts and latencies."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[int, int]] = [{} for _ in range(clients)]
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]
    payload = body.encode() if body is not None else None
    send_headers = {**headers, **({"Content-Type": "application/json"} if payload is not None else {})}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ready.wait()
        mine, seen = latencies[n], statuses[n]
        while time.perf_counter() < deadline[0]:
            t0 = time.perf_counter()
            conn.request(method, path, body=payload, headers=send_headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            seen[response.status] = seen.get(response.status, 0) + 1
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    start = time.perf_counter()
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    merged: dict[int, int] = {}
    for seen in statuses:
        for status, count in seen.items():
            merged[status] = merged.get(status, 0) + count
    return {"seconds": elapsed, "latencies": [x for mine in latencies for x in mine], "statuses": merged}


def run_generator(server: Server, endpoint: Endpoint, clients: int, seconds: float) -> dict[str, Any]:
    """Run the load generator in a second process against one server; its JSON report."""
    spec = {"port": server.port, "method": endpoint.method, "path": endpoint.path,
            "body": json.dumps(endpoint.body) if endpoint.body is not None else None,
            "headers": server.headers, "clients": clients, "seconds": seconds}
    result = subprocess.run([sys.executable, __file__, "--generate", json.dumps(spec)], capture_output=True,
                            text=True, timeout=seconds + 120, check=False)
    if result.returncode != 0:
        raise SystemExit(f"load generator failed against {server.label}: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


# -- the servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(label: str, app_spec: str, chdir: Path, env: dict[str, str], headers: dict[str, str],
                 folder: Path) -> Server:
    """gunicorn with GUNICORN_ARGS on a free 127.0.0.1 port, once it answers /api/health."""
    port = free_port()
    log = folder / f"{label}.gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, "-b", f"127.0.0.1:{port}", "--chdir", str(chdir),
             app_spec], env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(label, port, process, headers, log)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{label} server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                conn.close()
                return server
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise SystemExit(f"{label} server did not answer within {START_TIMEOUT_SECONDS} s")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


def base_env() -> dict[str, str]:
    """This environment without our settings, so that only what the benchmark sets applies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_", "BARE_"))}
    for key in ("DATABASE_URL", "TASK_BACKEND", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(key, None)
    return env


def start_both(folder: Path, tree: Path = ROOT) -> tuple[Server, Server]:
    env = base_env()
    bare = start_server("bare", "bare_app:create_app()", BENCH, {**env, "BARE_DATABASE": str(folder / "bare.db")},
                        {}, folder)
    ours_env = {**env, "OPERATOROS_HOME": str(folder / "home"), "DATABASE_URL": f"sqlite:///{folder / 'ours.db'}",
                "OPERATOROS_API_KEY": API_KEY, "OPERATOROS_RATE_LIMIT": RATE_LIMIT}
    try:
        ours = start_server("ours", "app:create_app()", tree, ours_env,
                            {"Authorization": f"Bearer {API_KEY}"}, folder)
    except BaseException:
        stop_server(bare)
        raise
    return bare, ours


# -- measuring and reporting -----------------------------------------------------------------


def measure(bare: Server, ours: Server, clients: int, seconds: float, rounds: int
            ) -> dict[str, dict[str, Sample]]:
    """Per endpoint, per app label: the pooled samples of all rounds (bare and ours alternating)."""
    for server in (bare, ours):
        for endpoint in ENDPOINTS:
            run_generator(server, endpoint, clients, WARMUP_SECONDS)
    samples = {e.name: {"bare": Sample(), "ours": Sample()} for e in ENDPOINTS}
    for endpoint in ENDPOINTS:
        for round_number in range(rounds):
            order = (bare, ours) if round_number % 2 == 0 else (ours, bare)
            for server in order:
                cpu_before = server_cpu_seconds(server)
                report = run_generator(server, endpoint, clients, seconds)
                cpu_after = server_cpu_seconds(server)
                sample = samples[endpoint.name][server.label]
                if sample.cpu_seconds is not None and cpu_before is not None and cpu_after is not None:
                    sample.cpu_seconds += cpu_after - cpu_before
                else:
                    sample.cpu_seconds = None
                sample.requests += len(report["latencies"])
                sample.seconds += report["seconds"]
                sample.latencies.extend(report["latencies"])
                for status, count in report["statuses"].items():
                    if int(status) != endpoint.expected:
                        sample.unexpected[int(status)] = sample.unexpected.get(int(status), 0) + count
    return samples


def server_cpu_seconds(server: Server) -> float | None:
    """User + system CPU seconds of the gunicorn master and its workers so far (Linux /proc), else None."""
    try:
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        total = 0
        for pid in [str(server.process.pid), *children]:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def table(samples: dict[str, dict[str, Sample]]) -> str:
    """The results: requests per second and their ratio, latencies, and server CPU per request."""
    rows = [f"{'endpoint':<17} {'bare rps':>9} {'ours rps':>9} {'ratio':>6} {'target':>7} "
            f"{'bare p99':>9} {'ours p99':>9} {'bare p50':>9} {'ours p50':>9} "
            f"{'bare cpu':>9} {'ours cpu':>9} {'cpu ratio':>9}  verdict"]
    for name, by_app in samples.items():
        bare, ours = by_app["bare"], by_app["ours"]
        ratio = ours.rps / bare.rps if bare.rps else 0.0
        verdict = "meets target" if ratio >= TARGETS[name] else "BELOW target"
        bare_cpu, ours_cpu = bare.cpu_per_request, ours.cpu_per_request
        cpu = (f"{bare_cpu * 1e6:7.0f}us {ours_cpu * 1e6:7.0f}us {bare_cpu / ours_cpu:9.2f}"
               if bare_cpu and ours_cpu else f"{'-':>9} {'-':>9} {'-':>9}")
        rows.append(f"{name:<17} {bare.rps:9.0f} {ours.rps:9.0f} {ratio:6.2f} {TARGETS[name]:7.2f} "
                    f"{bare.percentile(0.99) * 1000:7.1f}ms {ours.percentile(0.99) * 1000:7.1f}ms "
                    f"{bare.percentile(0.5) * 1000:7.1f}ms {ours.percentile(0.5) * 1000:7.1f}ms "
                    f"{cpu}  {verdict}")
    rows.append("cpu: server CPU time per request (user + system, all gunicorn processes); "
                "cpu ratio: bare's over ours, comparable to the rps ratio")
    for name, by_app in samples.items():
        for label, sample in by_app.items():
            if sample.unexpected:
                rows.append(f"warning: {label} {name} answered unexpected statuses {sample.unexpected}")
    return "\n".join(rows)


def profile(folder: Path, requests: int = 300, tree: Path = ROOT) -> str:
    """Where our request path spends its time: cProfile over the Flask test client, both endpoints."""
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(tree))
    from app import create_app

    home = folder / "profile"
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'p.db'}",
                      "OPERATOROS_API_KEY": API_KEY, "OPERATOROS_RATE_LIMIT": RATE_LIMIT})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    out = io.StringIO()
    for endpoint in ENDPOINTS:
        def call(endpoint: Endpoint = endpoint) -> None:
            response = client.open(endpoint.path, method=endpoint.method, json=endpoint.body, headers=headers)
            assert response.status_code == endpoint.expected, response.get_data(as_text=True)

        for _ in range(20):
            call()
        profiler = cProfile.Profile(time.process_time)  # CPU time: what other processes run matters less
        start = time.process_time()
        profiler.enable()
        for _ in range(requests):
            call()
        profiler.disable()
        elapsed = time.process_time() - start
        out.write(f"\n== {endpoint.name} through the Flask test client: {elapsed / requests * 1e6:.0f} us "
                  f"of CPU per request (under cProfile)\n")
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def main() -> None:
    """Start both servers, measure both endpoints, print the table (and a profile with --profile)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per endpoint and app")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--profile", action="store_true", help="also profile our request path")
    parser.add_argument("--tree", type=Path, default=ROOT, help="project tree to serve (default: this one)")
    parser.add_argument("--generate", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        spec = json.loads(args.generate)
        print(json.dumps(generate(**spec)))
        return
    with tempfile.TemporaryDirectory(prefix="api_load_") as tmp:
        folder = Path(tmp)
        bare, ours = start_both(folder, args.tree.resolve())
        try:
            print(f"{args.tree.resolve()}: gunicorn {' '.join(GUNICORN_ARGS)} on 127.0.0.1; "
                  f"{args.clients} keep-alive clients in a "
                  f"second process; {args.rounds} x {args.seconds:g} s per endpoint and app; "
                  f"{os.cpu_count()} CPUs", flush=True)
            samples = measure(bare, ours, args.clients, args.seconds, args.rounds)
        finally:
            stop_server(bare)
            stop_server(ours)
        print(table(samples))
        if args.profile:
            print(profile(folder, tree=args.tree.resolve()))


if __name__ == "__main__":
    main()
