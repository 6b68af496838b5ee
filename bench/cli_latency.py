"""Median wall time of `python main.py "Show me the system status"` beside `python -c "import flask, sqlalchemy"`.

Run:  .venv/bin/python bench/cli_latency.py [--runs 15]

As the README's install does, the bytecode of OperatorOS's own modules is compiled first (pip has
compiled the dependencies' already), so both sides start from bytecode. Both commands run
alternately in the same loop (so machine noise hits both alike) against a fresh instance folder;
the first CLI call, which creates the database, is not counted. Target: ratio <= 1.5.
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


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run; fails loudly if the command fails."""
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    """Run both commands alternately and print medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATOROS_", "OPENAI_", "DATABASE_URL"))}
        env["OPERATOROS_HOME"] = home
        cli = [sys.executable, str(ROOT / "main.py"), "Show me the system status"]
        floor = [sys.executable, "-c", "import flask, sqlalchemy"]
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-x", "/[.](venv|git)/", str(ROOT)], check=True)
        timed(cli, env)  # creates the database; not counted
        cli_times, floor_times = [], []
        for _ in range(args.runs):
            cli_times.append(timed(cli, env))
            floor_times.append(timed(floor, env))
    cli_median, floor_median = statistics.median(cli_times), statistics.median(floor_times)
    print(f"python main.py \"Show me the system status\": median {cli_median * 1000:6.0f} ms over {args.runs} runs")
    print(f"python -c \"import flask, sqlalchemy\":        median {floor_median * 1000:6.0f} ms over {args.runs} runs")
    print(f"ratio {cli_median / floor_median:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
