"""Database management: backup and restore under load, retention by policy in short batches, db status."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import SCHEMA_REVISION, current_revision, ensure_schema, make_engine
from errors import BadRequest, Conflict
from models import (
    Agent,
    AgentStatus,
    AuditLog,
    ConversationSession,
    DailyTotal,
    Message,
    ProviderCall,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from storage.backup import backup, restore
from storage.retention import (
    RetentionLoop,
    RetentionPolicy,
    apply_policy,
    delete_user_data,
    purge_older_than,
)
from storage.stats import database_status, status_summary
from task_processor import TaskQueue
from tests.conftest import TEST_API_KEY, bearer, new_user, run_cli, say

LOCK_LIMIT_MS = 100.0
"""The longest a purge's write transaction may hold SQLite's writer lock (issue #23)."""
MOST_STALLED_BATCHES = 2
"""Batches that may run past the limit when the machine stalled them (one batch of 20,000-row purge held 839 ms
once, beside a loaded test run, where the rest held 5-10 ms: a lost time slice or a busy disk). A batch too big
for the limit shows in most batches, not in one or two."""


def _assert_holds_short(holds_ms: list[float]) -> None:
    """Nearly every batch holds the lock under the limit; at most a stalled one or two do not."""
    ordered = sorted(holds_ms)
    assert ordered[int(0.95 * (len(ordered) - 1))] < LOCK_LIMIT_MS, ordered[-10:]
    over = [hold for hold in ordered if hold >= LOCK_LIMIT_MS]
    assert len(over) <= max(MOST_STALLED_BATCHES, len(ordered) // 100), over


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, SQLite then PostgreSQL."""
    eng = make_engine(database_url)
    ensure_schema(eng)
    yield eng
    eng.dispose()


# -- backup and restore ----------------------------------------------------------------------


def test_backup_under_write_load_then_restore_serves_its_tasks(engine: Engine, tmp_path: Path) -> None:
    queue = TaskQueue(engine)
    first = [queue.submit("general", f"before {i}")["id"] for i in range(20)]
    stop, written = threading.Event(), []

    def write() -> None:
        while not stop.is_set():
            written.append(queue.submit("general", "during the backup")["id"])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20:  # the backup starts while tasks are being written
            stop.wait(0.01)
        result = backup(engine, tmp_path / "copy.bak")
    finally:
        stop.set()
        writer.join()
    assert result.path.is_file() and result.size_bytes > 0
    after = queue.submit("general", "after the backup")["id"]

    restore(engine, result.path)
    ensure_schema(engine)
    assert current_revision(engine) == SCHEMA_REVISION
    with engine.connect() as conn:
        ids = sorted(conn.execute(sa.select(Task.id)).scalars())
        backups = conn.execute(sa.select(sa.func.count()).select_from(AuditLog)
                               .where(AuditLog.action == "db.restore")).scalar()
    # A consistent copy: every task written before it, a gapless prefix of those written during it, none after.
    assert set(first) <= set(ids) and after not in ids
    assert ids == list(range(ids[0], ids[-1] + 1)) and len(ids) >= 40
    assert backups == 1
    restored = TaskQueue(make_engine(engine.url.render_as_string(hide_password=False)))
    assert restored.get(first[0])["input"] == "before 0"
    claim = restored.claim("general", "agent-1")
    assert claim is not None and claim.task_id == first[0]
    assert restored.complete(claim, {"answer": "served after the restore"})
    assert restored.get(first[0])["status"] == "succeeded"
    restored.engine.dispose()


def test_restore_is_refused_while_a_server_runs(engine: Engine, tmp_path: Path) -> None:
    made = backup(engine, tmp_path / "copy.bak")
    with engine.begin() as conn:
        conn.execute(sa.insert(Agent.__table__).values(id="a1", pool="general", process="host:123",
                                                      status=AgentStatus.IDLE, heartbeat_at=utcnow(),
                                                      started_at=utcnow()))
    with pytest.raises(Conflict, match="server is running"):
        restore(engine, made.path)
    with pytest.raises(Conflict, match="exists already"):
        backup(engine, made.path)


def test_restore_refuses_what_is_not_a_backup(sqlite_url: str, tmp_path: Path) -> None:
    eng = make_engine(sqlite_url)
    ensure_schema(eng)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    with pytest.raises(BadRequest):
        restore(eng, junk)
    with pytest.raises(BadRequest, match="No backup file"):
        restore(eng, tmp_path / "missing.db")


def test_cli_backup_status_and_confirmed_restore(cli_env: dict[str, str], home: Path) -> None:
    assert run_cli("db", "backup", env=cli_env).returncode == 0
    made = list((home / "backups").iterdir())
    assert len(made) == 1
    declined = run_cli("db", "restore", str(made[0]), env=cli_env, input="n\n")
    assert declined.returncode != 0 and "Continue?" in declined.stderr and "Restored" not in declined.stdout
    done = run_cli("db", "restore", str(made[0]), "--yes", env=cli_env)
    assert done.returncode == 0, done.stderr
    missing = run_cli("db", "restore", str(home / "none.db"), "--yes", env=cli_env)
    assert missing.returncode == 1 and "No backup file" in missing.stderr and "Traceback" not in missing.stderr
    status = run_cli("db", "status", env=cli_env)
    assert status.returncode == 0 and f"revision {SCHEMA_REVISION}" in status.stdout
    # The backup's own audit row was written after its copy: the restored database tells of the restore.
    assert "Last restore: 20" in status.stdout and str(made[0]) in status.stdout and "tasks" in status.stdout
    assert run_cli("db", "backup", env=cli_env).returncode == 0
    assert "Last backup: 20" in run_cli("db", "status", env=cli_env).stdout


def test_rest_backup_is_for_admins(client: Any, auth: dict[str, str], home: Path) -> None:
    made = client.post("/api/admin/backups", headers=auth)
    assert made.status_code == 201, made.json
    assert Path(made.json["path"]).is_file() and Path(made.json["path"]).parent == home / "backups"
    key = client.post("/api/users", json={"name": "ann", "role": "user"}, headers=auth).json["api_key"]
    refused = client.post("/api/admin/backups", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403
    bad = client.post("/api/admin/purge", json={"older_than_days": 0}, headers=auth)
    assert bad.status_code == 400
    purged = client.post("/api/admin/purge", json={"older_than_days": 30, "kinds": ["audit"]}, headers=auth)
    assert purged.status_code == 200 and purged.json["deleted"]["audit"] == 0
    mine = client.delete("/api/me/data", headers={"Authorization": f"Bearer {key}"})
    assert mine.status_code == 200
    assert TEST_API_KEY


# -- retention -------------------------------------------------------------------------------


def _history(engine: Engine, days_old: list[int], user_id: int | None = None, session_id: str | None = None) -> None:
    """One finished task per entry, `days_old` days ago, each with a message and a provider call."""
    now = utcnow()
    tasks = []
    for offset, days in enumerate(days_old):
        at = now - timedelta(days=days)
        tasks.append(dict(pool="general", input="x", status=TaskStatus.FAILED if offset % 5 == 0
                          else TaskStatus.SUCCEEDED, priority=0, attempts=1, max_attempts=3, timeout_seconds=60.0,
                          run_after=at, cancel_requested=False, user_id=user_id, session_id=session_id,
                          tokens_in=10, tokens_out=5, created_at=at, started_at=at - timedelta(seconds=2),
                          finished_at=at, result={"ok": True}))
    with engine.begin() as conn:
        ids = conn.execute(sa.insert(Task.__table__).returning(Task.id, sort_by_parameter_order=True), tasks).scalars()
        made = list(zip(ids, [now - timedelta(days=days) for days in days_old], strict=True))  # each task's time
    messages, calls = [], []
    for task_id, at in made:
        if session_id:
            messages.append(dict(session_id=session_id, role="user", content="hi", task_id=task_id, created_at=at))
        calls.append(dict(provider="openai", model="m", user_id=user_id, task_id=task_id, tokens_in=10,
                          tokens_out=5, latency_ms=100.0, outcome="ok", cost_usd=0.01, created_at=at))
    with engine.begin() as conn:
        if messages:
            conn.execute(sa.insert(Message.__table__), messages)
        conn.execute(sa.insert(ProviderCall.__table__), calls)


def _user(engine: Engine, name: str) -> tuple[int, str]:
    with engine.begin() as conn:
        user_id = conn.execute(sa.insert(User.__table__).values(name=name, role="user", tokens_used=0,
                                                              cost_used_usd=0.0, created_at=utcnow())
                               .returning(User.id)).scalar_one()
        session_id = f"s-{name}"
        conn.execute(sa.insert(ConversationSession.__table__).values(id=session_id, user_id=user_id, context={},
                                                                    created_at=utcnow(), updated_at=utcnow()))
    return user_id, session_id


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(model)).scalar() or 0)


def test_retention_deletes_what_the_policy_says_in_short_batches(engine: Engine) -> None:
    user_id, session_id = _user(engine, "ann")
    old, kept = 3000, 500
    _history(engine, [200] * old + [10] * kept, user_id, session_id)
    queue = TaskQueue(engine)
    queued = queue.submit("general", "still to do")["id"]  # never finished: never purged
    with engine.begin() as conn:
        conn.execute(sa.update(Task.__table__).where(Task.id == queued)
                     .values(created_at=utcnow() - timedelta(days=400)))
    policy = RetentionPolicy(days={"tasks": 90, "messages": 180, "provider_calls": 30, "audit": None},
                             batch_size=250)

    report = apply_policy(engine, policy)

    assert report.deleted["tasks"] == old and report.deleted["messages"] == old
    assert report.deleted["provider_calls"] == old
    assert _count(engine, Task) == kept + 1 and _count(engine, ProviderCall) == kept
    assert _count(engine, Message) == kept
    assert report.batches >= 3 * old // 250
    assert report.longest_hold_ms == max(report.holds_ms)
    _assert_holds_short(report.holds_ms)
    with engine.connect() as conn:
        totals = {(t.kind, t.name): t for t in conn.execute(sa.select(DailyTotal))}
        audit = conn.execute(sa.select(AuditLog).where(AuditLog.action == "db.purge")).all()
    assert totals[("tasks", "general")].rows == old and totals[("tasks", "general")].failed == old // 5
    assert totals[("tasks", "general")].latency_ms == pytest.approx(old * 2000.0)
    assert totals[("provider_calls", "openai")].rows == old
    assert totals[("provider_calls", "openai")].cost_usd == pytest.approx(old * 0.01)
    assert len(audit) == 1 and audit[0].details["deleted"]["tasks"] == old
    assert apply_policy(engine, policy).deleted["tasks"] == 0  # nothing left to purge: no second audit row
    assert database_status(engine)["last_purge"]["target"] == "retention policy"


def test_purge_lock_hold_stays_short_beside_a_writer(sqlite_url: str) -> None:
    eng = make_engine(sqlite_url)
    ensure_schema(eng)
    _history(eng, [400] * 20_000)
    queue, stop = TaskQueue(eng), threading.Event()

    def write() -> None:
        while not stop.is_set():
            queue.submit("general", "new work")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        report = purge_older_than(eng, 365, ["tasks", "provider_calls"])
    finally:
        stop.set()
        writer.join()
    assert report.deleted["tasks"] == 20_000 and report.deleted["provider_calls"] == 20_000
    _assert_holds_short(report.holds_ms)


def test_a_users_data_goes_on_request_and_nobody_elses(engine: Engine) -> None:
    ann, ann_session = _user(engine, "ann")
    bob, bob_session = _user(engine, "bob")
    _history(engine, [1] * 30, ann, ann_session)
    _history(engine, [1] * 10, bob, bob_session)
    running = TaskQueue(engine).submit("general", "ann's running work", user_id=ann)["id"]
    with engine.begin() as conn:
        conn.execute(sa.update(Task.__table__).where(Task.id == running).values(status=TaskStatus.RUNNING))

    report = delete_user_data(engine, ann, actor="ann", actor_user_id=ann, batch_size=7)

    assert report.deleted == {"tasks": 30, "messages": 30, "provider_calls": 0, "audit": 0, "sessions": 1}
    with engine.connect() as conn:
        left = conn.execute(sa.select(Task.user_id, sa.func.count()).group_by(Task.user_id)).all()
        sessions = set(conn.execute(sa.select(ConversationSession.id)).scalars())
    assert dict(left) == {ann: 1, bob: 10} and sessions == {bob_session}
    assert _count(engine, Message) == 10


def test_the_retention_loop_of_serve_and_worker_purges_in_the_background(engine: Engine) -> None:
    _history(engine, [200] * 40 + [5] * 10)
    loop = RetentionLoop(engine, RetentionPolicy(), interval=3600, first_delay=0.01)
    loop.start()
    try:
        for _ in range(200):  # the first round runs after first_delay, in the loop's thread
            if _count(engine, Task) == 10:
                break
            threading.Event().wait(0.05)
    finally:
        loop.stop()
    assert _count(engine, Task) == 10 and _count(engine, ProviderCall) == 10
    assert status_summary(engine)["last_purge"]["target"] == "retention policy"


def test_cli_purge_and_forget_user_ask_first_and_say_what_went(cli_env: dict[str, str]) -> None:
    eng = make_engine(cli_env["DATABASE_URL"])
    ensure_schema(eng)
    ann, ann_session = _user(eng, "ann")
    _history(eng, [100] * 6 + [1] * 4)
    _history(eng, [1] * 3, ann, ann_session)
    declined = run_cli("db", "purge", "--older-than", "30", env=cli_env, input="n\n")
    assert declined.returncode != 0 and _count(eng, Task) == 13
    purged = run_cli("db", "purge", "--older-than", "30", "--kind", "tasks", "--yes", env=cli_env)
    assert purged.returncode == 0 and "6 tasks" in purged.stdout, purged.stdout + purged.stderr
    assert _count(eng, Task) == 7 and _count(eng, ProviderCall) == 13  # only the kind asked for
    nobody = run_cli("db", "forget-user", "zed", "--yes", env=cli_env)
    assert nobody.returncode == 1 and "no user named" in nobody.stderr and "Traceback" not in nobody.stderr
    forgot = run_cli("db", "forget-user", "ann", "--yes", env=cli_env)
    assert forgot.returncode == 0, forgot.stderr
    with eng.connect() as conn:
        sessions = set(conn.execute(sa.select(ConversationSession.id)).scalars())
    assert _count(eng, Task) == 4 and _count(eng, Message) == 0 and ann_session not in sessions
    eng.dispose()


def test_policy_from_the_environment() -> None:
    policy = RetentionPolicy.from_env({"OPERATOROS_RETENTION_TASKS_DAYS": "30",
                                       "OPERATOROS_RETENTION_AUDIT_DAYS": "0"})
    assert policy.days == {"tasks": 30, "messages": 180, "provider_calls": 90, "audit": None}
    with pytest.raises(BadRequest, match="whole number"):
        RetentionPolicy.from_env({"OPERATOROS_RETENTION_MESSAGES_DAYS": "soon"})
    with pytest.raises(BadRequest, match="Unknown kind"):
        purge_older_than(sa.create_engine("sqlite://"), 10, ["everything"])


# -- the status reply's storage figures ------------------------------------------------------


def test_status_summary_reads_the_history_through_keys(engine: Engine, tmp_path: Path) -> None:
    user_id, session_id = _user(engine, "ann")
    _history(engine, [300, 300, 200, 120, 10], user_id, session_id)
    assert status_summary(engine)["last_backup"] is None
    made = backup(engine, tmp_path / "copy.bak")
    purge_older_than(engine, 250, ["tasks", "provider_calls"])  # the oldest go first, as retention deletes

    summary = status_summary(engine)

    tables = summary["tables"]
    assert set(tables) == {"tasks", "messages", "provider_calls", "audit_log"}
    for name, model in (("tasks", Task), ("messages", Message), ("provider_calls", ProviderCall),
                        ("audit_log", AuditLog)):
        assert tables[name]["rows"] == _count(engine, model) and tables[name]["estimated"], name
    assert tables["tasks"]["rows"] == 3 and tables["messages"]["rows"] == 5
    assert tables["tasks"]["oldest"][:10] == (utcnow() - timedelta(days=200)).date().isoformat()
    assert summary["last_backup"]["target"] == str(made.path)
    assert summary["last_purge"]["details"]["deleted"]["tasks"] == 2
    assert summary["revision"] == SCHEMA_REVISION and summary["revision_current"]
    assert 0 < summary["size_bytes"]


def test_status_shows_storage_to_admins_only(client: Any, auth: dict[str, str]) -> None:
    admin = client.get("/api/status", headers=auth)
    assert admin.status_code == 200
    assert admin.json["storage"]["revision"] == SCHEMA_REVISION and "tasks" in admin.json["storage"]["tables"]
    key = new_user(client, "ann")
    plain = client.get("/api/status", headers=bearer(key))
    assert plain.status_code == 200 and "storage" not in plain.json and "system" not in plain.json
    assert "Storage:" in say(client, TEST_API_KEY, "Show me the system status")["response"]
    reply = say(client, key, "Show me the system status")
    assert "storage" not in reply["data"] and "Storage:" not in reply["response"]
    assert "Last backup" not in reply["response"] and reply["response"].startswith("OperatorOS is up")


def test_cli_status_tells_admins_of_backups(cli_env: dict[str, str]) -> None:
    assert "Last backup: never" in run_cli("Show me the system status", env=cli_env).stdout
    assert run_cli("db", "backup", env=cli_env).returncode == 0
    text = run_cli("Show me the system status", env=cli_env)
    assert text.returncode == 0 and "Last backup: 20" in text.stdout
    assert f"revision {SCHEMA_REVISION}" in text.stdout and "provider calls" in text.stdout
    data = run_cli("--json", "Show me the system status", env=cli_env)
    storage = json.loads(data.stdout)["data"]["storage"]
    assert storage["last_backup"]["at"].startswith("20") and storage["revision"] == SCHEMA_REVISION
    assert storage["tables"]["messages"]["rows"] >= 2  # the two status requests before this one
