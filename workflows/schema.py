"""The workflow definition format that business_automation saves and runs, and its validation.

A definition is a JSON-ready dict:

    {"version": 1, "name": str, "description": str, "template": str | None,
     "schedule": "<five-field cron>" | None,
     "inputs": {name: {"description": str, "required": bool, "default"?: str | number}},
     "steps": [step, ...]}

A run must be given every required input (or the input's default is used); an optional input not
given shows as '[name not given]' (PLACEHOLDER) wherever it is used.

Each step has "key" (unique, [a-z][a-z0-9_]*, at most 64), "title", "kind", "owner",
"inputs" (names of workflow inputs, or "<step key>.result" of an earlier step), "depends_on"
(step keys), and by kind:

    task       "pool" (healthcare|financial|sports|business|general) and "input" (the task text;
               "{name}" placeholders name the step's inputs)
    approval   "approvers" (who may approve; the run waits for one decision)
    notify     "to" (recipients) and "message" (placeholders as for a task)
    condition  "condition": {"input": a step input, "op": eq|ne|gt|ge|lt|le|contains, "value": x}
               (gt/ge/lt/le compare as numbers; contains is a case-insensitive substring test)

Any step may have "run_if": {"step": <a condition step it depends on>, "is": true|false}; a step
whose run_if does not hold is skipped, and a skipped step counts as done for the steps after it.
"""
from __future__ import annotations

import copy
import json
import logging
import re
from typing import Any, NoReturn

from errors import BadRequest
from values import POOL_NAMES

logger = logging.getLogger(__name__)

PLACEHOLDER = "[{name} not given]"
"""How a run shows an optional input that was not given: the one placeholder style, in the run's
inputs, in every step text it is rendered into, and in the built-in replies (workflows.step_replies)."""

POOLS = POOL_NAMES
"""Pools a task step may run in (values.Pool)."""

KINDS = ("task", "notify", "approval", "condition")
"""Built-in step kinds."""

CONDITION_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "contains")
"""Operators of a condition step."""

MAX_STEPS = 50
"""Most steps in one workflow."""

MAX_TEXT = 4000
"""Longest task input or message."""

DEFINITION_VERSION = 1
"""Version of the definition format."""

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INPUT = re.compile(r"^[a-z][a-z0-9_]{0,63}(\.result)?$")
_TOP_FIELDS = {"version", "name", "description", "template", "schedule", "inputs", "steps"}
_STEP_FIELDS = {"key", "title", "kind", "owner", "inputs", "depends_on", "run_if", "pool", "input",
                "approvers", "to", "message", "condition"}
_KIND_FIELDS = {"task": {"pool", "input"}, "approval": {"approvers"}, "notify": {"to", "message"},
                "condition": {"condition"}}
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
                ("day of week", 0, 7))
_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
          4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}


def step(key: str, title: str, kind: str, owner: str, *, depends_on: list[str] | None = None,
         inputs: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """One step of a definition."""
    return {"key": key, "title": title, "kind": kind, "owner": owner, "inputs": inputs or [],
            "depends_on": depends_on or [], **fields}

def definition_json(definition: dict[str, Any]) -> str:
    """The definition as JSON with one step per line."""
    head = json.dumps({k: v for k, v in definition.items() if k != "steps"})[:-1]
    steps = ",\n".join(" " + json.dumps(s) for s in definition["steps"])
    return head + ', "steps": [\n' + steps + "\n]}"

def validate_cron(expr: str) -> str:
    """A five-field cron expression, checked field by field; raises BadRequest naming the field."""
    if not isinstance(expr, str):
        _fail("The schedule must be a cron string such as '0 9 * * 1'", "schedule")
    fields = expr.split()
    if len(fields) != 5:
        _fail(f"Schedule {expr!r} must have five fields: minute hour day-of-month month day-of-week",
              "schedule")
    for value, (label, low, high), index in zip(fields, _CRON_FIELDS, range(5), strict=False):
        for item in value.lower().split(","):
            if not _cron_item_ok(item, low, high, _NAMES.get(index)):
                _fail(f"Schedule {expr!r}: {label} {value!r} is not valid (allowed {low}-{high}, '*', '*/n', "
                      "'a-b', lists)", "schedule")
    return " ".join(fields)


def validate_workflow(definition: Any) -> dict[str, Any]:
    """Check a definition; return a normalised copy or raise BadRequest with a clear message.

    Raises:
        BadRequest: the message says which step and field are wrong; details carry the path.
    """
    if not isinstance(definition, dict):
        raise BadRequest("A workflow definition must be a JSON object")
    definition = copy.deepcopy(definition)
    _unknown(definition, _TOP_FIELDS, "the workflow")
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        _fail("The workflow needs a name of 1 to 200 characters", "name")
    if definition.get("version", DEFINITION_VERSION) != DEFINITION_VERSION:
        _fail(f"Unsupported definition version {definition.get('version')!r}; use {DEFINITION_VERSION}",
              "version")
    if definition.get("schedule") is not None:
        definition["schedule"] = validate_cron(definition["schedule"])
    declared = definition.get("inputs") or {}
    if not isinstance(declared, dict) or not all(isinstance(k, str) and _KEY.match(k) for k in declared):
        _fail("'inputs' must map input names (lower case, digits, '_') to descriptions", "inputs")
    steps = definition.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        _fail(f"The workflow needs a list of 1 to {MAX_STEPS} steps", "steps")
    keys: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(steps):
        _check_step_shape(s, i, keys)
        keys[s["key"]] = s
    order = _topological(keys)
    ancestors: dict[str, set[str]] = {}
    for key in order:
        s = keys[key]
        ancestors[key] = set(s["depends_on"]).union(*(ancestors[d] for d in s["depends_on"]))
        _check_step_links(s, set(declared), ancestors[key], keys)
    return definition

def _check_step_shape(s: Any, i: int, seen: dict[str, Any]) -> None:
    where = f"steps[{i}]"
    if not isinstance(s, dict):
        _fail(f"Step {i + 1} must be an object", where)
    key = s.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        _fail(f"Step {i + 1} needs a key of lower-case letters, digits and '_' (at most 64), got {key!r}",
              where)
    if key in seen:
        _fail(f"Two steps have the key {key!r}", where)
    kind = s.get("kind")
    if kind not in KINDS:
        _fail(f"Step {key!r}: kind {kind!r} is not one of {', '.join(KINDS)}", where)
    _unknown(s, (_STEP_FIELDS - set().union(*_KIND_FIELDS.values())) | _KIND_FIELDS[kind], f"step {key!r}")
    for name in ("title", "owner"):
        if not isinstance(s.get(name), str) or not s[name].strip():
            _fail(f"Step {key!r} needs a non-empty {name}", f"{where}.{name}")
    for name in ("inputs", "depends_on"):
        s.setdefault(name, [])
        if not isinstance(s[name], list) or not all(isinstance(x, str) for x in s[name]):
            _fail(f"Step {key!r}: {name} must be a list of names", f"{where}.{name}")
    _check_kind(s, key, kind, where)


def _check_kind(s: dict[str, Any], key: str, kind: str, where: str) -> None:
    if kind == "task":
        if s.get("pool") not in POOLS:
            _fail(f"Step {key!r}: pool {s.get('pool')!r} is not one of {', '.join(POOLS)}", f"{where}.pool")
        _text(s, "input", key, where)
    elif kind == "approval":
        if not _names(s.get("approvers")):
            _fail(f"Step {key!r}: an approval needs a non-empty list of approvers", f"{where}.approvers")
    elif kind == "notify":
        if not _names(s.get("to")):
            _fail(f"Step {key!r}: a notification needs a non-empty list of recipients in 'to'", f"{where}.to")
        _text(s, "message", key, where)
    else:
        c = s.get("condition")
        if not isinstance(c, dict) or set(c) != {"input", "op", "value"} or c["op"] not in CONDITION_OPS:
            _fail(f"Step {key!r}: condition must be {{input, op, value}} with op one of "
                  f"{', '.join(CONDITION_OPS)}",
                  f"{where}.condition")
        if c["input"] not in s["inputs"]:
            _fail(f"Step {key!r}: the condition's input {c['input']!r} must be listed in the step's inputs",
                  f"{where}.condition")


def _check_step_links(s: dict[str, Any], declared: set[str], ancestors: set[str],
                      keys: dict[str, Any]) -> None:
    key = s["key"]
    for name in s["inputs"]:
        if not _INPUT.match(name):
            _fail(f"Step {key!r}: input {name!r} is not a name or '<step>.result'", key)
        if name.endswith(".result"):
            if name[:-7] not in ancestors:
                _fail(f"Step {key!r} uses {name!r}, but {name[:-7]!r} is not a step it comes after", key)
        elif name not in declared:
            _fail(f"Step {key!r} uses input {name!r}, which the workflow's inputs do not declare", key)
    for field in ("input", "message"):
        for placeholder in re.findall(r"\{([^{}]+)\}", s.get(field) or ""):
            if placeholder not in s["inputs"]:
                _fail(f"Step {key!r}: placeholder {{{placeholder}}} is not one of the step's inputs", key)
    for target in s.get("to") or []:
        for placeholder in re.findall(r"\{([^{}]+)\}", target):
            if placeholder not in s["inputs"]:
                _fail(f"Step {key!r}: placeholder {{{placeholder}}} in 'to' is not one of the step's inputs",
                      key)
    run_if = s.get("run_if")
    if run_if is not None:
        if not isinstance(run_if, dict) or set(run_if) != {"step", "is"} \
                or not isinstance(run_if["is"], bool):
            _fail(f"Step {key!r}: run_if must be {{step, is: true|false}}", key)
        target = keys.get(run_if["step"])
        if target is None or target["kind"] != "condition" or run_if["step"] not in s["depends_on"]:
            _fail(f"Step {key!r}: run_if must name a condition step it depends on", key)


def _topological(keys: dict[str, dict[str, Any]]) -> list[str]:
    for s in keys.values():
        for dep in s["depends_on"]:
            if dep == s["key"]:
                _fail(f"Step {dep!r} depends on itself", dep)
            if dep not in keys:
                _fail(f"Step {s['key']!r} depends on {dep!r}, which is not a step", s["key"])
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = path[path.index(key):] + [key]
            _fail(f"Steps form a cycle: {' -> '.join(cycle)}", key)
        state[key] = 1
        for dep in keys[key]["depends_on"]:
            visit(dep, path + [key])
        state[key] = 2
        order.append(key)

    for key in keys:
        visit(key, [])
    return order


def _cron_item_ok(item: str, low: int, high: int, names: list[str] | None) -> bool:
    base, _, step_part = item.partition("/")
    if step_part and not (step_part.isdigit() and 1 <= int(step_part) <= high):
        return False
    if base == "*":
        return True
    bounds = base.split("-")
    if len(bounds) > 2:
        return False
    values = []
    for b in bounds:
        if names and b in names:
            values.append(names.index(b) + (1 if low == 1 else 0))
        elif b.isdigit():
            values.append(int(b))
        else:
            return False
    return all(low <= v <= high for v in values) and values == sorted(values)

def _unknown(obj: dict[str, Any], allowed: set[str], what: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        _fail(f"Unknown field(s) in {what}: {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})", what)


def _names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, str) and x.strip() for x in value)


def _text(s: dict[str, Any], name: str, key: str, where: str) -> None:
    value = s.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        _fail(f"Step {key!r} needs a {name} text of 1 to {MAX_TEXT} characters", f"{where}.{name}")


def _fail(message: str, path: str) -> NoReturn:
    raise BadRequest(message, details={"path": path})


def placeholder(name: str) -> str:
    """The text that stands for an optional input `name` not given ('[goal not given]')."""
    return PLACEHOLDER.format(name=name)
