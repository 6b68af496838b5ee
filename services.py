"""The composition root: settings, engine, queue and its backend, executor, controller and conversations, built once.

Every way in builds its object graph here: the CLI's in-process requests (main.py), the API
(app.create_app wraps the graph in Flask and keeps it in app.extensions) and a Celery worker node's
workflow loop (backends/celery_worker.py). Nothing here imports Flask, Celery or the openai SDK: the
celery backend is imported only when TASK_BACKEND=celery, the providers when a task first runs.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent_master_controller import AgentMasterController
from agent_pools import Executor, default_executor, load_executor
from backends.base import QueueBackend
from backends.local import LocalBackend
from config import Settings
from conversation_manager import ADMIN_USER_NAME, ConversationManager
from replit_interface import Interface
from task_processor import TaskQueue

if TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "operatoros"
"""Key of the Services object in a Flask app's extensions."""


@dataclass
class Services:
    """Everything a request needs, built once per process (or per app)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    conversations: ConversationManager
    controller: AgentMasterController
    interface: Interface

    @property
    def backend(self) -> QueueBackend:
        """The queue backend (local or celery) the controller steers."""
        return self.controller.backend


def build_services(settings: Settings, *, env: Mapping[str, str] | None = None, engine: Engine | None = None,
                   executor: Executor | str | None = None) -> Services:
    """The object graph, without any web layer.

    Args:
        settings: the configuration (Settings.from_env for the environment's).
        env: where the backend reads its own variables (the celery namespace and periods); os.environ if None.
        engine: an engine to use (Flask-SQLAlchemy's, in the app) instead of a new one.
        executor: what works tasks: a function, a `module:function` spec, or None for the domain agents.
    """
    from database import configure_engine, ensure_schema, make_engine, make_session_factory

    settings.home.mkdir(parents=True, exist_ok=True)
    if engine is None:
        engine = make_engine(settings.database_url)
    configure_engine(engine)
    ensure_schema(engine)
    sessions = make_session_factory(engine)
    conversations = ConversationManager(sessions, sign_in_idle_seconds=settings.sign_in_idle_seconds,
                                        known_secrets=(settings.api_key or "",))
    if settings.api_key:  # a rotated OPERATOROS_API_KEY revokes the old one now, not at the new one's first use
        conversations.sync_admin_key(ADMIN_USER_NAME, settings.api_key)
    backend = make_backend(settings, engine, os.environ if env is None else env)
    queue = TaskQueue(engine, backend)
    controller = AgentMasterController(settings, engine, sessions, queue, make_executor(settings, sessions, executor),
                                       backend)
    return Services(settings, engine, sessions, conversations, controller, Interface(controller, conversations))


def make_backend(settings: Settings, engine: Engine, env: Mapping[str, str]) -> QueueBackend:
    """The queue backend TASK_BACKEND names: local agent threads, or Celery over Redis (imported only then).

    Raises:
        ConfigError: TASK_BACKEND=celery without a usable Redis URL.
    """
    if settings.task_backend == "celery":
        from backends.celery_queue import CeleryBackend, CeleryConfig

        return CeleryBackend(CeleryConfig.from_settings(settings, env))
    return LocalBackend(engine)


def make_executor(settings: Settings, sessions: sessionmaker[Session] | None,
                  executor: Executor | str | None = None) -> Executor:
    """What works tasks: `executor` itself, the function a `module:function` spec names, or the domain agents."""
    if executor is None:
        return default_executor(settings, sessions)
    if isinstance(executor, str):
        return load_executor(executor)
    return executor


def from_app(app: Flask) -> Services:
    """The Services of an app built by app.create_app."""
    services: Services = app.extensions[EXTENSION_KEY]
    return services
