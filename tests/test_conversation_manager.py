"""The conversation manager on a real SQLite file: who may register and sign in as whom, how long a sign-in
holds, whose sessions and histories a caller reaches, key rotation and revocation, and the key cache.

The REST and CLI doors over the same checks are in tests/test_sign_in.py; these call the manager itself, so
that each check is exercised by the fast tests the mutation script runs (bench/mutation.py)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import Settings
from conversation_manager import (
    AUTH_CACHE_MAX_KEYS,
    KEY_FINGERPRINT_LENGTH,
    WITHHELD,
    ConversationManager,
    _CallerCache,
    hash_api_key,
    new_api_key,
    redact_keys,
)
from database import make_session_factory
from errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from models import AuditLog, Role, User
from services import Services, build_services
from values import Caller

from . import fixtures


@pytest.fixture
def svc(home: Path, sqlite_url: str) -> Iterator[Services]:
    """The object graph on this test's SQLite file."""
    services = build_services(Settings.from_env({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url}),
                              env={}, executor=fixtures.echo)
    yield services
    services.engine.dispose()


@pytest.fixture
def cm(svc: Services) -> ConversationManager:
    return svc.conversations


@pytest.fixture
def root(cm: ConversationManager) -> Caller:
    return cm.local_caller("root")


def _user(cm: ConversationManager, admin: Caller, name: str, role: Role = Role.USER) -> tuple[Caller, str]:
    """A user an admin created, and its key."""
    key = cm.create_user(admin, name, role)["api_key"]
    caller = cm.caller_for_key(key)
    assert caller is not None and caller.name == name
    return caller, key


def _audit(svc: Services) -> list[tuple[str, str, str | None]]:
    with svc.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            sa.select(AuditLog.actor, AuditLog.action, AuditLog.target).order_by(AuditLog.id)).all()]


def _audit_actors(svc: Services) -> list[tuple[int | None, str, str, str | None]]:
    """Every audit row as (actor's user id, actor, action, target), oldest first."""
    with svc.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            sa.select(AuditLog.actor_user_id, AuditLog.actor, AuditLog.action, AuditLog.target)
            .order_by(AuditLog.id)).all()]


def _user_names(svc: Services) -> list[str]:
    with svc.engine.connect() as conn:
        return list(conn.execute(sa.select(User.name).order_by(User.id)).scalars())


def _sign_in(cm: ConversationManager, caller: Caller, session: str, name: str, key: str) -> str:
    cm.begin_sign_in(caller, session, name, register=False)
    return cm.complete_sign_in(caller, session, key)


# -- registering ----------------------------------------------------------------------------


def test_an_admin_registers_a_user_whose_key_is_shown_once_and_works(svc: Services, cm: ConversationManager,
                                                                     root: Caller) -> None:
    session = cm.open_session(root)
    said = cm.begin_sign_in(root, session, "eve", register=True)
    key = said.split("shown this once and never kept in the history: ")[1].split(" ")[0]
    assert said.startswith("Registered eve (user).") and "say 'log in as eve'" in said
    eve = cm.caller_for_key(key)
    assert eve is not None and (eve.name, eve.is_admin) == ("eve", False)
    assert ("root", "create_user", "eve") in _audit(svc)


def test_a_plain_user_may_not_register_anyone_even_a_name_in_use(svc: Services, cm: ConversationManager,
                                                                  root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    _user(cm, root, "bob")
    session = cm.open_session(ann)
    for name in ("eve", "bob", "BOB"):
        with pytest.raises(Forbidden, match="Only an admin may register users; ann is not an admin"):
            cm.begin_sign_in(ann, session, name, register=True)
    with pytest.raises(Forbidden, match="Only an admin may create users; ann is not an admin"):
        cm.create_user(ann, "eve", Role.USER)
    assert _user_names(svc) == ["root", "ann", "bob"]


def test_registering_a_name_in_use_whatever_its_case_changes_nothing(svc: Services, cm: ConversationManager,
                                                                     root: Caller) -> None:
    _, bob_key = _user(cm, root, "bob")
    session = cm.open_session(root)
    with pytest.raises(Conflict, match="A user named 'bob' already exists .*say 'log in as bob'"):
        cm.begin_sign_in(root, session, "BOB", register=True)
    with pytest.raises(Conflict, match="A user named 'bob' already exists"):
        cm.create_user(root, "Bob", Role.ADMIN)
    assert _user_names(svc) == ["root", "bob"]
    bob = cm.caller_for_key(bob_key)
    assert bob is not None and bob.name == "bob" and not bob.is_admin


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "semi;colon", "new\nline"])
def test_bad_user_names_are_refused(svc: Services, cm: ConversationManager, root: Caller, name: str) -> None:
    with pytest.raises(BadRequest, match="Invalid user name"):
        cm.create_user(root, name, Role.USER)
    with pytest.raises(BadRequest, match="Invalid user name"):
        cm.begin_sign_in(root, cm.open_session(root), name, register=False)
    assert _user_names(svc) == ["root"]


def test_a_created_user_has_the_role_asked_for(cm: ConversationManager, root: Caller) -> None:
    admin, _ = _user(cm, root, "ops", Role.ADMIN)
    plain, _ = _user(cm, root, "ann", Role.USER)
    assert (admin.is_admin, plain.is_admin) == (True, False)
    assert (cm.stored_role(admin), cm.stored_role(plain), cm.stored_role(Caller(999, "ghost", False))) == (
        "admin", "user", "user")
    assert cm.local_caller("ROOT") == root  # names ignore case; the CLI's operator is found, not made again
    assert cm.stored_role(root) == "admin"  # stored as an admin, not only answered as one
    assert cm.stored_role(cm.local_caller("operator2")) == "admin"


# -- signing in -----------------------------------------------------------------------------


def test_signing_in_with_the_users_own_key_acts_as_that_user(svc: Services, cm: ConversationManager,
                                                             root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    bob, bob_key = _user(cm, root, "bob")
    session = cm.open_session(ann)
    asked = cm.begin_sign_in(ann, session, "BOB", register=False)
    assert asked == ("Send bob's API key as your next message. It is checked, never stored in the history, "
                     "echoed or logged.")
    assert cm.context(session)["pending_auth"] == {"name": "bob"}
    assert cm.complete_sign_in(ann, session, f"  {bob_key}\n") == "Signed in as bob; this session now acts as bob."
    context = cm.context(session)
    assert "pending_auth" not in context
    acting = context["acting_as"]
    assert (acting["user_id"], acting["name"]) == (bob.user_id, "bob")
    assert acting["key"] == hash_api_key(bob_key)[:KEY_FINGERPRINT_LENGTH] and len(acting["key"]) == 16
    assert bob_key not in str(context)
    assert cm.acting_caller(ann, context, session) == bob
    assert ("ann", "sign_in", "bob") in _audit(svc)


def test_another_users_valid_key_or_a_wrong_key_signs_in_no_one(svc: Services, cm: ConversationManager,
                                                                 root: Caller) -> None:
    ann, ann_key = _user(cm, root, "ann")
    _, carl_key = _user(cm, root, "carl")
    _user(cm, root, "bob")
    session = cm.open_session(ann)
    for key in (ann_key, carl_key, new_api_key(), ""):
        cm.begin_sign_in(ann, session, "bob", register=False)
        with pytest.raises(Unauthorized, match="That is not bob's API key; nothing changed."):
            cm.complete_sign_in(ann, session, key)
        context = cm.context(session)
        assert "acting_as" not in context and "pending_auth" not in context  # the pending sign-in is used up
        assert cm.acting_caller(ann, context, session) == ann
    with pytest.raises(Unauthorized):  # a key with no sign-in pending matches no name
        cm.complete_sign_in(ann, session, carl_key)
    assert not [a for a in _audit(svc) if a[1] == "sign_in"]


@pytest.mark.parametrize("name", ["None", "XXXX"])
def test_a_key_sent_with_no_sign_in_pending_signs_in_no_one_whatever_the_users_name(
        svc: Services, cm: ConversationManager, root: Caller, name: str) -> None:
    """No pending sign-in names no one: not a user whose name is what a missing name would turn into."""
    ann, _ = _user(cm, root, "ann")
    _, key = _user(cm, root, name)
    session = cm.open_session(ann)
    with pytest.raises(Unauthorized, match="That is not 's API key; nothing changed."):
        cm.complete_sign_in(ann, session, key)
    assert "acting_as" not in cm.context(session) and cm.acting_caller(ann, cm.context(session), session) == ann
    assert not [a for a in _audit(svc) if a[1] == "sign_in"]


def test_signing_in_as_an_unknown_user_is_refused(cm: ConversationManager, root: Caller) -> None:
    session = cm.open_session(root)
    with pytest.raises(NotFound, match="No user named 'nobody'. An admin can say 'register nobody'."):
        cm.begin_sign_in(root, session, "nobody", register=False)
    assert "pending_auth" not in cm.context(session)


def test_a_sign_in_ends_when_its_key_is_rotated_or_revoked(cm: ConversationManager, root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    bob, bob_key = _user(cm, root, "bob")
    session = cm.open_session(ann)
    _sign_in(cm, ann, session, "bob", bob_key)
    new_key = cm.rotate_key(bob, "bob")["api_key"]
    context = cm.context(session)
    assert cm.acting_caller(ann, context, session) == ann
    assert "acting_as" not in context and "acting_as" not in cm.context(session)  # dropped from both
    assert cm.caller_for_key(bob_key) is None and cm.caller_for_key(new_key) == bob
    _sign_in(cm, ann, session, "bob", new_key)
    assert cm.acting_caller(ann, cm.context(session), session) == bob
    assert cm.revoke_key(root, "bob") == {"name": "bob", "active": False}
    assert cm.acting_caller(ann, cm.context(session), session) == ann
    assert cm.caller_for_key(new_key) is None


def test_a_sign_in_ends_after_it_has_been_idle_too_long_and_each_use_renews_it(cm: ConversationManager,
                                                                                root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    bob, bob_key = _user(cm, root, "bob")
    session = cm.open_session(ann)
    _sign_in(cm, ann, session, "bob", bob_key)
    cm.sign_in_idle_seconds = 0.5
    for _ in range(3):  # used every 0.3 s: it holds past 0.5 s since it began
        time.sleep(0.3)
        assert cm.acting_caller(ann, cm.context(session), session) == bob
    time.sleep(0.7)
    context = cm.context(session)
    assert cm.acting_caller(ann, context) == ann  # without a session id nothing is dropped from the store
    assert "acting_as" in cm.context(session)
    assert cm.acting_caller(ann, context, session) == ann and "acting_as" not in cm.context(session)


def test_a_forged_or_unknown_sign_in_acts_as_the_caller(cm: ConversationManager, root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    bob, bob_key = _user(cm, root, "bob")
    now = time.time()
    fingerprint = hash_api_key(bob_key)[:KEY_FINGERPRINT_LENGTH]
    for acting in ({"user_id": bob.user_id, "key": "0" * 16, "used_at": now},
                   {"user_id": 999, "key": fingerprint, "used_at": now},
                   {"user_id": bob.user_id, "key": fingerprint},  # never used: as idle as can be
                   {"user_id": bob.user_id, "key": "", "used_at": now},
                   "bob"):
        assert cm.acting_caller(ann, {"acting_as": acting}) == ann, acting
    assert cm.acting_caller(ann, {"acting_as": {"user_id": bob.user_id, "key": fingerprint,
                                                "used_at": now}}) == bob
    session = cm.open_session(ann)  # its stored context holds no sign-in: a forged one is dropped, not an error
    forged = {"acting_as": {"user_id": bob.user_id, "key": "0" * 16, "used_at": now}}
    assert cm.acting_caller(ann, forged, session) == ann and "acting_as" not in forged
    cm.revoke_key(bob, "bob")  # a user without a key: no fingerprint matches, not even an empty one
    for claimed in ("", "XXXX", fingerprint):
        assert cm.acting_caller(ann, {"acting_as": {"user_id": bob.user_id, "key": claimed, "used_at": now}}) == ann


def test_signing_out_returns_the_session_to_its_own_user(cm: ConversationManager, root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    _, bob_key = _user(cm, root, "bob")
    session = cm.open_session(ann)
    assert cm.sign_out(session) == "This session was not signed in to anyone."
    _sign_in(cm, ann, session, "bob", bob_key)
    cm.begin_sign_in(ann, session, "bob", register=False)
    assert cm.sign_out(session) == "Signed out of bob."
    context = cm.context(session)
    assert "acting_as" not in context and "pending_auth" not in context
    assert cm.acting_caller(ann, context, session) == ann


# -- keys -----------------------------------------------------------------------------------


def test_a_user_may_change_only_their_own_key_and_an_admin_anyones(svc: Services, cm: ConversationManager,
                                                                   root: Caller) -> None:
    ann, ann_key = _user(cm, root, "ann")
    _, bob_key = _user(cm, root, "bob")
    for change in (cm.rotate_key, cm.revoke_key):
        with pytest.raises(Forbidden, match="Only an admin may change another user's key; ann is not an admin"):
            change(ann, "bob")
    assert cm.caller_for_key(bob_key) is not None
    rotated = cm.rotate_key(ann, "ann")
    assert rotated["name"] == "ann" and rotated["key_prefix"] == rotated["api_key"][:8]
    assert cm.caller_for_key(ann_key) is None and cm.caller_for_key(rotated["api_key"]) == ann
    with pytest.raises(NotFound, match="No user named 'ghost'"):
        cm.rotate_key(root, "ghost")
    cm.revoke_key(root, "bob")
    assert cm.caller_for_key(bob_key) is None
    assert [a for a in _audit(svc) if a[1] in ("rotate_key", "revoke_key")] == [
        ("ann", "rotate_key", "ann"), ("root", "revoke_key", "bob")]


def test_audit_rows_name_their_actor_by_user_id(svc: Services, cm: ConversationManager, root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    _, bob_key = _user(cm, root, "bob")
    session = cm.open_session(ann)
    _sign_in(cm, ann, session, "bob", bob_key)
    cm.rotate_key(ann, "ann")
    cm.revoke_key(root, "bob")
    _user(cm, root, "ops", Role.ADMIN)
    with svc.engine.connect() as conn:
        details = conn.execute(sa.select(AuditLog.target, AuditLog.details)
                               .where(AuditLog.action == "create_user").order_by(AuditLog.id)).all()
    assert [tuple(d) for d in details] == [("ann", {"role": "user"}), ("bob", {"role": "user"}),
                                           ("ops", {"role": "admin"})]
    assert _audit_actors(svc)[:5] == [
        (root.user_id, "root", "create_user", "ann"), (root.user_id, "root", "create_user", "bob"),
        (ann.user_id, "ann", "sign_in", "bob"), (ann.user_id, "ann", "rotate_key", "ann"),
        (root.user_id, "root", "revoke_key", "bob")]


def test_a_rotated_key_is_listed_by_its_new_prefix(cm: ConversationManager, root: Caller) -> None:
    _, old = _user(cm, root, "ann")
    new = cm.rotate_key(root, "ann")["api_key"]
    listed = {row["name"]: row for row in cm.list_keys(root)}
    assert listed["ann"]["key_prefix"] == new[:8] != old[:8] and len(listed["ann"]["key_prefix"]) == 8
    cm.revoke_key(root, "ann")
    assert {row["name"]: row for row in cm.list_keys(root)}["ann"]["key_prefix"] is None


def test_only_an_admin_lists_keys_and_the_list_shows_prefixes_only(cm: ConversationManager, root: Caller) -> None:
    ann, ann_key = _user(cm, root, "ann")
    _, bob_key = _user(cm, root, "bob")
    cm.revoke_key(root, "bob")
    with pytest.raises(Forbidden, match="Only an admin may list keys; ann is not an admin"):
        cm.list_keys(ann)
    listed = {row["name"]: row for row in cm.list_keys(root)}
    assert listed["ann"] == {"name": "ann", "role": "user", "key_prefix": ann_key[:8], "active": True}
    assert listed["bob"] == {"name": "bob", "role": "user", "key_prefix": None, "active": False}
    assert ann_key not in str(listed) and bob_key not in str(listed)


def test_a_verified_key_is_remembered_briefly_and_forgotten_on_any_change(svc: Services, cm: ConversationManager,
                                                                           root: Caller) -> None:
    ann, ann_key = _user(cm, root, "ann")
    cm.auth_cache_ttl = 60
    assert cm.caller_for_key(ann_key) == ann
    with svc.engine.begin() as conn:  # another process revokes the key behind this one's back
        conn.execute(sa.update(User).where(User.name == "ann").values(api_key_hash=None))
    assert cm.caller_for_key(ann_key) == ann  # remembered: no database read within the time to live
    cm.forget_keys()
    assert cm.caller_for_key(ann_key) is None
    cm.auth_cache_ttl = 0.5  # a time to live under a second is kept too
    key = cm.rotate_key(root, "ann")["api_key"]
    assert cm.caller_for_key(key) == ann
    with svc.engine.begin() as conn:
        conn.execute(sa.update(User).where(User.name == "ann").values(api_key_hash=None))
    assert cm.caller_for_key(key) == ann
    time.sleep(0.6)
    assert cm.caller_for_key(key) is None  # past its time to live the key is read again


def test_the_key_cache_is_bounded_and_a_lookup_begun_before_a_change_stores_nothing() -> None:
    cache, ann = _CallerCache(), Caller(1, "ann", False)
    for i in range(AUTH_CACHE_MAX_KEYS):
        cache.put(f"k{i}", ann, 60, cache.generation)
    assert cache.get("k0") == ann and cache.get(f"k{AUTH_CACHE_MAX_KEYS - 1}") == ann
    cache.put("one-more", ann, 60, cache.generation)  # past the bound the cache starts over
    assert cache.get("k0") is None and cache.get("one-more") == ann
    for _ in range(2):  # every change, not only the first, turns away what was read before it
        began = cache.generation
        cache.clear()
        cache.put("read-before", ann, 60, began)
        assert cache.get("read-before") is None
    cache.put("expires", ann, 0.05, cache.generation)
    time.sleep(0.1)
    assert cache.get("expires") is None and "expires" not in cache._entries  # an expired entry is dropped


def test_a_key_is_verified_while_another_transaction_holds_the_write_lock(svc: Services, cm: ConversationManager,
                                                                         root: Caller) -> None:
    """Authentication only reads: it neither takes nor waits for SQLite's write lock (30 s busy timeout)."""
    import threading

    ann, key = _user(cm, root, "ann")
    cm.forget_keys()
    found: list[Caller | None] = []
    with svc.engine.begin() as conn:  # a long write in progress (the writer lock and BEGIN IMMEDIATE held)
        conn.execute(sa.update(User).where(User.name == "root").values(tokens_used=1))
        reader = threading.Thread(target=lambda: found.append(cm.caller_for_key(key)))
        reader.start()
        reader.join(timeout=5)
        assert found == [ann], "the key lookup waited for the writer"
    reader.join()


def test_a_user_created_by_another_process_meanwhile_is_the_one_returned(svc: Services,
                                                                          cm: ConversationManager,
                                                                          root: Caller) -> None:
    """The race between the lookup and the insert: the insert's conflict answers the row the other made."""
    from sqlalchemy.orm import Session

    _user(cm, root, "ann")
    with Session(svc.engine) as db:
        found = ConversationManager._create_user(db, "ann", Role.USER)
        assert (found.name, found.role) == ("ann", Role.USER)
        made = ConversationManager._create_user(db, "carl", Role.ADMIN)
        db.commit()
        assert (made.name, made.role) == ("carl", Role.ADMIN)
    assert _user_names(svc) == ["root", "ann", "carl"]


def test_the_admin_key_follows_the_configured_one(cm: ConversationManager) -> None:
    first, second = new_api_key(), new_api_key()
    cm.sync_admin_key("admin", first)
    admin = cm.caller_for_key(first)
    assert admin is not None and admin.is_admin and admin.name == "admin"
    cm.sync_admin_key("admin", first)
    assert cm.caller_for_key(first) == admin
    cm.sync_admin_key("admin", second)
    assert cm.caller_for_key(first) is None and cm.caller_for_key(second) == admin


def test_an_unchanged_admin_key_is_not_written_again(svc: Services, cm: ConversationManager, root: Caller) -> None:
    """Each start syncs the configured key: when it is the stored one, nothing is written and no verified key
    of this process is forgotten (a rewrite would empty the key cache)."""
    key = new_api_key()
    cm.sync_admin_key("admin", key)
    ann, ann_key = _user(cm, root, "ann")
    cm.auth_cache_ttl = 60
    assert cm.caller_for_key(ann_key) == ann
    with svc.engine.begin() as conn:  # another process revokes ann's key: only a forgotten cache would notice
        conn.execute(sa.update(User).where(User.name == "ann").values(api_key_hash=None))
    cm.sync_admin_key("admin", key)
    assert cm.caller_for_key(ann_key) == ann
    cm.sync_admin_key("admin", new_api_key())  # a changed key is written, and the cache emptied
    assert cm.caller_for_key(ann_key) is None


def test_a_key_set_for_a_user_is_that_users_alone(svc: Services, cm: ConversationManager, root: Caller) -> None:
    ann, ann_key = _user(cm, root, "ann")
    _, bob_key = _user(cm, root, "bob")
    key = new_api_key()
    made = cm.ensure_user_with_key("bob", key, Role.ADMIN)  # an existing user, not the first one
    bob = cm.caller_for_key(key)
    assert bob is not None and made == bob and (bob.name, bob.is_admin) == ("bob", True)
    assert cm.caller_for_key(bob_key) is None and cm.caller_for_key(ann_key) == ann
    assert cm.local_caller("root") == root and cm.stored_role(root) == "admin"
    listed = {row["name"]: row for row in cm.list_keys(root)}
    assert (listed["bob"]["key_prefix"], listed["bob"]["role"]) == (key[:8], "admin")
    assert listed["root"]["key_prefix"] is None  # root's row untouched
    plain = cm.ensure_user_with_key("carl", new_api_key(), Role.USER)  # a new user
    assert (plain.name, plain.is_admin) == ("carl", False) and plain.user_id not in (root.user_id, bob.user_id)
    assert _user_names(svc) == ["root", "ann", "bob", "carl"]


def test_key_shaped_strings_and_known_secrets_are_withheld() -> None:
    key = new_api_key()
    assert key.startswith("oos_") and len(key) == 4 + 43 and new_api_key() != key  # 32 random bytes, base64
    assert redact_keys(f"my key is {key} ok") == f"my key is {WITHHELD} ok"
    assert redact_keys("operator secret hunter2!", ("hunter2!", "")) == f"operator secret {WITHHELD}"
    assert redact_keys("oos_short") == "oos_short"  # too short to be a key


# -- sessions and history -------------------------------------------------------------------


def test_a_caller_reaches_only_their_own_sessions_and_histories(cm: ConversationManager, root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    bob, _ = _user(cm, root, "bob")
    anns = cm.open_session(ann)
    cm.record(anns, "user", "hello from ann")
    with pytest.raises(NotFound, match=f"No such session: {anns}"):
        cm.open_session(bob, anns)
    with pytest.raises(NotFound, match=f"No such session: {anns}"):
        cm.history(bob, anns)
    with pytest.raises(NotFound):
        cm.history(root, anns)  # an admin does not read another user's conversation either
    assert cm.open_session(ann, anns) == anns
    assert [m["content"] for m in cm.history(ann, anns)] == ["hello from ann"]
    assert cm.list_sessions(bob) == [] and cm.latest_session(bob) is None
    assert cm.context("no-such-session") == {}
    assert [s["id"] for s in cm.list_sessions(ann)] == [anns]


def test_the_latest_session_is_reused_unless_a_new_one_is_asked_for(cm: ConversationManager, root: Caller) -> None:
    ann, _ = _user(cm, root, "ann")
    first = cm.open_session(ann)
    assert cm.open_session(ann) == first == cm.latest_session(ann)
    second = cm.open_session(ann, new=True)
    assert second != first and cm.latest_session(ann) == second
    cm.record(first, "user", "back to the first")
    assert cm.open_session(ann) == first
    assert [s["id"] for s in cm.list_sessions(ann)] == [first, second]


def test_history_keeps_the_last_messages_in_order_withholding_keys(cm: ConversationManager, root: Caller) -> None:
    session = cm.open_session(root)
    key = new_api_key()
    cm.record(session, "assistant", "hi")
    cm.record(session, "user", f"here is {key}", intent="login", task_id=None)
    for i in range(3):
        cm.record(session, "user", f"message {i}")
    history = cm.history(root, session, limit=4)
    assert [m["content"] for m in history] == [f"here is {WITHHELD}", "message 0", "message 1", "message 2"]
    assert history[0]["intent"] == "login" and history[0]["role"] == "user"
    assert [s["title"] for s in cm.list_sessions(root)] == [f"here is {WITHHELD}"]  # the first user message
    with pytest.raises(NotFound, match="No such session: no-such-session"):
        cm.record("no-such-session", "user", "x")


def test_a_message_is_stored_with_its_data_and_task_and_titles_its_session(svc: Services, cm: ConversationManager,
                                                                          root: Caller) -> None:
    from models import Message

    session = cm.open_session(root)
    task = svc.controller.submit(root, "What is 2 + 2?", pool="general")
    cm.record(session, "assistant", "queued", intent="task", data={"pool": "general"}, task_id=task["id"])
    cm.record(session, "user", "y" * 300)
    with svc.engine.connect() as conn:
        stored = conn.execute(sa.select(Message.data, Message.task_id).order_by(Message.id)).all()
    assert [tuple(r) for r in stored] == [({"pool": "general"}, task["id"]), (None, None)]
    assert cm.history(root, session)[0]["task_id"] == task["id"]
    assert cm.list_sessions(root)[0]["title"] == "y" * 200  # the first user message, cut at 200


def test_a_turn_records_request_reply_and_context_together_keeping_the_stored_sign_in(
        svc: Services, cm: ConversationManager, root: Caller) -> None:
    session = cm.open_session(root)
    cm.save_context(session, {"last_pool": "sports", "acting_as": {"user": "ann"}, "pending_auth": "bob"})
    key = new_api_key()
    cm.record_turn(session, f"scale it, key {key}", "Scaled financial to 3.", "scale", None,
                   {"last_pool": "financial", "acting_as": {"user": "mallory"}})
    history = cm.history(root, session)
    assert [(m["role"], m["content"], m["intent"]) for m in history] == [
        ("user", f"scale it, key {WITHHELD}", "scale"), ("assistant", "Scaled financial to 3.", "scale")]
    assert cm.context(session) == {"last_pool": "financial", "acting_as": {"user": "ann"}, "pending_auth": "bob"}
    assert cm.list_sessions(root)[0]["title"] == f"scale it, key {WITHHELD}"
    cm.record_turn(session, "and now?", "Nothing to do.", "help")  # no context given: the stored one stays
    assert cm.context(session)["last_pool"] == "financial" and len(cm.history(root, session)) == 4
    fresh = cm.open_session(root, new=True)
    task = svc.controller.submit(root, "What is 2 + 2?", pool="general")["id"]
    cm.record_turn(fresh, "w" * 300, f"Queued as task {task}.", "submit", task)
    turn = cm.history(root, fresh)
    assert [(m["role"], m["task_id"]) for m in turn] == [("user", None), ("assistant", task)]  # the reply names it
    assert [s["title"] for s in cm.list_sessions(root) if s["id"] == fresh] == ["w" * 200]
    with pytest.raises(NotFound, match="No such session: gone"):
        cm.record_turn("gone", "x", "y", None)


def test_secrets_known_to_the_manager_are_withheld_in_history_and_titles(svc: Services, cm: ConversationManager,
                                                                         root: Caller) -> None:
    secret = "hunter2-operator-secret"
    session = cm.open_session(root)
    cm.record(session, "user", f"the old key was {secret}")  # stored before the secret was known
    knowing = ConversationManager(make_session_factory(svc.engine), known_secrets=(secret, ""))
    assert knowing.known_secrets == (secret,)
    assert knowing.list_sessions(root)[0]["title"] == f"the old key was {WITHHELD}"
    knowing.record(session, "user", f"again {secret}")
    assert knowing.history(root, session)[-1]["content"] == f"again {WITHHELD}"


def test_a_second_manager_on_the_same_database_sees_a_new_key_at_once(svc: Services, cm: ConversationManager,
                                                                       root: Caller) -> None:
    other = ConversationManager(make_session_factory(svc.engine))
    assert other.caller_for_key("oos_not_a_key_of_anyone_0000") is None
    ann, key = _user(cm, root, "ann")
    assert other.caller_for_key(key) == ann  # failed lookups are never remembered
