"""Clarifying questions answered by number and by name, read-only questions, dry runs that agree with
real runs, and fresh sessions: through `python main.py` as subprocesses and through POST /api/command."""
from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import run_cli


def cli_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = run_cli("--json", *args, env=env)
    assert result.stdout.count("\n") == 1, result.stdout + result.stderr
    return json.loads(result.stdout)


def pool_size(env: dict[str, str], pool: str) -> int:
    reply = cli_json(env, f"show the {pool} pool")
    return next(p["desired_size"] for p in reply["data"]["pools"] if p["name"] == pool)


def command_of(reply: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return reply["intent"], {k: v for k, v in reply["args"].items() if k not in ("choices", "question")}


# --- the CLI, one call at a time, in one session ---------------------------------------------------


def test_a_numbered_choice_is_answered_by_number_and_dry_run_predicts_it(cli_env: dict[str, str]) -> None:
    before = pool_size(cli_env, "financial")
    question = cli_json(cli_env, "scale up")
    assert question["intent"] == "clarify"
    assert question["data"]["choices"][1].startswith("scale financial")
    assert "2. scale financial" in question["response"]
    dry = cli_json(cli_env, "--dry-run", "2")
    real = cli_json(cli_env, "2")
    assert command_of(dry) == command_of(real) == ("scale", {"pool": "financial", "delta": 1})
    assert dry["data"] == {"dry_run": True}
    assert real["data"]["pool"]["desired_size"] == before + 1 == pool_size(cli_env, "financial")


def test_a_choice_is_answered_by_name_without_reading_one_as_a_size(cli_env: dict[str, str]) -> None:
    before = pool_size(cli_env, "financial")
    assert cli_json(cli_env, "scale")["intent"] == "clarify"
    result = run_cli("the financial one", env=cli_env)
    assert result.returncode == 0, result.stdout
    assert f"Scaled the financial pool from {before} to {before + 1}" in result.stdout


def test_an_answer_matching_no_choice_says_so_and_the_question_stays(cli_env: dict[str, str]) -> None:
    cli_json(cli_env, "show me a demo")
    wrong = cli_json(cli_env, "9")
    assert wrong["ok"] is False and wrong["error"]["code"] == "no_such_choice"
    assert "'9' is none of the choices" in wrong["response"]
    right = cli_json(cli_env, "--dry-run", "the sports one")
    assert command_of(right) == ("demo", {"domain": "sports"})


def test_in_the_interactive_session_a_number_answers_the_question_not_the_menu(cli_env: dict[str, str]) -> None:
    before = pool_size(cli_env, "financial")
    result = run_cli(env=cli_env, input="scale up\n2\n2\nexit\n")
    assert result.returncode == 0, result.stderr
    assert f"Scaled the financial pool from {before} to {before + 1}" in result.stdout
    assert "Healthy." in result.stdout or "Unhealthy" in result.stdout  # the second "2" is the menu's again
    assert pool_size(cli_env, "financial") == before + 1


def test_a_question_about_an_action_changes_nothing_and_says_so(cli_env: dict[str, str]) -> None:
    before = pool_size(cli_env, "financial")
    result = run_cli("should I scale up the financial pool?", env=cli_env)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("I did not scale the financial pool up by 1: you asked a question")
    negated = run_cli("no need to restart, just show me the health of the system", env=cli_env)
    assert "Healthy." in negated.stdout and "Restarting" not in negated.stdout
    assert pool_size(cli_env, "financial") == before


def test_performance_questions_print_throughput_latency_and_error_rate(cli_env: dict[str, str]) -> None:
    for text in ("How are the agent pools performing?", "Show me agent performance metrics"):
        result = run_cli(text, env=cli_env)
        assert result.returncode == 0, result.stdout
        for column in ("tasks/min", "p50 ms", "p95 ms", "error rate"):
            assert column in result.stdout, (text, result.stdout)


def test_new_session_starts_a_fresh_conversation(cli_env: dict[str, str]) -> None:
    first = cli_json(cli_env, "list failed tasks")
    fresh = cli_json(cli_env, "--session", "new", "list the healthcare tasks")
    assert fresh["session_id"] != first["session_id"]
    assert fresh["args"] == {"pool": "healthcare"}  # the failed filter stayed in the old conversation
    said = cli_json(cli_env, "new session")
    assert said["ok"] is True and said["session_id"] not in (first["session_id"], fresh["session_id"])
    assert "new conversation" in said["response"]


def test_an_action_that_does_not_exist_is_said_plainly(cli_env: dict[str, str]) -> None:
    result = run_cli("rename workflow 2", env=cli_env)
    assert result.returncode == 1
    assert result.stdout.startswith("Renaming a workflow is not available in OperatorOS, so nothing was changed.")


# --- POST /api/command ---------------------------------------------------------------------------


def post(client: Any, auth: dict[str, str], text: str, session_id: str | None = None, dry_run: bool = False
         ) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text, "dry_run": dry_run}
    if session_id:
        body["session_id"] = session_id
    response = client.post("/api/command", json=body, headers=auth)
    assert response.status_code == 200
    return response.get_json()


def test_api_choices_by_number_and_name(client, auth) -> None:  # type: ignore[no-untyped-def]
    question = post(client, auth, "show me a demo")
    session = question["session_id"]
    assert question["intent"] == "clarify" and len(question["data"]["choices"]) == 4
    dry = post(client, auth, "option 4", session, dry_run=True)
    assert command_of(dry) == ("demo", {"domain": "business"})
    scale = post(client, auth, "scale down", session)
    assert scale["intent"] == "clarify"
    dry = post(client, auth, "the general pool please", session, dry_run=True)
    real = post(client, auth, "the general pool please", session)
    assert command_of(dry) == command_of(real) == ("scale", {"pool": "general", "delta": -1})
    # the question was answered: it is gone, and "2" is not its second choice any more
    assert command_of(post(client, auth, "2", session, dry_run=True)) != ("scale", {"pool": "financial", "delta": -1})


@pytest.mark.parametrize("turns, text", [
    ([], "don't cancel task 4, just show it"),
    ([], "if I scaled business to 10, would the server have enough memory?"),
    ([], "User request: 'get the finance pool to 6 agents'. Please perform this scaling operation."),
    ([], "Please list only the tasks that failed"),
    (["list failed tasks"], "what about healthcare?"),
    (["scale sports to 2"], "do the same for healthcare"),
    (["scale"], "1"),
    ([], "Walk me through financial analysis capabilities"),
    ([], "unschedule workflow 1"),
])
def test_api_dry_run_and_real_run_agree_on_the_command(client, auth, turns: list[str], text: str) -> None:  # type: ignore[no-untyped-def]
    session = post(client, auth, "new session")["session_id"]
    for turn in turns:
        post(client, auth, turn, session)
    dry = post(client, auth, text, session, dry_run=True)
    real = post(client, auth, text, session)
    assert command_of(dry) == command_of(real), (dry["response"], real["response"])
    steps = real.get("steps") or [real]
    assert all(s["intent"] not in ("scale", "restart", "cancel") for s in steps) or "get the finance" in text \
        or "do the same" in text or text == "1"
