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
