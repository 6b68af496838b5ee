"""Conversational sign-in as a plain user, over REST (POST /api/command) and the CLI (`--api`): what a
non-admin may not do. Each assertion fails when the check that holds it is removed from conversation_manager."""
from __future__ import annotations

import json
from typing import Any

from .conftest import TEST_API_KEY, bearer, new_user, run_cli, say


def _whoami(client: Any, key: str, session_id: str) -> str:
    return str(say(client, key, "whoami", session_id)["data"]["name"])


def _users(client: Any) -> set[str]:
    listed = client.get("/api/keys", headers=bearer(TEST_API_KEY))
    assert listed.status_code == 200, listed.get_json()
    return {row["name"] for row in listed.get_json()["keys"]}


def test_a_plain_user_cannot_register_a_user(app: Any, client: Any) -> None:
    ann = new_user(client, "ann")
    reply = say(client, ann, "register eve")
    assert reply["ok"] is False and reply["error"]["code"] == "forbidden", reply
    assert "register users" in reply["response"]  # refused by the sign-in's own check, not further down
    assert "oos_" not in json.dumps(reply)  # no key was made
    assert "eve" not in _users(client)


def test_a_plain_user_cannot_learn_which_names_exist_by_registering_them(app: Any, client: Any) -> None:
    ann = new_user(client, "ann")
    new_user(client, "bob")
    reply = say(client, ann, "register bob")
    assert reply["error"]["code"] == "forbidden", reply  # not the 'already exists' of an admin


def test_a_users_own_valid_key_does_not_sign_in_under_another_name(app: Any, client: Any) -> None:
    ann, carl = new_user(client, "ann"), new_user(client, "carl")
    new_user(client, "bob")
    for key in (ann, carl):  # a key that is valid, but not bob's
        asked = say(client, ann, "log in as bob")
        reply = say(client, ann, key, asked["session_id"])
        assert reply["ok"] is False and reply["error"]["code"] == "unauthorized", reply
        assert "Signed in" not in reply["response"]
        assert _whoami(client, ann, asked["session_id"]) == "ann"


def test_registering_a_name_in_use_changes_nothing(app: Any, client: Any) -> None:
    """Keys are made by the server (no key can be chosen); the name is what an admin could reuse."""
    bob = new_user(client, "bob")
    reply = say(client, TEST_API_KEY, "register BOB")
    assert reply["ok"] is False and reply["error"]["code"] == "conflict", reply
    assert "log in as bob" in reply["response"]  # the sign-in's check, which points to the existing user
    assert client.get("/api/tasks", headers=bearer(bob)).status_code == 200  # bob's key still his


def test_the_cli_as_a_plain_user_cannot_register_or_sign_in_as_another(
        app: Any, client: Any, live_server: str, cli_env: dict[str, str]) -> None:
    ann, carl = new_user(client, "ann"), new_user(client, "carl")
    new_user(client, "bob")
    env = {**cli_env, "OPERATOROS_API_KEY": ann}
    registered = run_cli("--json", "--api", live_server, "register eve", env=env)
    reply = json.loads(registered.stdout)
    assert registered.returncode == 1 and reply["error"]["code"] == "forbidden", registered.stdout
    assert "eve" not in _users(client)
    signed = run_cli("--json", "--api", live_server, "login", "bob", env={**env, "OPERATOROS_SIGN_IN_KEY": carl})
    reply = json.loads(signed.stdout)
    assert signed.returncode == 1 and reply["error"]["code"] == "unauthorized", signed.stdout
    assert reply["user"] == "ann" and carl not in signed.stdout + signed.stderr
