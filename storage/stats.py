"""The database's statistics for operators: size, rows and oldest row per table, last backup and purge, revision."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from database import SCHEMA_REVISION, read_only, revision_on
from models import AuditLog, Base
from storage.backup import BACKUP_ACTION, RESTORE_ACTION
from storage.retention import PURGE_ACTION

DATED_COLUMN = "created_at"
"""The column whose minimum is a table's oldest row."""

SUMMARY_TABLES = {"tasks": "tasks", "messages": "messages", "provider_calls": "provider calls",
                  "audit_log": "audit rows"}
"""The tables whose growth the status reply shows (the kinds that retention keeps in check), and their labels."""


def database_status(engine: Engine) -> dict[str, Any]:
    """Size, rows and oldest row per table, last backup, restore and purge, and the migration revision.

    Row counts are exact on SQLite and PostgreSQL's planner estimates there (an exact count reads every
    row); the oldest row is found through the primary key (or created_at's index), never a scan.
    """
    with read_only(engine) as conn:
        revision = revision_on(conn)
        tables = {name: _table_stats(conn, table) for name, table in sorted(Base.metadata.tables.items())}
        last_backup = _last(conn, BACKUP_ACTION)
        last_purge = _last(conn, PURGE_ACTION)
        last_restore = _last(conn, RESTORE_ACTION)
        size = _size(conn, engine)
    return {"dialect": engine.dialect.name, "size_bytes": size, "tables": tables, "last_backup": last_backup,
            "last_restore": last_restore, "last_purge": last_purge, "revision": revision,
            "expected_revision": SCHEMA_REVISION,
            "revision_current": revision == SCHEMA_REVISION}


def status_summary(engine: Engine) -> dict[str, Any]:
    """The figures of `db status` for the system status reply, at a cost that does not grow with the tables.

    Rows of SUMMARY_TABLES by key span, their oldest rows, size, last backup and purge, revision: a
    few index lookups in one statement, whatever the history's size.
    """
    tables = [Base.metadata.tables[name] for name in SUMMARY_TABLES]
    columns: list[sa.ColumnElement[Any]] = []
    for table in tables:
        key = table.c.id
        columns += [sa.select(sa.func.max(key)).scalar_subquery(), sa.select(sa.func.min(key)).scalar_subquery(),
                    sa.select(table.c[DATED_COLUMN]).order_by(key).limit(1).scalar_subquery()]
    with read_only(engine) as conn:
        revision = revision_on(conn)
        row = conn.execute(sa.select(*columns)).one()
        size = _size(conn, engine)
        last_backup, last_purge = _last(conn, BACKUP_ACTION), _last(conn, PURGE_ACTION)
    counts = {}
    for i, table in enumerate(tables):
        top, bottom, oldest = row[3 * i: 3 * i + 3]
        counts[table.name] = {"rows": key_span_rows(top, bottom), "oldest": _iso(oldest), "estimated": True}
    return {"size_bytes": size, "tables": counts, "last_backup": last_backup, "last_purge": last_purge,
            "revision": revision, "revision_current": revision == SCHEMA_REVISION}


def key_span_rows(top: int | None, bottom: int | None) -> int:
    """Rows estimated from the highest and lowest key: exact while rows go oldest first (as retention deletes).

    A user's data deleted on request leaves gaps, which this counts; `db status` gives exact figures.
    """
    return 0 if top is None or bottom is None else int(top) - int(bottom) + 1


def format_summary(summary: dict[str, Any]) -> list[str]:
    """The status reply's storage lines: size, revision, the history's rows and oldest rows, last backup and purge."""
    backup, purge = summary["last_backup"], summary["last_purge"]
    tables = ", ".join(f"~{t['rows']:,} {SUMMARY_TABLES.get(name, name)}"
                       + (f" (oldest {t['oldest'][:10]})" if t["oldest"] else "")
                       for name, t in summary["tables"].items())
    expected = "" if summary["revision_current"] else f" (this code expects {SCHEMA_REVISION})"
    revision = f"{summary['revision']}{expected}"
    return [f"Storage: {human_size(summary['size_bytes'])}, revision {revision}; {tables}",
            f"Last backup: {backup['at'][:19] if backup else 'never'}; "
            f"last purge: {purge['at'][:19] if purge else 'never'}"]


def format_status(status: dict[str, Any]) -> str:
    """The status as lines of text for the CLI."""
    lines = [f"Database: {status['dialect']}, {human_size(status['size_bytes'])}, revision {status['revision']}"
             + ("" if status["revision_current"] else f" (this code expects {status['expected_revision']})")]
    backup, purge = status["last_backup"], status["last_purge"]
    lines.append(f"Last backup: {backup['at']} to {backup['target']}" if backup else "Last backup: never")
    restored = status["last_restore"]
    if restored:  # a restored database holds the audit rows of its backup's time, not the later ones
        lines.append(f"Last restore: {restored['at']} from {restored['target']}")
    lines.append(f"Last purge: {purge['at']} ({purge['target']})" if purge else "Last purge: never")
    lines.append(f"{'table':<16} {'rows':>12}  oldest row")
    for name, table in status["tables"].items():
        approx = "~" if table.get("estimated") else ""
        lines.append(f"{name:<16} {approx + str(table['rows']):>12}  {table['oldest'] or '-'}")
    return "\n".join(lines)


def _table_stats(conn: sa.Connection, table: sa.Table) -> dict[str, Any]:
    estimated = conn.dialect.name == "postgresql"
    if estimated:
        rows = conn.execute(sa.text("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(:t)"),
                            {"t": table.name}).scalar() or 0
    else:
        rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
    oldest = None
    if DATED_COLUMN in table.c:
        column = table.c[DATED_COLUMN]
        # The first row by id is the oldest (rows are written in time order), found at once through the key.
        key = list(table.primary_key.columns)
        order = key[0] if len(key) == 1 and isinstance(key[0].type, sa.Integer) else column
        oldest = conn.execute(sa.select(column).order_by(order).limit(1)).scalar()
    return {"rows": int(rows), "oldest": _iso(oldest), "estimated": estimated}


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _last(conn: sa.Connection, action: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(AuditLog.created_at, AuditLog.actor, AuditLog.target, AuditLog.details)
                       .where(AuditLog.action == action).order_by(AuditLog.id.desc()).limit(1)).first()
    if row is None:
        return None
    return {"at": row.created_at.isoformat(), "by": row.actor, "target": row.target, "details": row.details}


def _size(conn: sa.Connection, engine: Engine) -> int:
    if engine.dialect.name == "postgresql":
        return int(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar() or 0)
    database = engine.url.database
    if not database or database == ":memory:":
        return 0
    return sum(os.path.getsize(p) for p in (database, database + "-wal") if Path(p).exists())


def human_size(size: int) -> str:
    """A byte count in B, KB, MB or GB."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
