"""Value types every layer shares: pools, callers and commands (no imports of the project's layers)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from errors import UnknownPool


class Pool(str, Enum):
    """The five fixed agent pools (DESIGN: Pools); the one definition of their names."""

    HEALTHCARE = "healthcare"
    FINANCIAL = "financial"
    SPORTS = "sports"
    BUSINESS = "business"
    GENERAL = "general"


POOL_NAMES: tuple[str, ...] = tuple(p.value for p in Pool)
"""The pool names as plain strings, in display order."""

DEFAULT_POOL = Pool.GENERAL.value
"""Where a request that names no domain goes."""


def parse_pool(name: object) -> str:
    """The pool name `name` stands for, exactly as stored.

    Raises:
        UnknownPool: not one of the five names.
    """
    if isinstance(name, Pool):
        return name.value
    if isinstance(name, str) and name in POOL_NAMES:
        return name
    raise UnknownPool(name, POOL_NAMES)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the user row's id and name, and whether they hold admin rights."""

    user_id: int
    """The users row's id."""
    name: str
    """The user's name."""
    is_admin: bool
    """Whether the user holds the admin role."""


INTENTS = (
    "status", "health", "pools", "tasks", "task", "scale", "restart", "submit", "cancel", "demo",
    "workflows", "history", "help", "login", "logout", "whoami", "clarify", "database",
)
"""The fixed intent vocabulary."""


@dataclass
class Command:
    """One understood command: an intent of the vocabulary and its arguments."""

    intent: str
    """One of INTENTS."""
    args: dict[str, Any] = field(default_factory=dict)
    """Arguments of the intent (see command_processor's docstring); only JSON values."""
    text: str = ""
    """The part of the request this command came from, as typed."""

    def __post_init__(self) -> None:
        if self.intent not in INTENTS:
            raise ValueError(f"unknown intent {self.intent!r}")
        if not isinstance(self.args, dict):
            raise TypeError(f"args of {self.intent!r} must be a dict, not {type(self.args).__name__}")
