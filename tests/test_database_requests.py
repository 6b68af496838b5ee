"""The ``database`` intent (issue 23): "back up the database" and its kin, through main.py and POST /api/command."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from command_processor import parse
from tests.conftest import TEST_API_KEY, new_user, run_cli, say


def _json(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = run_cli("--json", *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return dict(json.loads(done.stdout))


def _backups(home: Path) -> list[Path]:
    folder = home / "backups"
    return sorted(folder.iterdir()) if folder.exists() else []


def _healthcare_size(env: dict[str, str]) -> int:
    return int(_json("show the healthcare pool", env=env)["data"]["pools"][0]["desired_size"])


@pytest.mark.parametrize(("text", "action"), [
    ("back up the database", "backup"), ("backup the db", "backup"), ("make a backup of the database", "backup"),
    ("database status", "status"), ("how big is the database?", "status"),
    ("restore the database from backups/operatoros-1.db", "restore"),
])
def test_database_requests_are_understood(text: str, action: str) -> None:
    [command] = parse(text)
    assert (command.intent, command.args.get("action")) == ("database", action)


def test_restore_keeps_the_named_file_and_health_stays_health() -> None:
    [restore] = parse("restore the db from '/srv/backups/a b.db'")
    assert restore.args == {"action": "restore", "path": "/srv/backups/a b.db"}
    assert [c.intent for c in parse("is the database connection ok")] == ["health"]
    assert [c.intent for c in parse("bring the automation agents back up")] == ["restart"]


def test_cli_backup_is_written_and_restorable_by_db_restore(cli_env: dict[str, str], home: Path) -> None:
    assert _healthcare_size(cli_env) != 4
    before = _healthcare_size(cli_env)
    reply = _json("back up the database", env=cli_env)
    assert reply["ok"] and reply["intent"] == "database", reply
    made = reply["data"]["backup"]
    [written] = _backups(home)
    assert made["path"] == str(written.resolve()) and made["size_bytes"] == written.stat().st_size > 0
    assert made["path"] in reply["response"] and "db restore" in reply["response"]
    assert _json("scale healthcare to 4", env=cli_env)["ok"] and _healthcare_size(cli_env) == 4
    restored = run_cli("db", "restore", made["path"], "--yes", env=cli_env)
    assert restored.returncode == 0, restored.stderr
    assert _healthcare_size(cli_env) == before
    status = _json("database status", env=cli_env)
    assert status["data"]["status"]["tables"]["agent_pools"]["rows"] == 5 and "revision" in status["response"]


def test_a_conversation_never_restores(cli_env: dict[str, str], home: Path) -> None:
    _json("back up the database", env=cli_env)
    [backup] = _backups(home)
    assert _json("scale healthcare to 4", env=cli_env)["ok"]
    reply = _json(f"restore the database from {backup}", env=cli_env)
    assert reply["ok"] and reply["data"]["performed"] is False
    assert reply["data"]["command"] == f"python main.py db restore {backup}"
    assert "confirmation" in reply["response"] and _healthcare_size(cli_env) == 4


@pytest.mark.parametrize("args", [
    ("--dry-run", "back up the database"), ("should I back up the database?",), ("don't back up the database",),
    ("no need to backup the db",), ("what if I backed up the database?",),
])
def test_dry_run_question_and_negation_write_nothing(cli_env: dict[str, str], home: Path, args: tuple[str, ...]
                                                     ) -> None:
    reply = _json(*args, env=cli_env)
    assert reply["ok"], reply
    assert _backups(home) == []
    assert "Nothing was changed" in reply["response"]
    if "--dry-run" in args:
        assert str(home / "backups") in reply["response"]
    if args[0].startswith("should"):
        assert reply["intent"] == "database" and reply["args"]["action"] == "status"
        assert reply["data"]["status"]["last_backup"] is None


def test_api_command_admin_backs_up_and_a_user_is_refused(client: Any, home: Path) -> None:
    bob = new_user(client, "bob")
    refused = say(client, bob, "back up the database")
    assert not refused["ok"] and refused["error"]["code"] == "forbidden" and "admin" in refused["error"]["message"]
    assert _backups(home) == []
    assert say(client, bob, "database status")["error"]["code"] == "forbidden"
    advice = say(client, bob, "restore the database from backups/x.db")
    assert advice["ok"] and advice["data"]["performed"] is False and _backups(home) == []
    done = say(client, TEST_API_KEY, "back up the database")
    assert done["ok"], done
    [written] = _backups(home)
    assert done["data"]["backup"]["path"] == str(written.resolve())
    status = say(client, TEST_API_KEY, "how big is the database?")
    assert status["data"]["status"]["last_backup"]["target"] == str(written.resolve())
