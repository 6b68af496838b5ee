"""Workflow definitions: templates, descriptions, schedules, and validation with clear errors."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from errors import BadRequest
from providers.tools import run_tool
from workflows import templates as wt


@pytest.mark.parametrize("name", list(wt.TEMPLATES))
def test_every_template_is_valid_and_complete(name: str) -> None:
    definition = wt.template(name)
    assert definition["template"] == name and definition["version"] == 1
    kinds = {s["kind"] for s in definition["steps"]}
    assert "task" in kinds and "approval" in kinds
    for s in definition["steps"]:
        assert s["owner"] and isinstance(s["depends_on"], list) and isinstance(s["inputs"], list)
    assert json.loads(json.dumps(definition)) == definition          # JSON-ready for the workflows table


def test_template_details() -> None:
    invoice = wt.template("invoice approval")
    steps = {s["key"]: s for s in invoice["steps"]}
    assert steps["large_amount"]["condition"] == {"input": "amount", "op": "gt", "value": 5000}
    assert steps["finance_approval"]["run_if"] == {"step": "large_amount", "is": True}
    assert steps["budget_owner_approval"]["run_if"] == {"step": "large_amount", "is": False}
    assert steps["schedule_payment"]["depends_on"] == ["budget_owner_approval", "finance_approval"]
    assert wt.template("weekly_reporting")["schedule"] == "0 9 * * 1"
    assert wt.template("weekly-reporting", schedule="30 7 * * 5")["schedule"] == "30 7 * * 5"
    assert wt.template("project_management")["schedule"] is None
    with pytest.raises(BadRequest, match="No workflow template 'payroll'"):
        wt.template("payroll")


@pytest.mark.parametrize("text,template", [
    ("Help me automate my project management workflow", "project_management"),
    ("onboard a new hire", "employee_onboarding"),
    ("automate invoice approval for vendor bills", "invoice_approval"),
    ("send the weekly report of our KPIs", "weekly_reporting"),
    ("triage incoming support tickets", "support_ticket_triage"),
    ("water the plants", None),
])
def test_match_template(text: str, template: str | None) -> None:
    assert wt.match_template(text) == template


@pytest.mark.parametrize("text,cron", [
    ("every Monday at 9am", "0 9 * * 1"),
    ("weekdays at 8:30", "30 8 * * 1-5"),
    ("daily at 6pm", "0 18 * * *"),
    ("on Tuesdays and Thursdays at 14:15", "15 14 * * 2,4"),
    ("weekly", "0 9 * * 1"),
    ("monthly on the 15th", "0 9 15 * *"),
    ("every hour", "0 * * * *"),
    ("at 12am every day", "0 0 * * *"),
    ("cron: */15 9-17 * * mon-fri", "*/15 9-17 * * mon-fri"),
    ("whenever I ask", None),
])
def test_schedule_from_text(text: str, cron: str | None) -> None:
    assert wt.schedule_from_text(text) == cron
    if cron:
        assert wt.validate_cron(cron) == cron


def test_description_sets_schedule_owner_approvers_and_threshold() -> None:
    d = wt.from_description("Invoice approval over $10k approved by the CFO, every Friday at 4pm, "
                            "owned by Dana Lee")
    steps = {s["key"]: s for s in d["steps"]}
    assert d["schedule"] == "0 16 * * 5"
    assert steps["large_amount"]["condition"]["value"] == 10_000
    assert steps["finance_approval"]["approvers"] == ["CFO"]
    assert steps["check_invoice"]["owner"] == "Dana Lee"


def test_generic_description_becomes_sequential_steps() -> None:
    d = wt.from_description("collect timesheets, then get approval from the manager, then email payroll",
                            route=lambda phrase: "financial" if "timesheet" in phrase else "business")
    assert d["template"] is None and d["name"] == "Custom workflow"
    assert [(s["key"], s["kind"], s["depends_on"]) for s in d["steps"]] == [
        ("step_1", "task", []), ("step_2", "approval", ["step_1"]), ("step_3", "notify", ["step_2"])]
    assert d["steps"][0]["pool"] == "financial" and d["steps"][1]["approvers"] == ["manager"]


def _valid() -> dict[str, Any]:
    return {"name": "W", "inputs": {"amount": {"description": "x", "required": True}}, "steps": [
        wt.step("a", "A", "task", "me", pool="business", input="do {amount}", inputs=["amount"]),
        wt.step("b", "B", "condition", "me", depends_on=["a"], inputs=["a.result"],
                condition={"input": "a.result", "op": "contains", "value": "x"}),
        wt.step("c", "C", "notify", "me", depends_on=["b"], run_if={"step": "b", "is": True}, to=["t"],
                message="m"),
    ]}


def _broken(path: str, value: Any) -> dict[str, Any]:
    d = _valid()
    target: Any = d
    *parents, last = path.split(".")
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return d


@pytest.mark.parametrize("path,value,message", [
    ("name", "", "needs a name"),
    ("steps", [], "1 to 50 steps"),
    ("schedule", "61 * * * *", "minute '61' is not valid"),
    ("schedule", "0 9 * *", "five fields"),
    ("steps.0.kind", "email", "kind 'email' is not one of"),
    ("steps.0.pool", "legal", "pool 'legal' is not one of"),
    ("steps.0.input", ..., "needs a input text"),
    ("steps.0.owner", " ", "needs a non-empty owner"),
    ("steps.0.key", "Bad Key", "needs a key of lower-case"),
    ("steps.1.key", "a", "Two steps have the key 'a'"),
    ("steps.0.depends_on", ["zzz"], "depends on 'zzz', which is not a step"),
    ("steps.0.depends_on", ["a"], "Step 'a' depends on itself"),
    ("steps.0.depends_on", ["c"], "Steps form a cycle: a -> c -> b -> a"),
    ("steps.0.inputs", ["amount", "other"], "input 'other', which the workflow's inputs do not declare"),
    ("steps.0.input", "do {missing}", "placeholder {missing} is not one of the step's inputs"),
    ("steps.0.inputs", ["amount", "b.result"], "'b' is not a step it comes after"),
    ("steps.1.condition", {"input": "a.result", "op": "like", "value": 1}, "op one of eq, ne"),
    ("steps.2.run_if", {"step": "a", "is": True}, "run_if must name a condition step"),
    ("steps.2.to", [], "non-empty list of recipients"),
    ("steps.2.colour", "red", "Unknown field(s) in step 'c': colour"),
    ("extra", 1, "Unknown field(s) in the workflow: extra"),
])
def test_validation_errors_are_clear(path: str, value: Any, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        wt.validate_workflow(_broken(path, value))
    assert message in info.value.message
    assert info.value.code == "bad_request" and "path" in info.value.details


def test_approval_needs_approvers() -> None:
    d = _valid()
    d["steps"].append(wt.step("d", "D", "approval", "me", depends_on=["c"], approvers=[]))
    with pytest.raises(BadRequest, match="approval needs a non-empty list of approvers"):
        wt.validate_workflow(d)


def test_validation_returns_a_copy_and_leaves_the_input_alone() -> None:
    d = _valid()
    d["schedule"] = "0  9 * *  1"
    before = copy.deepcopy(d)
    checked = wt.validate_workflow(d)
    assert checked["schedule"] == "0 9 * * 1" and d == before
    with pytest.raises(BadRequest, match="JSON object"):
        wt.validate_workflow(["not", "a", "dict"])


def test_offline_reply_for_the_seed_request() -> None:
    reply = wt.offline_reply("Help me automate my project management workflow")
    lines = reply.split("\n")
    assert lines[0] == "Workflow draft: Project management" and lines[1] == wt.BUILT_IN_NOTE
    assert "Template: project_management" in lines
    assert "Inputs to give when it runs: project_name, goal, deadline" in lines
    assert "Approvals: approve_plan by project sponsor" in lines
    assert any(line.split()[:3] == ["1", "plan", "task"] for line in lines)
    definition = json.loads(reply[reply.index("Definition (JSON):") + len("Definition (JSON):"):])
    assert definition == wt.template("project_management")


def test_tools_through_run_tool() -> None:
    out = json.loads(run_tool(wt.TOOLS, "1", "workflow_template", {"name": "employee_onboarding",
                                                                     "schedule": "0 10 * * 1"}).output)
    assert out["schedule"] == "0 10 * * 1" and out["steps"][0]["key"] == "documents"
    out = json.loads(run_tool(wt.TOOLS, "2", "validate_workflow", {"definition": _valid()}).output)
    assert out == {"valid": True, "steps": 3, "schedule": None}
    broken = {"definition": _broken("steps.0.kind", "x")}
    out = json.loads(run_tool(wt.TOOLS, "3", "validate_workflow", broken).output)
    assert "kind 'x' is not one of" in out["error"] and out["path"] == "steps[0]"
    call = run_tool(wt.TOOLS, "4", "workflow_from_description", '{"description": "weekly report"}')
    out = json.loads(call.output)
    assert out["template"] == "weekly_reporting"
