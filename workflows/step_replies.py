"""The built-in business agent's answers to the workflow templates' task steps (offline, rule-based).

A task step reaches the business pool as its rendered `input` text. Each template step is recognised
by a pattern derived from that very format (literal parts escaped, each '{name}' a lazy capture), so
the templates and their recognition cannot drift apart; the captures are the inputs' values. No reply
repeats the step's instruction, and the two replies a condition reads keep to it (both conditions are
case-insensitive substring tests): a status report holds 'BLOCKED:' only when the plan marks an item
blocked, a ticket classification holds 'Severity: P1' only when its severity is P1.
"""
from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from domains import tickets as ticket_triage
from workflows import templates as workflow_templates
from workflows.schema import placeholder as _gap

logger = logging.getLogger(__name__)

NOTE = "From OperatorOS's built-in business templates (offline, rule-based; not a language model)."
"""Second line of every reply: where it came from."""

CHANGE_FLAG_PERCENT = 10.0
"""Week-on-week change (percent) above which the compare step flags a figure, as the step asks."""

PAYMENT_LEAD_DAYS = 2
"""Days before the due date a payment is sent, for the bank to process it."""

Values = dict[str, "str | None"]
Figure = tuple[str, str, "str | None"]  # label, this week's figure, last week's (as written)
_FIELD = re.compile(r"\{([^{}]+)\}")  # the placeholder syntax of workflow_actions.render
_PLACEHOLDER = re.compile(r"\[[a-z][a-z0-9_.]* not given\]|\(step [a-z][a-z0-9_]* was skipped\)")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class StepText:
    """A template's task step recognised in a task's text."""

    template: str
    """Template name (a key of workflow_templates.TEMPLATES)."""
    key: str
    """The step's key."""
    values: dict[str, str | None]
    """Each input's rendered value; None for a placeholder (an input not given, a skipped step)."""


class StepFormat:
    """A step's `input` format as its literal parts and the inputs between them; matches in linear time.

    A text matches when it starts with the first literal, ends with the last, and holds each literal
    between in order, each found at its first place after the one before (a regular expression of
    lazy groups would do the same but backtrack, in time that grows as a power of the text's length
    on a near miss: minutes for a few thousand characters). A field that names no input of the step
    stays a literal (render leaves such a placeholder as written); an input written twice must have
    the same value both times.
    """

    def __init__(self, fmt: str, inputs: list[str]) -> None:
        self.literals: list[str] = [""]
        self.names: list[str] = []
        for piece in re.split(r"(\{[^{}]+\})", fmt):
            name = piece[1:-1] if _FIELD.fullmatch(piece) else None
            if name is not None and name in inputs:
                self.names.append(name)
                self.literals.append("")
            else:
                self.literals[-1] += piece

    def match(self, text: str) -> dict[str, str] | None:
        """Each input's value in `text`, or None when the text is not this format rendered."""
        first, last = self.literals[0], self.literals[-1]
        if not self.names:
            return {} if text == first else None
        end = len(text) - len(last)
        if end < len(first) or not text.startswith(first) or not text.endswith(last):
            return None
        values: dict[str, str] = {}
        at = len(first)
        for name, literal in zip(self.names, self.literals[1:-1] + [None], strict=False):
            stop = end if literal is None else text.find(literal, at, end)
            if stop < 0:
                return None
            value = text[at:stop]
            if values.setdefault(name, value) != value:
                return None
            at = stop + (len(literal) if literal is not None else 0)
        return values


def recognise(text: str) -> StepText | None:
    """The template task step whose rendered input `text` is, with its inputs' values (None if none)."""
    body = text.strip()
    for template, key, step_format in _FORMATS:
        if (found := step_format.match(body)) is not None:
            return StepText(template, key, {n: _value(v) for n, v in found.items()})
    return None


def reply(text: str, today: date | None = None) -> str | None:
    """The built-in answer to a template task step's text; None when the text is no template step."""
    step = recognise(text)
    handler = _HANDLERS.get((step.template, step.key)) if step else None
    if step is None or handler is None:
        return None
    logger.debug("built-in answer to %s step %s", step.template, step.key)
    return handler(step.values, today or date.today())


def parse_date(text: str | None, today: date) -> date | None:
    """A date from '2026-09-30', '30 Sep 2026', 'September 30', 'in 6 weeks', 'end of next quarter'..."""
    t = (text or "").lower()
    try:
        if m := re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", t):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := (re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?,?(?:\s+(\d{4}))?\b", t)
                 or re.search(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b,?(?:\s+(\d{4}))?", t)):
            day, word = (m[1], m[2]) if m[1].isdigit() else (m[2], m[1])
            if month := next((i for i, n in enumerate(_MONTHS, 1) if n.startswith(word)), None):
                found = date(int(m[3] or today.year), month, int(day))
                return found if m[3] or found >= today else found.replace(year=today.year + 1)
    except ValueError:  # a day the month does not have
        return None
    if m := re.search(r"\bin\s+(\d{1,3})\s+(day|week|month)s?\b", t):
        return today + timedelta(days=int(m[1]) * {"day": 1, "week": 7, "month": 30}[m[2]])
    if m := re.search(r"\bend of (?:the |this )?(next )?(month|quarter|year)\b", t):
        span = {"month": 1, "quarter": 3, "year": 12}[m[2]]
        last = (today.month - 1) // span * span + span + (span if m[1] else 0)  # may run past December
        year, month = today.year + (last - 1) // 12, (last - 1) % 12 + 1
        return date(year, month, calendar.monthrange(year, month)[1])
    relative = {"today": 0, "tomorrow": 1, "next week": 7, "next month": 30}
    return next((today + timedelta(days=n) for w, n in relative.items() if re.search(rf"\b{w}\b", t)), None)


# -- project management ---------------------------------------------------------------------------

_MILESTONES = (  # share of the time to the deadline, milestone, owner (a role), its standard tasks
    (0.1, "Scope and success criteria agreed", "project manager with the sponsor",
     "confirm the goal and how success is measured; list the stakeholders and who decides what"),
    (0.3, "Approach chosen and the work broken down", "lead (technical or subject lead)",
     "choose the approach; split the work into tasks of a few days, each with an owner"),
    (0.7, "Main work complete", "delivery team", "work in short iterations; a status report every week"),
    (0.9, "Reviewed and accepted", "reviewer, then the sponsor",
     "check the result against the success criteria; fix the findings; the sponsor signs off"),
    (1.0, "Delivered and handed over", "project manager", "launch or hand over; close open items; a review"))
_RISKS = ["scope grows after approval: changes go through the sponsor, with their cost in time",
          "estimates are optimistic: keep a buffer before the deadline and compare progress weekly",
          "a key person is unavailable: name a backup owner for each milestone",
          "an outside dependency (supplier, other team, sign-off) is late: name it, agree its date early"]
_PLAN_TAIL = ["", "Dependencies", "  - M1 starts once this plan is approved; each milestone needs the last",
              "  - <outside dependencies: suppliers, other teams, sign-offs, and when each is needed>", "",
              "Risks", *(f"  - {r}" for r in _RISKS), "",
              "To fill in: owners by name, estimates in days, the project's own tasks and dependencies."]
# A plan item is marked blocked (or done) when the word is its status: at the start of the item, after
# a colon or bracket, or after 'status'; 'blocked by' in a dependency is no marker, nor 'blocked: none'.
_MARK = r"(?:^\s*(?:[-*\u2022]\s*)?|[:(\[]\s*|\bstatus\s*(?:is\s*)?[:=]?\s*)"
_NOT_NONE = r"(?!\s*[:=\-]?\s*(?:none|no|nothing|n/?a)\b)"
_BLOCKED_ITEM = re.compile(_MARK + r"(?:blocked|on hold)\b" + _NOT_NONE, re.I)
_DONE_ITEM = re.compile(_MARK + r"(?:done|completed?|finished)\b" + _NOT_NONE + r"|\[x\]", re.I)


def _plan(v: Values, today: date) -> str:
    deadline = parse_date(v["deadline"], today)
    days = (deadline - today).days if deadline else 0
    if deadline and days >= 10:
        when = f"{_day(deadline)}, {days} days from today ({_day(today)})"
    else:
        why = ("already past" if deadline and days < 0 else "too close for five milestones" if deadline else
               "not a date the templates can read, e.g. 2026-09-30")
        when, deadline = f"{v['deadline']} ({why})" if v["deadline"] else "not given", None
        when += "; milestone dates are shares of the time to it"
    lines = [f"Goal: {v['goal'] or _gap('goal') + ' (what does done look like?)'}", f"Deadline: {when}.",
             "Items in <angle brackets> are for the team to fill in.", "", "Milestones"]
    previous, since = 0.0, today
    for n, (share, title, owner, tasks) in enumerate(_MILESTONES, start=1):
        due = deadline and (_workday(today + timedelta(days=round(days * share))) if share < 1 else deadline)
        window = (f"by {_day(due)} (window: {(due - since).days} days)" if due else
                  f"at {share:.0%} of the time (window: {share - previous:.0%} of it)")
        lines += [f"  M{n} {title}, {window}", f"     owner: {owner}",
                  f"     tasks: {tasks}; <the project's own tasks> (estimate: <days>)"]
        previous, since = share, due or today
    return _doc(f"Project plan: {v['project_name'] or _gap('project_name')}", *lines, *_PLAN_TAIL)


def _status_report(v: Values, today: date) -> str:
    plan = (v["plan.result"] or "").splitlines()
    blocked = [_item(line) for line in plan if _BLOCKED_ITEM.search(line)]
    done = [_item(line) for line in plan if _DONE_ITEM.search(line) and not _BLOCKED_ITEM.search(line)]
    items = ([_item(x) for x in plan if re.match(r"\s*M\d+\s", x)]
             or [_item(x) for x in plan if re.match(r"\s*(?:[-*\u2022]|\d+[.)])\s", x)])
    risks = re.search(r"^\s*risks:?\s*\n((?:[ \t]*[-*\u2022][ \t].*(?:\n|$))+)", "\n".join(plan), re.I | re.M)
    text = _doc(
        f"Status report: {v['project_name'] or _gap('project_name')}",
        *([f"BLOCKED: {len(blocked)} plan item(s) marked blocked need a decision."] if blocked else []),
        "Progress: the built-in templates see the plan, not the team's work; a person fills in Done and Next "
        "before this report goes out." if plan else "No plan was given to report against.", "",
        "Done", *_bullets(done or ["<what was finished since the last report>"]),
        "Next", *_bullets([i for i in items if i not in done + blocked][:3] or ["<next milestone, date>"]),
        "Blocked", *_bullets(blocked or ["none reported: no item of the plan is marked blocked or on hold; "
                                         "add any blocker before this report goes out"]),
        "Risks", *_bullets([_item(x) for x in risks[1].splitlines()][:4] if risks else _RISKS[:3]), "",
        "Blockers are read from the plan: an item marked blocked or on hold (at its start, after a colon or "
        "bracket, or as its status) counts; 'blocked by' in a dependency does not.")
    # check_blockers looks for 'BLOCKED:' in any case: echoed plan text must not trip it without a blocker.
    return text if blocked else re.sub(r"(?i)\b(blocked)\s*:", r"\1 -", text.replace("BLOCKED", "blocked"))


# -- employee onboarding --------------------------------------------------------------------------

_ROLES = (  # family, words in the role, systems to request, role documents, first small deliverable
    ("engineering", "engineer|developer|devops|sre|programmer|tech lead|data scientist",
     "code repository, CI/CD, issue tracker, cloud console (least privilege; no production writes at first)",
     "; invention and IP assignment", "ship one small reviewed change (a bug or documentation fix)"),
    ("sales", "sales|account executive|account manager|business development", "CRM, quoting tool",
     "; commission plan, anti-bribery policy", "shadow three customer calls, then write up the pitch"),
    ("support", "support|customer success|service desk|helpdesk", "helpdesk, knowledge base, status page",
     "; customer data handling", "answer five tickets with the buddy reviewing each reply"),
    ("finance", "finance|accountant|accounting|controller|payroll|bookkeeper",
     "accounting system (segregated duties), expense tool, bank portal (view only at first)",
     "; finance policies", "reconcile one account with the buddy"),
    ("management", "manager|head of|director|lead", "HR system with approver rights, team budget reports",
     "; management policies (hiring, leave, reviews)", "a 1:1 with each report and a 30-60-90 day plan"),
    ("general", "", "the team's own tools (the hiring manager names them)", "",
     "a small task the hiring manager picks, done with the buddy"))
_DOCUMENTS = """\
Forms differ by country: HR or legal confirm the list for the place of employment.
  [ ] Signed employment contract and offer letter - by {m7}
  [ ] Bank details for payroll, emergency contact, tax withholding forms of the country - by {m3}
  [ ] Non-disclosure agreement{docs} ({family} role) - by {m3}
  [ ] Identity and right-to-work check, documents seen by HR (e.g. US Form I-9 by day 3) - by {p2}
  [ ] Policies acknowledged: code of conduct, security and acceptable use, data protection - by {p4}
  [ ] Security awareness training - by {p4}
  [ ] Benefits enrolment (check the benefit plan's own window) - by {p29}
Owner: the HR partner collects them; the hiring manager chases what is late."""
_ACCOUNTS = """\
Order equipment by {m14}; accounts ready by {m2}.
Access is granted after the approval step that follows, and only what the role needs now (least privilege).

  Person: {name}, {role}, starting {p0}
  Accounts: email and single sign-on (MFA on day 1), calendar, chat, HR self-service, password manager
  Role systems ({family}): {systems}
  Equipment: laptop (standard image, disk encryption on), charger, monitor, headset, badge, <role-specific>
  Deliver to: <office desk or home address>, arriving by {m3}
  Requested by: <hiring manager>; cost centre: <fill in>"""
_FIRST_WEEK = """\
Buddy: <a peer on the same team, not the manager, named before day 1>

  Day 1: welcome from the hiring manager; laptop and accounts checked with IT; meet the buddy and the team
  Day 2: team and product overview; how the team works (docs, rituals, tools); security training
  Day 3: 1:1 with the hiring manager on the role and the first 30 days; training on {systems}
  Day 4: work on the first deliverable with the buddy; meet <two or three key colleagues outside the team>
  Day 5: first small deliverable ({family}): {deliverable}; end-of-week check-in with the manager
Meetings to book before day 1: manager 1:1s on days 1, 3 and 5; 15 minutes a day with the buddy."""
_CHECKIN = """\
When: day 30, 45 minutes with the hiring manager (book it in the first week).

What is going well
  1. What has gone better than you expected in your first month?
  2. Which piece of work are you most pleased with, and who helped most?
Blockers
  3. What slows you down or gets in your way?
  4. Is anything about your role or priorities still unclear?
  5. Do you have every access, tool and piece of equipment you need?
Support
  6. What would help most in the next 30 days: training, introductions, time with the team?
  7. Is the support from your manager and buddy too much, too little or about right?
  8. What should we change in onboarding for the next person?
After it: note the answers, agree up to three goals for day 60, and fix any access gap that week."""


def _onboarding(template: str, title: str) -> Callable[[Values, date], str]:
    def answer(v: Values, today: date) -> str:
        start, role = parse_date(v.get("start_date"), today), v.get("role") or ""
        family, _, systems, docs, deliverable = next(
            r for r in _ROLES if not r[1] or re.search(rf"\b(?:{r[1]})\b", role.lower()))
        days = {f"{'m' if n < 0 else 'p'}{abs(n)}": _when(start, n) for n in (-14, -7, -3, -2, 0, 2, 4, 29)}
        first = []  # stays empty for a step whose text names no start date
        if start:
            first = [f"First day: {_day(start)}."]
        elif "start_date" in v:
            given = f"'{v['start_date']}' (not a date the templates read)" if v["start_date"] else "not given"
            first = [f"First day: {given}; dates count from day 1."]
        who = v["employee_name"] or _gap("employee_name")
        heading = f"{title}: {who}" + (f" ({role or _gap('role')})" if "role" in v else "")
        return _doc(heading, *first, template.format(family=family, systems=systems, docs=docs, name=who,
                                                     deliverable=deliverable, role=role or "<role>", **days))
    return answer


# -- invoice approval -----------------------------------------------------------------------------

_CHECKLIST = """\
Compare invoice and purchase order {po}
  [ ] Vendor: name, address and tax number match the vendor record; bank details unchanged (changed
      bank details sent by email are a common fraud: confirm by phone on a known number)
  [ ] Order: open, issued to this vendor, not already fully invoiced
  [ ] Items and quantities: each line matches the order and the goods receipt (what was delivered)
  [ ] Prices: unit prices and discounts as in the order or contract
  [ ] Arithmetic: line totals and tax add up to {amount}
  [ ] Terms: payment terms and due date ({due}) as agreed
  [ ] Duplicates: no earlier invoice with this number, or this vendor and amount, already paid

Mismatches: none can be listed here (no lines were seen); record each one found, approve once resolved."""
_PAYMENT = """\
DRAFT: nothing has been scheduled or paid. A person with payment rights enters it in the bank or
payment system; the next step then confirms it to the vendor.

  Payee:         {vendor} (bank details from the vendor record, never from the invoice or an email)
  Amount:        {amount} (as approved)
  Reference:     {number}
  Pay on:        {pay_on}
  Method:        <bank transfer, card or other>
  Debit account: <company account>
  Approved by:   <the approval recorded on this run>"""


def _check_invoice(v: Values, today: date) -> str:
    flags = _invoice_flags(v, today) or ["nothing: the amount and the due date read correctly"]
    return _doc(f"Invoice check: {v['invoice_number'] or '<number>'} from {v['vendor'] or '<vendor>'}",
                "The built-in templates see the invoice's number, vendor, amount and due date and the "
                "order's number, not the lines of either: a person compares them with this checklist.", "",
                "Flagged from what was given", *_bullets(flags), "",
                _CHECKLIST.format(po=v["purchase_order"] or "<order number>",
                                  amount=v["amount"] or "<amount>", due=v["due_date"] or "<due date>"))


def _schedule_payment(v: Values, today: date) -> str:
    due = parse_date(v["due_date"], today)
    pay_on = (f"<before the due date: {v['due_date']}>" if v["due_date"] and due is None else
              f"<before the due date: {_gap('due_date')}>" if due is None else
              f"as soon as possible: the due date ({_day(due)}) has passed" if due < today else
              f"{_day(max(today, due - timedelta(days=PAYMENT_LEAD_DAYS)))} (due {_day(due)}; "
              f"{PAYMENT_LEAD_DAYS} days ahead for the bank to process it)")
    return _doc(f"Payment instruction draft: invoice {v['invoice_number'] or '<number>'} to "
                f"{v['vendor'] or '<vendor>'}",
                _PAYMENT.format(vendor=v["vendor"] or "<vendor>", amount=v["amount"] or "<amount>",
                                number=v["invoice_number"] or "<invoice number>", pay_on=pay_on))


def _invoice_flags(v: Values, today: date) -> list[str]:
    flags, amount, due = [], v["amount"], v["due_date"]
    cleaned = re.sub(r"[\s,$\u20ac\u00a3]", "", amount or "")  # read as the large_amount condition reads it
    if not amount:
        flags.append("no amount given: the next step compares it with the approval threshold and fails")
    elif not re.fullmatch(r"[-+]?\d+(\.\d+)?", cleaned):
        flags.append(f"the amount {amount!r} is not a plain number (digits, optionally $, \u20ac, \u00a3 and "
                     "thousands commas): the next step compares it with the approval threshold and will fail")
    elif float(cleaned) <= 0:
        flags.append("the amount is zero or negative: a credit note needs no payment")
    when = parse_date(due, today)
    if not due:
        flags.append("no due date given: take it from the invoice and the agreed payment terms")
    elif when is None:
        flags.append(f"the due date {due!r} is not a date the templates can read (e.g. 2026-07-31): check it")
    elif when < today:
        flags.append(f"the due date {_day(when)} is already past ({(today - when).days} days ago): pay "
                     "promptly and check for late fees, or agree a new date with the vendor")
    elif (when - today).days <= 7:
        flags.append(f"due in {(when - today).days} days ({_day(when)}): the approval must be quick")
    return flags + [f"no {what.replace('_', ' ')} given: {why}" for what, why in (
        ("purchase_order", "no three-way match is possible; ask the requester for the order or an approval"),
        ("invoice_number", "it is needed to check for duplicates and as the payment reference"),
        ("vendor", "match the invoice to the vendor record first")) if not v[what]]


# -- weekly reporting -----------------------------------------------------------------------------

_TOPIC_FIGURES = (  # words in the topic, figures to collect (no digits: the compare step reads digits)
    ("sales revenue orders shop commerce", "Revenue|Orders|Average order value|Conversion rate|Refunds"),
    ("support helpdesk ticket service",
     "Tickets opened|Tickets closed|Backlog|First response time (hours)|Customer satisfaction"),
    ("marketing campaign leads traffic website", "Visitors|Leads|Cost per lead|Sign-ups|Conversion rate"),
    ("engineering development product release", "Deployments|Incidents|Pull requests merged|Open bugs"),
    ("hiring recruiting people", "Open roles|Applicants|Interviews|Offers made|Offers accepted"),
    ("finance cash spend costs", "Cash in bank|Spend|Invoices sent|Invoices paid|Overdue receivables"),
    ("", "<key figure>|<second key figure>|<third key figure>"))
_NUMBER = re.compile(r"(?<![\w.])[-+]?[$\u20ac\u00a3]?\d(?:[\d,]*\d)?(?:\.\d+)?(?:%|(?:k|m|bn)\b)?", re.I)
_FIGURE_LINE = re.compile(r"^\s*(?:[-*\u2022]\s*)?([A-Za-z][^:=<>\n]{0,60}?)\s*[:=]\s*(.+)$")


def figures(text: str) -> list[Figure]:
    """(label, this week, last week or None) of lines 'Label: 120 (last week: 100)', 'Label: 100 -> 120'."""
    found: list[Figure] = []
    for line in text.splitlines():
        m = _FIGURE_LINE.match(line)
        nums = list(_NUMBER.finditer(m[2])) if m and not re.search(r"\d{4}-\d{2}-\d{2}", m[2]) else []
        if not m or not nums:
            continue
        key = re.search(r"last week|previous(?: week)?|prior week|\bvs\.?", m[2], re.I)
        arrow = re.search(r"->|\u2192|\bto\b", m[2])
        edge = key or arrow
        after = [n for n in nums if n.start() >= edge.end()] if edge else []
        last: re.Match[str] | None = None
        if key:  # 'this (last week: last)', 'this vs last', 'last week last, this week this'
            last = after[0] if after and len(nums) > 1 else None
            this = next(n for n in nums if n is not last)
        elif arrow and after and nums[0].end() <= arrow.start():  # 'last -> this', 'from last to this'
            this, last = after[0], nums[0]
        else:
            this = nums[0]
        found.append((m[1].strip(), this[0], last[0] if last else None))
    return found


def _gather(v: Values, today: date) -> str:
    topic = (v["report_topic"] or "").lower()
    names = next(f for words, f in _TOPIC_FIGURES if not words or any(w in topic for w in words.split()))
    return _doc(f"Figures to gather: {v['report_topic'] or _gap('report_topic')}",
                "No data source is connected to the built-in templates, so no figure is filled in: the "
                "analyst fills each line from its source, in this form, for the comparison to read it.", "",
                "Figures (this week, and last week's for the comparison)",
                *(f"  {n}: <this week> (last week: <last week>) - source: <system or report>"
                  for n in names.split("|")),
                "Events", "  - <launches, incidents, holidays: what explains a change> - source: <where>")


def _compare(v: Values, today: date) -> str:
    text = v["gather.result"] or ""
    topic = re.match(r"Figures to gather: (.+)\n", text)  # our gather reply's first line: not a figure
    found = figures(text[topic.end():] if topic else text)
    title = "Week-on-week comparison" + (f": {topic[1]}" if topic else "")
    if not found:
        why = ("the gathered list is the gather step's skeleton, not filled in (no data source is connected "
               "offline)" if "<this week>" in text else "the gathered text holds no labelled figure" if text
               else "no gathered figures were given")
        return _doc(title, f"Nothing to compare: {why}.", "Missing: this week's and last week's figure for "
                    "each line, as 'Label: <this week> (last week: <last week>)'.")
    flagged = [f for f in found if abs(_change(f) or 0) > CHANGE_FLAG_PERCENT]
    steady = [f for f in found if _change(f) is not None and f not in flagged]
    alone = [f"{f[0]}: {f[1]} (last week: {f[2] or 'not given'})" for f in found if _change(f) is None]
    return _doc(title, f"Read {len(found)} figure(s); a change over {CHANGE_FLAG_PERCENT:g}% is flagged.", "",
                "Flagged, changed by more than that", *_bullets([_figure(f) for f in flagged] or ["none"]),
                "Within the limit", *_bullets([_figure(f) for f in steady] or ["none"]),
                "Without a comparison", *_bullets(alone or ["none"]))


def _draft(v: Values, today: date) -> str:
    text = v["compare.result"] or ""
    found = [f for f in figures(text.split("\n", 1)[-1]) if _change(f) is not None]  # past the title line
    flagged = sorted((f for f in found if abs(_change(f) or 0) > CHANGE_FLAG_PERCENT),
                     key=lambda f: -abs(_change(f) or 0))
    monday = today - timedelta(days=today.weekday())
    return _doc(f"Weekly report: {v['report_topic'] or _gap('report_topic')}",
                f"Week of {_day(monday)} to {_day(monday + timedelta(days=6))}. One page; fill in what is in "
                "<angle brackets> before the review step.", "",
                "Highlights", *_bullets(["<the week's most important result, in one sentence>"]
                                        + [_figure(f, short=True) for f in flagged[:3]]),
                "Changes", *_bullets([_figure(f) for f in found]
                                     or ["no figures were given to compare: <key figures, this week, last>"]),
                "Risks", *_bullets([f"{_figure(f, short=True)}: find the cause before the next report"
                                    for f in flagged if (_change(f) or 0) < 0]
                                   + ["<anything that could hurt next week's figures>"]),
                "Next steps", *_bullets([f"<owner>: look into the change in {f[0]}, by <date>"
                                         for f in flagged] + ["<owner: action, by when>"]))


# -- support-ticket triage ------------------------------------------------------------------------

def _classify(v: Values, today: date) -> str:
    c = ticket_triage.classify(v["ticket_text"] or "")
    meaning = ticket_triage.SEVERITY[c["severity"]] if v["ticket_text"] else "by default"
    text = _doc(f"Ticket classification: {v['ticket_id'] or '<ticket id>'}",
                f"Customer tier: {v['customer_tier'] or _gap('customer_tier')}", f"Category: {c['category']}",
                f"Product area: {c['area']}", f"Sentiment: {c['sentiment']}",
                f"Severity: {c['severity']} ({meaning})",
                "Why", *_bullets(c["reasons"]),
                "A person confirms the severity: the rules read the ticket's words, not the systems' state.")
    # is_p1 looks for 'Severity: P1' in any case: an echoed id or tier holding 'P1' must not page anyone.
    if c["severity"] == "P1":
        return text
    return re.sub(r"(?i)\b(severity)\s*:\s*(p1)", r"\1 \2", re.sub(r"\S*P1\S*", lambda m: m[0].lower(), text))


def _draft_reply(v: Values, today: date) -> str:
    c = ticket_triage.classify(v["ticket_text"] or "")
    given = re.search(r"\bSeverity\s*[:=]?\s*(P[1-4])\b", v["classify.result"] or "")
    severity = given[1] if given else c["severity"]  # the classify step's verdict, where it gave one
    fallback = ("<the answer, in a sentence or two>", "<the action taken>", "<what happens next, and when>")
    said, *steps = ticket_triage.REPLIES.get(c["category"], fallback)
    opening = {"negative": "Thank you for letting us know, and I am sorry for the trouble this is causing.",
               "positive": "Thank you for your kind words and for getting in touch."}
    return _doc(f"Reply draft: {c['category']} ({c['area']})",
                f"For the approver: severity {severity}; fill in the <angle brackets> and check the facts. "
                "Nothing has been sent.", "", "Hi <customer name>,", "",
                opening.get(c["sentiment"].split(",")[0], "Thank you for getting in touch."), said, "",
                "What happens next:", *(f"  {n}. {s}" for n, s in enumerate(steps, start=1)), "",
                "We will keep you posted until this is resolved." if severity in ("P1", "P2") else
                "If you have any other questions, just reply to this message.", "",
                "Kind regards,", "<your name>")


# -- helpers --------------------------------------------------------------------------------------

def _doc(title: str, *lines: str) -> str:
    return "\n".join((title, NOTE, *lines))


def _bullets(items: list[str]) -> list[str]:
    return [f"  - {i}" for i in items]


def _value(raw: str) -> str | None:
    raw = raw.strip()
    return None if not raw or _PLACEHOLDER.fullmatch(raw) else raw


def _item(line: str) -> str:
    return re.sub(r"^\s*(?:[-*\u2022]|\d+[.)]|\[[ x]\])\s*", "", line).strip()


def _day(d: date) -> str:
    return f"{_WEEKDAYS[d.weekday()]} {d.isoformat()}"  # not strftime: its day names follow the locale


def _when(start: date | None, offset: int) -> str:
    if start is None:
        return f"{-offset} days before day 1" if offset < 0 else f"day {offset + 1}"
    return _day(_workday(start + timedelta(days=offset)))


def _workday(d: date) -> date:
    return d - timedelta(days=max(0, d.weekday() - 4))  # a deadline on a weekend: the Friday before


def _amount(raw: str) -> float | None:
    m = re.fullmatch(r"([-+]?)[$\u20ac\u00a3]?([\d,]*\.?\d+)(%|k|m|bn)?", raw.strip(), re.I)
    if not m:
        return None
    scale = {"k": 1e3, "m": 1e6, "bn": 1e9}.get((m[3] or "").lower(), 1.0)
    return float(m[2].replace(",", "")) * scale * (-1 if m[1] == "-" else 1)


def _change(f: Figure) -> float | None:
    this, last = _amount(f[1]), _amount(f[2] or "")
    return None if this is None or not last else (this - last) / abs(last) * 100


def _figure(f: Figure, short: bool = False) -> str:
    change = _change(f) or 0.0
    trend = f"{'up' if change >= 0 else 'down'} {abs(change):.1f}%"
    if short:
        return f"{f[0]} {trend}, to {f[1]}"
    over = ", over the limit" if abs(change) > CHANGE_FLAG_PERCENT else ""
    return f"{f[0]}: {f[1]} (last week: {f[2]}), {trend}{over}"


_HANDLERS: dict[tuple[str, str], Callable[[Values, date], str]] = {
    ("project_management", "plan"): _plan, ("project_management", "status_report"): _status_report,
    ("employee_onboarding", "documents"): _onboarding(_DOCUMENTS, "Onboarding documents"),
    ("employee_onboarding", "accounts"): _onboarding(_ACCOUNTS, "Access and equipment request"),
    ("employee_onboarding", "first_week"): _onboarding(_FIRST_WEEK, "First-week plan"),
    ("employee_onboarding", "checkin_30"): _onboarding(_CHECKIN, "30-day check-in questions"),
    ("invoice_approval", "check_invoice"): _check_invoice,
    ("invoice_approval", "schedule_payment"): _schedule_payment,
    ("weekly_reporting", "gather"): _gather, ("weekly_reporting", "compare"): _compare,
    ("weekly_reporting", "draft"): _draft,
    ("support_ticket_triage", "classify"): _classify, ("support_ticket_triage", "draft_reply"): _draft_reply}
"""The answer to each template task step."""

_FORMATS = [(name, s["key"], StepFormat(s["input"], s["inputs"])) for name, build in
            workflow_templates.TEMPLATES.items() for s in build()["steps"] if s["kind"] == "task"]
"""(template, step key, its StepFormat) of every template task step."""
