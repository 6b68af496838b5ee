"""Health monitoring: machine metrics (psutil), database reachability and latency."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from values import Caller

logger = logging.getLogger(__name__)

CPU_SAMPLE_SECONDS = 0.05
"""Window over which CPU use is sampled when no earlier reading exists in this process."""

SNAPSHOT_SECONDS = 30.0
"""How often `serve` records a health snapshot and sweeps for stuck tasks."""

SNAPSHOT_RETENTION_SECONDS = 7 * 24 * 3600
"""Snapshots older than this are deleted."""


@dataclass(frozen=True)
class Thresholds:
    """Limits past which a reading raises an alert."""

    cpu_percent: float = 90.0
    memory_percent: float = 90.0
    disk_percent: float = 90.0
    database_latency_ms: float = 500.0
    oldest_queued_seconds: float = 120.0
    """A pool whose oldest queued task waited longer than this is falling behind."""
    error_rate: float = 0.25
    """Share of recent tasks of a pool that failed."""
    latency_p95_ms: float = 60_000.0

_MB = 1024 * 1024

ADMIN_ONLY = ("system", "storage")
"""Keys of a status or health reading that only admins see: host figures, the database's size and history."""


MIN_CPU_SAMPLE_SECONDS = 0.02
"""Shortest window over which a primed CPU reading is trusted."""

MAX_CPU_SAMPLE_SECONDS = 5.0
"""Longest window a running sample may cover and still be read as the CPU use "now" (a server's last
reading may be hours old: a request then starts a fresh sample instead)."""

_cpu_sample_started: float | None = None
_own_cpu_at_start: float | None = None
"""This process's CPU seconds when a start-up sample began (None: the sample counts this process too)."""


def start_cpu_sample(exclude_self: bool = False) -> None:
    """Start a CPU-use sample now, so that system_metrics() later reads it without sleeping.

    A recent sample already running (started earlier, or the one each reading starts) is kept:
    restarting it would only shorten the window the next reading can use; one older than
    MAX_CPU_SAMPLE_SECONDS is restarted. With `exclude_self` (a CLI starting up), the
    reading leaves out this process's own CPU time over the window, so that a one-shot request's imports
    do not show as load of the machine.
    """
    global _cpu_sample_started, _own_cpu_at_start
    if _cpu_sample_started is not None and time.monotonic() - _cpu_sample_started < MAX_CPU_SAMPLE_SECONDS:
        return
    import psutil

    psutil.cpu_percent(interval=None)
    _cpu_sample_started = time.monotonic()
    _own_cpu_at_start = _own_cpu() if exclude_self else None


def without_own_cpu(machine_percent: float, own_seconds: float, window_seconds: float, cores: int) -> float:
    """The machine's CPU use over a window less this process's share of it (never below 0)."""
    own_percent = own_seconds / (window_seconds * cores) * 100
    return round(max(0.0, machine_percent - own_percent), 1)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def system_metrics(disk_path: str = ".") -> dict[str, Any]:
    """CPU, memory, disk and load of this machine, read now with psutil."""
    import psutil

    global _cpu_sample_started, _own_cpu_at_start
    now = time.monotonic()
    primed = _cpu_sample_started is not None and now - _cpu_sample_started >= MIN_CPU_SAMPLE_SECONDS
    # CPU use needs two readings; one started earlier in this request avoids sleeping here.
    cpu = psutil.cpu_percent(interval=None if primed else CPU_SAMPLE_SECONDS)
    cores = psutil.cpu_count() or 1
    if primed and _cpu_sample_started is not None and _own_cpu_at_start is not None:
        cpu = without_own_cpu(cpu, _own_cpu() - _own_cpu_at_start, now - _cpu_sample_started, cores)
    _cpu_sample_started, _own_cpu_at_start = time.monotonic(), None
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(disk_path)
    load1, load5, load15 = os.getloadavg()
    return {
        "cpu_percent": cpu,
        "cpu_count": cores,
        "load_average": [round(load1, 2), round(load5, 2), round(load15, 2)],
        "memory_percent": memory.percent,
        "memory_used_mb": round((memory.total - memory.available) / _MB),
        "memory_total_mb": round(memory.total / _MB),
        "disk_percent": disk.percent,
        "disk_free_gb": round(disk.free / 1024 / _MB, 1),
        "process_rss_mb": round(psutil.Process().memory_info().rss / _MB, 1),
    }


def database_check(engine: Engine) -> dict[str, Any]:
    """Whether the database answers a trivial query, and how fast."""
    start = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        logger.warning("database check failed: %s", exc.__class__.__name__)
        return {"ok": False, "error": exc.__class__.__name__, "dialect": engine.dialect.name}
    return {
        "ok": True,
        "dialect": engine.dialect.name,
        "latency_ms": round((time.perf_counter() - start) * 1000, 2),
    }


def for_role(reading: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """A status or health reading as `caller` may see it: no host figures, storage or database URL for plain users.

    The one filter every door uses (REST status and metrics, Prometheus, POST /api/command, MCP).
    """
    if caller.is_admin:
        return reading
    reading = {k: v for k, v in reading.items() if k not in ADMIN_ONLY}
    reading["database"] = {k: v for k, v in reading.get("database", {}).items() if k != "url"}
    return reading


def prometheus_text(health: dict[str, Any]) -> tuple[bytes, str]:
    """Render a health reading in the Prometheus text format (prometheus_client)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    system = health.get("system", {})
    for key, help_text in (("cpu_percent", "CPU use of the machine, percent"),
                           ("memory_percent", "Memory use of the machine, percent"),
                           ("disk_percent", "Disk use of the instance folder's disk, percent"),
                           ("process_rss_mb", "Resident memory of this process, MB")):
        if key in system:
            Gauge(f"operatoros_{key}", help_text, registry=registry).set(system[key])
    database = health.get("database", {})
    Gauge("operatoros_database_up", "1 when the database answers",
          registry=registry).set(1 if database.get("ok") else 0)
    if database.get("latency_ms") is not None:
        Gauge("operatoros_database_latency_ms", "Latency of a trivial query, ms",
              registry=registry).set(database["latency_ms"])
    tasks = Gauge("operatoros_tasks", "Tasks by status", ["status"], registry=registry)
    for status, count in health.get("tasks", {}).items():
        tasks.labels(status=status).set(count)
    pool_gauges = {
        "live_agents": Gauge("operatoros_pool_live_agents", "Live agents", ["pool"], registry=registry),
        "desired_size": Gauge("operatoros_pool_desired_size", "Desired agents per process", ["pool"],
                              registry=registry),
        "queued_tasks": Gauge("operatoros_pool_queued_tasks", "Queued tasks", ["pool"], registry=registry),
        "error_rate": Gauge("operatoros_pool_error_rate", "Failed share of recent tasks", ["pool"], registry=registry),
        "latency_p95_ms": Gauge("operatoros_pool_latency_p95_ms", "p95 task latency, ms", ["pool"], registry=registry),
        "oldest_queued_age_seconds": Gauge("operatoros_pool_oldest_queued_age_seconds",
                                           "Age of the oldest queued task", ["pool"], registry=registry),
    }
    for pool in health.get("pools", []):
        for key, gauge in pool_gauges.items():
            if pool.get(key) is not None:
                gauge.labels(pool=pool["name"]).set(pool[key])
    alerts = Gauge("operatoros_alerts", "Active alerts", registry=registry)
    alerts.set(len(health.get("alerts", [])))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def evaluate_alerts(reading: dict[str, Any], thresholds: Thresholds = Thresholds()) -> list[dict[str, Any]]:
    """The alerts a health reading raises: each {severity, check, message}."""
    alerts: list[dict[str, Any]] = []

    def alert(severity: str, check: str, message: str) -> None:
        alerts.append({"severity": severity, "check": check, "message": message})

    system = reading.get("system", {})
    for key, label in (("cpu_percent", "CPU"), ("memory_percent", "memory"), ("disk_percent", "disk")):
        limit = getattr(thresholds, key)
        if system.get(key, 0) > limit:
            alert("warning", key, f"{label} use is {system[key]:.0f}% (over {limit:.0f}%)")
    database = reading.get("database", {})
    if not database.get("ok", True):
        alert("critical", "database", "the database does not answer")
    elif (database.get("latency_ms") or 0) > thresholds.database_latency_ms:
        alert("warning", "database_latency", f"database latency {database['latency_ms']:.0f} ms")
    for pool in reading.get("pools", []):
        name = pool["name"]
        if pool.get("failed_agents"):
            alert("warning", f"pool:{name}:failed_agents",
                  f"{name}: {pool['failed_agents']} failed agent(s); restart them with 'restart the {name} pool'")
        age = pool.get("oldest_queued_age_seconds")
        if age is not None and age > thresholds.oldest_queued_seconds:
            alert("warning", f"pool:{name}:backlog", f"{name}: oldest queued task waited {age:.0f} s")
        if (pool.get("error_rate") or 0) > thresholds.error_rate:
            alert("warning", f"pool:{name}:errors", f"{name}: {pool['error_rate']:.0%} of recent tasks failed")
        if (pool.get("latency_p95_ms") or 0) > thresholds.latency_p95_ms:
            alert("warning", f"pool:{name}:latency", f"{name}: p95 latency {pool['latency_p95_ms'] / 1000:.1f} s")
    for provider, state in reading.get("providers", {}).items():
        if state != "closed":
            alert("warning", f"provider:{provider}", f"provider {provider}: circuit {state}")
    return alerts


def record_snapshot(engine: Engine, reading: dict[str, Any], alerts: list[dict[str, Any]],
                    retention_seconds: float = SNAPSHOT_RETENTION_SECONDS) -> None:
    """Store a reading and delete snapshots past their retention."""
    from models import HealthSnapshot, utcnow

    with engine.begin() as conn:
        conn.execute(sa.insert(HealthSnapshot).values(created_at=utcnow(), data=_snapshot_data(reading),
                                                       alerts=alerts))
        conn.execute(sa.delete(HealthSnapshot).where(
            HealthSnapshot.created_at < utcnow() - timedelta(seconds=retention_seconds)))


class HealthLoop:
    """In `serve`: every interval, read health, log new alerts, record a snapshot, requeue stuck tasks."""

    def __init__(self, engine: Engine, read: Callable[[], dict[str, Any]], sweep: Callable[[], dict[str, int]],
                 interval: float = SNAPSHOT_SECONDS) -> None:
        self.engine = engine
        self.read = read
        self.sweep = sweep
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._active: set[str] = set()

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self._run, name="health-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def tick(self) -> list[dict[str, Any]]:
        """One round; returns the alerts raised."""
        swept = self.sweep()
        if any(swept.values()):
            logger.warning("stuck tasks (running past their lease): %s", swept)
        reading = self.read()
        alerts = reading.get("alerts", [])
        current = {a["check"] for a in alerts}
        for item in alerts:
            if item["check"] not in self._active:
                logger.warning("alert %s: %s", item["severity"], item["message"])
        self._active = current
        record_snapshot(self.engine, reading, alerts)
        return alerts

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # monitoring must outlive a database hiccup
                logger.exception("health round failed")


def _snapshot_data(reading: dict[str, Any]) -> dict[str, Any]:
    keep = ("system", "database", "tasks", "providers")
    data = {k: reading[k] for k in keep if k in reading}
    data["pools"] = [{k: p.get(k) for k in ("name", "desired_size", "live_agents", "busy_agents", "failed_agents",
                                             "queued_tasks", "error_rate", "latency_p95_ms")}
                     for p in reading.get("pools", [])]
    return data
