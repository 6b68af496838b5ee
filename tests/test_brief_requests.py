"""The product brief's sixteen requests through the real interface, in text and in --json (issue 17).

Each runs through `python main.py` as a subprocess (the interactive session, one per output mode, so the
sixteen cost two start-ups), offline, on a fresh SQLite database: each must be understood as the brief
means it and answered usefully: the right intent, a reply that carries its substance, and, for the
performance questions, the throughput, latency and error rate in the text itself.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import run_cli

BRIEF: tuple[tuple[str, str, dict[str, Any], tuple[str, ...]], ...] = (
    # (request, intent, arguments it must carry, words its text reply must hold (lower case))
    ("Show me the system status", "status", {}, ("operatoros is up", "healthcare", "machine: cpu")),
    ("Scale up the healthcare agent pool", "scale", {"pool": "healthcare", "delta": 1},
     ("healthcare", "from 2 to 3")),
    ("Analyze AAPL stock performance", "submit", {"pool": "financial"}, ("task",)),
    ("Help me automate my project management workflow", "workflows", {"action": "create"}, ("workflow",)),
    ("Show me a healthcare demo", "demo", {"domain": "healthcare"}, ("healthcare demo", "step 1/")),
    ("I need medical advice about chest pain symptoms", "submit", {"pool": "healthcare"}, ("task",)),
    ("Create a sports betting strategy for tonight's games", "submit", {"pool": "sports"}, ("task",)),
    ("Check system health", "health", {}, ("cpu", "memory", "database")),
    ("Restart failed agents", "restart", {}, ("failed agents",)),
    ("Show me all running tasks", "tasks", {"status": "running"}, ("running",)),
    ("What can you do?", "help", {}, ("status", "scaling", "demos", "workflows")),
    ("Walk me through financial analysis capabilities", "demo", {"domain": "financial"}, ("financial demo", "step 1/")),
    ("Demonstrate sports analytics features", "demo", {"domain": "sports"}, ("sports demo", "step 1/")),
    ("Run a business automation example", "demo", {"domain": "business"}, ("business demo", "step 1/")),
    ("How are the agent pools performing?", "pools", {}, ("tasks/min", "p50 ms", "p95 ms", "error rate")),
    ("Show me agent performance metrics", "pools", {}, ("tasks/min", "p50 ms", "p95 ms", "error rate")),
)
_PROMPT = "operatoros> "


def _session(env: dict[str, str], *flags: str) -> str:
    lines = "\n".join(request for request, *_ in BRIEF) + "\nexit\n"
    result = run_cli(*flags, env=env, input=lines, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sixteen answered once in text and once in --json, each in an interactive session of its own."""
    import os

    base = tmp_path_factory.mktemp("brief")
    answers: dict[str, Any] = {}
    for mode, flags in (("text", ()), ("json", ("--json",))):
        home = base / mode
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPERATOROS_"))}
        env.update(OPERATOROS_HOME=str(home), DATABASE_URL=f"sqlite:///{home / 'operatoros.db'}",
                   OPERATOROS_USER="tester", PYTHONUNBUFFERED="1")
        env.pop("TASK_BACKEND", None)
        out = _session(env, *flags)
        if mode == "text":
            answers[mode] = [part.strip() for part in out.split(_PROMPT)[1:len(BRIEF) + 1]]
        else:
            answers[mode] = [json.loads(line) for line in out.splitlines() if line.strip()]
    return answers


@pytest.mark.parametrize("number", range(len(BRIEF)), ids=[request for request, *_ in BRIEF])
def test_each_brief_request_is_answered_usefully_in_text_and_json(number: int, replies: dict[str, Any]) -> None:
    request, intent, args, words = BRIEF[number]
    assert len(replies["json"]) == len(BRIEF) and len(replies["text"]) == len(BRIEF)
    reply = replies["json"][number]
    assert reply["ok"] is True, reply
    assert reply["intent"] == intent, (request, reply["intent"], reply.get("response"))
    assert all(reply["args"].get(k) == v for k, v in args.items()), (request, reply["args"])
    assert reply["response"].strip() and reply["data"], reply
    text = replies["text"][number].lower()
    assert "didn't understand" not in text and "did not understand" not in text, text[:300]
    missing = [w for w in words if w not in text]
    assert not missing, (request, missing, text[:600])


def test_performance_figures_are_in_the_json_data_too(replies: dict[str, Any]) -> None:
    for number in (14, 15):
        pools = replies["json"][number]["data"]["pools"]
        assert {p["name"] for p in pools} == {"healthcare", "financial", "sports", "business", "general"}
        assert all({"throughput_per_minute", "latency_p50_ms", "latency_p95_ms", "error_rate"} <= set(p)
                   for p in pools)
