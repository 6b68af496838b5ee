"""The conversational front door through `python main.py`: sessions, follow-ups, clarify, sign-in, users."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .conftest import ROOT, run_cli


def ask(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run one request with --json and return the reply object."""
    result = run_cli("--json", *args, env=env)
    assert result.stdout.count("\n") == 1, result.stdout + result.stderr
    reply = json.loads(result.stdout)
    assert result.returncode == (0 if reply["ok"] else 1)
    return reply


def test_a_follow_up_resolves_from_the_session_context(cli_env: dict[str, str]) -> None:
    first = ask(cli_env, "show the healthcare pool")
    assert first["intent"] == "pools" and first["args"] == {"pool": "healthcare"}
    follow = ask(cli_env, "and the financial ones?")
    assert follow["intent"] == "pools" and follow["args"]["pool"] == "financial"
    scaled = ask(cli_env, "scale it to 5")
    assert scaled["intent"] == "scale" and scaled["args"] == {"pool": "financial", "size": 5}
    assert scaled["data"]["pool"]["desired_size"] == 5


def test_cancel_that_task_uses_the_last_task(cli_env: dict[str, str]) -> None:
    queued = ask(cli_env, "--background", "Analyze MSFT stock performance")
    task = queued["data"]["task"]
    assert queued["intent"] == "submit" and task["status"] == "queued" and task["pool"] == "financial"
    cancelled = ask(cli_env, "cancel that task")
    assert cancelled["intent"] == "cancel" and cancelled["data"]["task"]["id"] == task["id"]
    assert cancelled["data"]["task"]["status"] == "cancelled"


def test_an_ambiguous_request_gets_a_question_with_choices(cli_env: dict[str, str]) -> None:
    reply = ask(cli_env, "scale")
    assert reply["intent"] == "clarify" and reply["ok"] is True
    assert reply["data"]["question"].endswith("?") and len(reply["data"]["choices"]) >= 2
    assert all(choice in reply["response"] for choice in reply["data"]["choices"])


def test_gibberish_is_not_understood_and_fails(cli_env: dict[str, str]) -> None:
    reply = ask(cli_env, "blorf zib quux")
    assert reply["ok"] is False and reply["intent"] == "clarify"
    assert reply["error"]["code"] == "not_understood" and reply["data"]["choices"]


def test_a_compound_request_gives_one_reply_per_command(cli_env: dict[str, str]) -> None:
    reply = ask(cli_env, "scale healthcare to 4 and show me the status")
    assert reply["intent"] == "multi" and [s["intent"] for s in reply["steps"]] == ["scale", "status"]
    assert reply["steps"][1]["data"]["pools"][0]["desired_size"] == 4


def test_help_on_one_topic(cli_env: dict[str, str]) -> None:
    reply = ask(cli_env, "help scaling")
    assert reply["intent"] == "help" and "Scale up the healthcare agent pool" in reply["response"]


def registered_key(env: dict[str, str], name: str) -> str:
    """Register `name` (the server makes the key) and return the key the reply shows once."""
    reply = ask(env, f"register {name}")
    match = re.search(r"oos_[A-Za-z0-9_\-]+", reply["response"])
    assert reply["ok"] and match, reply
    return match.group(0)


def test_sign_in_by_conversation_never_keeps_the_key(cli_env: dict[str, str], home: Path) -> None:
    key = registered_key(cli_env, "bob")
    assert "next message" in ask(cli_env, "log in as bob")["response"]
    result = run_cli("--json", key, env=cli_env)
    reply = json.loads(result.stdout)
    assert reply["ok"] and reply["user"] == "bob" and key not in result.stdout + result.stderr
    assert ask(cli_env, "whoami")["data"]["name"] == "bob"
    refused = ask(cli_env, "scale sports to 3")
    assert refused["error"]["code"] == "forbidden"  # bob is not an admin
    history = ask(cli_env, "show my history")["data"]["messages"]
    assert "[API key withheld]" in [m["content"] for m in history]
    db_file = Path(cli_env["DATABASE_URL"].removeprefix("sqlite:///"))
    assert key.encode() not in db_file.read_bytes()
    wal = db_file.with_name(db_file.name + "-wal")
    assert not wal.exists() or key.encode() not in wal.read_bytes()
    assert "Signed out of bob" in ask(cli_env, "log out")["response"]
    assert ask(cli_env, "whoami")["data"]["name"] == "tester"


def test_a_wrong_key_signs_in_no_one(cli_env: dict[str, str]) -> None:
    registered_key(cli_env, "carol")
    ask(cli_env, "log in as carol")
    wrong = ask(cli_env, "not-carols-key-9999999")
    assert wrong["ok"] is False and wrong["error"]["code"] == "unauthorized"
    assert "not-carols-key" not in wrong["response"]
    assert ask(cli_env, "whoami")["data"]["name"] == "tester"


def test_two_users_in_parallel_keep_separate_sessions_and_histories(cli_env: dict[str, str]) -> None:
    def conversation(user: str) -> list[dict[str, Any]]:
        return [ask(cli_env, "--user", user, text) for text in
                ("show the sports pool", "and the business ones?", "show me the status", "show my history")]

    with ThreadPoolExecutor(max_workers=2) as pool:
        ann, bob = pool.map(conversation, ["ann", "bob"])
    assert len({r["session_id"] for r in ann}) == 1 and len({r["session_id"] for r in bob}) == 1
    assert ann[0]["session_id"] != bob[0]["session_id"]
    assert ann[1]["args"]["pool"] == "business" and bob[1]["args"]["pool"] == "business"
    for replies, user in ((ann, "ann"), (bob, "bob")):
        assert {r["user"] for r in replies} == {user}
        history = replies[-1]["data"]["messages"]
        assert [m["content"] for m in history if m["role"] == "user"] == [
            "show the sports pool", "and the business ones?", "show me the status"]


def test_dry_run_of_a_submission_queues_nothing(cli_env: dict[str, str]) -> None:
    reply = ask(cli_env, "--dry-run", "Analyze AAPL stock performance")
    assert reply["intent"] == "submit" and reply["data"] == {"dry_run": True}
    assert ask(cli_env, "list my tasks")["data"]["tasks"] == []


def test_a_submission_without_a_server_is_worked_inline(cli_env: dict[str, str]) -> None:
    reply = ask(cli_env, "Analyze AAPL stock performance")
    task = reply["data"]["task"]
    assert task["status"] == "succeeded" and task["pool"] == "financial"
    assert "Not investment advice" in task["result"]["text"]
    assert task["result"]["provider"] == "local"


def test_progress_is_never_printed_in_json_mode(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", "Analyze AAPL stock performance", env=cli_env)
    json.loads(result.stdout)
    assert result.stderr == ""


def test_concurrent_cli_processes_on_one_session_lose_no_message(cli_env: dict[str, str]) -> None:
    session = ask(cli_env, "status")["session_id"]
    procs = [subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--session", session, "--json", "health"],
                              env=cli_env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    engine = sa.create_engine(cli_env["DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM messages WHERE session_id = :s"), {"s": session}).scalar()
    engine.dispose()
    assert count == 2 + 6 * 2
