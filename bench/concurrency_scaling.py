"""Throughput of a pool of agents waiting on a slow model, against a bare openai SDK loop in the same run.

Run:  .venv/bin/python bench/concurrency_scaling.py [--sizes 1,8,32,64,128] [--latencies 0.2,2]
                                                   [--modes plain,stream] [--celery 32,64]

The model is the tests' OpenAI-compatible server (tests/fake_openai.py) in a process of its own,
answering every chat completion after `latency` seconds, plainly or as a stream of chunks. For each
pool size, latency and mode, two sides drain the same number of tasks:

- floor: `size` threads taking prompts from a queue.Queue and calling the server through one shared
  openai client (connection pool sized to the threads), streamed or not, with the same request body
  as the pool's agent (its prompt and tools); nothing else.
- OperatorOS: the general pool at `size` agents working tasks queued through TaskQueue (with the
  safety decision made at submission, as the controller does) on a SQLite file: claims under
  leases, DomainExecutor with its safety policies, the openai-chat provider (provider_calls and
  task events recorded), results recorded once. Like with like: a streamed run is the default
  configuration (the model's text streamed into the task's draft events, OPERATOROS_DRAFTS=1); a
  plain run sets OPERATOROS_DRAFTS=0, with which the provider makes one plain call per round, as the
  floor's plain call does.
- with `--celery`, OperatorOS on its Celery backend (PostgreSQL + Redis at 127.0.0.1, one worker
  node of the pool's size) at those sizes, for the plain mode (OPERATOROS_DRAFTS=0 in the node).

Figures per side: tasks/s (tasks / drain time), p95 of the time from the drain's start (every task
was submitted before it) to each result, CPU per task (this process; Celery: plus the node's
processes; the model server's never) and RSS growth per agent. The ratio is OperatorOS's tasks/s
over the floor's; the target is >= 0.9 at every size on the local backend.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import queue as queue_module
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

SERVER_SCRIPT = """
import sys, time
sys.path.insert(0, {root!r})
from tests import fake_openai
fake_openai._Server.request_queue_size = 512  # many agents connect at once
server = fake_openai.FakeOpenAI().start()
server.chaos(slow=1.0, slow_seconds={latency!r})
print(server.base_url, flush=True)
sys.stdin.read()
"""
"""The model server's process: answers every model call after `latency` seconds until stdin closes."""

MAX_RUN_SECONDS = 600.0
"""A side that has not drained by then is reported as stuck."""


@dataclass
class Figures:
    """One side's run."""

    tasks: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float
    rss_bytes: int
    size: int

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[-1] if len(self.latencies) > 1 else self.latencies[0]

    def row(self) -> str:
        return (f"{self.rate:8.1f} {self.p95:7.2f} {self.cpu_seconds / self.tasks * 1000:7.2f} "
                f"{self.rss_bytes / self.size / 1024:8.0f}")


class ModelServer:
    """tests/fake_openai.py in a child process, so its work does not share this process's GIL."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT.format(root=str(ROOT), latency=latency)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:  # handler threads waiting out idle keep-alive connections
            self.proc.kill()
            self.proc.wait()


def _aware(moment: datetime | None) -> datetime:
    assert moment is not None, "a finished task has its finish time"
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rss() -> int:
    """This process's resident memory."""
    return int(psutil.Process().memory_info().rss)


def floor(base_url: str, size: int, tasks: int, stream: bool) -> Figures:
    """`size` threads calling the model through one openai client until `tasks` prompts are answered."""
    import openai

    from config import DEFAULT_MODEL
    from domains.agents import get_agent
    from providers.base import DEFAULT_MAX_OUTPUT_TOKENS

    # The SDK's own HTTP client (its socket options and defaults), with a connection per thread.
    limits = type(openai.DEFAULT_CONNECTION_LIMITS)(max_connections=size, max_keepalive_connections=size)
    client = openai.OpenAI(api_key="bench-key", base_url=base_url, max_retries=0,
                           http_client=openai.DefaultHttpxClient(limits=limits))
    prompts: queue_module.Queue[str] = queue_module.Queue()
    for i in range(tasks):
        prompts.put(f"Summarise item {i} in one line")
    done: list[float] = []
    lock = threading.Lock()
    # The same request body as the general pool's agent sends (its prompt and tools), so that the server
    # does the same work for both sides; the tools in wire form, as the provider sends them.
    agent = get_agent("general")
    extra = {"tools": [tool.openai_chat_schema() for tool in agent.tools], "tool_choice": "auto",
             "max_completion_tokens": DEFAULT_MAX_OUTPUT_TOKENS}

    def call(text: str) -> str:
        messages: Any = [{"role": "system", "content": agent.system_prompt}, {"role": "user", "content": text}]
        if not stream:
            reply = client.chat.completions.create(model=DEFAULT_MODEL, messages=messages, extra_body=extra)
            return reply.choices[0].message.content or ""
        parts: list[str] = []
        with client.chat.completions.create(model=DEFAULT_MODEL, messages=messages, stream=True, extra_body=extra,
                                            stream_options={"include_usage": True}) as chunks:
            for chunk in chunks:
                parts.extend(c.delta.content or "" for c in chunk.choices)
        return "".join(parts)

    def work() -> None:
        while True:
            try:
                text = prompts.get_nowait()
            except queue_module.Empty:
                return
            call(text)
            with lock:
                done.append(time.perf_counter())

    threads = [threading.Thread(target=work) for _ in range(size)]
    memory, cpu = rss(), time.process_time()
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    figures = Figures(tasks, elapsed, [t - start for t in done], time.process_time() - cpu, rss() - memory, size)
    client.close()
    return figures


def operatoros(base_url: str, size: int, tasks: int, stream: bool, home: Path) -> Figures:
    """The general pool at `size` agents draining `tasks` queued tasks through the whole local path."""
    from config import Settings
    from database import read_only
    from domains import routing
    from models import AgentPool, Task
    from services import build_services

    name = f"s{size}-{'stream' if stream else 'plain'}-{time.monotonic_ns()}"
    settings = Settings.from_env({"OPERATOROS_HOME": str(home), "DATABASE_URL": f"sqlite:///{home}/{name}.db",
                                  "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "bench-key",
                                  "OPERATOROS_PROVIDER": "openai-chat", "OPERATOROS_DRAFTS": "1" if stream else "0"})
    svc = build_services(settings)
    controller = svc.controller
    with svc.engine.begin() as conn:
        conn.execute(sa.update(AgentPool).values(desired_size=0, min_size=0))
        conn.execute(sa.update(AgentPool).where(AgentPool.name == "general").values(
            max_size=max(size, 32), desired_size=size))
    queue = controller.queue
    for i in range(tasks):
        text = f"Summarise item {i} in one line"
        queue.submit("general", text, safety=routing.decide(text, "general").to_json())
    # A server that has been up has its provider chain (and the openai SDK) loaded: so has the floor.
    chain = controller.executor.chain()  # type: ignore[attr-defined]
    memory, cpu = rss(), time.process_time()
    start_at = datetime.now(UTC)
    start = time.perf_counter()
    controller.start_pools()
    finished = sa.select(sa.func.count()).select_from(Task).where(Task.status.in_(["succeeded", "failed"]))
    # A read-only connection (as the status reads are): its transactions take no write lock from the agents.
    with read_only(svc.engine) as conn:
        while conn.execute(finished).scalar_one() < tasks:
            conn.commit()
            if time.perf_counter() - start > MAX_RUN_SECONDS:
                raise RuntimeError(f"size {size}: not drained after {MAX_RUN_SECONDS:g} s")
            time.sleep(0.02)
    elapsed = time.perf_counter() - start
    cpu_used, memory_used = time.process_time() - cpu, rss() - memory
    controller.stop_pools()
    chain.close()
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(Task.status, Task.finished_at)).all()
    svc.engine.dispose()
    failed = [status for status, _ in rows if status != "succeeded"]
    assert not failed, f"{len(failed)} tasks did not succeed"
    latencies = [(_aware(finished_at) - start_at).total_seconds() for _, finished_at in rows]
    return Figures(tasks, elapsed, latencies, cpu_used, memory_used, size)


def celery(base_url: str, size: int, tasks: int, home: Path, redis_url: str, admin_url: str) -> Figures:
    """The general pool on the Celery backend: one worker node of `size` processes draining `tasks`."""
    from celery_overhead import cpu_seconds, postgres_database, redis_cleanup

    import database
    from backends.celery_queue import NAMESPACE_ENV, CeleryBackend, CeleryConfig, worker_command
    from domains import routing
    from models import AgentPool, Task
    from task_processor import TaskQueue

    stamp = f"{size}-{time.monotonic_ns()}"
    namespace = f"bench-scaling-{stamp}"
    with postgres_database(admin_url) as url:
        engine = database.make_engine(url)
        database.ensure_schema(engine)
        with engine.begin() as conn:
            conn.execute(sa.update(AgentPool).values(desired_size=0, min_size=0))
            conn.execute(sa.update(AgentPool).where(AgentPool.name == "general").values(
                max_size=max(size, 32), desired_size=size))
        config = CeleryConfig(redis_url, namespace)
        backend = CeleryBackend(config)
        queue = TaskQueue(engine, backend)
        node = f"general-scaling@{stamp}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "REDIS_URL": redis_url,
               "TASK_BACKEND": "celery", "OPERATOROS_HOME": str(home), NAMESPACE_ENV: namespace,
               "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "bench-key", "OPERATOROS_PROVIDER": "openai-chat",
               "OPERATOROS_DRAFTS": "0"}
        env.pop("CELERY_BROKER_URL", None)
        log = open(home / f"celery-{stamp}.log", "wb")  # noqa: SIM115 (closed in finally)
        proc = subprocess.Popen(worker_command(config, node, [config.queue("general")], concurrency=size),
                                env=env, cwd=str(ROOT), stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 180
            while not backend.app.control.ping(destination=[node], timeout=1.0):
                assert proc.poll() is None and time.monotonic() < deadline, "the Celery node did not start"
            # Warm every process (SDK imported, connections open) before the clock, as the local side is.
            warm = [queue.submit("general", f"warm {i}", safety=routing.decide("warm", "general").to_json())["id"]
                    for i in range(size * 2)]
            unfinished = sa.select(sa.func.count()).select_from(Task).where(Task.status.in_(["queued", "running"]))
            with engine.connect() as conn:
                while conn.execute(unfinished).scalar_one():
                    conn.commit()
                    time.sleep(0.05)
            pids = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
            memory = sum(psutil.Process(p).memory_info().rss for p in pids)
            cpu, own = cpu_seconds(pids), time.process_time()
            start_at = datetime.now(UTC)
            start = time.perf_counter()
            for i in range(tasks):
                text = f"Summarise item {i} in one line"
                queue.submit("general", text, safety=routing.decide(text, "general").to_json())
            with engine.connect() as conn:
                while conn.execute(unfinished).scalar_one():
                    conn.commit()
                    time.sleep(0.02)
            elapsed = time.perf_counter() - start
            used = cpu_seconds(pids) - cpu + time.process_time() - own
            memory = sum(psutil.Process(p).memory_info().rss for p in pids)
            with engine.connect() as conn:
                rows = conn.execute(sa.select(Task.status, Task.finished_at).where(Task.id.notin_(warm))).all()
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            engine.dispose()
            redis_cleanup(redis_url, namespace)
    failed = [status for status, _ in rows if status != "succeeded"]
    assert not failed, f"{len(failed)} Celery tasks did not succeed"
    latencies = [(_aware(finished_at) - start_at).total_seconds() for _, finished_at in rows]
    # RSS here is the whole node's (its processes each load OperatorOS and the SDK), not a growth.
    return Figures(tasks, elapsed, latencies, used, memory, size)


def main() -> None:
    """Print, per latency, mode and size, both sides' figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,8,32,64,128")
    parser.add_argument("--latencies", default="0.2,2")
    parser.add_argument("--modes", default="plain,stream")
    parser.add_argument("--tasks-per-agent", default="0.2:8,2:2",
                        help="latency:tasks per agent (and at least 8 s of model time per run)")
    parser.add_argument("--celery", default="", help="sizes for the Celery backend, e.g. 32,64 (plain mode)")
    parser.add_argument("--redis-url", default=os.environ.get("OPERATOROS_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--postgres-admin-url", default=os.environ.get(
        "OPERATOROS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    per_agent = {float(k): int(v) for k, v in (p.split(":") for p in args.tasks_per_agent.split(","))}
    sizes = [int(s) for s in args.sizes.split(",")]
    celery_sizes = [int(s) for s in args.celery.split(",") if s]
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    print("columns: tasks/s, p95 s from the drain's start to a result, CPU ms per task, RSS KiB per agent")
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for latency in (float(v) for v in args.latencies.split(",")):
            server = ModelServer(latency)
            try:
                for mode in args.modes.split(","):
                    stream = mode == "stream"
                    print(f"\nmodel latency {latency * 1000:.0f} ms, {mode}")
                    print(f"{'size':>4} {'tasks':>5} | {'floor':^33} | {'OperatorOS local':^33} | ratio")
                    for size in sizes:
                        tasks = max(math.ceil(8 / latency), size * per_agent.get(latency, 4))
                        bare = floor(server.base_url, size, tasks, stream)
                        ours = operatoros(server.base_url, size, tasks, stream, Path(tmp))
                        ratio = ours.rate / bare.rate
                        print(f"{size:>4} {tasks:>5} | {bare.row()} | {ours.row()} | {ratio:.2f}", flush=True)
                        records.append({"latency": latency, "mode": mode, "size": size, "tasks": tasks,
                                        "floor": bare.rate, "ours": ours.rate, "ratio": ratio,
                                        "floor_p95": bare.p95, "ours_p95": ours.p95})
                    for size in celery_sizes if not stream else []:
                        tasks = max(math.ceil(8 / latency), size * per_agent.get(latency, 4))
                        bare = floor(server.base_url, size, tasks, stream)
                        ours = celery(server.base_url, size, tasks, Path(tmp), args.redis_url,
                                      args.postgres_admin_url)
                        ratio = ours.rate / bare.rate
                        print(f"{size:>4} {tasks:>5} | {bare.row()} | {ours.row()} | {ratio:.2f}  (Celery; RSS: "
                              "the node's per process)", flush=True)
                        records.append({"latency": latency, "mode": mode, "size": size, "tasks": tasks,
                                        "backend": "celery", "floor": bare.rate, "ours": ours.rate,
                                        "ratio": ratio})
            finally:
                server.close()
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    local = [r["ratio"] for r in records if r.get("backend") != "celery"]
    print(f"lowest local ratio {min(local):.2f} (target >= 0.9): {'met' if min(local) >= 0.9 else 'NOT met'}")
    if args.json:
        print(json.dumps(records))


if __name__ == "__main__":
    main()
