"""Throughput of a pool against its ideal when every model call takes 200 ms: pool sizes 1, 4, 16, 32.

Run:  .venv/bin/python bench/concurrency_scaling.py [--latency 0.2] [--tasks-per-agent 8]

Tasks go the whole real path (queue, pool agents, DomainExecutor, safety policies, the openai SDK
through the openai-chat provider, provider_calls recorded in SQLite) to the tests' OpenAI-compatible
server on 127.0.0.1, which answers every model call after `latency` seconds. The ideal is
size / latency tasks per second; the ratio says how much of it the pool reaches.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from config import Settings  # noqa: E402
from models import AgentPool  # noqa: E402
from services import build_services  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402


def run(size: int, tasks: int, base_url: str, home: Path) -> float:
    """Tasks per second of the general pool at `size` agents."""
    settings = Settings.from_env({"OPERATOROS_HOME": str(home), "DATABASE_URL": f"sqlite:///{home}/s{size}.db",
                                  "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "bench-key",
                                  "OPERATOROS_PROVIDER": "openai-chat"})
    svc = build_services(settings)
    with svc.engine.begin() as conn:
        conn.execute(sa.update(AgentPool).values(desired_size=0))
        conn.execute(sa.update(AgentPool).where(AgentPool.name == "general").values(desired_size=size))
    queue = svc.controller.queue
    for i in range(tasks):
        queue.submit("general", f"Summarise item {i} in one line")
    start = time.perf_counter()
    svc.controller.start_pools()
    while (done := queue.counts())["succeeded"] + done["failed"] < tasks:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    svc.controller.stop_pools()
    svc.engine.dispose()
    assert done["failed"] == 0, done
    return tasks / elapsed


def main() -> None:
    """Print throughput, ideal and ratio for each pool size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--tasks-per-agent", type=int, default=8)
    args = parser.parse_args()
    with FakeOpenAI() as server, tempfile.TemporaryDirectory() as tmp:
        server.chaos(slow=1.0, slow_seconds=args.latency)
        print(f"model latency {args.latency * 1000:.0f} ms; ideal = size / latency")
        print(f"{'size':>4}  {'tasks':>5}  {'tasks/s':>8}  {'ideal':>7}  ratio")
        for size in (1, 4, 16, 32):
            tasks = max(20, size * args.tasks_per_agent)
            rate = run(size, tasks, server.base_url, Path(tmp))
            ideal = size / args.latency
            print(f"{size:>4}  {tasks:>5}  {rate:8.1f}  {ideal:7.1f}  {rate / ideal:.2f}")


if __name__ == "__main__":
    main()
