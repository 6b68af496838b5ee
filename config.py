"""Configuration read from the environment (README: Configuration)."""
from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MAX_CONTENT_LENGTH = 1_000_000
"""Largest request body the API accepts, in bytes (413 past it)."""

DEFAULT_SIGN_IN_IDLE_SECONDS = 1800
"""A conversational sign-in unused this long ends (OPERATOROS_SIGN_IN_IDLE_SECONDS)."""

DEFAULT_MAX_LONG_POLLS = 8
"""Concurrent long polls per user (OPERATOROS_MAX_LONG_POLLS)."""

DEFAULT_AUTH_FAILURE_LIMIT = "20 per minute"
"""Failed authentications per client address before 429 (OPERATOROS_AUTH_FAILURE_LIMIT)."""

DEFAULT_MIN_SCHEDULE_MINUTES = 15
"""Shortest interval between two runs of a workflow's schedule (OPERATOROS_MIN_SCHEDULE_MINUTES)."""

DEFAULT_MAX_ACTIVE_RUNS = 5
"""Unfinished workflow runs one user may have at once (OPERATOROS_MAX_ACTIVE_RUNS); 409 beyond."""

DEFAULT_MAX_RUN_TASK_STEPS = 50
"""Task steps (model calls) one workflow run may start (OPERATOROS_MAX_RUN_TASK_STEPS)."""

DEFAULT_MODEL = "gpt-5-mini"
"""Model name used when OPERATOROS_MODEL is not set."""

PROVIDER_CHOICES = ("auto", "local", "openai-chat", "openai-responses")
"""Accepted values of OPERATOROS_PROVIDER."""

BACKEND_CHOICES = ("local", "celery")
"""Accepted values of TASK_BACKEND."""

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@]*:)(?P<secret>[^@]*)@")


class ConfigError(ValueError):
    """A configuration value is missing or invalid."""


@dataclass
class Settings:
    """Everything the service reads from its environment, validated once."""

    home: Path
    """Instance folder: SQLite file, admin key file, data folder."""
    database_url: str
    """SQLAlchemy URL; SQLite in `home` by default."""
    openai_api_key: str | None = field(default=None, repr=False)
    """Key for OpenAI or a compatible server; never logged or printed."""
    openai_base_url: str | None = None
    """Any OpenAI-compatible server; None means OpenAI itself."""
    model: str = DEFAULT_MODEL
    """Model name sent to the provider."""
    provider: str = "auto"
    """auto | local | openai-chat | openai-responses."""
    task_backend: str = "local"
    """local (threads in serve/worker) or celery."""
    redis_url: str | None = None
    """Broker for the celery backend."""
    api_key: str | None = field(default=None, repr=False)
    """Server admin API key (OPERATOROS_API_KEY)."""
    user: str = "local"
    """Default conversation user of the CLI."""
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    """Request body limit of the API, in bytes."""
    rate_limit: str | None = None
    """Requests allowed per API key, e.g. "100 per minute" (the limits library's syntax); None: the default."""
    rate_limit_storage: str = "memory://"
    """Where rate-limit counters live; redis://... shares them between processes."""
    sign_in_idle_seconds: int = DEFAULT_SIGN_IN_IDLE_SECONDS
    """A conversational sign-in unused this long ends."""
    max_long_polls: int = DEFAULT_MAX_LONG_POLLS
    """Concurrent long polls (GET /api/tasks/N?wait=) allowed per user; 429 beyond."""
    auth_failure_limit: str = DEFAULT_AUTH_FAILURE_LIMIT
    """Failed authentications allowed per client address; 429 beyond."""
    min_schedule_minutes: int = DEFAULT_MIN_SCHEDULE_MINUTES
    """A workflow schedule may fire at most once per this many minutes."""
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS
    """Unfinished workflow runs allowed per user; 409 beyond."""
    max_run_task_steps: int = DEFAULT_MAX_RUN_TASK_STEPS
    """Task steps one workflow run may start; a larger workflow is refused."""
    drafts: bool = True
    """Stream the model's text into the task's draft events (OPERATOROS_DRAFTS=0: one plain call per round)."""

    def __post_init__(self) -> None:
        if self.provider not in PROVIDER_CHOICES:
            raise ConfigError(
                f"OPERATOROS_PROVIDER={self.provider!r} is not one of {', '.join(PROVIDER_CHOICES)}"
            )
        if self.task_backend not in BACKEND_CHOICES:
            raise ConfigError(
                f"TASK_BACKEND={self.task_backend!r} is not one of {', '.join(BACKEND_CHOICES)}"
            )

    @property
    def data_dir(self) -> Path:
        """Folder from which a request may name a CSV file."""
        return self.home / "data"

    @property
    def chosen_provider(self) -> str:
        """The provider OPERATOROS_PROVIDER names; for 'auto': Responses with a key and no base URL,
        Chat Completions with a base URL, offline otherwise."""
        if self.provider != "auto":
            return self.provider
        if self.openai_base_url:
            return "openai-chat"
        return "openai-responses" if self.openai_api_key else "local"

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, fit to print."""
        return redact_url(self.database_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables, then apply overrides."""
        env = os.environ if env is None else env
        home = Path(env.get("OPERATOROS_HOME") or "instance").expanduser().resolve()
        values: dict[str, Any] = {
            "home": home,
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{home / 'operatoros.db'}",
            "openai_api_key": env.get("OPENAI_API_KEY") or None,
            "openai_base_url": env.get("OPENAI_BASE_URL") or None,
            "model": env.get("OPERATOROS_MODEL") or DEFAULT_MODEL,
            "provider": (env.get("OPERATOROS_PROVIDER") or "auto").strip().lower(),
            "task_backend": (env.get("TASK_BACKEND") or "local").strip().lower(),
            "redis_url": env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or None,
            "api_key": env.get("OPERATOROS_API_KEY") or None,
            "user": env.get("OPERATOROS_USER") or _os_user(),
            "max_content_length": _int(env, "OPERATOROS_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
            "rate_limit": env.get("OPERATOROS_RATE_LIMIT") or None,
            "rate_limit_storage": env.get("OPERATOROS_RATE_LIMIT_STORAGE") or "memory://",
            "sign_in_idle_seconds": _int(env, "OPERATOROS_SIGN_IN_IDLE_SECONDS", DEFAULT_SIGN_IN_IDLE_SECONDS),
            "max_long_polls": _int(env, "OPERATOROS_MAX_LONG_POLLS", DEFAULT_MAX_LONG_POLLS),
            "auth_failure_limit": env.get("OPERATOROS_AUTH_FAILURE_LIMIT") or DEFAULT_AUTH_FAILURE_LIMIT,
            "min_schedule_minutes": _int(env, "OPERATOROS_MIN_SCHEDULE_MINUTES", DEFAULT_MIN_SCHEDULE_MINUTES),
            "max_active_runs": _int(env, "OPERATOROS_MAX_ACTIVE_RUNS", DEFAULT_MAX_ACTIVE_RUNS),
            "max_run_task_steps": _int(env, "OPERATOROS_MAX_RUN_TASK_STEPS", DEFAULT_MAX_RUN_TASK_STEPS),
            "drafts": _flag(env, "OPERATOROS_DRAFTS", True),
        }
        values.update(overrides)
        settings = cls(**values)
        settings.database_url = _normalise_db_url(settings.database_url)
        return settings


def redact_url(url: str) -> str:
    """Mask the password of a URL such as postgresql://u:secret@host/db."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", url)


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// default to psycopg 3, the driver we install.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE | _FALSE:
        return raw in _TRUE
    raise ConfigError(f"{name}={env[name]!r} is not one of 1, 0, true, false, yes, no, on, off")


def _os_user() -> str:
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):
        return "local"
