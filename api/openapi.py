"""The OpenAPI document's finish: component names, the project's version and the few things spectree can't say.

Spectree names a component `Model.<hash of its module>` and a nested one `Parent.<hash>.Child`; client
generators (openapi-python-client) cannot resolve those names, so components are named by their class
(a name used by two different classes is refused when the second is declared) and a nested model is one
component shared by every parent. finish_document() then fixes what spectree writes but OpenAPI 3.1
tools reject or read poorly: `"default": null` on fields that are never null (an absent optional
field), empty descriptions, the Prometheus endpoint's text/plain body and the task event stream's.
"""
from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from spectree import SpecTree

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
"""Where the project's version is declared ([project] version)."""

UNKNOWN_VERSION = "0.0.0+unknown"
"""The document's version when pyproject.toml is not shipped beside the code."""

PROMETHEUS_OPERATION = "get_prometheus_metrics"
"""The one operation whose 200 body is text (the Prometheus exposition format), not JSON."""

SSE_EVENT_SCHEMA = {
    "type": "object", "required": ["data"],
    "properties": {"id": {"type": "string", "description": "The event's id, for Last-Event-ID."},
                   "event": {"type": "string",
                             "description": "Its kind: queued, claimed, safety, provider_call, tool_call, retry, "
                                            "succeeded, failed, cancelled, waiting."},
                   "data": {"type": "string", "contentMediaType": "application/json",
                            "description": "The event as JSON: id, task_id, kind, data, at."}},
}
"""One server-sent event of a task's event stream (OpenAPI 3.2's reading of a text/event-stream schema)."""

EVENT_STREAM_OPERATION = "stream_task_events"
"""The operation whose 200 body is a stream of server-sent events (or, on request, JSON)."""

TAG_DESCRIPTIONS = {
    "health": "Liveness, readiness, the system overview and its metrics.",
    "command": "The conversational door: one plain-language request, the CLI's JSON reply.",
    "sessions": "The caller's conversation sessions and their messages.",
    "users": "Users and their API keys (admins only).",
    "pools": "Agent pools: status, scaling and restarts.",
    "tasks": "Domain work queued to the pools: submit, list, wait for, cancel.",
    "workflows": "Business workflows, their runs and approvals.",
    "demos": "Scripted demos run through the real path.",
    "meta": "This document.",
}
"""One line per tag, shown by documentation viewers and kept in generated clients' docstrings."""

_names: dict[str, str] = {}


@functools.cache
def project_version() -> str:
    """The project's version, from pyproject.toml's [project] table."""
    try:
        with PYPROJECT.open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return UNKNOWN_VERSION


def component_name(model: Any) -> str:
    """A model's component name: its class name, unique across the document.

    Raises:
        ValueError: another class of the same name is already in the document.
    """
    name = model.__name__
    where = f"{model.__module__}.{model.__qualname__}"
    if _names.setdefault(name, where) != where:
        raise ValueError(f"Two schemas are named {name!r} ({_names[name]} and {where}); rename one.")
    return name


def nested_component_name(parent: str, child: str) -> str:
    """A nested model's component name: its own, shared by every model that holds it."""
    return child


class OpenAPISpec(SpecTree):
    """SpecTree with class-named components, the project's version and finish_document applied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("naming_strategy", component_name)
        kwargs.setdefault("nested_naming_strategy", nested_component_name)
        kwargs.setdefault("version", project_version())
        super().__init__(*args, **kwargs)

    def _generate_spec(self) -> dict[str, Any]:
        return finish_document(super()._generate_spec())


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """Fix, in place, what spectree writes that OpenAPI 3.1 tools reject or generate poorly; the document."""
    for schema in document.get("components", {}).get("schemas", {}).values():
        _drop_null_defaults(schema)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            _tidy_operation(operation)
    document["tags"] = [{**tag, "description": TAG_DESCRIPTIONS[tag["name"]]} if tag["name"] in TAG_DESCRIPTIONS
                        else tag for tag in document.get("tags", [])]
    return document


def _tidy_operation(operation: dict[str, Any]) -> None:
    if not operation.get("description"):
        operation.pop("description", None)
    for parameter in operation.get("parameters", []):
        if not parameter.get("description"):
            parameter.pop("description", None)
        _drop_null_defaults(parameter.get("schema", {}))
    if operation.get("operationId") == PROMETHEUS_OPERATION:
        operation["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    if operation.get("operationId") == EVENT_STREAM_OPERATION:
        operation["responses"]["200"]["content"] = {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}}


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    """Optional request fields default to None in Python but are never null on the wire (null is refused):
    the schema says absent, not `"default": null` against a type that excludes null."""
    for sub in schema.get("properties", {}).values():
        if "default" in sub and sub["default"] is None and not _allows_null(sub):
            del sub["default"]
    if "default" in schema and schema["default"] is None and not _allows_null(schema):
        del schema["default"]


def _allows_null(schema: dict[str, Any]) -> bool:
    if not {"type", "anyOf", "oneOf", "$ref", "enum", "const"} & schema.keys():
        return True  # an unconstrained schema (Any) takes null too
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))
