"""p95 of the hot reads at 10,000 and at 1,000,000 finished tasks, on SQLite and PostgreSQL, side by side.

Run:  .venv/bin/python bench/history_growth.py [--small 10000] [--large 1000000] [--runs 100] [--cli-runs 10]
      [--databases sqlite,postgres]

A database is filled with `small` finished tasks (a message and a provider call each, and an audit
row for every tenth, spread over 10 users and 100 sessions, a year's spacing at the large size), plus
500 tasks finished in the last minutes so that the pools' metrics have a window to read; a second
database is filled the same way to `large` older tasks. The reads are then timed on both, each small
call followed by a large one (and the next pair the other way round), so that the load of a shared
machine falls on both sides alike: one side measured after the other on this shared machine gave
ratios of 3-5 even for a lookup by key. Fills run in the database itself (a recursive CTE on
SQLite, generate_series on PostgreSQL) so a million rows take seconds. Reads timed, each through the
code that serves it: claim (of a queued task among `runs`; submitting and completing them untimed),
a user's task list with status and pool filters, show task N, pool metrics, a session's history,
/api/status (the controller's status, which the route returns), and `main.py "Show me the system
status"` as a process. Target: p95 large/small <= 1.5 each; the medians are printed too, as a
check on a p95 that a few stalls of the shared machine decided. PostgreSQL is ANALYZEd after each fill, as
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
USERS, RECENT = 10, 500
SESSIONS = 100
"""Few enough that the session read returns a full page (conversation_manager.HISTORY_LIMIT) at both sizes:
its cost is that page's rows, so with 1,000 sessions it compared 10 messages at 10,000 tasks with 50 at 1M."""
AUDIT_EVERY = 10
"""One audit row (an admin's pool change) per this many tasks: the status reads the newest backup and purge."""
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
            conn.execute(sa.text("INSERT INTO audit_log (actor, action, target, created_at) "
                                 "SELECT 'admin', 'pool.scale', pool, created_at FROM tasks "
                                 "WHERE id > :f AND id % :every = 0"), {"f": first, "every": AUDIT_EVERY})
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))


def percentile(samples: list[float], share: float) -> float:
    """The `share` percentile (0.95: p95), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] * 1000


def timed_pair(calls: tuple[Callable[[], Any], Callable[[], Any]], runs: int) -> tuple[list[float], list[float]]:
    """Times of `runs` calls of each (after one warm-up), interleaved so that the machine's load falls on both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for call in calls:
        call()
    for n in range(runs):
        for side in ((0, 1) if n % 2 == 0 else (1, 0)):
            started = time.perf_counter()
            calls[side]()
            samples[side].append(time.perf_counter() - started)
    return samples


def reads(svc: Any, env: dict[str, str], runs: int, claimed: list[Any]) -> dict[str, Callable[[], Any]]:
    """Each hot read against one database, as a call; `runs` + 1 tasks are queued for the claims."""
    from values import Caller

    controller, conversations = svc.controller, svc.conversations
    queue = controller.queue
    with svc.engine.connect() as conn:
        top = conn.execute(sa.text("SELECT MAX(id) FROM tasks")).scalar()
    caller = Caller(user_id=2, name="user1", is_admin=False)
    rng = random.Random(7)
    for _ in range(runs + 1):  # one queued task for each timed claim (and the warm-up); submitting is not timed
        queue.submit("general", "fresh work")
    cli = [sys.executable, str(ROOT / "main.py"), "Show me the system status"]
    return {
        "claim": lambda: claimed.append(queue.claim("general", "bench-agent")),
        "task list (user, status, pool)": lambda: controller.list_tasks(caller, status="succeeded", pool="general"),
        "show task N": lambda: queue.get(rng.randint(1, top)),
        "pool metrics": lambda: controller.pool_status(),
        "session history": lambda: conversations.history(caller, "s1"),
        "/api/status": lambda: controller.status(),
        "main.py status": lambda: subprocess.run(cli, env=env, cwd=ROOT, check=True,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    }


def measure(small: tuple[Any, dict[str, str]], large: tuple[Any, dict[str, str]], runs: int,
            cli_runs: int) -> dict[str, dict[str, float]]:
    """The p95 and median of each hot read on the small and the large database, their calls interleaved."""
    results: dict[str, dict[str, float]] = {"small": {}, "large": {}, "small median": {}, "large median": {}}
    claimed: tuple[list[Any], list[Any]] = ([], [])
    pair = reads(*small, runs, claimed[0]), reads(*large, runs, claimed[1])
    for name in pair[0]:
        count = cli_runs if name == "main.py status" else runs
        for side, samples in zip(("small", "large"), timed_pair((pair[0][name], pair[1][name]), count), strict=True):
            results[side][name] = percentile(samples, 0.95)
            results[f"{side} median"][name] = percentile(samples, 0.5)
    for (svc, _), held in zip((small, large), claimed, strict=True):
        if None in held:
            raise SystemExit("a timed claim found no queued task: the claim figure would time an empty queue")
        for claim in held:  # the claimed tasks finish, as an agent's would
            svc.controller.queue.complete(claim, {"response": "ok"})
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


def build(kind: str, home: str, tasks: int, large: int, created: list[str]) -> tuple[Any, dict[str, str]]:
    """A database of `tasks` finished tasks (spaced as at the `large` size) and the recent ones; its services."""
    os.makedirs(home)
    if kind == "sqlite":
        url = f"sqlite:///{home}/bench.db"
    else:
        name = f"oos_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    svc, env = prepare(url, home)
    spacing = YEAR_SECONDS / large
    started = time.perf_counter()
    fill(svc.engine, 0, RECENT, "(i * 0.4 + 5)")  # the last few minutes: the pools' metrics window
    fill(svc.engine, RECENT, RECENT + tasks, f"(3600 + (i - {RECENT}) * {spacing})")
    print(f"{kind}: {tasks:,} tasks filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return svc, env


def run(kind: str, small: int, large: int, runs: int, cli_runs: int) -> dict[str, dict[str, float]]:
    """Fill a database of each size, then measure both, their reads interleaved."""
    created: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        try:
            pair = (build(kind, f"{home}/small", small, large, created),
                    build(kind, f"{home}/large", large, large, created))
            results = measure(*pair, runs, cli_runs)
            for svc, _ in pair:
                svc.engine.dispose()
        finally:
            if created:
                admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    for name in created:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    return results


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
    # The median beside the p95: with a hundred samples, a few of the shared machine's stalls decide a p95.
    for label, suffix in (("p95 ms", ""), ("median ms", " median")):
        print(f"{label:<32}" + "".join(f"{k + ' ' + s:>16}" for k in kinds for s in
                                        (f"{args.small // 1000}k", f"{args.large // 1000}k", "ratio")))
        for read in results[kinds[0]]["small"]:
            cells = []
            for kind in kinds:
                small, large = results[kind]["small" + suffix][read], results[kind]["large" + suffix][read]
                cells += [f"{small:16.2f}", f"{large:16.2f}", f"{large / small:16.2f}"]
            print(f"{read:<32}" + "".join(cells))


if __name__ == "__main__":
    main()
