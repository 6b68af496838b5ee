"""The answers of the ``database`` intent: the status figures, a backup into the instance folder, the restore command.

A conversational request backs up (admins only) but never restores: a restore replaces everything and must
not run under a live server, so the answer is the exact `python main.py db restore PATH` to run, which asks
for confirmation and refuses while `serve` or `worker` runs.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from errors import BadRequest, Forbidden
from models import utcnow
from storage.backup import BACKUP_DIR, backup, default_backup_path, live_servers
from storage.stats import database_status, format_status, human_size
from values import Caller

RESTORE_COMMAND = "python main.py db restore {path}"
"""What an operator runs to restore a backup (main.py's `db restore`)."""


def answer(engine: Engine, home: Path, caller: Caller, action: str, path: str | None = None) -> dict[str, Any]:
    """The data of a ``database`` request: status figures, a backup written, or the restore command to run.

    Raises:
        Forbidden: a plain user asked for the status or a backup (the database is the whole instance's).
        BadRequest: an action that is not status, backup or restore.
    """
    if action == "restore":
        return _restore_advice(engine, home, path)
    if action not in ("status", "backup"):
        raise BadRequest(f"No database action {action!r}: status, backup or restore.")
    if not caller.is_admin:
        what = "back up the database" if action == "backup" else "see the database's status"
        raise Forbidden(f"Only an admin may {what}; {caller.name} is not an admin.")
    if action == "status":
        return {"action": "status", "status": database_status(engine)}
    result = backup(engine, default_backup_path(home, engine), actor=caller.name, actor_user_id=caller.user_id)
    return {"action": "backup", "backup": {**result.to_dict(), "at": utcnow().isoformat()}}


def format_reply(data: dict[str, Any]) -> str:
    """The answer in words: the status table, where the backup went, or how to restore."""
    if data["action"] == "status":
        return format_status(data["status"])
    if data["action"] == "backup":
        made = data["backup"]
        return (f"Backed up the database to {made['path']} ({human_size(made['size_bytes'])}, {made['seconds']} s, "
                f"at {made['at'][:19]} UTC).\nRestore it with: "
                + RESTORE_COMMAND.format(path=shlex.quote(made["path"])))
    lines = ["I do not restore the database from a conversation: a restore replaces everything in it, so it "
             "asks for confirmation and refuses while `serve` or `worker` runs on the database. Stop them, then "
             f"run:\n  {data['command']}"]
    if not data.get("path"):
        lines.append(f"(Put the backup's file in place of PATH; backups made here are in {data['backup_dir']}.)")
    if data["live_servers"]:
        lines.append(f"Running on the database now: {', '.join(data['live_servers'])}.")
    return "\n".join(lines)


def planned(home: Path, action: str) -> str:
    """What a ``database`` request would do, for a dry run: 'back up the database into .../backups/'."""
    if action == "backup":
        return f"back up the database into a new file in {home / BACKUP_DIR} (admins only)"
    if action == "restore":
        return "give you the `python main.py db restore PATH` command to run (a conversation never restores)"
    return "show the database's status (admins only)"


def _restore_advice(engine: Engine, home: Path, path: str | None) -> dict[str, Any]:
    target = shlex.quote(path) if path else "PATH"
    return {"action": "restore", "performed": False, "path": path, "command": RESTORE_COMMAND.format(path=target),
            "backup_dir": str(home / BACKUP_DIR), "live_servers": live_servers(engine)}
