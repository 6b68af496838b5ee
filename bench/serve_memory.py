"""Resident memory of `python main.py serve` with every pool at its default size: idle, then after 10,000 tasks.

Run:  .venv/bin/python bench/serve_memory.py [--tasks 10000]

The server runs no-op tasks (tests.fixtures:noop) so that only OperatorOS's own memory is measured.
Bound: growth after the tasks below 25 MB (no per-task leak: 10,000 tasks at even 2.5 kB each
would exceed it).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

import database  # noqa: E402
from models import Task  # noqa: E402
from values import POOL_NAMES  # noqa: E402

GROWTH_BOUND_MB = 25.0
"""Largest RSS growth accepted after the tasks."""


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    return psutil.Process(pid).memory_info().rss / 1024 / 1024


def main() -> None:
    """Start serve, read RSS idle, run the tasks, read RSS again, print both and the growth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        url = f"sqlite:///{home}/memory.db"
        engine = database.make_engine(url)
        database.ensure_schema(engine)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATOROS_", "OPENAI_"))}
        env.update(OPERATOROS_HOME=home, DATABASE_URL=url, OPERATOROS_API_KEY="bench-key-0123456789")
        server = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", "0",
                                   "--executor", "tests.fixtures:noop"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(6)
            idle = rss_mb(server.pid)
            now = datetime.now(UTC)
            rows = [{"pool": POOL_NAMES[i % 5], "input": f"noop {i}", "status": "queued", "priority": 0,
                     "attempts": 0, "max_attempts": 3, "timeout_seconds": 60.0, "run_after": now,
                     "cancel_requested": False, "tokens_in": 0, "tokens_out": 0, "created_at": now}
                    for i in range(args.tasks)]
            with engine.begin() as conn:
                conn.execute(sa.insert(Task), rows)
            started = time.monotonic()
            while True:
                with engine.connect() as conn:
                    done = conn.execute(sa.select(sa.func.count()).select_from(Task)
                                        .where(Task.status == "succeeded")).scalar()
                if done == args.tasks or time.monotonic() - started > 600:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            time.sleep(3)
            after = rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            engine.dispose()
    growth = after - idle
    print(f"serve RSS idle (5 pools x 2 agents): {idle:6.1f} MB")
    print(f"serve RSS after {done} tasks ({elapsed:.1f} s): {after:6.1f} MB")
    verdict = "within" if growth < GROWTH_BOUND_MB else "OVER"
    print(f"growth {growth:+.1f} MB (bound {GROWTH_BOUND_MB:.0f} MB): {verdict}")


if __name__ == "__main__":
    main()
