"""p95 of the hot reads at 10,000 and at 1,000,000 finished tasks, on SQLite and PostgreSQL, side by side.

Run:  .venv/bin/python bench/history_growth.py [--small 10000] [--large 1000000] [--runs 100] [--cli-runs 10]
      [--databases sqlite,postgres]

Each database is filled with `small` finished tasks (a message and a provider call each, spread over
10 users and 1,000 sessions, a year's spacing at the large size), plus 500 tasks finished in the
last minutes so that the pools' metrics have a window to read; the reads are timed; history grows to
`large` older tasks and they are timed again. Fills run in the database itself (a recursive CTE on
SQLite, generate_series on PostgreSQL) so a million rows take seconds. Reads timed, each through the
code that serves it: claim (of a queued task among `runs`; submitting and completing them untimed),
a user's task list with status and pool filters, show task N, pool metrics, a session's history,
/api/status (the controller's status, which the route returns), and `main.py "Show me the system
status"` as a process. Target: large/small <= 1.5 each. PostgreSQL is ANALYZEd after each fill, as
autovacuum would soon do; SQLite is left as it is in use.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

PG_ADMIN_URL = os.environ.get("OPERATOROS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
USERS, SESSIONS, RECENT = 10, 1000, 500
YEAR_SECONDS = 365 * 24 * 3600
POOLS_CASE = ("CASE {i} % 5 WHEN 0 THEN 'healthcare' WHEN 1 THEN 'financial' WHEN 2 THEN 'sports' "
              "WHEN 3 THEN 'business' ELSE 'general' END")
COLUMNS = ("pool, input, status, priority, attempts, max_attempts, timeout_seconds, run_after, cancel_requested, "
           "user_id, session_id, result, provider, tokens_in, tokens_out, created_at, started_at, finished_at")


def _select(dialect: str, age: str) -> str:
    """The SELECT list of one generated task `i` finished `age` seconds ago."""
    pool = POOLS_CASE.format(i="i")
    if dialect == "sqlite":
        ts = f"strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || CAST({age} AS INTEGER) || ' seconds')"
        user, session = f"1 + (i / 5) % {USERS}", f"'s' || (i % {SESSIONS})"
        false = "0"
    else:
        ts = f"(timezone('utc', now()) - make_interval(secs => {age}))"
        user, session = f"1 + (i / 5) % {USERS}", f"'s' || (i % {SESSIONS})"
        false = "false"
    status = "CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END"
    result = """'{"response": "done", "data": {}}'"""
    return (f"SELECT {pool}, 'bench task ' || i, {status}, 0, 1, 3, 120.0, {ts}, {false}, {user}, {session}, "
            f"{result}, 'local', 100, 50, {ts}, {ts}, {ts}")


def fill(engine: sa.Engine, lo: int, hi: int, age_of: str) -> None:
    """Insert tasks lo..hi-1 (with a message and a provider call each) in chunks, inside the database."""
    dialect = engine.dialect.name
    chunk = 100_000
    for start in range(lo, hi, chunk):
        end = min(hi, start + chunk) - 1
        if dialect == "sqlite":
            source = f"WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i < {end}) "
            insert = f"{source}INSERT INTO tasks ({COLUMNS}) {_select(dialect, age_of)} FROM n"
        else:
            insert = f"INSERT INTO tasks ({COLUMNS}) {_select(dialect, age_of)} FROM generate_series({start}, {end}) i"
        with engine.begin() as conn:
            first = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM tasks")).scalar()
            conn.execute(sa.text(insert))
            conn.execute(sa.text("INSERT INTO messages (session_id, role, content, intent, task_id, created_at) "
                                 "SELECT session_id, 'user', input, 'submit', id, created_at FROM tasks WHERE id > :f"),
                         {"f": first})
            conn.execute(sa.text("INSERT INTO provider_calls (provider, model, user_id, task_id, tokens_in, "
                                 "tokens_out, latency_ms, outcome, cost_usd, created_at) "
                                 "SELECT 'openai', 'gpt-5-mini', user_id, "
                                 "id, 100, 50, 800.0, 'ok', 0.0002, created_at FROM tasks WHERE id > :f"), {"f": first})
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))


def p95(samples: list[float]) -> float:
    """95th percentile, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] * 1000


def timed(call: Callable[[], Any], runs: int) -> float:
    """p95 of `runs` calls (after one warm-up)."""
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return p95(samples)


def measure(svc: Any, env: dict[str, str], runs: int, cli_runs: int) -> dict[str, float]:
    """The p95 of each hot read against the database as it is now."""
    from values import Caller

    controller, conversations = svc.controller, svc.conversations
    queue = controller.queue
    with svc.engine.connect() as conn:
        top = conn.execute(sa.text("SELECT MAX(id) FROM tasks")).scalar()
    caller = Caller(user_id=2, name="user1", is_admin=False)
    rng = random.Random(7)

    for _ in range(runs + 1):  # one queued task for each timed claim (and the warm-up); submitting is not timed
        queue.submit("general", "fresh work")
    claims: list[Any] = []
    reads: dict[str, Callable[[], Any]] = {
        "claim": lambda: claims.append(queue.claim("general", "bench-agent")),
        "task list (user, status, pool)": lambda: controller.list_tasks(caller, status="succeeded", pool="general"),
        "show task N": lambda: queue.get(rng.randint(1, top)),
        "pool metrics": lambda: controller.pool_status(),
        "session history": lambda: conversations.history(caller, "s1"),
        "/api/status": lambda: controller.status(),
    }
    results = {name: timed(call, runs) for name, call in reads.items()}
    for held in claims:  # the claimed tasks finish, as an agent's would
        queue.complete(held, {"response": "ok"})
    cli = [sys.executable, str(ROOT / "main.py"), "Show me the system status"]
    results["main.py status"] = timed(lambda: subprocess.run(cli, env=env, cwd=ROOT, check=True,
                                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                                      cli_runs)
    return results


def prepare(url: str, home: str) -> tuple[Any, dict[str, str]]:
    """Services on a fresh database with the bench's users and sessions."""
    from config import Settings
    from services import build_services

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATOROS_", "OPENAI_", "DATABASE_URL"))}
    env.update(OPERATOROS_HOME=home, DATABASE_URL=url, OPERATOROS_PROVIDER="local")
    svc = build_services(Settings.from_env(env))
    with svc.engine.begin() as conn:
        for n in range(USERS):
            conn.execute(sa.text("INSERT INTO users (name, role, tokens_used, cost_used_usd, created_at) "
                                 "VALUES (:n, 'user', 0, 0, CURRENT_TIMESTAMP)"), {"n": f"user{n}"})
        for s in range(SESSIONS):
            conn.execute(sa.text("INSERT INTO sessions (id, user_id, context, created_at, updated_at) "
                                 "VALUES (:id, :u, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                         {"id": f"s{s}", "u": 1 + s % USERS})
    return svc, env


def run(kind: str, small: int, large: int, runs: int, cli_runs: int) -> dict[str, dict[str, float]]:
    """Fill, measure, grow, measure, on one database."""
    with tempfile.TemporaryDirectory() as home:
        admin = None
        if kind == "sqlite":
            url = f"sqlite:///{home}/bench.db"
        else:
            name = f"oos_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        try:
            svc, env = prepare(url, home)
            spacing = YEAR_SECONDS / large
            started = time.perf_counter()
            fill(svc.engine, 0, RECENT, "(i * 0.4 + 5)")  # the last few minutes: the pools' metrics window
            fill(svc.engine, RECENT, RECENT + small, f"(3600 + (i - {RECENT}) * {spacing})")
            print(f"{kind}: {small:,} tasks filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            before = measure(svc, env, runs, cli_runs)
            started = time.perf_counter()
            fill(svc.engine, RECENT + small, RECENT + large, f"(3600 + (i - {RECENT}) * {spacing})")
            print(f"{kind}: grown to {large:,} tasks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            after = measure(svc, env, runs, cli_runs)
            svc.engine.dispose()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    return {"small": before, "large": after}


def main() -> None:
    """Run on each database and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--cli-runs", type=int, default=10)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    results = {kind: run(kind, args.small, args.large, args.runs, args.cli_runs)
               for kind in args.databases.split(",")}
    kinds = list(results)
    header = f"{'p95 ms':<32}" + "".join(f"{k + ' ' + s:>16}" for k in kinds for s in
                                        (f"{args.small // 1000}k", f"{args.large // 1000}k", "ratio"))
    print(header)
    for read in results[kinds[0]]["small"]:
        cells = []
        for kind in kinds:
            small, large = results[kind]["small"][read], results[kind]["large"][read]
            cells += [f"{small:16.2f}", f"{large:16.2f}", f"{large / small:16.2f}"]
        print(f"{read:<32}" + "".join(cells))


if __name__ == "__main__":
    main()
