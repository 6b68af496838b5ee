"""Business workflows: a process description becomes a workflow definition (the format and its
validation are in workflow_schema.py) that business_automation can save and run; templates for
project management, employee onboarding, invoice approval, weekly reporting and support-ticket
triage.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from errors import BadRequest, OperatorOSError
from providers.tools import ToolSpec
from workflows.schema import (
    CONDITION_OPS,
    DEFINITION_VERSION,
    KINDS,
    MAX_STEPS,
    MAX_TEXT,
    POOLS,
    definition_json,
    step,
    validate_cron,
    validate_workflow,
)

__all__ = ["CONDITION_OPS", "KINDS", "MAX_STEPS", "MAX_TEXT", "POOLS", "TEMPLATES", "TOOLS", "cron_of",
           "definition_from_reply", "definition_json", "from_description", "match_template", "offline_reply",
           "schedule_from_text", "step", "summary_lines", "template", "validate_cron", "validate_workflow"]

logger = logging.getLogger(__name__)

DEFAULT_INVOICE_THRESHOLD = 5000
"""Invoice amount above which finance approval is needed, unless the description names one."""

BUILT_IN_NOTE = ("From OperatorOS's built-in workflow builder (offline templates and rules; not a language "
                 "model).")
"""Says where an offline business reply came from."""

_CRON_FIELD = r"(?:[\d*][\d*/,\-]*|[a-z]{3}(?:[-,][a-z]{3})*)"
_CRON_LITERAL = re.compile(rf"cron\s*[:=]?\s*['\"]?({_CRON_FIELD}(?:\s+{_CRON_FIELD}){{4}})['\"]?", re.I)
_DAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}


def _definition(name: str, template: str, description: str, inputs: dict[str, str],
                steps: list[dict[str, Any]], schedule: str | None) -> dict[str, Any]:
    declared = {k: {"description": v, "required": True} for k, v in inputs.items()}
    return {"version": DEFINITION_VERSION, "name": name, "description": description, "template": template,
            "schedule": schedule, "inputs": declared, "steps": steps}


def project_management(schedule: str | None = None, owner: str = "project manager",
                       approvers: list[str] | None = None) -> dict[str, Any]:
    """Plan, approve, kick off, report status, escalate blockers."""
    approvers = approvers or ["project sponsor"]
    return _definition("Project management", "project_management",
                       "Plan a project, get the plan approved, kick it off, report status and escalate "
                       "blockers.",
                       {"project_name": "name of the project", "goal": "what done looks like",
                        "deadline": "target date"}, [
        step("plan", "Draft the project plan", "task", owner, inputs=["project_name", "goal", "deadline"],
             pool="business", input="Break the project {project_name} (goal: {goal}; deadline: {deadline}) "
             "into milestones, tasks with owners and estimates, dependencies and risks."),
        step("approve_plan", "Approve the plan", "approval", approvers[0], depends_on=["plan"],
             approvers=approvers),
        step("kickoff", "Announce the kickoff", "notify", owner, depends_on=["approve_plan"],
             inputs=["project_name"], to=["project team"],
             message="The plan for {project_name} is approved; work starts now."),
        step("status_report", "Write the status report", "task", owner, depends_on=["kickoff"],
             inputs=["project_name", "plan.result"], pool="business",
             input="Write a status report for {project_name} against this plan: {plan.result}. Sections: "
             "done, next, blocked, risks; if anything is blocked, start a line with 'BLOCKED:'."),
        step("check_blockers", "Anything blocked?", "condition", owner, depends_on=["status_report"],
             inputs=["status_report.result"],
             condition={"input": "status_report.result", "op": "contains", "value": "BLOCKED:"}),
        step("escalate", "Escalate blockers", "notify", owner, depends_on=["check_blockers"],
             inputs=["project_name"], run_if={"step": "check_blockers", "is": True}, to=approvers,
             message="{project_name} has blocked work that needs a decision."),
    ], schedule)


def employee_onboarding(schedule: str | None = None, owner: str = "HR partner",
                        approvers: list[str] | None = None) -> dict[str, Any]:
    """Documents, accounts, access approval, welcome, first-week plan, 30-day check-in."""
    approvers = approvers or ["hiring manager"]
    hire = ["employee_name", "role", "start_date"]
    return _definition("Employee onboarding", "employee_onboarding",
                       "Prepare a new hire's documents, accounts and first weeks.",
                       {"employee_name": "the new hire", "role": "job title and team",
                        "start_date": "first day"}, [
        step("documents", "Collect documents", "task", owner, inputs=hire, pool="business",
             input="List the contracts, tax and ID documents and policies {employee_name} ({role}, starting "
             "{start_date}) must complete, with deadlines."),
        step("accounts", "Request accounts and equipment", "task", "IT support", depends_on=["documents"],
             inputs=hire, pool="business",
             input="Draft the account, access and equipment request for {employee_name} as {role} by "
             "{start_date}."),
        step("approve_access", "Approve access", "approval", approvers[0], depends_on=["accounts"],
             approvers=approvers),
        step("welcome", "Send the welcome", "notify", owner, depends_on=["approve_access"], inputs=hire,
             to=["new hire", "team"], message="Welcome {employee_name}, joining as {role} on {start_date}."),
        step("first_week", "Plan the first week", "task", approvers[0], depends_on=["documents"], inputs=hire,
             pool="business", input="Plan the first week of {employee_name} as {role}: meetings, training, a "
             "buddy, and a first small deliverable."),
        step("checkin_30", "30-day check-in", "task", approvers[0], depends_on=["welcome", "first_week"],
             inputs=["employee_name"], pool="business",
             input="Prepare 30-day check-in questions for {employee_name}: what is going well, blockers, "
             "support."),
    ], schedule)


def invoice_approval(schedule: str | None = None, owner: str = "accounts payable",
                     approvers: list[str] | None = None,
                     threshold: float = DEFAULT_INVOICE_THRESHOLD) -> dict[str, Any]:
    """Check an invoice against its order, approve by amount, schedule payment, confirm."""
    approvers = approvers or ["finance manager"]
    invoice = ["vendor", "invoice_number", "amount", "due_date"]
    return _definition("Invoice approval", "invoice_approval",
                       f"Check an invoice, approve it (finance approval above {threshold:,.0f}), schedule "
                       "payment.",
                       {"vendor": "who billed", "invoice_number": "the invoice's number",
                        "amount": "total due", "due_date": "payment due date",
                        "purchase_order": "matching purchase order"}, [
        step("check_invoice", "Check against the purchase order", "task", owner,
             inputs=[*invoice, "purchase_order"], pool="business",
             input="Check invoice {invoice_number} from {vendor} for {amount}, due {due_date}, against "
             "purchase order {purchase_order}: list any mismatch in items, prices, quantities or terms."),
        step("large_amount", f"Amount above {threshold:,.0f}?", "condition", owner,
             depends_on=["check_invoice"], inputs=["amount"],
             condition={"input": "amount", "op": "gt", "value": threshold}),
        step("budget_owner_approval", "Budget owner approves", "approval", "budget owner",
             depends_on=["large_amount"], run_if={"step": "large_amount", "is": False},
             approvers=["budget owner"]),
        step("finance_approval", "Finance approves", "approval", approvers[0], depends_on=["large_amount"],
             run_if={"step": "large_amount", "is": True}, approvers=approvers),
        step("schedule_payment", "Schedule the payment", "task", owner,
             depends_on=["budget_owner_approval", "finance_approval"], inputs=invoice, pool="business",
             input="Schedule payment of {amount} to {vendor} for invoice {invoice_number} before "
             "{due_date}."),
        step("confirm", "Confirm to the vendor", "notify", owner, depends_on=["schedule_payment"],
             inputs=["vendor", "invoice_number"], to=["vendor contact", owner],
             message="Invoice {invoice_number} from {vendor} is approved and scheduled for payment."),
    ], schedule)


def weekly_reporting(schedule: str | None = "0 9 * * 1", owner: str = "team lead",
                     approvers: list[str] | None = None) -> dict[str, Any]:
    """Gather figures, compare with last week, draft, review, send; every Monday 09:00 by default."""
    approvers = approvers or [owner]
    return _definition("Weekly reporting", "weekly_reporting",
                       "Each week: gather the figures, compare with last week, draft, review and send the "
                       "report.",
                       {"report_topic": "what the report covers", "audience": "who receives it"}, [
        step("gather", "Gather this week's figures", "task", "analyst", inputs=["report_topic"],
             pool="business",
             input="List the figures and events of this week for {report_topic}, with their sources."),
        step("compare", "Compare with last week", "task", "analyst", depends_on=["gather"],
             inputs=["gather.result"], pool="business",
             input="Compare these figures with last week and flag changes over 10%: {gather.result}"),
        step("draft", "Draft the report", "task", owner, depends_on=["compare"],
             inputs=["report_topic", "compare.result"], pool="business",
             input="Draft a one-page weekly report on {report_topic}: highlights, changes, risks, next "
             "steps, from {compare.result}"),
        step("review", "Review the report", "approval", approvers[0], depends_on=["draft"],
             approvers=approvers),
        step("send", "Send the report", "notify", owner, depends_on=["review"],
             inputs=["audience", "draft.result"], to=["{audience}"], message="{draft.result}"),
    ], schedule)


def support_ticket_triage(schedule: str | None = None, owner: str = "support lead",
                          approvers: list[str] | None = None) -> dict[str, Any]:
    """Classify a ticket, page on-call for P1, draft a reply, approve, send."""
    approvers = approvers or ["support agent"]
    return _definition("Support-ticket triage", "support_ticket_triage",
                       "Classify a support ticket, page on-call for P1, draft and send a reviewed reply.",
                       {"ticket_id": "ticket number", "ticket_text": "what the customer wrote",
                        "customer_tier": "plan or tier of the customer"}, [
        step("classify", "Classify the ticket", "task", owner,
             inputs=["ticket_id", "ticket_text", "customer_tier"], pool="business",
             input="Classify ticket {ticket_id} ({customer_tier} customer): category, product area, "
             "sentiment and severity P1-P4 (P1: outage or data loss), the severity on a line of its own as "
             "'Severity: P<n>'. Text: {ticket_text}"),
        step("is_p1", "Severity P1?", "condition", owner, depends_on=["classify"], inputs=["classify.result"],
             condition={"input": "classify.result", "op": "contains", "value": "Severity: P1"}),
        step("page_oncall", "Page the on-call engineer", "notify", owner, depends_on=["is_p1"],
             inputs=["ticket_id"], run_if={"step": "is_p1", "is": True}, to=["on-call engineer"],
             message="P1 ticket {ticket_id} needs you now."),
        step("draft_reply", "Draft the reply", "task", approvers[0], depends_on=["classify"],
             inputs=["ticket_text", "classify.result"], pool="business",
             input="Draft a clear, kind reply to this ticket, with next steps: {ticket_text} "
             "(classification: {classify.result})"),
        step("approve_reply", "Approve the reply", "approval", approvers[0], depends_on=["draft_reply"],
             approvers=approvers),
        step("send_reply", "Send the reply", "notify", approvers[0],
             depends_on=["approve_reply", "page_oncall"],
             inputs=["ticket_id", "draft_reply.result"], to=["customer"], message="{draft_reply.result}"),
    ], schedule)


TEMPLATES: dict[str, Callable[..., dict[str, Any]]] = {
    "project_management": project_management, "employee_onboarding": employee_onboarding,
    "invoice_approval": invoice_approval, "weekly_reporting": weekly_reporting,
    "support_ticket_triage": support_ticket_triage,
}
"""Template builders by name."""

_TEMPLATE_WORDS = {
    "project_management": ("project", "milestone", "sprint", "kanban", "roadmap", "deliverable"),
    "employee_onboarding": ("onboard", "new hire", "new employee", "joiner", "first day", "starter"),
    "invoice_approval": ("invoice", "accounts payable", "purchase order", "bill ", "vendor payment"),
    "weekly_reporting": ("weekly report", "reporting", "kpi", "metrics report", "report every", "dashboard"),
    "support_ticket_triage": ("ticket", "helpdesk", "help desk", "support queue", "customer support",
                              "support"),
}


def template(name: str, **params: Any) -> dict[str, Any]:
    """A template's definition, validated.

    Raises:
        BadRequest: no such template, or a parameter (such as the schedule) is invalid.
    """
    builder = TEMPLATES.get(name.strip().lower().replace(" ", "_").replace("-", "_"))
    if builder is None:
        raise BadRequest(f"No workflow template {name!r}; templates: {', '.join(TEMPLATES)}")
    return validate_workflow(builder(**{k: v for k, v in params.items() if v is not None}))


def match_template(text: str) -> str | None:
    """The template a description is about, by keywords (None when none fits)."""
    lowered = f" {text.lower()} "
    scores = {name: sum(lowered.count(w) for w in words) for name, words in _TEMPLATE_WORDS.items()}
    best = max(scores, key=lambda n: scores[n])
    return best if scores[best] else None


def from_description(text: str, route: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A validated workflow definition from a plain-language process description.

    A description that fits a template gets it, with the schedule, owner, approvers and amount
    threshold it names; otherwise each sentence or 'then'-separated phrase becomes a step
    (approval, notify or task; a task's pool from `route`, default 'business').
    """
    params: dict[str, Any] = {"schedule": schedule_from_text(text), "owner": _owner(text),
                              "approvers": _approvers(text)}
    name = match_template(text)
    if name == "invoice_approval":
        params["threshold"] = _threshold(text)
    if name is not None:
        return template(name, **params)
    return validate_workflow(_generic(text, route or (lambda _: "business"), params))


def schedule_from_text(text: str) -> str | None:
    """A five-field cron schedule from words ('every Monday at 9am', 'daily at 8:30', 'weekdays')."""
    lowered = text.lower()
    literal = _CRON_LITERAL.search(lowered)
    if literal:
        return literal.group(1).strip()
    at = re.search(r"\bat\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", lowered)
    hour, minute = (9, 0)
    if at:
        hour, minute = int(at.group(1)) % 24, int(at.group(2) or 0)
        if at.group(3) == "pm" and hour < 12:
            hour += 12
        elif at.group(3) == "am" and hour == 12:
            hour = 0
    days = [n for d, n in _DAYS.items() if re.search(rf"\b{d}s?\b", lowered)]
    if re.search(r"\b(every|each)\s+hour\b|\bhourly\b", lowered):
        return "0 * * * *"
    if re.search(r"\bweekdays?\b|\bevery working day\b|\bmonday to friday\b", lowered):
        return f"{minute} {hour} * * 1-5"
    if days:
        return f"{minute} {hour} * * {','.join(str(d) for d in sorted(days))}"
    if re.search(r"\b(daily|every day|each day|every morning|nightly)\b", lowered):
        return f"{minute} {hour} * * *"
    if re.search(r"\b(weekly|every week|each week)\b", lowered):
        return f"{minute} {hour} * * 1"
    monthly = re.search(r"\b(monthly|every month|each month)\b(?:\D{0,12}(\d{1,2})(?:st|nd|rd|th))?", lowered)
    if monthly:
        return f"{minute} {hour} {int(monthly.group(2) or 1)} * *"
    return None


def cron_of(schedule: str) -> str:
    """A five-field cron expression (UTC) from cron ('0 9 * * 1') or words ('every Monday at 9am').

    Raises:
        BadRequest: neither.
    """
    if not isinstance(schedule, str) or not schedule.strip():
        raise BadRequest("The schedule must be words such as 'every Monday at 9am' or cron such as '0 9 * * 1'.")
    if len(schedule.split()) == 5 and not re.search(r"[a-z]{4,}", schedule.lower()):
        return validate_cron(schedule)
    cron = schedule_from_text(schedule)
    if cron is None:
        raise BadRequest(f"Cannot read the schedule {schedule!r}: say for example 'every Monday at 9am', "
                         "'weekdays at 8:30', 'daily at 6pm', or give cron such as '0 9 * * 1' (UTC).")
    return cron


def summary_lines(definition: dict[str, Any], workflow_id: int | None = None) -> list[str]:
    """A plain-text table of a definition's steps, and its approvals, inputs and schedule (how to set
    or remove the schedule named with the saved workflow's number when there is one)."""
    rows = [["#", "key", "kind", "owner", "after", "does"]]
    for n, s in enumerate(definition["steps"], start=1):
        rows.append([str(n), s["key"], s["kind"], s["owner"], ", ".join(s["depends_on"]) or "-", _does(s)])
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    table = ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=False)) + "  " + r[5] for r in rows]
    approvals = [f"{s['key']} by {' or '.join(s['approvers'])}"
                 for s in definition["steps"] if s["kind"] == "approval"]
    schedule = definition.get("schedule")
    which = f"workflow {workflow_id}" if workflow_id is not None else "workflow <n>"
    inputs = [name + ("" if isinstance(spec, dict) and spec.get("required") else " (optional)")
              + (f" = {spec['default']!r} by default" if isinstance(spec, dict) and "default" in spec else "")
              for name, spec in (definition.get("inputs") or {}).items()]
    return [f"Schedule: {schedule} (cron, UTC: minute hour day month weekday); say 'unschedule {which}' to "
            "remove it." if schedule else
            f"Schedule: none (runs when started); say 'schedule {which} every Monday at 9am' to schedule it.",
            "Inputs to give when it runs: " + (", ".join(inputs) or "none"),
            "Steps", *table, "Approvals: " + ("; ".join(approvals) or "none")]


def offline_reply(text: str, route: Callable[[str], str] | None = None) -> str:
    """The business agent's reply: the definition drafted from the description, explained, as JSON."""
    definition = from_description(text, route)
    matched = definition.get("template")
    lines = [f"Workflow draft: {definition['name']}", BUILT_IN_NOTE, ""]
    lines.append(f"Template: {matched}" if matched else
                 "Template: none matched, so each phrase of the description became a step.")
    lines += summary_lines(definition)
    others = [t for t in TEMPLATES if t != matched]
    lines += ["", "Other templates: " + ", ".join(others) + ".",
              "Edit owners, approvers and the schedule as needed; the definition below passed validation and "
              "can be saved as a workflow and run.", "", "Definition (JSON):", definition_json(definition)]
    return "\n".join(lines)


def definition_from_reply(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The first JSON object in a reply that validates as a workflow definition, and why none did."""
    decoder = json.JSONDecoder()
    reason = "the business agent's reply held no workflow definition"
    for match in re.finditer(r"\{", text):
        try:
            candidate, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(candidate, dict) and isinstance(candidate.get("steps"), list):
            try:
                return validate_workflow(candidate), None
            except BadRequest as exc:
                reason = f"the business agent's definition did not validate: {exc.message}"
    return None, reason


def _does(s: dict[str, Any]) -> str:
    prefix = f"if {s['run_if']['step']} is {str(s['run_if']['is']).lower()}: " if s.get("run_if") else ""
    if s["kind"] == "task":
        return f"{prefix}{s['title']} ({s['pool']} pool)"
    if s["kind"] == "approval":
        return f"{prefix}{s['title']} (approvers: {', '.join(s['approvers'])})"
    if s["kind"] == "notify":
        return f"{prefix}{s['title']} (to: {', '.join(s['to'])})"
    c = s["condition"]
    return f"{prefix}{s['title']} ({c['input']} {c['op']} {c['value']!r})"


def _generic(text: str, route: Callable[[str], str], params: dict[str, Any]) -> dict[str, Any]:
    text = _CRON_LITERAL.sub(" ", text)
    parts = re.split(r"\bthen\b|->|;|\n|\bafter that\b|\bnext\b|\.\s", text, flags=re.I)
    phrases_ = [p.strip(" .,") for p in parts]
    phrases_ = [p for p in phrases_ if len(p.split()) >= 2][:MAX_STEPS]
    owner = params.get("owner") or "process owner"
    steps: list[dict[str, Any]] = []
    for n, phrase in enumerate(phrases_ or [text.strip() or "Do the work"], start=1):
        deps = [steps[-1]["key"]] if steps else []
        key, title = f"step_{n}", phrase[:80]
        if re.search(r"\b(approv|sign[- ]?off|authori[sz])", phrase, re.I):
            steps.append(step(key, title, "approval", owner, depends_on=deps,
                              approvers=params.get("approvers") or ["approver"]))
        elif re.search(r"\b(notify|email|e-mail|send|alert|tell|inform|announce|message)\b", phrase, re.I):
            steps.append(step(key, title, "notify", owner, depends_on=deps, to=["stakeholders"],
                              message=phrase))
        else:
            steps.append(step(key, title, "task", owner, depends_on=deps, pool=route(phrase), input=phrase))
    return {"version": DEFINITION_VERSION, "name": "Custom workflow", "description": text.strip()[:500],
            "template": None, "schedule": params.get("schedule"), "inputs": {}, "steps": steps}


def _owner(text: str) -> str | None:
    m = re.search(r"\b(?:owner is|owned by|owner:|assign(?:ed)? to|managed by|run by)\s+(?:the\s+)?"
                  r"([A-Za-z][\w.\-]*(?: [A-Za-z][\w.\-]*)?)", text, re.I)
    return m.group(1).strip() if m else None


def _approvers(text: str) -> list[str] | None:
    m = re.search(r"\bapprov(?:ed|al|es)?\s+(?:is\s+)?(?:by|from)\s+(?:the\s+|our\s+|a\s+)?"
                  r"([A-Za-z][\w\- ]*?)(?=[,.;]|$| and | or | if | when | before | after | then )",
                  text, re.I)
    return [m.group(1).strip()] if m else None


def _threshold(text: str) -> float:
    m = re.search(r"(?:over|above|more than|exceed(?:s|ing)?|>)\s*\$?\s*([\d,]+(?:\.\d+)?)\s*(k\b)?",
                  text, re.I)
    if not m:
        return DEFAULT_INVOICE_THRESHOLD
    return float(m.group(1).replace(",", "")) * (1000 if m.group(2) else 1)


def _safe(handler: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(**kwargs: Any) -> Any:
        try:
            return handler(**kwargs)
        except OperatorOSError as exc:
            return {"error": exc.message, **exc.details}
    return wrapped


def _validate_tool(definition: dict[str, Any]) -> dict[str, Any]:
    checked = validate_workflow(definition)
    return {"valid": True, "steps": len(checked["steps"]), "schedule": checked.get("schedule")}


TOOLS: list[ToolSpec] = [
    ToolSpec("workflow_from_description", "Turn a plain-language process description into a validated "
             "workflow definition (steps, owners, inputs, approvals, optional cron schedule).",
             {"type": "object", "properties": {"description": {"type": "string"}},
              "required": ["description"], "additionalProperties": False},
             _safe(lambda description: from_description(description))),
    ToolSpec("workflow_template", "A workflow template: project_management, employee_onboarding, "
             "invoice_approval, weekly_reporting or support_ticket_triage, with an optional cron schedule "
             "and owner.",
             {"type": "object", "properties": {"name": {"type": "string", "enum": list(TEMPLATES)},
              "schedule": {"type": "string"}, "owner": {"type": "string"}}, "required": ["name"],
              "additionalProperties": False}, _safe(lambda name, **kw: template(name, **kw))),
    ToolSpec("validate_workflow", "Check a workflow definition; returns valid or the error and where it is.",
             {"type": "object", "properties": {"definition": {"type": "object"}}, "required": ["definition"],
              "additionalProperties": False}, _safe(_validate_tool)),
]
"""The business agent's function tools."""
