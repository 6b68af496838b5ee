"""`python main.py` run as a user would: text, JSON, errors, exit codes, serve and --api."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .conftest import ROOT, run_cli


def test_status_answers_in_text_with_real_figures(cli_env: dict[str, str]) -> None:
    result = run_cli("Show me the system status", env=cli_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("OperatorOS is up: 5 pools")
    for pool in ("healthcare", "financial", "sports", "business", "general"):
        assert pool in out
    assert "Tasks: queued 0" in out
    assert "Machine: CPU" in out and "memory" in out
    assert cli_env["DATABASE_URL"].split("///")[1] in out
    assert result.stderr == ""


def test_status_loads_neither_the_web_stack_nor_the_sdks(cli_env: dict[str, str]) -> None:
    """A fast start: answering status must not import Flask, the openai SDK or Celery."""
    assert run_cli("Show me the system status", env=cli_env).returncode == 0  # the first run migrates (Alembic)
    code = ("import runpy, sys\n"
            "sys.argv = ['main.py', 'Show me the system status']\n"
            "try:\n    runpy.run_path('main.py', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy = ('flask', 'werkzeug', 'openai', 'httpx', 'celery', 'spectree', 'pydantic', 'ai_providers',\n"
            "         'business_automation', 'demo_runner', 'domains.agents',\n"
            "         'sqlalchemy.dialects.postgresql')  # on SQLite: a dialect argument in models once loaded it\n"
            "print('LOADED', ','.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, cwd=str(ROOT), capture_output=True,
                            text=True, timeout=60)
    assert "OperatorOS is up" in result.stdout, result.stderr
    assert "LOADED \n" in result.stderr, result.stderr


def test_status_json_is_the_contract_object(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", "Show me the system status", env=cli_env)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["ok"] is True and reply["intent"] == "status"
    assert reply["user"] == "tester" and len(reply["session_id"]) == 32
    assert {p["name"] for p in reply["data"]["pools"]} == {"healthcare", "financial", "sports", "business", "general"}
    assert result.stdout.count("\n") == 1


def test_json_flag_after_the_request_works_too(cli_env: dict[str, str]) -> None:
    result = run_cli("show me the system status", "--json", env=cli_env)
    assert json.loads(result.stdout)["intent"] == "status"


def test_the_latest_session_resumes_and_a_named_one_is_used(cli_env: dict[str, str]) -> None:
    first = json.loads(run_cli("--json", "status", env=cli_env).stdout)
    second = json.loads(run_cli("--json", "health", env=cli_env).stdout)
    assert first["session_id"] == second["session_id"]
    other_user = json.loads(run_cli("--json", "--user", "someone", "status", env=cli_env).stdout)
    assert other_user["session_id"] != first["session_id"]
    stolen = run_cli("--json", "--user", "someone", "--session", first["session_id"], "status", env=cli_env)
    assert stolen.returncode == 1
    assert json.loads(stolen.stdout)["error"]["code"] == "not_found"


def test_a_request_not_understood_fails_clearly(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", "frobnicate the quux", env=cli_env)
    assert result.returncode == 1
    reply = json.loads(result.stdout)
    assert reply["ok"] is False and reply["error"]["code"] == "not_understood"
    assert "Traceback" not in result.stdout + result.stderr


def test_dry_run_changes_nothing(cli_env: dict[str, str], home: Path) -> None:
    result = run_cli("--dry-run", "--json", "show me the status", env=cli_env)
    reply = json.loads(result.stdout)
    assert reply["ok"] is True and reply["data"] == {"dry_run": True}
    import sqlalchemy as sa

    engine = sa.create_engine(cli_env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM messages")).scalar() == 0
    engine.dispose()


def test_bad_usage_exits_2(cli_env: dict[str, str]) -> None:
    result = run_cli("--session", env=cli_env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_bad_configuration_is_a_clear_error_not_a_traceback(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", "status", env={**cli_env, "OPERATOROS_PROVIDER": "magic"})
    assert result.returncode == 2  # configuration, like usage: fix the command's environment
    reply = json.loads(result.stdout)
    assert reply["error"]["code"] == "bad_configuration" and "OPERATOROS_PROVIDER" in reply["error"]["message"]
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unreachable_database_is_a_clear_error(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:1/nope"}
    result = run_cli("--json", "status", env=env, timeout=60)
    assert result.returncode == 2
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "database_unavailable"


def test_interactive_session_has_a_menu_help_and_exit(cli_env: dict[str, str]) -> None:
    result = run_cli(env=cli_env, input="help\n1\nexit\n")
    assert result.returncode == 0
    assert "1. Show me the system status" in result.stdout
    assert "Ask in plain words" in result.stdout
    assert "OperatorOS is up" in result.stdout
    assert result.stdout.endswith("operatoros> \n")  # piped 'exit' still ends the last line


def test_interactive_json_keeps_stdout_to_one_json_object_per_request(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", env=cli_env, input="1\nhelp\nexit\n")
    assert result.returncode == 0, result.stderr
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in replies] == ["status", "help"]
    assert "1. Show me the system status" in result.stderr and "operatoros> " in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_creates_an_admin_key_and_the_cli_talks_to_it(cli_env: dict[str, str], home: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port)],
                              env=cli_env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        key_file = home / "admin_api_key"
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert requests.get(base + "/api/status", timeout=5).status_code == 401
        assert requests.get(base + "/api/status", headers={"Authorization": f"Bearer {key}"}, timeout=5).ok
        result = run_cli("--json", "--api", base, "show me the system status",
                         env={**cli_env, "OPERATOROS_API_KEY": key})
        reply = json.loads(result.stdout)
        assert reply["ok"] is True and reply["intent"] == "status" and reply["user"] == "admin"
        assert key not in result.stdout
        keyless = run_cli("--api", base, "show me the system status", env=cli_env)
        assert keyless.returncode == 1 and "Traceback" not in keyless.stdout + keyless.stderr
        assert "Set OPERATOROS_API_KEY" in keyless.stdout and "admin_api_key" in keyless.stdout
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert str(home / "admin_api_key") in err
    assert key not in err
    assert '"GET /api/status HTTP/1.1" 401' in err and "\x1b[" not in err  # a plain access log in a file


def test_api_flag_reports_an_unreachable_server(cli_env: dict[str, str]) -> None:
    result = run_cli("--json", "--api", f"http://127.0.0.1:{_free_port()}", "status", env=cli_env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "unavailable"


def test_a_python_without_the_dependencies_says_to_use_the_virtual_environment(cli_env: dict[str, str],
                                                                              tmp_path: Path) -> None:
    import click

    def run(*args: str, pythonpath: str = "") -> subprocess.CompletedProcess[str]:
        # -S: no site-packages, as with a system python that lacks the requirements
        return subprocess.run([sys.executable, "-S", str(ROOT / "main.py"), *args], cwd=str(ROOT),
                              env={**cli_env, "PYTHONPATH": pythonpath}, capture_output=True, text=True,
                              timeout=60)

    no_click = run("Show me the system status")
    assert no_click.returncode == 1 and no_click.stdout == ""
    assert "'click'" in no_click.stderr and ".venv/bin/python" in no_click.stderr
    as_json = json.loads(run("--json", "status").stdout)
    assert as_json["ok"] is False and as_json["error"]["code"] == "missing_dependency"
    only_click = tmp_path / "only_click"
    only_click.mkdir()
    (only_click / "click").symlink_to(Path(click.__file__).parent)
    reply = json.loads(run("--json", "status", pythonpath=str(only_click)).stdout)
    assert reply["ok"] is False and reply["error"]["code"] == "missing_dependency"
    assert "pip install -r requirements.txt" in reply["error"]["message"]
    text = run("status", pythonpath=str(only_click))
    assert text.returncode == 1 and "virtual environment" in text.stdout
    assert "Traceback" not in text.stdout + text.stderr + no_click.stderr


def _assert_imports_leave_no_trace(tmp_path: Path, modules: list[str], then: str = "") -> None:
    """Importing `modules` (then running `then`) starts no thread and writes no file, in a fresh process."""
    code = ("import sys, threading, os; sys.path.insert(0, %r)\n"
            "before = set(os.listdir('.'))\n"
            "for m in %r: __import__(m)\n"
            "assert threading.active_count() == 1, threading.enumerate()\n"
            "assert set(os.listdir('.')) == before\n") % (str(ROOT), modules) + then
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""), "OPERATOROS_HOME": str(tmp_path / "h")})
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "h").exists()


@pytest.mark.skipif(not os.access(sys.executable, os.X_OK), reason="no python")
def test_importing_every_module_has_no_side_effects(tmp_path: Path) -> None:
    _assert_imports_leave_no_trace(tmp_path, [
        "main", "app", "models", "api_routes", "agent_master_controller", "ai_providers", "ai_providers_enhanced",
        "agent_pools", "task_processor", "health_monitor", "business_automation", "replit_interface",
        "command_processor", "conversation_manager", "demo_runner", "config", "database", "errors",
        "domains.agents", "workflows.step_replies", "domains.tickets", "backends.celery_queue",
        "backends.celery_worker", "backends.base", "backends.local", "services", "api.workflows"])


# -- demos and workflows from the command line (issue #8) ---------------------------------------

DEMO_CLI_SECONDS = 10.0
"""Each demo, run as `python main.py "Show me a <domain> demo"`, must answer offline in under this."""


@pytest.mark.parametrize("domain", ["healthcare", "financial", "sports", "business"])
def test_each_demo_runs_offline_from_the_cli_with_narration_and_a_summary(cli_env: dict[str, str],
                                                                          domain: str) -> None:
    import re

    started = time.monotonic()
    result = run_cli(f"Show me a {domain} demo", env=cli_env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < DEMO_CLI_SECONDS, elapsed
    assert result.stderr == ""  # not a terminal: no progress, no live narration
    out = result.stdout
    head = out.splitlines()[0]
    assert head.startswith(f"The {domain} demo ran ") and "all steps succeeded" in head, head
    task_ids = [int(t) for t in re.findall(r"\d+", head[head.index("(tasks"):])]
    assert task_ids
    # The narration: each step says what it shows and the request it sends.
    assert "Step 1/" in out and "What it shows:" in out
    assert f"Request to the {domain} pool:" in out
    # The summary: a row per step with its task id, pool and time, and who answered.
    summary = out[out.index(f"Summary: {domain} demo, "):]
    header = summary.splitlines()[1].split()
    assert header == ["#", "step", "kind", "task", "pool", "status", "provider", "secs"]
    for task_id in task_ids:
        row = next(line for line in summary.splitlines() if re.search(rf"\s{task_id}\s+{domain}\s", line))
        assert re.search(r"\s\d+\.\d\d$", row), row
    assert "Tasks: " + ", ".join(str(t) for t in task_ids) in summary
    assert "built-in analyzers (offline" in summary
    if domain == "business":
        assert re.search(r"Workflow \d+, run \d+: 'show run \d+'", summary)
        assert "approving it as tester" in out


def _run_on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run main.py with stdout and stderr each on a pseudo-terminal; return (exit code, stdout, stderr)."""
    import pty
    import select

    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], env=env, cwd=str(ROOT),
                            stdin=subprocess.DEVNULL, stdout=out_slave, stderr=err_slave)
    os.close(out_slave)
    os.close(err_slave)
    chunks = {out_master: b"", err_master: b""}
    reading = [out_master, err_master]
    while reading:
        ready, _, _ = select.select(reading, [], [], 30)
        assert ready, "main.py stopped writing for 30 s"
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its end
                data = b""
            if data:
                chunks[fd] += data
            else:
                reading.remove(fd)
                os.close(fd)
    proc.wait(timeout=30)
    return proc.returncode, chunks[out_master].decode(), chunks[err_master].decode()


def test_a_demo_narrates_live_on_a_terminal_but_never_in_json_mode(cli_env: dict[str, str]) -> None:
    code, out, err = _run_on_a_terminal(cli_env, "Show me a sports demo")
    assert code == 0, out + err
    assert "Step 1/3: Reading the odds" in err and "Summary: sports demo" in err and "\x1b[K" in err
    assert out.strip().startswith("The sports demo ran 3 steps") and "Step 1/3" not in out

    code, out, err = _run_on_a_terminal(cli_env, "--json", "Show me a sports demo")
    assert code == 0, out + err
    assert "Step 1/3" not in err and "working" not in err
    reply = json.loads(out.strip())
    assert reply["data"]["demo"]["live"] is False and "Step 1/3: Reading the odds" in reply["response"]


def test_json_lists_the_saved_workflows(cli_env: dict[str, str]) -> None:
    created = json.loads(run_cli("--json", "Help me automate my project management workflow", env=cli_env).stdout)
    assert created["ok"] is True and created["intent"] == "workflows"
    assert created["data"]["definition_source"] == "business agent"
    workflow = created["data"]["workflow"]
    result = run_cli("--json", "list the workflows", env=cli_env)
    assert result.returncode == 0 and result.stdout.count("\n") == 1
    listed = json.loads(result.stdout)
    assert listed["ok"] is True and listed["args"] == {"action": "list"}
    assert [(w["id"], w["name"], w["steps"]) for w in listed["data"]["workflows"]] == [
        (workflow["id"], "Project management", 6)]
    assert listed["data"]["workflows"][0]["user_id"] is not None


def test_a_workflow_is_automated_listed_shown_run_and_approved_from_the_cli(cli_env: dict[str, str]) -> None:
    import re

    created = run_cli("Help me automate my project management workflow", env=cli_env)
    assert created.returncode == 0, created.stdout + created.stderr
    match = re.match(r"Saved workflow (\d+) 'Project management', from the business agent's definition \(task \d+\)",
                     created.stdout)
    assert match, created.stdout
    workflow_id = match.group(1)

    listed = run_cli("list the workflows", env=cli_env).stdout
    assert listed.startswith("1 saved workflow:")
    assert re.search(rf"^{workflow_id}\s+Project management\s+6\s+-\s+never run$", listed, re.M), listed

    shown = run_cli(f"show workflow {workflow_id}", env=cli_env).stdout
    assert shown.startswith(f"Workflow {workflow_id}: Project management, 6 steps, runs when started.")
    assert "approve_plan" in shown and "Approvals: approve_plan by project sponsor" in shown

    ran = run_cli(f"run workflow {workflow_id} with project_name=Website relaunch, goal=New site live, "
                  "deadline=2026-09-30", env=cli_env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_match = re.match(rf"Run (\d+) of workflow {workflow_id} \(Project management\): waiting, 1 of 6 steps finished",
                         ran.stdout)
    assert run_match, ran.stdout
    run_id = run_match.group(1)
    assert re.search(r"^2\s+approve_plan\s+approval\s+waiting", ran.stdout, re.M), ran.stdout
    assert f"say 'approve run {run_id} step 2'" in ran.stdout

    waiting = run_cli("list the workflows", env=cli_env).stdout
    assert "1 approval waiting" in waiting and f"Say 'approve run {run_id} step 2'" in waiting

    approved = run_cli(f"approve run {run_id} step 2", env=cli_env)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert approved.stdout.startswith(f"Approved run {run_id} step 2.\nRun {run_id} of workflow {workflow_id} "
                                      "(Project management): succeeded, 6 of 6 steps finished in ")
    watched = json.loads(run_cli("--json", f"show run {run_id}", env=cli_env).stdout)
    assert watched["data"]["run"]["status"] == "succeeded"
    # The offline status report names no blocker, so check_blockers is false and escalate is skipped.
    assert [s["status"] for s in watched["data"]["run"]["steps"]] == ["done"] * 5 + ["skipped"]
    missing = json.loads(run_cli("--json", "show workflow 999", env=cli_env).stdout)
    assert missing["ok"] is False and missing["error"]["code"] == "not_found"

    again = re.match(r"Run (\d+) ", run_cli(f"run workflow {workflow_id} with project_name Intranet, goal Search "
                                          "works, deadline 2026-12-01", env=cli_env).stdout)
    assert again, "a second run"
    cancelled = run_cli(f"cancel run {again.group(1)}", env=cli_env)
    assert cancelled.returncode == 0 and cancelled.stdout.startswith(f"Cancelled run {again.group(1)}.")
    assert "cancelled, 1 of 6 steps done, 5 cancelled" in cancelled.stdout
    ended = json.loads(run_cli("--json", f"cancel run {run_id}", env=cli_env).stdout)
    assert ended["ok"] is False and ended["error"]["code"] == "conflict"
    assert "already ended (succeeded)" in ended["error"]["message"]


def test_the_workflow_modules_import_without_side_effects(tmp_path: Path) -> None:
    _assert_imports_leave_no_trace(
        tmp_path, ["business_automation", "workflows.runs", "workflows.driver", "workflows.actions", "workflows.intent",
                   "api.workflows",
                   "demo_runner", "agent_master_controller"],
        then="import api_routes\nassert any(child.name == 'workflows' for child, _ in api_routes.bp._blueprints)\n")


def test_a_request_that_starts_like_a_negative_number_is_text_not_an_option(cli_env: dict[str, str]) -> None:
    """`main.py "-3^2"` was 'No such option: -3' (exit 2); it is arithmetic for the general agent."""
    result = run_cli("--json", "-3^2", env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    reply = json.loads(result.stdout)
    assert reply["ok"] and "-3^2 = -9" in reply["response"]
