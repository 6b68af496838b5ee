"""commands/resolver: what the rules cannot resolve, read by a function-calling model through the Command tool,
checked strictly and ruled like the rules' own commands; the rules' question on any fault; offline, nothing.

The model is the fake OpenAI server (tests/fake_openai.py), driven by the real openai SDK; the rest is real:
the parser, the provider classes, and for the end-to-end tests `python main.py` and POST /api/command on a
SQLite file.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import command_processor
from commands.resolver import MODEL_INTENTS, TOOL_NAME, ModelResolver, command_schema
from config import Settings
from values import INTENTS, POOL_NAMES, Command

from .conftest import ROOT, TEST_API_KEY, run_cli
from .fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

VAGUE = "bump the bean counters"
"""A request the rules do not understand (no pool synonym, no command word they know)."""

SCALE_FINANCE = {"intent": "scale", "pool": "financial", "delta": 1}


def make_resolver(tmp_path: Path, provider: str, base_url: str, timeout: float = 10.0) -> ModelResolver:
    settings = Settings.from_env({}, home=tmp_path, openai_base_url=base_url, openai_api_key="sk-test",
                                 provider=provider)
    return ModelResolver(settings, timeout=timeout)


def resolved(resolver: ModelResolver, text: str, context: dict[str, Any] | None = None) -> list[Command]:
    context = context or {}
    return resolver.resolve(text, context, command_processor.parse(text, context))


def shape(commands: list[Command]) -> list[tuple[str, dict[str, Any]]]:
    return [(c.intent, {k: v for k, v in c.args.items() if k not in ("choices", "question")}) for c in commands]


# --- in process ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai-chat", "openai-responses"])
def test_a_vague_request_is_resolved_through_the_command_tool(
        provider: str, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    assert shape(command_processor.parse(VAGUE, {}))[0][1]["reason"] == "not_understood"
    fake_openai.script(Reply.tool_call(TOOL_NAME, SCALE_FINANCE))
    context = {"last_pool": "sports", "last_task_id": 3,
               "pending": {"intent": "choose", "args": {}, "choices": ["x"], "reason": "ambiguous", "asked_at": 1}}
    commands = resolved(make_resolver(tmp_path, provider, fake_openai.base_url), VAGUE, context)
    assert shape(commands) == [("scale", {"pool": "financial", "delta": 1,
                                          "interpreted": {"by": provider, "model": "gpt-5-mini"}})]
    (sent,) = fake_openai.model_requests()
    body = sent.body
    tools = body["tools"]
    parameters = tools[0]["function"]["parameters"] if provider == "openai-chat" else tools[0]["parameters"]
    assert len(tools) == 1 and parameters == command_schema() and body["tool_choice"] == "auto"
    turn = json.loads((body["messages"] if provider == "openai-chat" else body["input"])[-1]["content"])
    assert turn == {"request": VAGUE, "context": {"last_pool": "sports", "last_task_id": 3}}  # no pending question
    if provider == "openai-responses":
        assert body["store"] is False and "conversation" not in body


def test_the_tool_schema_is_the_command_vocabulary() -> None:
    schema = command_schema()
    assert schema["properties"]["intent"]["enum"] == list(MODEL_INTENTS)
    assert set(INTENTS) - set(MODEL_INTENTS) == {"clarify", "login", "logout", "database"}
    assert schema["properties"]["pool"]["enum"] == list(POOL_NAMES)
    assert schema["additionalProperties"] is False and schema["required"] == ["intent"]


@pytest.mark.parametrize("text, why", [
    ("dont make the money folks any bigger", "negation"),
    ("if I bumped the bean counters would that help?", "hypothetical"),
])
def test_the_models_change_on_a_negation_or_hypothetical_becomes_the_look(
        text: str, why: str, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    assert command_processor.parse(text, {})[0].intent == "clarify"
    fake_openai.script(Reply.tool_call(TOOL_NAME, SCALE_FINANCE))
    (command,) = resolved(make_resolver(tmp_path, "openai-chat", fake_openai.base_url), text)
    assert command.intent == "pools" and command.args["pool"] == "financial"
    assert command.args["declined"] == {"what": "scale the financial pool up by 1", "why": why}
    assert command.args["interpreted"]["by"] == "openai-chat"


@pytest.mark.parametrize("text, calls", [
    (VAGUE, [(TOOL_NAME, {"intent": "launch_missiles"})]),
    (VAGUE, [(TOOL_NAME, {"intent": "scale", "pool": "crypto", "delta": 1})]),
    (VAGUE, [(TOOL_NAME, {"intent": "scale", "pool": "financial", "delta": "1"})]),
    (VAGUE, [(TOOL_NAME, {"intent": "task", "task_id": True})]),
    (VAGUE, [(TOOL_NAME, {"intent": "status", "verbose": True})]),
    (VAGUE, [(TOOL_NAME, {"intent": "scale", "pool": "financial"})]),
    (VAGUE, [(TOOL_NAME, {"intent": "scale", "pool": "financial", "size": 3, "delta": 1})]),
    (VAGUE, [(TOOL_NAME, {"intent": "logout"})]),
    (VAGUE, [(TOOL_NAME, "{intent: scale, pool: financial")]),
    (VAGUE, [(TOOL_NAME, "[1, 2]")]),
    (VAGUE, [("delete_everything", SCALE_FINANCE)]),
    (VAGUE, [(TOOL_NAME, {"intent": "scale", "pool": "financial", "size": 9})]),  # a size no one said
    (VAGUE, [(TOOL_NAME, {"intent": "scale", "pool": "financial", "delta": 4})]),
    (VAGUE, [(TOOL_NAME, {"intent": "restart", "pool": "financial"})]),  # destructive, pool not named
    ("get rid of the stale one", [(TOOL_NAME, {"intent": "cancel", "task_id": 7})]),  # an invented task
    (VAGUE, [(TOOL_NAME, SCALE_FINANCE), (TOOL_NAME, {"intent": "restart", "pool": "sports"})]),  # one piece, two
])
def test_malformed_or_invented_arguments_keep_the_rules_question(
        text: str, calls: list[tuple[str, Any]], fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    rules = command_processor.parse(text, {})
    fake_openai.script(Reply.tool_call(*calls[0], *calls[1:]))
    commands = make_resolver(tmp_path, "openai-chat", fake_openai.base_url).resolve(text, {}, rules)
    assert commands is rules and commands[0].args["reason"] == "not_understood"
    assert len(fake_openai.model_requests()) == 1


def test_a_text_answer_keeps_the_rules_question(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.script(Reply.answer("OperatorOS does not do that."))
    assert shape(resolved(make_resolver(tmp_path, "openai-chat", fake_openai.base_url), VAGUE)) == shape(
        command_processor.parse(VAGUE, {}))


def test_two_pieces_may_give_two_actions(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    text = "bump the bean counters and then beef up the jocks"
    fake_openai.script(Reply.tool_call(TOOL_NAME, SCALE_FINANCE, (TOOL_NAME, {"intent": "pools", "pool": "sports"})))
    commands = make_resolver(tmp_path, "openai-chat", fake_openai.base_url).resolve(
        text, {}, [command_processor.parse(VAGUE, {})[0]])
    assert [(c.intent, c.args.get("pool")) for c in commands] == [("scale", "financial"), ("pools", "sports")]


@pytest.mark.parametrize("fault", ["refused", "server_error", "slow"])
def test_an_unreachable_failing_or_slow_model_keeps_the_rules_question_at_once(
        fault: str, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    base_url = FakeOpenAI.refused_base_url() if fault == "refused" else fake_openai.base_url
    fake_openai.script(Reply.error(500) if fault == "server_error" else Reply.slow(5.0))
    resolver = make_resolver(tmp_path, "openai-chat", base_url, timeout=0.5)
    started = time.monotonic()
    commands = resolved(resolver, VAGUE)
    assert time.monotonic() - started < 3.0
    assert shape(commands)[0][1]["reason"] == "not_understood"
    assert len(fake_openai.model_requests()) == (0 if fault == "refused" else 1)  # no retries


@pytest.mark.parametrize("text", ["show the pools", "scale", "scale the financial pool to 3", "cancel",
                                  "Analyze AAPL stock performance"])
def test_requests_the_rules_resolve_never_reach_the_model(text: str, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    rules = command_processor.parse(text, {})
    assert make_resolver(tmp_path, "openai-chat", fake_openai.base_url).resolve(text, {}, rules) is rules
    assert fake_openai.requests == []


def test_offline_the_resolver_is_off(tmp_path: Path) -> None:
    resolver = ModelResolver(Settings.from_env({}, home=tmp_path, provider="local"))
    rules = command_processor.parse(VAGUE, {})
    assert not resolver.enabled and resolver.resolve(VAGUE, {}, rules) is rules


# --- python main.py and POST /api/command --------------------------------------------------------


def model_env(cli_env: dict[str, str], base_url: str) -> dict[str, str]:
    return {**cli_env, "OPERATOROS_PROVIDER": "openai-chat", "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test"}


def cli(env: dict[str, str], *args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    proc = run_cli("--json", *args, env=env)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    return json.loads(proc.stdout), proc


def financial_size(env: dict[str, str]) -> int:
    reply, _ = cli(env, "show the financial pool")
    return int(reply["data"]["pools"][0]["desired_size"])


def command_of(reply: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return reply["intent"], {k: v for k, v in reply["args"].items() if k != "declined"}


def test_cli_dry_run_and_real_run_show_the_models_command(fake_openai: FakeOpenAI, cli_env: dict[str, str],
                                                          sqlite_url: str) -> None:
    env = model_env(cli_env, fake_openai.base_url)
    before = financial_size(env)
    fake_openai.script(Reply.tool_call(TOOL_NAME, SCALE_FINANCE), Reply.tool_call(TOOL_NAME, SCALE_FINANCE))
    dry, _ = cli(env, "--dry-run", VAGUE)
    assert financial_size(env) == before
    real, proc = cli(env, VAGUE)
    assert proc.returncode == 0
    assert command_of(dry) == command_of(real) == ("scale", {"pool": "financial", "delta": 1, "interpreted": {
        "by": "openai-chat", "model": "gpt-5-mini"}})
    for reply in (dry, real):
        assert reply["response"].startswith("The rules could not resolve this request; the model (openai-chat")
    assert "Dry run: I would run 'scale' with pool=financial, delta=1." in dry["response"]
    assert financial_size(env) == before + 1
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:  # each reading is an accounted model call
        outcomes = [row[0] for row in conn.execute(sa.text("SELECT outcome FROM provider_calls ORDER BY id"))]
    engine.dispose()
    assert outcomes == ["tool_calls", "tool_calls"]


def test_cli_the_models_scale_on_a_negated_request_is_refused(fake_openai: FakeOpenAI,
                                                             cli_env: dict[str, str]) -> None:
    env = model_env(cli_env, fake_openai.base_url)
    before = financial_size(env)
    fake_openai.script(Reply.tool_call(TOOL_NAME, SCALE_FINANCE))
    reply, proc = cli(env, "dont make the money folks any bigger")
    assert proc.returncode == 0 and reply["intent"] == "pools"
    assert "I did not scale the financial pool up by 1: you said not to. Nothing was changed." in reply["response"]
    assert financial_size(env) == before


@pytest.mark.parametrize("fault", ["unreachable", "malformed"])
def test_cli_a_fault_gives_the_rules_question_without_a_traceback(fault: str, fake_openai: FakeOpenAI,
                                                                  cli_env: dict[str, str]) -> None:
    base_url = FakeOpenAI.refused_base_url() if fault == "unreachable" else fake_openai.base_url
    fake_openai.script(Reply.tool_call(TOOL_NAME, {"intent": "scale", "pool": "crypto", "delta": 1}))
    reply, proc = cli(model_env(cli_env, base_url), VAGUE)
    assert proc.returncode == 1 and reply["intent"] == "clarify"
    assert reply["error"]["code"] == "not_understood" and "the model" not in reply["response"]


def test_cli_offline_is_unchanged_and_imports_no_sdk(cli_env: dict[str, str]) -> None:
    reply, proc = cli(cli_env, VAGUE)
    assert proc.returncode == 1 and reply["error"]["code"] == "not_understood"
    code = ("import runpy, sys\n"
            f"sys.argv = ['main.py', {VAGUE!r}]\n"
            "try:\n    runpy.run_path('main.py', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('LOADED', ','.join(m for m in ('openai', 'httpx', 'ai_providers', 'providers.base')\n"
            "                         if m in sys.modules), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, cwd=str(ROOT), capture_output=True,
                            text=True, timeout=60)
    assert "LOADED \n" in result.stderr, result.stderr


@pytest.fixture
def model_client(home: Path, sqlite_url: str, fake_openai: FakeOpenAI) -> Any:
    from app import create_app

    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "OPERATOROS_PROVIDER": "openai-chat", "OPENAI_BASE_URL": fake_openai.base_url,
                      "OPENAI_API_KEY": "sk-test", "TESTING": True})
    return app.test_client()


def post(client: Any, text: str, dry_run: bool = False) -> dict[str, Any]:
    response = client.post("/api/command", json={"text": text, "dry_run": dry_run},
                           headers={"Authorization": f"Bearer {TEST_API_KEY}"})
    assert response.status_code == 200
    return dict(response.get_json())


def test_api_command_resolves_through_the_model_and_refuses_what_the_rule_refuses(
        model_client: Any, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(*[Reply.tool_call(TOOL_NAME, SCALE_FINANCE)] * 2)
    dry, real = post(model_client, VAGUE, dry_run=True), post(model_client, VAGUE)
    assert command_of(dry) == command_of(real) and real["intent"] == "scale" and real["ok"] is True
    assert real["args"]["interpreted"]["by"] == "openai-chat"
    fake_openai.script(*[Reply.tool_call(TOOL_NAME, SCALE_FINANCE)] * 2)
    dry, real = (post(model_client, "if I bumped the bean counters would that help?", dry_run=flag)
                 for flag in (True, False))
    assert command_of(dry) == command_of(real) and real["intent"] == "pools"
    assert real["args"]["declined"]["why"] == "hypothetical"  # by the rules themselves, or the model's reading refused
    fake_openai.unscript()  # the rules may have answered that one without the model
    fake_openai.script(Reply.tool_call(TOOL_NAME, "not json"))
    assert post(model_client, VAGUE)["error"]["code"] == "not_understood"
