"""Function tools: a name, a JSON-schema of arguments and a handler, shared by agents and providers."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_TOOL_OUTPUT_CHARS = 20_000
"""Longest tool output sent back to a model; longer output is cut with a note."""


@dataclass(frozen=True)
class ToolSpec:
    """A function a model may call; the offline provider calls the same handlers directly."""

    name: str
    """Function name given to the model (letters, digits, '_' and '-')."""
    description: str
    """What the tool does, for the model."""
    parameters: dict[str, Any]
    """JSON Schema of the arguments object."""
    handler: Callable[..., Any] = field(compare=False)
    """Called with the arguments as keyword arguments; returns JSON-serialisable data."""

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise ValueError(f"invalid tool name {self.name!r}")
        if self.parameters.get("type") != "object":
            raise ValueError(f"tool {self.name!r}: parameters must be a JSON Schema of type 'object'")

    def openai_chat_schema(self) -> dict[str, Any]:
        """The tool as Chat Completions' `tools` entry."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def openai_responses_schema(self) -> dict[str, Any]:
        """The tool as the Responses API's `tools` entry."""
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": self.parameters}


@dataclass(frozen=True)
class ToolCall:
    """One call a model asked for, and what our handler answered."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    output: str = ""
    error: str | None = None


def run_tool(tools: list[ToolSpec], call_id: str, name: str, raw_arguments: str | dict[str, Any]) -> ToolCall:
    """Run the named tool on a model's arguments; errors become an output the model can read."""
    by_name = {t.name: t for t in tools}
    try:
        arguments = json.loads(raw_arguments) if isinstance(raw_arguments, str) else dict(raw_arguments)
        if not isinstance(arguments, dict):
            raise ValueError("arguments must be a JSON object")
    except ValueError as exc:
        return ToolCall(call_id, name, {}, json.dumps({"error": f"bad arguments: {exc}"}), str(exc))
    tool = by_name.get(name)
    if tool is None:
        message = f"no such tool: {name}"
        return ToolCall(call_id, name, arguments, json.dumps({"error": message}), message)
    try:
        output = json.dumps(tool.handler(**arguments), default=str)
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        message = f"{exc.__class__.__name__}: {exc}"
        return ToolCall(call_id, name, arguments, json.dumps({"error": message}), message)
    if len(output) > MAX_TOOL_OUTPUT_CHARS:
        output = output[:MAX_TOOL_OUTPUT_CHARS] + '..."(truncated)"'
    return ToolCall(call_id, name, arguments, output)
