"""A request the rules could not resolve, offered to a model through one tool whose schema is the Command.

Part of the understanding layer, used by replit_interface after command_processor.parse (README:
Use, "Requests the rules cannot resolve"). Only when the configured provider does function calling
(openai-chat, openai-responses) and the rules gave up or were unsure (a ``clarify`` that completes
nothing: ``not_understood`` or ``ambiguous``). Offline, nothing here runs and nothing is imported.

1. One model call (no retries, a short deadline) with the request, the session context and one tool,
   ``operatoros_command``, whose JSON schema is built from the vocabulary (INTENTS, POOL_NAMES,
   TASK_STATUSES, ...). A model that answers in text instead declines.
2. Each tool call's arguments are checked strictly: a known intent, only the arguments that intent
   takes, each of the right type and value; ids and numbers the request's words or the context give
   (the model picks a meaning, it never invents a task, a size or a target to act on).
3. The commands pass the same rule as the rules' own (commands/mood.py, commands/guard.py): a question,
   a negation or a hypothetical gets the read-only look with ``declined``; one request gives one
   action unless it holds several pieces.
4. Any fault (unreachable model, timeout, open breaker, spent budget, malformed reply, a check that
   fails) keeps the rules' clarifying question; no traceback reaches the user.

Each command taken from the model carries ``interpreted`` ({'by', 'model'}): the reply says so.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from commands import agent_text, guard, mood
from commands.intent import DEMO_DOMAINS, HELP_TOPICS, POOLS, TASK_STATUSES, is_not_understood
from commands.segment import find_pool, segment
from commands.vocabulary import SEPARATOR_RE
from values import INTENTS, Command

logger = logging.getLogger(__name__)

FUNCTION_CALLING_PROVIDERS = ("openai-chat", "openai-responses")
"""Providers (Settings.chosen_provider) whose models can call a tool."""

TOOL_NAME = "operatoros_command"
"""The one function the model may call."""

RESOLVE_TIMEOUT_SECONDS = 10.0
"""Longest wait for the model's reading; past it the rules' question stands."""

RESOLVE_MAX_OUTPUT_TOKENS = 300
"""Output token cap of the call: a tool call's arguments are short."""

UNSURE_REASONS = ("not_understood", "ambiguous")
"""``clarify`` reasons that mean the rules could not resolve the request (the missing_* questions are
deliberate: a bare "scale" or "cancel" must name its target, so no model guesses it)."""

MODEL_INTENTS = tuple(i for i in INTENTS if i not in ("clarify", "login", "logout", "database"))
"""Intents the model may choose: signing in or out is never a model's guess, a question is the rules', and so
is a database backup or restore (an admin's act on the whole instance, named in plain words)."""

MODEL_WORKFLOW_ACTIONS = ("list", "show", "run", "approve", "reject", "cancel")
"""Workflow actions the model may choose (create, schedule and delete take free text: the rules' alone)."""

_ID_ARGS = ("task_id", "workflow_id", "run_id", "step")
_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "status": (frozenset(), frozenset()), "health": (frozenset(), frozenset()),
    "history": (frozenset(), frozenset()), "whoami": (frozenset(), frozenset()),
    "pools": (frozenset({"pool"}), frozenset()), "tasks": (frozenset({"status", "pool"}), frozenset()),
    "task": (frozenset({"task_id"}), frozenset({"task_id"})),
    "scale": (frozenset({"pool", "size", "delta"}), frozenset({"pool"})),
    "restart": (frozenset({"pool"}), frozenset({"pool"})),
    "submit": (frozenset({"pool"}), frozenset({"pool"})),
    "cancel": (frozenset({"task_id"}), frozenset({"task_id"})),
    "demo": (frozenset({"domain"}), frozenset({"domain"})),
    "workflows": (frozenset({"action", "workflow_id", "run_id", "step"}), frozenset({"action"})),
    "help": (frozenset({"topic"}), frozenset()),
}
"""Per intent: the arguments it takes from the model, and those it must have."""
_WORKFLOW_NEEDS = {"show": (), "run": ("workflow_id",), "approve": ("run_id", "step"),
                   "reject": ("run_id", "step"), "cancel": ("run_id",), "list": ()}
_DESTRUCTIVE_WORKFLOW = frozenset({"reject", "cancel"})

SYSTEM_PROMPT = (
    "You turn one request to OperatorOS, an agent orchestration service with five agent pools "
    f"({', '.join(POOLS)}), into a command by calling {TOOL_NAME}. Intents: status (overview), health "
    "(machine and database), pools (pool sizes and performance), tasks (list, filtered by status or pool), "
    "task (one task by id), scale (a pool: size for an absolute number, delta for a change), restart (a pool's "
    "failed agents), submit (domain work for the pool it concerns), cancel (a task by id), demo (a scripted "
    "demo), workflows (list, show, run, approve, reject, cancel), history, help (topic), whoami. Use only "
    "numbers and ids that the request or the context gives. Call the tool once per action the request asks "
    "for. If the request asks a question, says not to do something, or imagines an action, choose the "
    "read-only command it asks about. If it is not something OperatorOS does, answer in one short sentence "
    "without calling the tool.")
"""Instructions of the call."""

ChainSource = Callable[[], Any]


def command_schema() -> dict[str, Any]:
    """The JSON schema of the tool's arguments: one Command, from the vocabulary's own values."""
    ident = {"type": "integer", "minimum": 1}
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": list(MODEL_INTENTS)},
            "pool": {"type": "string", "enum": list(POOLS)},
            "size": {"type": "integer", "minimum": 0, "description": "scale: the pool's new size"},
            "delta": {"type": "integer", "description": "scale: agents to add (negative: remove)"},
            "status": {"type": "string", "enum": list(TASK_STATUSES)},
            "domain": {"type": "string", "enum": list(DEMO_DOMAINS)},
            "topic": {"type": "string", "enum": list(HELP_TOPICS)},
            "action": {"type": "string", "enum": list(MODEL_WORKFLOW_ACTIONS)},
            "task_id": ident, "workflow_id": ident, "run_id": ident, "step": ident,
        },
        "required": ["intent"],
        "additionalProperties": False,
    }


class ModelResolver:
    """Offers the requests the rules could not resolve to the configured model (see the module's steps)."""

    def __init__(self, settings: Any, chain: ChainSource | None = None, *,
                 timeout: float = RESOLVE_TIMEOUT_SECONDS) -> None:
        """``chain`` gives the provider chain (the domain agents', so breakers and budgets are shared)."""
        self.settings = settings
        self.timeout = timeout
        self._chain = chain

    @property
    def enabled(self) -> bool:
        """Whether the configured provider does function calling (offline: never)."""
        return getattr(self.settings, "chosen_provider", "local") in FUNCTION_CALLING_PROVIDERS

    def resolve(self, text: str, context: dict[str, Any], commands: list[Command],
                user_id: int | None = None) -> list[Command]:
        """The model's reading of ``text`` when the rules' ``commands`` are an unsure question; else ``commands``."""
        if not self.enabled or not unsure(commands) or not text.strip():
            return commands
        try:
            provider = self._provider()
            if provider is None:
                return commands
            calls = self._ask(provider, text, context, user_id)
            resolved = checked(text, context, calls)
        except Exception as exc:  # noqa: BLE001 - the rules' question is the answer to any fault
            logger.warning("model resolver: kept the rules' question (%s: %s)", type(exc).__name__, exc)
            return commands
        ruled = apply_rule(text, resolved, context) if resolved else []
        if not ruled:
            return commands
        for command in ruled:
            command.args["interpreted"] = {"by": provider.name, "model": provider.model}
        return ruled

    def _provider(self) -> Any:
        """The chain's first provider when it calls tools, else None."""
        if self._chain is None:
            from ai_providers import build_providers

            chain = build_providers(self.settings, None)
            self._chain = lambda: chain
        primary = self._chain().primary
        return primary if getattr(primary, "name", None) in FUNCTION_CALLING_PROVIDERS else None

    def _ask(self, provider: Any, text: str, context: dict[str, Any], user_id: int | None
             ) -> list[tuple[str, str]]:
        """One model call, no retry: the (name, raw arguments) of each tool call; [] for a text answer."""
        from providers.base import CallState, ProviderRequest
        from providers.tools import ToolSpec

        tool = ToolSpec(TOOL_NAME, "Carry out one OperatorOS command.", command_schema(), handler=_no_handler)
        turn = json.dumps({"request": text, "context": _context_for_model(context)})
        request = ProviderRequest(messages=[{"role": "user", "content": turn}], system=SYSTEM_PROMPT, tools=[tool],
                                  user_id=user_id, max_output_tokens=RESOLVE_MAX_OUTPUT_TOKENS,
                                  deadline=time.monotonic() + self.timeout)
        state = CallState(request)
        if provider.name == "openai-responses":
            from ai_providers_enhanced import _parse_response

            kwargs: dict[str, Any] = {
                "model": provider.model, "instructions": SYSTEM_PROMPT, "input": request.messages,
                "tools": [tool.openai_responses_schema()], "tool_choice": "auto", "store": False,
                "max_output_tokens": request.max_output_tokens, "timeout": provider.call_timeout(state)}
            reply = provider.attempt(state, lambda: _parse_response(provider.client.responses.create(**kwargs)),
                                     max_attempts=1)
            _text, calls, _id = reply.value
        else:
            from ai_providers import CHAT_COMPLETIONS_PATH, _parse_completion

            chat: dict[str, Any] = {
                "model": provider.model, "tools": [tool.openai_chat_schema()], "tool_choice": "auto",
                "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *request.messages],
                provider.max_tokens_param: request.max_output_tokens}
            options: Any = {"timeout": provider.call_timeout(state)}
            # posted and read as JSON through the SDK's client, as the chat provider's own calls are
            reply = provider.attempt(state, lambda: _parse_completion(provider.client.post(
                CHAT_COMPLETIONS_PATH, body=chat, options=options, cast_to=object)), max_attempts=1)
            _text, calls = reply.value
        return [(name, arguments) for _call_id, name, arguments in calls]


def unsure(commands: list[Command]) -> bool:
    """Whether the rules gave up or were unsure: one ``clarify`` completing nothing, for an UNSURE_REASONS reason."""
    return (len(commands) == 1 and is_not_understood(commands[0])
            and commands[0].args.get("reason") in UNSURE_REASONS)


def checked(text: str, context: dict[str, Any], calls: list[tuple[str, str]]) -> list[Command] | None:
    """The commands of the model's tool calls, or None when any is wrong or there are more than the request's pieces.

    A request of one piece gives one action; the model may not add actions the words do not hold.
    """
    if not calls or len(calls) > _pieces(text):
        return None
    commands: list[Command] = []
    for name, raw in calls:
        command = _command(name, raw, text, context)
        if command is None:
            return None
        if all(c.intent != command.intent or c.args != command.args for c in commands):
            commands.append(command)
    return commands


def apply_rule(text: str, commands: list[Command], context: dict[str, Any]) -> list[Command]:
    """The rules' own read-only rule on the model's commands: only an imperative, affirmative request changes.

    A question, a negation or a hypothetical turns a change into the look (with ``declined``), as
    commands/mood.py does for the rules' commands; commands/guard.py then checks each change once more.
    """
    request, read_only = agent_text.reduce(text)
    reason = "read_only" if read_only else next(
        (m for m in (mood.mood_of(c) for c in mood.split_clauses(request)) if m != "imperative"), None)
    if reason is not None:
        looks = (mood._read_only(c, request, reason) for c in commands)  # noqa: SLF001 - the rules' own conversion
        commands = [look for look in looks if look is not None]
    return guard.check(request, commands, context) if commands else []


def note(command: Command) -> str:
    """'I read this request with the model (openai-chat, gpt-5-mini) as: ...' for a command it chose; else ''."""
    by = command.args.get("interpreted")
    if not isinstance(by, dict):
        return ""
    shown = {k: v for k, v in command.args.items() if k not in ("interpreted", "declined", "input")}
    what = command.intent + ("" if not shown else " " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    return (f"The rules could not resolve this request; the model ({by.get('by')}, {by.get('model')}) "
            f"read it as: {what}.\n\n")


def _no_handler(**_arguments: Any) -> None:
    """The tool is never run by a provider's loop: its arguments are read, checked and ruled here."""


def _context_for_model(context: dict[str, Any]) -> dict[str, Any]:
    """What 'it' and 'that task' may refer to (no pending question, no free text)."""
    keys = ("last_intent", "last_args", "last_pool", "last_task_id", "last_workflow_id", "last_run_id")
    return {k: context[k] for k in keys if context.get(k) is not None}


def _pieces(text: str) -> int:
    """How many actions a request may hold: its pieces between 'and', 'then', ';' and sentence ends."""
    return max(1, sum(1 for piece in SEPARATOR_RE.split(text) if piece and piece.strip(" ,.!?")))


def _command(name: str, raw: str, text: str, context: dict[str, Any]) -> Command | None:
    """One tool call as a Command, or None (logged) when it breaks a rule of the schema or of the words."""
    try:
        args = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        args = None
    problem = _problem(name, args, text, context)
    if problem is not None:
        logger.info("model resolver: refused the model's command (%s)", problem)
        return None
    assert isinstance(args, dict)
    intent = args.pop("intent")
    if intent == "submit":
        args["input"] = text  # the agents get the request as typed, never the model's rewording
    return Command(intent, args, text)


def _problem(name: str, args: Any, text: str, context: dict[str, Any]) -> str | None:
    """What is wrong with a tool call's arguments, or None."""
    if name != TOOL_NAME:
        return f"unknown tool {name!r}"
    if not isinstance(args, dict):
        return "arguments are not a JSON object"
    intent = args.get("intent")
    if intent not in _ARGS:
        return f"unknown intent {intent!r}"
    allowed, required = _ARGS[intent]
    given = set(args) - {"intent"}
    if given - allowed or required - given:
        return f"{intent}: arguments {sorted(given)}, takes {sorted(allowed)}, needs {sorted(required)}"
    for key in given:
        problem = _value_problem(key, args[key])
        if problem:
            return f"{intent}: {problem}"
    return _shape_problem(intent, args) or _words_problem(intent, args, text, context)


def _value_problem(key: str, value: Any) -> str | None:
    enums = {"pool": POOLS, "status": TASK_STATUSES, "domain": DEMO_DOMAINS, "topic": HELP_TOPICS,
             "action": MODEL_WORKFLOW_ACTIONS}
    if key in enums:
        return None if isinstance(value, str) and value in enums[key] else f"{key}={value!r} is not one of {enums[key]}"
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{key}={value!r} is not a whole number"
    if key in _ID_ARGS and value < 1 or key == "size" and value < 0:
        return f"{key}={value} is out of range"
    return None


def _shape_problem(intent: str, args: dict[str, Any]) -> str | None:
    if intent == "scale" and ("size" in args) == ("delta" in args):
        return "scale needs exactly one of size or delta"
    if intent == "scale" and args.get("delta") == 0:
        return "scale by 0"
    if intent == "workflows":
        action = args["action"]
        missing = [k for k in _WORKFLOW_NEEDS[action] if k not in args]
        if missing or action == "show" and not ({"workflow_id", "run_id"} & set(args)):
            return f"workflows {action} needs {missing or 'workflow_id or run_id'}"
    return None


def _words_problem(intent: str, args: dict[str, Any], text: str, context: dict[str, Any]) -> str | None:
    """The model picks a meaning, it never invents: numbers and ids come from the words (or, for a look, the
    context), and a destructive command names its target in the words themselves."""
    numbers = set(segment(text, joined=False).numbers) | {int(n) for n in re.findall(r"\d+", text)}
    known = {context.get(k) for k in ("last_task_id", "last_workflow_id", "last_run_id")} - {None}
    destructive = (intent in ("cancel", "restart") or intent == "scale" and ("size" in args or args["delta"] < 0)
                   or intent == "workflows" and args["action"] in _DESTRUCTIVE_WORKFLOW)
    for key in (*_ID_ARGS, "size"):
        if key in args and args[key] not in numbers and (destructive or key == "size" or args[key] not in known):
            return f"{key}={args[key]} is not in the request's words"
    if intent == "scale" and "delta" in args and abs(args["delta"]) != 1 and abs(args["delta"]) not in numbers:
        return f"delta={args['delta']} is not in the request's words"
    if destructive and "pool" in args and find_pool(text) != args["pool"]:
        return f"{intent} of the {args['pool']} pool, which the request does not name"
    return None
