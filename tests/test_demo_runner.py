"""Demos through the real path: controller, queue, inline agents, the domain agents' offline answers."""
from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import demo_runner
from agent_pools import CancelToken, ExecutionResult
from app import create_app, services
from business_automation import WorkflowEngine
from errors import NotFound
from task_processor import Claim

from . import fixtures

DEMO_SECONDS = 10.0
"""Each demo must run offline in under this (issue #8)."""


def slow_echo(claim: Claim, token: CancelToken) -> ExecutionResult:
    time.sleep(0.35)
    return ExecutionResult({"text": f"echo: {claim.input}"}, provider="openai-chat")


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def svc_for(home: Path, sqlite_url: str) -> Iterator[Any]:
    built: list[Any] = []

    def build(executor: Any = fixtures.offline_domain_agents) -> Any:
        svc = services(create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "EXECUTOR": executor}))
        built.append(svc)
        return svc

    yield build
    for svc in built:
        svc.engine.dispose()


EXPECTED = {
    "healthcare": ["EMERGENCY: call your local emergency number now", "Urgency: self-care",
                   "This is not a diagnosis", "Medicines: OperatorOS does not say which medicine or how much"],
    "financial": ["AAPL: price analysis", "AAPL, MSFT: comparison", "Data source:", "Not investment advice"],
    "sports": ["Lakers   -150", "Value bet: Celtics at +130", "Responsible gambling", "EXAMPLE SLATE"],
    "business": ["approve_plan", "Saved as workflow",
                 "waiting for project sponsor", "approving it as tester", "succeeded"],
}


@pytest.mark.parametrize("domain", ["healthcare", "financial", "sports", "business"])
def test_each_demo_runs_offline_through_the_real_path_in_under_ten_seconds(svc_for: Any, domain: str) -> None:
    svc = svc_for()
    caller = svc.conversations.local_caller("tester")
    out = io.StringIO()
    started = time.monotonic()
    report = demo_runner.run_demo(domain, svc.controller, caller, out=out)
    elapsed = time.monotonic() - started

    assert report.ok, report.text
    assert elapsed < DEMO_SECONDS and report.total_seconds < DEMO_SECONDS
    text = out.getvalue()
    assert text.rstrip("\n") == report.text and "\r" not in text  # not a terminal: no progress line
    demo = demo_runner.get_demo(domain)
    assert text.startswith(demo.title)
    if domain != "business":
        for n, step in enumerate(demo.steps, start=1):
            assert f"Step {n}/{len(demo.steps)}: {step.title}" in text and f'"{step.request}"' in text
            assert f"Notice: {step.notice}" in text
    for phrase in EXPECTED[domain]:
        assert phrase in text, phrase
    # Every task really went through the queue, for this user, in the demo's pools.
    tasks = [svc.controller.get_task(caller, t) for t in report.task_ids]
    assert tasks and all(t["status"] == "succeeded" and t["user_id"] == caller.user_id for t in tasks)
    assert {t["pool"] for t in tasks} == {"business" if domain == "business" else domain}
    # The summary names each task, its pool and its time, and says the answers were offline.
    summary = text[text.index("Summary:"):]
    assert f"Summary: {domain} demo, {len(report.steps)} steps" in summary
    for s in report.steps:
        if s.task_id is not None:
            assert s.pool is not None
            assert f"  {s.task_id}  " in summary and s.pool in summary and f"{s.seconds:.2f}" in summary
    assert "built-in analyzers (offline" in summary
    assert report.providers == ["local"]
    json.dumps(report.to_dict())


def test_healthcare_demo_puts_emergency_guidance_first(svc_for: Any) -> None:
    svc = svc_for()
    report = demo_runner.run_demo("medical", svc.controller, svc.conversations.local_caller("tester"))
    first = report.steps[0]
    assert first.excerpt.startswith("EMERGENCY")
    assert report.text.index("EMERGENCY") < report.text.index("Step 2/3")


def test_business_demo_saves_runs_and_approves_a_workflow_and_reuses_it(svc_for: Any) -> None:
    svc = svc_for()
    caller = svc.conversations.local_caller("tester")
    workflows = WorkflowEngine(svc.engine, svc.controller)
    report = demo_runner.run_demo("business", svc.controller, caller, workflows=workflows)
    assert report.run_id is not None
    run = workflows.get_run(caller, report.run_id)
    assert run["status"] == "succeeded" and run["workflow_id"] == report.workflow_id
    approval = next(s for s in run["steps"] if s["kind"] == "approval")
    assert approval["result"]["by"] == "tester" and approval["decided_by"] == caller.user_id
    assert [s.kind for s in report.steps] == ["task", "task", "approval", "notify", "task", "condition", "notify"]
    assert report.task_ids == [report.steps[0].task_id] + run["task_ids"]
    assert [w["name"] for w in workflows.list_workflows(caller)] == [demo_runner.DEMO_WORKFLOW_NAME]
    assert run["inputs"]["project_name"] == "Website relaunch"

    again = demo_runner.run_demo("automation", svc.controller, caller, workflows=workflows)
    assert again.ok and again.workflow_id == report.workflow_id and again.run_id != report.run_id
    assert f"Reusing workflow {report.workflow_id}" in again.text
    assert len(workflows.list_workflows(caller)) == 1


def test_progress_is_shown_on_a_terminal_and_kept_out_of_the_report(svc_for: Any) -> None:
    svc = svc_for(slow_echo)
    out = Terminal()
    report = demo_runner.run_demo("sports", svc.controller, svc.conversations.local_caller("tester"), out=out)
    shown = out.getvalue()
    assert "\r  | [1/3] the sports pool is working... 0." in shown
    assert "\r\033[K" in shown and "\r" not in report.text
    assert "Answers came from: openai-chat." in report.text
    plain = io.StringIO()
    demo_runner.run_demo("sports", svc.controller, svc.conversations.local_caller("tester"), out=plain,
                         progress=False)
    assert "\r" not in plain.getvalue()
    # The CLI's way: narration kept for the reply, the progress line on stderr when it is a terminal.
    stderr = Terminal()
    kept = demo_runner.run_demo("sports", svc.controller, svc.conversations.local_caller("tester"),
                                progress_out=stderr)
    assert "[3/3] the sports pool is working" in stderr.getvalue() and stderr.getvalue().endswith("\r\033[K")
    assert "Step 3/3" not in stderr.getvalue() and "Step 3/3" in kept.text


def test_a_failing_step_is_reported_not_raised(svc_for: Any) -> None:
    svc = svc_for(fixtures.always_raise)
    svc.controller.queue.retry.base_seconds = 0.01
    report = demo_runner.run_demo("financial", svc.controller, svc.conversations.local_caller("tester"))
    assert not report.ok
    assert [s.status for s in report.steps] == ["failed", "failed"]
    assert "always fails" in report.text and "some steps did not succeed" in report.summary


def test_demo_catalogue_and_unknown_domains() -> None:
    assert [d["domain"] for d in demo_runner.list_demos()] == ["healthcare", "financial", "sports", "business"]
    assert demo_runner.get_demo("Finance").domain == "financial"
    with pytest.raises(NotFound, match="demos are healthcare, financial, sports, business"):
        demo_runner.get_demo("cooking")


def test_the_demo_intent_answers_with_the_report_through_the_interface(svc_for: Any) -> None:
    svc = svc_for()
    caller = svc.conversations.local_caller("tester")
    reply = svc.interface.handle("Show me a healthcare demo", caller)
    assert reply["ok"] is True and reply["intent"] == "demo" and reply["args"] == {"domain": "healthcare"}
    demo = reply["data"]["demo"]
    assert demo["ok"] and demo["live"] is False and len(demo["task_ids"]) == 3
    first, _, rest = reply["response"].partition("\n\n")
    assert first == (f"The healthcare demo ran 3 steps in {demo['total_seconds']:.2f} s: all steps succeeded "
                     f"(tasks {', '.join(str(t) for t in demo['task_ids'])}).")
    assert rest == demo["text"] and "Summary: healthcare demo, 3 steps" in rest
    json.dumps(reply)

    failing = svc_for(fixtures.always_raise)
    failing.controller.queue.retry.base_seconds = 0.01
    bad = failing.interface.handle("Show me a financial demo", caller)
    assert bad["ok"] is False and bad["error"]["code"] == "demo_failed"
    assert "some steps did not succeed" in bad["error"]["message"]


def test_narration_written_live_clears_the_line_and_the_reply_is_one_line(svc_for: Any) -> None:
    svc = svc_for()
    terminal = Terminal()
    report = svc.controller.demo(svc.conversations.local_caller("tester"), "sports", narrate_to=terminal)
    shown = terminal.getvalue()
    assert report.live and report.ok
    # Each line first erases whatever progress line main.py's spinner drew; the report keeps plain text.
    assert shown.startswith("\r\033[K" + report.title) and "\r\033[KStep 2/3: Your estimate" in shown
    assert shown.replace("\r\033[K", "").rstrip("\n") == report.text
    import replit_interface
    from values import Command

    text = replit_interface.format_demo(Command("demo", {"domain": "sports"}), {"demo": report.to_dict()})
    assert text.startswith("The sports demo ran 3 steps") and "\n" not in text
