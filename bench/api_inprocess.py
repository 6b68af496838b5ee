"""CPU per request of POST /api/tasks and GET /api/health through the Flask test client, for one or more trees.

Run:  .venv/bin/python bench/api_inprocess.py [--tree DIR ...] [--rounds 3] [--batches 5] [--requests 300]
      .venv/bin/python bench/api_inprocess.py --callgrind [--tree DIR ...] [--requests 200]

Each tree (default: this one) is measured in its own fresh interpreter (`cd DIR`, its modules first on
sys.path), on a fresh OPERATOROS_HOME and SQLite file, with the same admin key, the same rate limit out
of the way and the same request as bench/api_load.py. After a warm-up, each endpoint is called
`--batches` times `--requests` times; a batch's figure is its `time.process_time` over its requests
(CPU of this process only: what else the machine runs matters far less than for wall time), and the
best batch is kept. With several trees, `--rounds` alternate them (A, B, B, A...) so both see the same
machine, and the best over all rounds is reported per tree. No server and no sockets: this is the
cost of our request path inside one process, not of gunicorn or the network (bench/api_load.py).

`--callgrind` counts instructions instead (valgrind's callgrind, collection switched on by
`callgrind_control` after the warm-up and off after `--requests` requests, PYTHONHASHSEED=0): the
same figure whatever else the machine runs, repeatable to about 0.2%; one run per tree and endpoint.
It includes the test client's own work (about 0.5M instructions per request) and, spread over the
requests, one `callgrind_control` call (about 0.5M instructions in all).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

API_KEY = "oos_bench_admin_key_0123456789"
"""Admin key, the same as bench/api_load.py's."""

RATE_LIMIT = "100000000 per minute;10000000 per second"
"""High enough that the limiter never answers 429 here (it still counts every request)."""

TASK_BODY = {"input": "Summarise this week's sales figures for the board", "pool": "general"}
"""What each POST /api/tasks sends (bench/api_load.py's body)."""

ENDPOINTS = (("POST", "/api/tasks", 201, TASK_BODY), ("GET", "/api/health", 200, None))
"""Method, path, expected status and JSON body of each measured request."""

WARMUP_REQUESTS = 50
"""Requests per endpoint before measuring (first user, compiled statements, caches)."""


CALLGRIND_WARMUP_REQUESTS = 200
"""Requests before callgrind starts counting (more than WARMUP_REQUESTS: instruction counts show every cache)."""


def _callers(home: Path) -> tuple[Any, list[tuple[str, Any]]]:
    """A fresh app of this tree, and a function per endpoint sending its request once (and checking the status)."""
    sys.path.insert(0, os.getcwd())
    from app import create_app

    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'bench.db'}",
                      "OPERATOROS_API_KEY": API_KEY, "OPERATOROS_RATE_LIMIT": RATE_LIMIT})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    calls = []
    for method, path, expected, body in ENDPOINTS:
        def call(method: str = method, path: str = path, expected: int = expected,
                 body: dict[str, Any] | None = body) -> None:
            response = client.open(path, method=method, json=body, headers=headers)
            assert response.status_code == expected, response.get_data(as_text=True)

        calls.append((f"{method} {path}", call))
    return app, calls


def measure_here(batches: int, requests: int) -> dict[str, float]:
    """In this interpreter (cwd = the tree): best CPU seconds per request of each endpoint."""
    import time

    with tempfile.TemporaryDirectory(prefix="api_inprocess_") as tmp:
        _, calls = _callers(Path(tmp) / "home")
        best: dict[str, float] = {}
        for name, call in calls:
            for _ in range(WARMUP_REQUESTS):
                call()
            figures = []
            for _ in range(batches):
                start = time.process_time()
                for _ in range(requests):
                    call()
                figures.append((time.process_time() - start) / requests)
            best[name] = min(figures)
        return best


def count_here(endpoint: str, requests: int) -> None:
    """In this interpreter under callgrind: warm up, then collect instructions over `requests` requests only."""
    with tempfile.TemporaryDirectory(prefix="api_inprocess_") as tmp:
        _, calls = _callers(Path(tmp) / "home")
        call = dict(calls)[endpoint]
        for _ in range(CALLGRIND_WARMUP_REQUESTS):
            call()
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], capture_output=True, check=True)
        for _ in range(requests):
            call()
        subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], capture_output=True, check=True)


def _child_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "OPERATOROS_")) and k not in ("DATABASE_URL", "TASK_BACKEND",
                                                                       "REDIS_URL", "CELERY_BROKER_URL")}
    env["PYTHONPATH"] = str(tree)
    return env


def measure_tree(tree: Path, batches: int, requests: int) -> dict[str, float]:
    """Run measure_here in a fresh interpreter inside `tree`; its figures."""
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(batches), str(requests)],
                            cwd=tree, env=_child_env(tree), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def count_tree(tree: Path, endpoint: str, requests: int) -> float:
    """Instructions per request of `endpoint` in `tree`, counted by callgrind in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="api_callgrind_") as tmp:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/callgrind.out",
             sys.executable, str(Path(__file__).resolve()), "--child-callgrind", endpoint, str(requests)],
            cwd=tree, env={**_child_env(tree), "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"counting {tree} failed:\n{result.stderr[-3000:]}")
    return int(found.group(1).replace(",", "")) / requests


def main() -> None:
    """Measure each tree, alternating over the rounds; print the best CPU per request of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="a project tree (repeat; default: this one)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each tree, alternating")
    parser.add_argument("--batches", type=int, default=5, help="batches per endpoint per measurement (best kept)")
    parser.add_argument("--requests", type=int, default=300, help="requests per batch")
    parser.add_argument("--callgrind", action="store_true", help="count instructions per request instead")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-callgrind", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_here(*args.child)))
        return
    if args.child_callgrind:
        count_here(args.child_callgrind[0], int(args.child_callgrind[1]))
        return
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    if args.callgrind:
        for method, path, _, _ in ENDPOINTS:
            for tree in trees:
                count = count_tree(tree, f"{method} {path}", args.requests)
                print(f"{method} {path} {tree}: {count / 1e6:.3f}M instructions per request "
                      f"(callgrind, {args.requests} requests)", flush=True)
        return
    best: dict[Path, dict[str, float]] = {t: {} for t in trees}
    for round_number in range(args.rounds):
        for tree in (trees if round_number % 2 == 0 else trees[::-1]):
            figures = measure_tree(tree, args.batches, args.requests)
            print(f"round {round_number + 1} {tree}: "
                  + ", ".join(f"{name} {s * 1e6:.0f} us" for name, s in figures.items()), flush=True)
            for name, seconds in figures.items():
                best[tree][name] = min(best[tree].get(name, seconds), seconds)
    print(f"best CPU per request (process_time, best of {args.rounds} x {args.batches} x {args.requests}):")
    for tree, figures in best.items():
        print(f"  {tree}: " + ", ".join(f"{name} {s * 1e6:.1f} us" for name, s in figures.items()))


if __name__ == "__main__":
    main()
