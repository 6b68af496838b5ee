"""The floor for bench/api_load.py: a bare Flask app doing the least work of our two measured endpoints.

Serve:  BARE_DATABASE=/tmp/bare.db .venv/bin/gunicorn --chdir bench 'bare_app:create_app()'

GET /api/health answers {"status": "ok"}; POST /api/tasks parses the JSON body, inserts one row into
a SQLite table with the project's pragmas (WAL, synchronous=NORMAL, busy timeout) through one
sqlite3 connection per thread, and answers the row as JSON with 201. No auth, schema validation,
rate limiting or ORM: what is left is the server, Flask's routing and one SQLite write.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from flask import Flask, request

DATABASE_ENV = "BARE_DATABASE"
"""Environment variable naming the SQLite file (created if missing)."""

BUSY_TIMEOUT_MS = 30_000
"""Same busy timeout as database.SQLITE_BUSY_TIMEOUT_MS."""

SCHEMA = ("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, pool TEXT NOT NULL, input TEXT NOT NULL, "
          "status TEXT NOT NULL, priority INTEGER NOT NULL, created_at TEXT NOT NULL)")


def create_app() -> Flask:
    """The bare app, on the SQLite file named by BARE_DATABASE."""
    path = os.environ[DATABASE_ENV]
    local = threading.local()

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
            local.conn = conn
        return conn

    connection().execute(SCHEMA)
    app = Flask(__name__)

    @app.get("/api/health")
    def health() -> tuple[dict[str, Any], int]:
        return {"status": "ok"}, 200

    @app.post("/api/tasks")
    def submit() -> tuple[dict[str, Any], int]:
        body = request.get_json()
        row = {"pool": body.get("pool") or "general", "input": body["input"], "status": "queued",
               "priority": int(body.get("priority", 0)), "created_at": datetime.now(UTC).isoformat()}
        task_id = connection().execute(
            "INSERT INTO tasks (pool, input, status, priority, created_at) "
            "VALUES (:pool, :input, :status, :priority, :created_at) RETURNING id", row).fetchone()[0]
        return {"id": task_id, **row}, 201

    return app
