"""Requests about the database itself: back it up, restore it, its status and size (intent ``database``).

Part of command_processor. Only a piece that names the database (or a backup of it) is taken here; "is the
database connection ok" stays a health check, and "bring the automation agents back up" a restart.
"""
from __future__ import annotations

import re
from typing import Any

from commands.segment import Segment
from commands.vocabulary import word_set
from values import Command

DATABASE_ACTIONS = ("status", "backup", "restore")
"""Values of ``args.action`` for ``database``."""

DATABASE_WORDS = word_set("database databases db dbs sqlite postgres postgresql")
"""Words that name the database."""

_BACKUP_RE = re.compile(r" (?:back(?:ing|ed)? up|backup|backups|backing|snapshot|dump|copy) ")
_RESTORE_RE = re.compile(r" (?:restore|restoring|roll back|rollback) ")
_STATUS_RE = re.compile(r" (?:status|stats|statistics|size|how big|how large|how much space|how many rows|"
                        r"big|large|rows|revision|last backup|last purge|grow|growing|disk usage) ")
_RESTORE_PATH_RE = re.compile(r"\b(?:from|using|with)\s+"
                              r"(?:[\"'\u201c](?P<quoted>[^\"'\u201d]+)[\"'\u201d]|(?P<rest>.+))", re.I | re.S)
"""'restore the database from backups/x.db': the file named after from/using/with, as typed (to the piece's end)."""


def match(seg: Segment, ctx: dict[str, Any], prev: Command | None) -> Command | None:
    """'back up the database', 'database status', 'how big is the db?', 'restore the database from X'."""
    names_db = seg.has_any(DATABASE_WORDS)
    if _RESTORE_RE.search(seg.text) and (names_db or seg.has_any(word_set("backup backups"))):
        path = _restore_path(seg.raw)
        return Command("database", {"action": "restore", **({"path": path} if path else {})})
    if not names_db:
        return Command("database", {"action": "status"}) if seg.has("last backup") else None
    if _BACKUP_RE.search(seg.text):
        return Command("database", {"action": "backup"})
    if _STATUS_RE.search(seg.text):
        return Command("database", {"action": "status"})
    return None


def _restore_path(raw: str) -> str | None:
    """The backup file a restore names: quoted, or the rest of the piece when it looks like a path."""
    found = _RESTORE_PATH_RE.search(raw)
    if found is None:
        return None
    if found.group("quoted"):
        return found.group("quoted").strip()
    rest = found.group("rest").strip().rstrip(",;!?").rstrip(".")
    # "from yesterday's backup" names no file; a path has a separator or a file extension
    return rest if re.search(r"[/\\]|\.\w{1,8}$", rest) else None
