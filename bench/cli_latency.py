"""Median wall time of `python main.py "Show me the system status"` (and the other read-only intents)
beside `python -c "import flask, sqlalchemy"`.

Run:  .venv/bin/python bench/cli_latency.py [--runs 15] [--status-only]

As the README's install does, the bytecode of OperatorOS's own modules is compiled first (pip has
compiled the dependencies' already), so both sides start from bytecode. Each request runs alternately
with the floor in the same loop (so machine noise hits both alike) against a fresh instance folder
holding one finished task; the first CLI call, which creates the database, is not counted.
Target (issue 22): the status request's ratio <= 1.3; the other read-only intents are reported beside it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STATUS = "Show me the system status"
READ_ONLY = (STATUS, "Show the pools", "List my tasks", "show task 1", "help")
"""The read-only intents measured: status, pools, tasks, task N and help."""

TARGET = 1.3
"""Most the status request may take, as a multiple of importing flask and sqlalchemy."""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run; fails loudly if the command fails."""
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    """Run each request alternately with the floor and print medians and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--status-only", action="store_true", help="measure the status request alone")
    args = parser.parse_args()
    requests = (STATUS,) if args.status_only else READ_ONLY
    cli = [sys.executable, str(ROOT / "main.py")]
    floor = [sys.executable, "-c", "import flask, sqlalchemy"]
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATOROS_", "OPENAI_", "DATABASE_URL"))}
        env["OPERATOROS_HOME"] = home
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-x", "/[.](venv|git)/", str(ROOT)], check=True)
        timed([*cli, STATUS], env)  # creates the database; not counted
        timed([*cli, "what is 2+2"], env)  # task 1, for "show task 1"
        times: dict[str, list[float]] = {r: [] for r in (*requests, "floor")}
        for _ in range(args.runs):
            for request in requests:
                times[request].append(timed([*cli, request], env))
                times["floor"].append(timed(floor, env))
    floor_median = statistics.median(times["floor"])
    label = 'python -c "import flask, sqlalchemy"'
    print(f"{label:<42} median {floor_median * 1000:6.0f} ms")
    for request in requests:
        median = statistics.median(times[request])
        mark = f"  (target <= {TARGET})" if request == STATUS else ""
        label = f"main.py {request!r}"
        print(f"{label:<42} median {median * 1000:6.0f} ms  ratio {median / floor_median:.2f}{mark}")


if __name__ == "__main__":
    main()
