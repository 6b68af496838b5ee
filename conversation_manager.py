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

from database import READ_ONLY_OPTION, read_scope, session_scope
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

ADMIN_USER_NAME = "admin"
"""User that OPERATOROS_API_KEY authenticates as."""

WITHHELD = "[API key withheld]"
"""What history keeps in place of a message that carried an API key."""

KEY_SHAPE = re.compile(r"oos_[A-Za-z0-9_\-]{12,}")
"""What an OperatorOS key looks like anywhere in a text: withheld before it is stored, logged or echoed."""

DEFAULT_SIGN_IN_IDLE_SECONDS = 1800
"""A conversational sign-in unused this long ends (OPERATOROS_SIGN_IN_IDLE_SECONDS overrides)."""

KEY_FINGERPRINT_LENGTH = 16
"""Hex digits of a key's hash that bind a sign-in to the key that made it (not enough to test keys against)."""

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
    """A fresh random API key (256 bits: a plain hash of it stays sound)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def redact_keys(text: str, known: tuple[str, ...] = ()) -> str:
    """`text` with every key-shaped string, and every `known` secret, replaced by WITHHELD."""
    for secret in known:
        if secret and secret in text:
            text = text.replace(secret, WITHHELD)
    return KEY_SHAPE.sub(WITHHELD, text)


class ConversationManager:
    """Finds or creates users and sessions, and records the turns of a conversation."""

    def __init__(self, session_factory: sessionmaker[Session], *,
                 auth_cache_ttl: float = AUTH_CACHE_TTL_SECONDS,
                 sign_in_idle_seconds: float = DEFAULT_SIGN_IN_IDLE_SECONDS,
                 known_secrets: tuple[str, ...] = ()) -> None:
        self._sessions = session_factory
        self.auth_cache_ttl = auth_cache_ttl
        self.sign_in_idle_seconds = sign_in_idle_seconds
        self.known_secrets = tuple(s for s in known_secrets if s)
        """Secrets that are not key-shaped (an operator-chosen OPERATOROS_API_KEY) but must be withheld too."""
        self._callers = _CallerCache()

    def redact(self, text: str) -> str:
        """`text` with every key-shaped string and known secret withheld."""
        return redact_keys(text, self.known_secrets)

    def local_caller(self, name: str) -> Caller:
        """The caller of the in-process CLI: the machine's operator, with admin rights."""
        _check_name(name)
        by_name = sa.select(User).where(sa.func.lower(User.name) == name.lower())
        with read_scope(self._sessions) as db:  # every call after the first only reads
            user = db.scalar(by_name)
            if user is not None:
                return Caller(user.id, user.name, True)
        with session_scope(self._sessions) as db:
            user = db.scalar(by_name)  # again, under the write lock: another process may have made it
            if user is None:
                user = self._create_user(db, name, Role.ADMIN)
            return Caller(user.id, user.name, True)

    def stored_role(self, caller: Caller) -> str:
        """The role stored for the caller's user ('admin' or 'user')."""
        with read_scope(self._sessions) as db:
            user = db.get(User, caller.user_id)
            return user.role.value if user is not None else "user"

    def sync_admin_key(self, name: str, key: str) -> None:
        """Make `key` the admin's key unless it is: a rotated OPERATOROS_API_KEY revokes the old one at once."""
        with read_scope(self._sessions) as db:
            current = db.scalar(sa.select(User.api_key_hash).where(User.name == name))
        if current != hash_api_key(key):
            self.ensure_user_with_key(name, key, Role.ADMIN)

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
            existing = db.scalar(sa.select(User.name).where(sa.func.lower(User.name) == name.lower()))
            if existing is not None:
                raise Conflict(f"A user named {existing!r} already exists (names ignore case).")
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
        with read_scope(self._sessions) as db:
            return db.scalar(sa.select(ConversationSession.id).where(ConversationSession.user_id == caller.user_id)
                             .order_by(ConversationSession.updated_at.desc()).limit(1))

    def context(self, session_id: str) -> dict[str, Any]:
        """The session's stored context (follow-ups, sign-in state)."""
        with read_scope(self._sessions) as db:
            row = db.get(ConversationSession, session_id)
            return dict(row.context or {}) if row is not None else {}

    def save_context(self, session_id: str, context: dict[str, Any]) -> None:
        """Replace the session's stored context."""
        with session_scope(self._sessions) as db:
            row = db.get(ConversationSession, session_id)
            if row is not None:
                row.context = dict(context)

    def acting_caller(self, caller: Caller, context: dict[str, Any], session_id: str | None = None) -> Caller:
        """Who the session acts as: the user it was signed in to, else the caller.

        A sign-in holds while the key that made it is still that user's key (a revoked or rotated key
        ends it) and while it is used at least every `sign_in_idle_seconds`; an ended one is dropped
        from the stored context when `session_id` is given, and each use renews it.
        """
        acting = context.get("acting_as")
        if not isinstance(acting, dict):
            return caller
        with session_scope(self._sessions) as db:
            user = db.get(User, acting.get("user_id"))
            fingerprint = (user.api_key_hash or "")[:KEY_FINGERPRINT_LENGTH] if user is not None else ""
            idle = time.time() - float(acting.get("used_at") or 0)
            holds = (user is not None and bool(fingerprint) and acting.get("key") == fingerprint
                     and idle <= self.sign_in_idle_seconds)
            acting_user = Caller(user.id, user.name, user.role == Role.ADMIN) if holds and user else None
        if session_id is not None:
            stored = self.context(session_id)
            if acting_user is None:
                stored.pop("acting_as", None)
                context.pop("acting_as", None)
            elif isinstance(stored.get("acting_as"), dict):
                stored["acting_as"]["used_at"] = time.time()
            self.save_context(session_id, stored)
        return acting_user or caller

    def begin_sign_in(self, caller: Caller, session_id: str, name: str, register: bool) -> str:
        """Ask for the API key in the next message; registering (admins only) creates the user and its key."""
        _check_name(name)
        with session_scope(self._sessions) as db:
            exists = db.scalar(sa.select(User.name).where(sa.func.lower(User.name) == name.lower()))
        if register and not caller.is_admin:
            raise Forbidden(f"Only an admin may register users; {caller.name} is not an admin.")
        if register and exists:
            raise Conflict(f"A user named {exists!r} already exists (names ignore case); say 'log in as {exists}'.")
        if not register and not exists:
            raise NotFound(f"No user named {name!r}. An admin can say 'register {name}'.")
        if register:
            created = self.create_user(caller, name, Role.USER)
            return (f"Registered {name} (user). Their API key, shown this once and never kept in the history: "
                    f"{created['api_key']} — say 'log in as {name}' and send it to act as {name}.")
        context = self.context(session_id)
        context["pending_auth"] = {"name": exists}
        self.save_context(session_id, context)
        return (f"Send {exists}'s API key as your next message. It is checked, never stored in the history, "
                "echoed or logged.")

    def complete_sign_in(self, caller: Caller, session_id: str, key: str) -> str:
        """Take the key that answers a pending sign-in; on success the session acts as that user, bound to that key."""
        context = self.context(session_id)
        pending = context.pop("pending_auth", None) or {}
        self.save_context(session_id, context)
        name, key = str(pending.get("name", "")), key.strip()
        user = self.caller_for_key(key)
        if user is None or user.name != name:
            raise Unauthorized(f"That is not {name}'s API key; nothing changed.")
        context["acting_as"] = {"user_id": user.user_id, "name": user.name,
                                "key": hash_api_key(key)[:KEY_FINGERPRINT_LENGTH], "used_at": time.time()}
        self.save_context(session_id, context)
        self._audit(caller, "sign_in", user.name)
        return f"Signed in as {user.name}; this session now acts as {user.name}."

    def sign_out(self, session_id: str) -> str:
        """Return the session to its own user."""
        context = self.context(session_id)
        acting = context.pop("acting_as", None)
        context.pop("pending_auth", None)
        self.save_context(session_id, context)
        return f"Signed out of {acting['name']}." if acting else "This session was not signed in to anyone."

    # -- key management ---------------------------------------------------------------------

    def list_keys(self, caller: Caller) -> list[dict[str, Any]]:
        """Every user's key by its prefix (never the key or its hash); admins only."""
        _require_admin(caller, "list keys")
        with read_scope(self._sessions) as db:
            users = db.scalars(sa.select(User).order_by(User.id)).all()
            return [{"name": u.name, "role": u.role.value, "key_prefix": u.api_key_prefix,
                     "active": u.api_key_hash is not None} for u in users]

    def rotate_key(self, caller: Caller, name: str) -> dict[str, Any]:
        """Give `name` a fresh key, returned once; the old key, and every sign-in made with it, end at once.

        A user may rotate their own key; an admin anyone's.
        """
        key = new_api_key()
        self._set_key(caller, name, key, "rotate_key")
        return {"name": name, "api_key": key, "key_prefix": key[:8]}

    def revoke_key(self, caller: Caller, name: str) -> dict[str, Any]:
        """Remove `name`'s key: it, and every sign-in made with it, stop working at once."""
        self._set_key(caller, name, None, "revoke_key")
        return {"name": name, "active": False}

    def _set_key(self, caller: Caller, name: str, key: str | None, action: str) -> None:
        if not caller.is_admin and caller.name != name:
            raise Forbidden(f"Only an admin may change another user's key; {caller.name} is not an admin.")
        with session_scope(self._sessions) as db:
            user = db.scalar(sa.select(User).where(User.name == name))
            if user is None:
                raise NotFound(f"No user named {name!r}.")
            user.api_key_hash = hash_api_key(key) if key else None
            user.api_key_prefix = key[:8] if key else None
            db.add(AuditLog(actor_user_id=caller.user_id, actor=caller.name, action=action, target=name))
        self.forget_keys()

    def _audit(self, caller: Caller, action: str, target: str) -> None:
        with session_scope(self._sessions) as db:
            db.add(AuditLog(actor_user_id=caller.user_id, actor=caller.name, action=action, target=target))

    def list_sessions(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's sessions, newest first."""
        with read_scope(self._sessions) as db:
            rows = db.scalars(
                sa.select(ConversationSession)
                .where(ConversationSession.user_id == caller.user_id)
                .order_by(ConversationSession.updated_at.desc())
            )
            return [
                {"id": r.id, "title": self.redact(r.title) if r.title else r.title,
                 "created_at": r.created_at.isoformat(),
                 "updated_at": r.updated_at.isoformat()}
                for r in rows
            ]

    def record(self, session_id: str, role: str, content: str, intent: str | None = None,
               data: dict[str, Any] | None = None, task_id: int | None = None) -> None:
        """Append one message to a session and touch the session."""
        with session_scope(self._sessions) as db:
            self._append(db, self._session_row(db, session_id), role, content, intent, data, task_id)

    def record_turn(self, session_id: str, text: str, reply: str, intent: str | None,
                    task_id: int | None = None, context: dict[str, Any] | None = None) -> None:
        """Append a request and its reply, and store the parse context, in one transaction.

        The session's sign-in state (SESSION_STATE_KEYS) is kept as stored, read in the same
        transaction: a sign-in step that ran meanwhile is not overwritten by the parse context.
        """
        with session_scope(self._sessions) as db:
            row = self._session_row(db, session_id)
            self._append(db, row, "user", text, intent)
            self._append(db, row, "assistant", reply, intent, task_id=task_id)
            if context is not None:
                stored = row.context or {}
                row.context = {**context, **{k: stored[k] for k in SESSION_STATE_KEYS if k in stored}}

    @staticmethod
    def _session_row(db: Session, session_id: str) -> ConversationSession:
        row = db.get(ConversationSession, session_id)
        if row is None:
            raise NotFound(f"No such session: {session_id}")
        return row

    def _append(self, db: Session, row: ConversationSession, role: str, content: str, intent: str | None,
                data: dict[str, Any] | None = None, task_id: int | None = None) -> None:
        content = self.redact(content)  # a key typed anywhere is never stored
        if row.title is None and role == "user":
            row.title = content[:200]
        row.updated_at = utcnow()
        db.add(Message(session_id=row.id, role=role, content=content, intent=intent, data=data, task_id=task_id))

    def history(self, caller: Caller, session_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
        """The last `limit` messages of one of the caller's sessions, oldest first."""
        with read_scope(self._sessions) as db:
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


def _require_admin(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Only an admin may {what}; {caller.name} is not an admin.")


def _check_name(name: str) -> None:
    if not USER_NAME_PATTERN.match(name or ""):
        raise BadRequest(f"Invalid user name {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@'")
