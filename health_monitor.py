"""Health monitoring: machine metrics (psutil), database reachability and latency."""
from __future__ import annotations

import logging
import os
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

CPU_SAMPLE_SECONDS = 0.1
"""Window over which CPU use is sampled when no earlier reading exists in this process."""

_MB = 1024 * 1024


def system_metrics(disk_path: str = ".") -> dict[str, Any]:
    """CPU, memory, disk and load of this machine, read now with psutil."""
    import psutil

    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(disk_path)
    load1, load5, load15 = os.getloadavg()
    return {
        "cpu_percent": psutil.cpu_percent(interval=CPU_SAMPLE_SECONDS),
        "cpu_count": psutil.cpu_count() or 1,
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
    Gauge("operatoros_database_up", "1 when the database answers", registry=registry).set(1 if database.get("ok") else 0)
    if database.get("latency_ms") is not None:
        Gauge("operatoros_database_latency_ms", "Latency of a trivial query, ms",
              registry=registry).set(database["latency_ms"])
    tasks = Gauge("operatoros_tasks", "Tasks by status", ["status"], registry=registry)
    for status, count in health.get("tasks", {}).items():
        tasks.labels(status=status).set(count)
    pool_gauges = {
        "live_agents": Gauge("operatoros_pool_live_agents", "Live agents", ["pool"], registry=registry),
        "desired_size": Gauge("operatoros_pool_desired_size", "Desired agents per process", ["pool"], registry=registry),
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
