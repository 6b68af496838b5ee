"""REST endpoints of database management for admins (backups, purges) and for every user (their own data).

api_routes nests this blueprint under its /api blueprint: its authentication, errors and OpenAPI document.
"""
from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, current_app, g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response as Resp

from api.schemas import ERRORS, spec
from errors import Forbidden
from services import from_app
from storage.backup import backup, default_backup_path
from storage.retention import delete_user_data, purge_older_than
from values import Caller

bp = Blueprint("database", __name__)
"""Nested by api_routes under its bp: the '/api' prefix, its authentication and error handling."""


Kind = Literal["tasks", "messages", "provider_calls", "audit"]
_ALL_KINDS: tuple[Kind, ...] = ("tasks", "messages", "provider_calls", "audit")  # storage.retention.KINDS, typed
"""The kinds of storage.retention.KINDS."""


class BackupOut(BaseModel):
    """A backup written on the server, in its instance folder."""

    model_config = ConfigDict(extra="allow")
    path: str
    size_bytes: int
    seconds: float
    dialect: str


class PurgeIn(BaseModel):
    """Delete rows older than `older_than_days` of the kinds named (all four by default)."""

    model_config = ConfigDict(extra="forbid")
    older_than_days: int = Field(ge=1, le=36_500)
    kinds: list[Kind] = Field(default_factory=lambda: list(_ALL_KINDS), min_length=1)


class PurgeOut(BaseModel):
    """Rows deleted per kind, the write transactions run and the longest of them."""

    model_config = ConfigDict(extra="allow")
    deleted: dict[str, int]
    batches: int
    longest_hold_ms: float


@bp.post("/admin/backups")
@spec.validate(resp=Resp(HTTP_201=BackupOut, **ERRORS), tags=["database"], operation_id="create_backup")
def create_backup() -> tuple[dict[str, Any], int]:
    """Back up the database into the server's instance folder (backups/); admins only."""
    caller = _admin(g.caller, "back up the database")
    svc = from_app(current_app)
    result = backup(svc.engine, default_backup_path(svc.settings.home, svc.engine), actor=caller.name,
                    actor_user_id=caller.user_id)
    return result.to_dict(), 201


@bp.post("/admin/purge")
@spec.validate(json=PurgeIn, resp=Resp(HTTP_200=PurgeOut, **ERRORS), tags=["database"], operation_id="purge_history")
def purge(json: PurgeIn) -> tuple[dict[str, Any], int]:
    """Delete finished tasks, messages, provider calls or audit rows older than some days; admins only."""
    caller = _admin(g.caller, "purge history")
    report = purge_older_than(from_app(current_app).engine, json.older_than_days, json.kinds, actor=caller.name,
                              actor_user_id=caller.user_id)
    return report.to_dict(), 200


@bp.delete("/me/data")
@spec.validate(resp=Resp(HTTP_200=PurgeOut, **ERRORS), tags=["database"], operation_id="delete_my_data")
def delete_my_data() -> tuple[dict[str, Any], int]:
    """Delete the caller's own sessions, messages and tasks (tasks running now stay until they end)."""
    caller: Caller = g.caller
    report = delete_user_data(from_app(current_app).engine, caller.user_id, actor=caller.name,
                              actor_user_id=caller.user_id)
    return report.to_dict(), 200


def _admin(caller: Caller, what: str) -> Caller:
    if not caller.is_admin:
        raise Forbidden(f"Only an admin may {what}; {caller.name} is not an admin.")
    return caller
