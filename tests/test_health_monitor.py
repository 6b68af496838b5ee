"""Health monitoring: alerts from thresholds, snapshots with retention, stuck tasks, Prometheus text."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

import database
import health_monitor
from app import create_app, services
from health_monitor import HealthLoop, Thresholds, evaluate_alerts
from models import HealthSnapshot, utcnow

from . import fixtures

CALM = {"system": {"cpu_percent": 10, "memory_percent": 20, "disk_percent": 30},
        "database": {"ok": True, "latency_ms": 1.0},
        "pools": [{"name": "sports", "failed_agents": 0, "oldest_queued_age_seconds": 1.0, "error_rate": 0.0,
                   "latency_p95_ms": 100.0}],
        "providers": {"local": "closed"}}


def test_a_calm_reading_raises_no_alert() -> None:
    assert evaluate_alerts(CALM) == []


@pytest.mark.parametrize("path, value, check", [
    (("system", "cpu_percent"), 97, "cpu_percent"),
    (("system", "memory_percent"), 91, "memory_percent"),
    (("system", "disk_percent"), 95, "disk_percent"),
    (("database", "latency_ms"), 900.0, "database_latency"),
    (("database", "ok"), False, "database"),
])
def test_each_threshold_raises_its_alert(path: tuple[str, str], value: object, check: str) -> None:
    reading: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in CALM.items()}
    reading[path[0]][path[1]] = value
    assert [a["check"] for a in evaluate_alerts(reading)] == [check]


def test_pool_and_provider_alerts() -> None:
    reading = dict(CALM, pools=[{"name": "sports", "failed_agents": 2, "oldest_queued_age_seconds": 500.0,
                                 "error_rate": 0.5, "latency_p95_ms": 90_000.0}],
                   providers={"openai-chat": "open", "local": "closed"})
    checks = {a["check"] for a in evaluate_alerts(reading, Thresholds())}
    assert checks == {"pool:sports:failed_agents", "pool:sports:backlog", "pool:sports:errors",
                      "pool:sports:latency", "provider:openai-chat"}


def test_snapshots_are_recorded_and_old_ones_pruned(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    database.ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(HealthSnapshot).values(created_at=utcnow() - timedelta(days=30), data={}, alerts=[]))
    health_monitor.record_snapshot(engine, CALM, [], retention_seconds=3600)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(HealthSnapshot.created_at, HealthSnapshot.data)).all()
    assert len(rows) == 1 and rows[0].data["system"]["cpu_percent"] == 10
    engine.dispose()


def test_the_health_loop_requeues_stuck_tasks_and_records(home: Path, sqlite_url: str) -> None:
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "EXECUTOR": fixtures.echo})
    svc = services(app)
    queue = svc.controller.queue
    queue.lease_seconds = 0.05
    task = queue.submit("general", "stuck")
    assert queue.claim("general", "dead-agent") is not None
    time.sleep(0.1)
    loop = HealthLoop(svc.engine, svc.controller.health, svc.controller.sweep_stuck_tasks)
    alerts = loop.tick()
    assert queue.get(task["id"])["status"] == "queued"
    assert isinstance(alerts, list)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(HealthSnapshot)).scalar() == 1
    svc.engine.dispose()


def test_metrics_endpoints(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers=auth)
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert "operatoros_database_up" in families
    assert families["operatoros_database_up"].samples[0].value == 1
    pools = {s.labels["pool"] for s in families["operatoros_pool_desired_size"].samples}
    assert pools == {"healthcare", "financial", "sports", "business", "general"}
    body = client.get("/api/metrics", headers=auth).get_json()
    assert body["database"]["ok"] is True and "alerts" in body and len(body["pools"]) == 5


def test_status_shows_alerts_and_the_provider(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    from models import Agent, AgentStatus

    with services(app).engine.begin() as conn:
        conn.execute(sa.insert(Agent).values(id="dead-agent", pool="sports", process="gone@host",
                                             status=AgentStatus.FAILED))
    body = client.get("/api/status", headers=auth).get_json()
    assert body["provider"]["configured"] == "local"
    failed = [a for a in body["alerts"] if a["check"] == "pool:sports:failed_agents"]
    assert len(failed) == 1 and "restart the sports pool" in failed[0]["message"], body["alerts"]


@pytest.mark.parametrize(("machine", "own", "window", "cores", "expected"), [
    (60.0, 0.5, 1.0, 2, 35.0),    # half a core's second over one second of two cores is 25 points
    (10.0, 0.5, 1.0, 2, 0.0),     # never below 0 (the two windows are read a moment apart)
    (80.0, 0.0, 2.0, 4, 80.0),    # an idle process takes nothing off
    (50.0, 0.3, 0.6, 1, 0.0),
])
def test_the_start_up_sample_leaves_out_this_processes_share(machine: float, own: float, window: float,
                                                             cores: int, expected: float) -> None:
    assert health_monitor.without_own_cpu(machine, own, window, cores) == expected


def test_a_running_cpu_sample_is_kept_and_read_without_sleeping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health_monitor, "_cpu_sample_started", None)
    monkeypatch.setattr(health_monitor, "_own_cpu_at_start", None)
    health_monitor.start_cpu_sample(exclude_self=True)
    started = health_monitor._cpu_sample_started
    assert started is not None and health_monitor._own_cpu_at_start is not None
    health_monitor.start_cpu_sample()  # a later start (the interface's) keeps the longer window
    assert health_monitor._cpu_sample_started == started and health_monitor._own_cpu_at_start is not None
    deadline = time.monotonic() + 0.15
    while time.monotonic() < deadline:  # busy: this process's own CPU over the window
        pass
    reading = health_monitor.system_metrics()
    assert 0.0 <= reading["cpu_percent"] <= 100.0
    # The reading started the next window, which counts this process again (a server's own load is load).
    assert health_monitor._cpu_sample_started > started and health_monitor._own_cpu_at_start is None


def test_an_old_sample_is_restarted_so_a_reading_is_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    long_ago = time.monotonic() - health_monitor.MAX_CPU_SAMPLE_SECONDS - 1
    monkeypatch.setattr(health_monitor, "_cpu_sample_started", long_ago)
    monkeypatch.setattr(health_monitor, "_own_cpu_at_start", None)
    health_monitor.start_cpu_sample()  # a server's last reading, hours ago, is not the CPU use now
    started = health_monitor._cpu_sample_started
    assert started is not None and started > long_ago + health_monitor.MAX_CPU_SAMPLE_SECONDS
