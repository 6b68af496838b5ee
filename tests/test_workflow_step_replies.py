"""The offline business agent's answers to the workflow templates' task steps; the conditions reading them."""
from __future__ import annotations

import json
import re
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from domains import agents as domain_agents
from domains import tickets as ticket_triage
from models import AuditLog
from workflows import actions as workflow_actions
from workflows import step_replies as wsr
from workflows import templates as wt
from workflows.driver import MAX_TASK_TEXT
from workflows.runs import StepStatus

from .conftest import run_cli

TODAY = date(2026, 6, 3)
"""A Wednesday: the replies' dates are computed from it."""

INPUTS = {"project_name": "Apollo", "goal": "the new site is live", "deadline": "2026-09-30",
          "employee_name": "Ada Lovelace", "role": "Backend engineer, Platform team",
          "start_date": "2026-07-06",
          "vendor": "Acme Ltd", "invoice_number": "INV-2041", "amount": "12,400.00", "due_date": "2026-06-30",
          "purchase_order": "PO-7781", "report_topic": "Sales", "audience": "leadership", "ticket_id": "4812",
          "customer_tier": "enterprise",
          "ticket_text": "The whole site is down for all our users since 9am, we are losing orders"}
"""Values for every template's inputs."""

TASK_STEPS = [(name, s) for name, build in wt.TEMPLATES.items() for s in build()["steps"]
              if s["kind"] == "task"]
"""(template, step) of every template task step."""

P1_TICKET = "The whole site is down for all our users since 9am, we are losing orders"
QUESTION_TICKET = "How do I change my invoice address?"


def run_of(inputs: dict[str, Any], results: dict[str, str] | None = None) -> Any:
    """Enough of a run for workflow_actions.render and evaluate: inputs, and earlier steps' results (the
    ones not given were skipped)."""
    keys = {s["key"] for _, s in TASK_STEPS} | {"check_blockers", "is_p1"}
    given = results or {}
    steps = {k: SimpleNamespace(key=k, kind="task", result={"text": given[k]} if k in given else None,
                                status=StepStatus.DONE if k in given else StepStatus.SKIPPED) for k in keys}
    return SimpleNamespace(inputs=inputs, steps=steps)


def rendered(step: dict[str, Any], inputs: dict[str, Any], results: dict[str, str] | None = None) -> str:
    """A task step's text as the driver renders it before submitting it."""
    run = run_of(inputs, results)
    return workflow_actions.render(step["input"], step["inputs"], run, limit=MAX_TASK_TEXT)


def run_template(name: str, inputs: dict[str, Any]) -> dict[str, str]:
    """Each task step's built-in reply on TODAY, in order, each seeing the replies of the steps before it."""
    results: dict[str, str] = {}
    for template, s in TASK_STEPS:
        if template == name:
            results[s["key"]] = wsr.reply(rendered(s, inputs, results), TODAY) or ""
    return results


def condition(template: str, key: str, results: dict[str, str]) -> bool:
    """A template condition step's value, evaluated by the engine's own code over these results."""
    spec = next(s for s in wt.TEMPLATES[template]()["steps"] if s["key"] == key)
    return bool(workflow_actions.evaluate(spec["condition"], run_of(INPUTS, results))["value"])


# -- recognition ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "step"), TASK_STEPS, ids=[f"{t}.{s['key']}" for t, s in TASK_STEPS])
def test_each_template_step_is_recognised_from_its_own_rendered_input(template: str,
                                                                       step: dict[str, Any]) -> None:
    results = {"plan": "M1 first\nline two", "gather": "Revenue: 120 (last week: 100)",
               "compare": "Revenue: 120 (last week: 100), up 20.0%", "classify": "Severity: P3"}
    text = rendered(step, INPUTS, results)
    found = wsr.recognise(text)
    assert found is not None and (found.template, found.key) == (template, step["key"]), text
    placed = [n for n in re.findall(r"\{([^{}]+)\}", step["input"]) if n in step["inputs"]]
    assert set(found.values) == set(placed)
    for name in placed:
        expected = results[name[:-len(".result")]] if name.endswith(".result") else INPUTS[name]
        assert found.values[name] == expected

    answer = wsr.reply(text, TODAY)
    assert answer is not None
    first, second = answer.split("\n")[:2]
    assert first.strip() and second == wsr.NOTE and "not a language model" in second


@pytest.mark.parametrize(("template", "step"), TASK_STEPS, ids=[f"{t}.{s['key']}" for t, s in TASK_STEPS])
@pytest.mark.parametrize("given", ["all", "none"])
def test_no_reply_repeats_its_steps_instruction(template: str, step: dict[str, Any], given: str) -> None:
    inputs = INPUTS if given == "all" else {}  # none: a run started without inputs gets placeholders
    text = rendered(step, inputs)
    answer = wsr.reply(text, TODAY)
    assert answer is not None, text
    for literal in re.split(r"\{[^{}]+\}", step["input"]):
        for phrase in re.split(r"[.:;()]", literal):
            if len(phrase.strip()) >= 20:
                assert phrase.strip() not in answer, (phrase, answer)
    if given == "none":  # missing inputs shown in the runs' one placeholder style, never another
        assert ": not given>" not in answer and "was skipped)" not in answer


def test_a_pattern_follows_the_format_it_is_derived_from() -> None:
    step = wsr.StepFormat("Say {a} (then {b.result}) to {a}: {c}.", ["a", "b.result"])
    assert step.match("Say hi (then two\nlines (really)) to hi: {c}.") == {"a": "hi", "b.result": "two\nlines (really)"}
    assert step.match("Say hi (then x) to ho: {c}.") is None  # a repeated input must repeat its value
    assert step.match("Say hi (then x) to hi: {c}") is None and step.match("Say") is None
    assert wsr.recognise("Break the project Apollo into phases.") is None
    assert wsr.reply("Summarise this week's sales") is None


def test_the_business_agent_answers_template_steps_and_drafts_a_workflow_for_anything_else() -> None:
    draft = domain_agents.offline_answer("business", "Help me automate my project management workflow")
    assert draft.startswith("Workflow draft: Project management")
    for _, step in TASK_STEPS:
        text = rendered(step, INPUTS)
        answer = domain_agents.offline_answer("business", text)
        assert answer.startswith((wsr.reply(text) or "").split("\n")[0] + "\n" + wsr.NOTE), answer
        assert "Workflow draft" not in answer


# -- project management ---------------------------------------------------------------------------

def test_the_plan_ends_its_milestones_at_the_deadline() -> None:
    plan = next(s for t, s in TASK_STEPS if s["key"] == "plan")
    answer = wsr.reply(rendered(plan, INPUTS), TODAY) or ""
    assert "Deadline: Wed 2026-09-30, 119 days from today" in answer
    assert re.search(r"^  M5 Delivered and handed over, by Wed 2026-09-30", answer, re.M)
    assert "owner: project manager" in answer and "Dependencies" in answer and "Risks" in answer
    relative = wsr.reply(rendered(plan, {**INPUTS, "deadline": "when it is ready"}), TODAY) or ""
    assert "not a date the templates can read" in relative and "at 30% of the time" in relative
    quarter = wsr.reply(rendered(plan, {**INPUTS, "deadline": "end of next quarter"}), TODAY) or ""
    assert "Deadline: Wed 2026-09-30" in quarter


def test_an_offline_status_report_reports_no_blocker_and_check_blockers_is_false() -> None:
    results = run_template("project_management", INPUTS)
    report = results["status_report"]
    assert report.startswith("Status report: Apollo\n" + wsr.NOTE)
    for section in ("Done", "Next", "Blocked", "Risks"):
        assert f"\n{section}\n" in report
    assert "none reported" in report and "a person fills in Done and Next" in report
    assert "BLOCKED" not in report and "  - M1 Scope and success criteria agreed" in report
    assert condition("project_management", "check_blockers", results) is False


@pytest.mark.parametrize(("plan", "blocked"), [
    ("Milestones\n- Design: done\n- Vendor contract: blocked (legal review)\n- [on hold] Data migration", 2),
    ("- Build the site\nStatus: BLOCKED by the missing API keys", 1),
    ("Dependencies: M2 is blocked by M1\nBlocked: none\nsay BLOCKED if anything is blocked", 0),
])
def test_a_plan_that_marks_items_blocked_makes_the_report_say_blocked(plan: str, blocked: int) -> None:
    step = next(s for t, s in TASK_STEPS if s["key"] == "status_report")
    report = wsr.reply(rendered(step, INPUTS, {"plan": plan}), TODAY) or ""
    assert ("BLOCKED" in report) is bool(blocked)
    assert condition("project_management", "check_blockers", {"status_report": report}) is bool(blocked)
    if blocked:
        assert f"BLOCKED: {blocked} plan item(s)" in report
        assert report.count("\n  - ", report.index("\nBlocked\n"), report.index("\nRisks\n")) == blocked
    if "Design: done" in plan:
        assert "  - Design: done" in report.split("\nNext\n")[0]


# -- employee onboarding --------------------------------------------------------------------------

def test_onboarding_checklists_have_dates_from_the_start_date_and_fit_the_role() -> None:
    replies = run_template("employee_onboarding", INPUTS)
    documents, accounts = replies["documents"], replies["accounts"]
    assert documents.startswith("Onboarding documents: Ada Lovelace (Backend engineer, Platform team)")
    assert "First day: Mon 2026-07-06." in documents
    assert "employment contract and offer letter - by Mon 2026-06-29" in documents
    assert "invention and IP assignment (engineering role)" in documents
    assert "Order equipment by Mon 2026-06-22" in accounts and "code repository" in accounts
    assert "Day 5: first small deliverable (engineering)" in replies["first_week"]
    assert replies["checkin_30"].startswith("30-day check-in questions: Ada Lovelace")
    sales = run_template("employee_onboarding", {**INPUTS, "role": "Account executive", "start_date": "soon"})
    assert "CRM" in sales["accounts"] and "commission plan" in sales["documents"]
    assert "First day: 'soon' (not a date the templates read); dates count from day 1." in sales["documents"]
    assert "offer letter - by 7 days before day 1" in sales["documents"]


def test_a_weekend_deadline_moves_to_the_friday_before() -> None:
    accounts = run_template("employee_onboarding", INPUTS)["accounts"]
    assert "accounts ready by Fri 2026-07-03" in accounts  # two days before Monday is a Saturday


# -- invoice approval -----------------------------------------------------------------------------

def test_the_invoice_check_says_what_it_cannot_see_and_flags_what_it_can() -> None:
    clean = run_template("invoice_approval", INPUTS)
    assert clean["check_invoice"].startswith("Invoice check: INV-2041 from Acme Ltd")
    assert "not the lines of either" in clean["check_invoice"]
    assert "nothing: the amount and the due date read correctly" in clean["check_invoice"]
    flagged = run_template("invoice_approval", {**INPUTS, "amount": "about 5k", "due_date": "2026-05-30",
                                                "purchase_order": ""})["check_invoice"]
    assert "'about 5k' is not a plain number" in flagged
    assert "the due date Sat 2026-05-30 is already past (4 days ago)" in flagged
    assert "no purchase order given" in flagged


def test_the_payment_step_drafts_an_instruction_and_schedules_nothing() -> None:
    payment = run_template("invoice_approval", INPUTS)["schedule_payment"]
    assert payment.startswith("Payment instruction draft: invoice INV-2041 to Acme Ltd")
    assert "DRAFT: nothing has been scheduled or paid" in payment
    assert "Pay on:        Sun 2026-06-28 (due Tue 2026-06-30" in payment


# -- weekly reporting -----------------------------------------------------------------------------

def test_weekly_reporting_offline_says_it_has_no_data_and_what_is_missing() -> None:
    replies = run_template("weekly_reporting", INPUTS)
    assert replies["gather"].startswith("Figures to gather: Sales") and "No data source" in replies["gather"]
    assert "  Revenue: <this week> (last week: <last week>)" in replies["gather"]
    assert "Nothing to compare: the gathered list is the gather step's skeleton" in replies["compare"]
    assert replies["draft"].startswith("Weekly report: Sales") and "no figures were given" in replies["draft"]


def test_compare_flags_changes_over_ten_percent_and_the_draft_uses_them() -> None:
    gathered = ("Revenue: $120k (last week: $100k)\n- Orders: 52 vs 50\nRefunds = 30 -> 24\n"
                "Visitors: 1,200\nWeek: 2026-06-01")
    steps = {s["key"]: s for t, s in TASK_STEPS if t == "weekly_reporting"}
    compared = wsr.reply(rendered(steps["compare"], INPUTS, {"gather": gathered}), TODAY) or ""
    flagged = compared[compared.index("Flagged"):compared.index("Within")]
    assert "Revenue: $120k (last week: $100k), up 20.0%" in flagged and "Refunds: 24" in flagged
    assert "Orders: 52 (last week: 50), up 4.0%" in compared[compared.index("Within"):]
    assert "Visitors: 1,200 (last week: not given)" in compared and "Week" not in compared.split(wsr.NOTE)[1]
    draft = wsr.reply(rendered(steps["draft"], INPUTS, {"compare": compared}), TODAY) or ""
    assert "Week of Mon 2026-06-01 to Sun 2026-06-07" in draft
    assert "  - Revenue up 20.0%, to $120k" in draft and "Refunds down 20.0%, to 24: find the cause" in draft


# -- support-ticket triage ------------------------------------------------------------------------

@pytest.mark.parametrize(("ticket", "severity", "category"), [
    (P1_TICKET, "P1", "outage"),
    ("We lost all our data after the sync last night", "P1", "data loss"),
    ("Our account was hacked and someone placed orders", "P1", "security"),
    ("Nobody can log in since the update", "P1", "outage"),
    ("The reports page is down, we are losing sales", "P2", "outage"),
    ("Exporting to CSV fails with an error, please fix", "P3", "bug"),
    (QUESTION_TICKET, "P4", "billing"),
    ("It would be great to have a dark mode", "P4", "feature request"),
])
def test_the_classifier_keeps_p1_for_outages_data_loss_and_breaches(ticket: str, severity: str,
                                                                    category: str) -> None:
    c = ticket_triage.classify(ticket)
    assert (c["severity"], c["category"]) == (severity, category), c
    assert c["reasons"]


def test_is_p1_holds_only_for_a_p1_ticket() -> None:
    p1 = run_template("support_ticket_triage", INPUTS)
    assert "Severity: P1" in p1["classify"]
    assert "reaches all users: 'whole site', 'all our users'" in p1["classify"]
    assert "Sentiment: negative, urgent" in p1["classify"] and "Product area: website" in p1["classify"]
    assert condition("support_ticket_triage", "is_p1", p1) is True
    assert p1["draft_reply"].startswith("Reply draft: outage (website)") and "every hour" in p1["draft_reply"]

    for ticket_id in ("4813", "SUP1234"):  # an id holding 'P1' must not page anyone either
        other = run_template("support_ticket_triage", {**INPUTS, "ticket_id": ticket_id,
                                                       "ticket_text": QUESTION_TICKET})
        assert "P1" not in other["classify"] and "Severity: P4" in other["classify"]
        assert other["classify"].startswith(f"Ticket classification: {ticket_id.lower()}\n")
        assert condition("support_ticket_triage", "is_p1", other) is False
        assert "Category: billing" in other["classify"]
        assert "Product area: billing and invoices" in other["classify"]
    assert other["draft_reply"].startswith("Reply draft: billing (billing and invoices)")
    assert "Hi <customer name>," in other["draft_reply"] and "P1" not in other["draft_reply"]


# -- dates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-09-30", date(2026, 9, 30)), ("30 Sep 2026", date(2026, 9, 30)),
    ("September 30, 2026", date(2026, 9, 30)), ("March 1", date(2027, 3, 1)),
    ("in 2 weeks", date(2026, 6, 17)), ("end of this month", date(2026, 6, 30)),
    ("end of next quarter", date(2026, 9, 30)), ("end of next year", date(2027, 12, 31)),
    ("2026-02-30", None), ("when it is ready", None), (None, None),
])
def test_parse_date(text: str | None, expected: date | None) -> None:
    assert wsr.parse_date(text, TODAY) == expected


# -- end to end -----------------------------------------------------------------------------------

def test_an_offline_project_run_from_the_cli_does_not_escalate(cli_env: dict[str, str]) -> None:
    def cli(*args: str) -> str:
        done = run_cli(*args, env=cli_env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    created = cli("Help me automate my project management workflow")
    assert created.startswith("Saved workflow 1 'Project management'")
    missing = run_cli("run workflow 1", env=cli_env)
    assert missing.returncode == 1 and "Missing required input(s) project_name, goal, deadline" in missing.stdout
    assert "waiting for project sponsor" in cli(
        "run workflow 1 with project_name Website relaunch, goal New site live, deadline 2026-09-30").lower()
    approved = cli("approve run 1 step 2")
    assert "succeeded, 6 of 6 steps finished" in approved
    assert re.search(r"^5\s+check_blockers\s+condition\s+done .*contains 'BLOCKED:': false", approved, re.M)
    assert re.search(r"^6\s+escalate\s+notify\s+skipped", approved, re.M), approved

    run = json.loads(cli("--json", "show run 1"))["data"]["run"]
    steps = {s["key"]: s for s in run["steps"]}
    assert steps["plan"]["result"]["text"].startswith("Project plan: Website relaunch\n" + wsr.NOTE)
    assert "Goal: New site live" in steps["plan"]["result"]["text"]
    assert steps["status_report"]["result"]["text"].startswith("Status report: Website relaunch")
    assert steps["check_blockers"]["result"]["value"] is False
    assert steps["escalate"]["status"] == "skipped"
    engine = sa.create_engine(cli_env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            notices = conn.execute(sa.select(AuditLog.target).where(AuditLog.action == "workflow.notify"))
            notified = set(notices.scalars())
    finally:
        engine.dispose()
    assert notified == {"run 1 step kickoff"}  # the team heard of the kickoff; nobody was escalated to


def test_the_onboarding_equipment_request_carries_no_finance_disclaimer() -> None:
    """'equipment' once read as a misspelt 'equity': the business answer got 'Not investment advice'."""
    spec = next(s for s in wt.TEMPLATES["employee_onboarding"]()["steps"] if s["key"] == "accounts")
    text = spec["input"].format(employee_name="Ada", role="Backend engineer", start_date="2026-12-01")
    answer = domain_agents.offline_answer("business", text)
    assert answer.startswith("Access and equipment request: Ada")
    assert "investment advice" not in answer.lower()


@pytest.mark.parametrize("template, step", TASK_STEPS)
def test_recognition_does_not_hang_on_near_misses(template: str, step: dict[str, Any]) -> None:
    """A text made of a step's own literals, repeated, that misses at the end: the regular expression
    of lazy groups this replaced backtracked for minutes on such texts and held a worker (a hang check
    with a wide margin, not a speed target: it takes milliseconds)."""
    import time

    literals = [p for p in re.split(r"\{[^{}]+\}", step["input"]) if p]
    text = (literals[0] + " ".join(literals[1:] or ["x"]) * 400)[:MAX_TASK_TEXT] + " and then some"
    started = time.process_time()
    wsr.recognise(text)  # a format ending in an input matches any ending; the others miss
    assert time.process_time() - started < 10.0
