"""Users, conversation sessions and their message history."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from database import READ_ONLY_OPTION, session_scope
from errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from models import AuditLog, ConversationSession, Message, Role, User, utcnow
from values import Caller

logger = logging.getLogger(__name__)

USER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
"""Allowed user names: short, printable, no spaces."""

HISTORY_LIMIT = 50
"""Most messages returned by one history call."""

API_KEY_PREFIX = "oos_"
"""Prefix of every API key OperatorOS issues, so leaked keys are recognisable."""

MIN_API_KEY_LENGTH = 16
"""Shortest API key accepted when a user registers with a key of their own."""

WITHHELD = "[API key withheld]"
"""What history keeps in place of a message that carried an API key."""

SESSION_STATE_KEYS = ("acting_as", "pending_auth")
"""Keys of a session's context that belong to authentication, not to the command processor."""

AUTH_CACHE_TTL_SECONDS = 2.0
"""How long a verified API key is trusted without reading the database again.

Kept to a few seconds on purpose: a key revoked or a role changed by another process (a second
gunicorn worker, the CLI, an operator with SQL) takes effect within this time. Changes made through
this process's ConversationManager take effect at once (they empty the cache). Failed lookups are
never cached, so a new key works at once and a wrong key always costs a database read."""

AUTH_CACHE_MAX_KEYS = 1024
"""Most verified keys remembered per process; past it the cache starts over (only valid keys get in)."""

_USERS = User.__table__
_CALLER_BY_KEY_HASH = sa.select(_USERS.c.id, _USERS.c.name, _USERS.c.role).where(
    _USERS.c.api_key_hash == sa.bindparam("key_hash"))


def hash_api_key(key: str) -> str:
    """SHA-256 of an API key (keys are long random strings, so no slow hash is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random API key."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class ConversationManager:
    """Finds or creates users and sessions, and records the turns of a conversation."""

    def __init__(self, session_factory: sessionmaker[Session], *,
                 auth_cache_ttl: float = AUTH_CACHE_TTL_SECONDS) -> None:
        self._sessions = session_factory
        self.auth_cache_ttl = auth_cache_ttl
        self._callers = _CallerCache()

    def local_caller(self, name: str) -> Caller:
        """The caller of the in-process CLI: the machine's operator, with admin rights."""
        _check_name(name)
        with session_scope(self._sessions) as db:
            user = db.scalar(sa.select(User).where(User.name == name))
            if user is None:
                user = self._create_user(db, name, Role.ADMIN)
            return Caller(user.id, user.name, True)

    def caller_for_key(self, key: str) -> Caller | None:
        """The user an API key belongs to, or None; remembered for `auth_cache_ttl` seconds once verified."""
        key_hash = hash_api_key(key)
        caller = self._callers.get(key_hash)
        if caller is not None:
            return caller
        generation = self._callers.generation
        with self._sessions() as db:
            # A read-only transaction: on SQLite it neither takes nor waits for the write lock.
            conn = db.connection(execution_options={READ_ONLY_OPTION: True})
            row = conn.execute(_CALLER_BY_KEY_HASH, {"key_hash": key_hash}).first()
        if row is None:
            return None
        caller = Caller(row.id, row.name, row.role == Role.ADMIN)
        self._callers.put(key_hash, caller, self.auth_cache_ttl, generation)
        return caller

    def forget_keys(self) -> None:
        """Drop every remembered key, so the next request of each caller reads its user again."""
        self._callers.clear()

    def ensure_user_with_key(self, name: str, key: str, role: Role) -> Caller:
        """Create the user if needed and make `key` its API key (stored hashed)."""
        _check_name(name)
        with session_scope(self._sessions) as db:
            user = db.scalar(sa.select(User).where(User.name == name))
            if user is None:
                user = self._create_user(db, name, role)
            user.api_key_hash = hash_api_key(key)
            user.api_key_prefix = key[:8]
            user.role = role
            db.flush()
            caller = Caller(user.id, user.name, role == Role.ADMIN)
        self.forget_keys()  # the user's old key, or its old role, must not outlive this change
        return caller

    def create_user(self, caller: Caller, name: str, role: Role) -> dict[str, Any]:
        """Create a user with a fresh API key, returned once (only its hash is kept); admins only."""
        if not caller.is_admin:
            raise Forbidden(f"Only an admin may create users; {caller.name} is not an admin.")
        _check_name(name)
        key = new_api_key()
        with session_scope(self._sessions) as db:
            if db.scalar(sa.select(User.id).where(User.name == name)) is not None:
                raise Conflict(f"A user named {name!r} already exists.")
            db.add(User(name=name, role=role, api_key_hash=hash_api_key(key), api_key_prefix=key[:8]))
            db.add(AuditLog(actor_user_id=caller.user_id, actor=caller.name, action="create_user",
                            target=name, details={"role": role.value}))
        self.forget_keys()
        return {"name": name, "role": role.value, "api_key": key}

    def open_session(self, caller: Caller, session_id: str | None = None, new: bool = False) -> str:
        """The session to use: the one named (must be the caller's), a new one, or the latest."""
        with session_scope(self._sessions) as db:
            if session_id:
                row = db.get(ConversationSession, session_id)
                if row is None or row.user_id != caller.user_id:
                    raise NotFound(f"No such session: {session_id}")
                return row.id
            if not new:
                latest = db.scalar(
                    sa.select(ConversationSession.id)
                    .where(ConversationSession.user_id == caller.user_id)
                    .order_by(ConversationSession.updated_at.desc())
                    .limit(1)
                )
                if latest:
                    return latest
            row = ConversationSession(user_id=caller.user_id)
            db.add(row)
            db.flush()
            return row.id

    def latest_session(self, caller: Caller) -> str | None:
        """The caller's most recently used session, or None (nothing is created)."""
        with session_scope(self._sessions) as db:
            return db.scalar(sa.select(ConversationSession.id).where(ConversationSession.user_id == caller.user_id)
                             .order_by(ConversationSession.updated_at.desc()).limit(1))

    def context(self, session_id: str) -> dict[str, Any]:
        """The session's stored context (follow-ups, sign-in state)."""
        with session_scope(self._sessions) as db:
            row = db.get(ConversationSession, session_id)
            return dict(row.context or {}) if row is not None else {}

    def save_context(self, session_id: str, context: dict[str, Any]) -> None:
        """Replace the session's stored context."""
        with session_scope(self._sessions) as db:
            row = db.get(ConversationSession, session_id)
            if row is not None:
                row.context = dict(context)

    def acting_caller(self, caller: Caller, context: dict[str, Any]) -> Caller:
        """Who the session acts as: the user it was signed in to, if any and still present, else the caller."""
        acting = context.get("acting_as")
        if not isinstance(acting, dict):
            return caller
        with session_scope(self._sessions) as db:
            user = db.get(User, acting.get("user_id"))
            if user is None:
                return caller
            return Caller(user.id, user.name, user.role == Role.ADMIN)

    def begin_sign_in(self, caller: Caller, session_id: str, name: str, register: bool) -> str:
        """Ask for the API key in the next message; registering a new user needs an admin."""
        _check_name(name)
        with session_scope(self._sessions) as db:
            exists = db.scalar(sa.select(User.id).where(User.name == name)) is not None
        if register and not caller.is_admin:
            raise Forbidden(f"Only an admin may register users; {caller.name} is not an admin.")
        if register and exists:
            raise Conflict(f"A user named {name!r} already exists; say 'log in as {name}'.")
        if not register and not exists:
            raise NotFound(f"No user named {name!r}. An admin can say 'register {name}'.")
        context = self.context(session_id)
        context["pending_auth"] = {"name": name, "register": register}
        self.save_context(session_id, context)
        what = "the API key the new user will use (at least 16 characters)" if register else f"{name}'s API key"
        return (f"Send {what} as your next message. It is checked, never stored in the history, "
                "echoed or logged.")

    def complete_sign_in(self, caller: Caller, session_id: str, key: str) -> str:
        """Take the key that answers a pending sign-in; on success the session acts as that user."""
        context = self.context(session_id)
        pending = context.pop("pending_auth", None) or {}
        self.save_context(session_id, context)
        name, key = str(pending.get("name", "")), key.strip()
        user: Caller | None
        if pending.get("register"):
            if len(key) < MIN_API_KEY_LENGTH or any(c.isspace() for c in key):
                raise BadRequest(f"An API key needs at least {MIN_API_KEY_LENGTH} characters and no spaces; "
                                 f"say 'register {name}' to try again.")
            with session_scope(self._sessions) as db:
                if db.scalar(sa.select(User.id).where(User.api_key_hash == hash_api_key(key))) is not None:
                    raise Conflict("That key is already in use; choose another.")
            user = self.ensure_user_with_key(name, key, Role.USER)
            self._audit(caller, "register_user", name)
        else:
            user = self.caller_for_key(key)
            if user is None or user.name != name:
                raise Unauthorized(f"That is not {name}'s API key; nothing changed.")
        context["acting_as"] = {"user_id": user.user_id, "name": user.name}
        self.save_context(session_id, context)
        return f"Signed in as {user.name}; this session now acts as {user.name}."

    def sign_out(self, session_id: str) -> str:
        """Return the session to its own user."""
        context = self.context(session_id)
        acting = context.pop("acting_as", None)
        context.pop("pending_auth", None)
        self.save_context(session_id, context)
        return f"Signed out of {acting['name']}." if acting else "This session was not signed in to anyone."

    def _audit(self, caller: Caller, action: str, target: str) -> None:
        with session_scope(self._sessions) as db:
            db.add(AuditLog(actor_user_id=caller.user_id, actor=caller.name, action=action, target=target))

    def list_sessions(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's sessions, newest first."""
        with session_scope(self._sessions) as db:
            rows = db.scalars(
                sa.select(ConversationSession)
                .where(ConversationSession.user_id == caller.user_id)
                .order_by(ConversationSession.updated_at.desc())
            )
            return [
                {"id": r.id, "title": r.title, "created_at": r.created_at.isoformat(),
                 "updated_at": r.updated_at.isoformat()}
                for r in rows
            ]

    def record(self, session_id: str, role: str, content: str, intent: str | None = None,
               data: dict[str, Any] | None = None, task_id: int | None = None) -> None:
        """Append one message to a session and touch the session."""
        with session_scope(self._sessions) as db:
            row = db.get(ConversationSession, session_id)
            if row is None:
                raise NotFound(f"No such session: {session_id}")
            if row.title is None and role == "user":
                row.title = content[:200]
            row.updated_at = utcnow()
            db.add(Message(session_id=session_id, role=role, content=content, intent=intent,
                           data=data, task_id=task_id))

    def history(self, caller: Caller, session_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
        """The last `limit` messages of one of the caller's sessions, oldest first."""
        with session_scope(self._sessions) as db:
            row = db.get(ConversationSession, session_id)
            if row is None or row.user_id != caller.user_id:
                raise NotFound(f"No such session: {session_id}")
            messages = db.scalars(
                sa.select(Message).where(Message.session_id == session_id)
                .order_by(Message.id.desc()).limit(limit)
            ).all()
            return [
                {"id": m.id, "role": m.role, "content": m.content, "intent": m.intent,
                 "task_id": m.task_id, "created_at": m.created_at.isoformat()}
                for m in reversed(messages)
            ]

    @staticmethod
    def _create_user(db: Session, name: str, role: Role) -> User:
        user = User(name=name, role=role)
        try:
            with db.begin_nested():
                db.add(user)
        except IntegrityError:
            # Another process created the same user between our read and our insert.
            existing = db.scalar(sa.select(User).where(User.name == name))
            if existing is None:
                raise
            return existing
        return user


class _CallerCache:
    """Verified key hashes -> Caller, each until its deadline; emptied on any user change in this process."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()
        self.generation = 0
        """Bumped by clear(): a lookup that began before a change must not store what it read."""

    def get(self, key_hash: str) -> Caller | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        caller, deadline = entry
        if time.monotonic() >= deadline:
            self._entries.pop(key_hash, None)
            return None
        return caller

    def put(self, key_hash: str, caller: Caller, ttl: float, generation: int) -> None:
        if ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= AUTH_CACHE_MAX_KEYS:
                self._entries.clear()
            self._entries[key_hash] = (caller, time.monotonic() + ttl)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


def _check_name(name: str) -> None:
    if not USER_NAME_PATTERN.match(name or ""):
        raise BadRequest(f"Invalid user name {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@'")
