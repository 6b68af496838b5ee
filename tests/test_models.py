"""The data model's constraints and types, on SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

import database
from models import (
    Agent,
    AgentPool,
    AgentStatus,
    AuditLog,
    ConversationSession,
    Message,
    ProviderCall,
    Role,
    Task,
    TaskStatus,
    User,
    Workflow,
    WorkflowRun,
    WorkflowStep,
)


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = database.make_engine(database_url)
    database.ensure_schema(engine)
    session = database.make_session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


def test_a_task_round_trips_with_defaults_and_aware_times(db: Session) -> None:
    task = Task(pool="financial", input="Analyze AAPL", result={"answer": [1, 2]})
    db.add(task)
    db.commit()
    db.expunge_all()
    loaded = db.get(Task, task.id)
    assert loaded is not None
    assert loaded.status is TaskStatus.QUEUED
    assert (loaded.priority, loaded.attempts, loaded.max_attempts) == (0, 0, 3)
    assert loaded.result == {"answer": [1, 2]}
    assert loaded.created_at.tzinfo is not None
    assert abs(loaded.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_naive_datetimes_are_refused(db: Session) -> None:
    db.add(Task(pool="general", input="x", run_after=datetime(2026, 1, 1)))
    with pytest.raises(StatementError):
        db.commit()


def test_idempotency_key_is_unique_per_user(db: Session) -> None:
    user = User(name="ann", role=Role.USER)
    db.add(user)
    db.flush()
    db.add(Task(pool="general", input="a", user_id=user.id, idempotency_key="k1"))
    db.commit()
    db.add(Task(pool="general", input="b", user_id=user.id, idempotency_key="k1"))
    with pytest.raises(IntegrityError):
        db.commit()


def test_a_task_must_name_an_existing_pool(db: Session) -> None:
    db.add(Task(pool="astrology", input="x"))
    with pytest.raises(IntegrityError):
        db.commit()


def test_pool_sizes_must_stay_within_limits(db: Session) -> None:
    pool = db.get(AgentPool, "sports")
    assert pool is not None
    pool.desired_size = pool.max_size + 1
    with pytest.raises(IntegrityError):
        db.commit()


def test_unknown_status_values_are_refused(db: Session) -> None:
    with pytest.raises(StatementError):
        db.execute(sa.insert(Task).values(pool="general", input="x", status="exploded"))


def test_user_names_are_unique(db: Session) -> None:
    db.add_all([User(name="bob"), User(name="bob")])
    with pytest.raises(IntegrityError):
        db.commit()


def test_conversation_rows_link_together_and_cascade(db: Session) -> None:
    user = User(name="cy")
    db.add(user)
    db.flush()
    conv = ConversationSession(user_id=user.id)
    db.add(conv)
    db.flush()
    task = Task(pool="healthcare", input="headache", session_id=conv.id, user_id=user.id)
    db.add(task)
    db.flush()
    db.add(Message(session_id=conv.id, role="user", content="hi", intent="submit", task_id=task.id))
    db.commit()
    db.delete(conv)
    db.commit()
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    assert db.scalar(sa.select(Task.session_id).where(Task.id == task.id)) is None


def test_workflow_steps_are_unique_per_run(db: Session) -> None:
    wf = Workflow(name="pm", definition={"steps": []})
    db.add(wf)
    db.flush()
    run = WorkflowRun(workflow_id=wf.id)
    db.add(run)
    db.flush()
    db.add_all([WorkflowStep(run_id=run.id, key="plan", kind="task"),
                WorkflowStep(run_id=run.id, key="plan", kind="task")])
    with pytest.raises(IntegrityError):
        db.commit()


def test_agents_provider_calls_and_audit_rows_store_their_fields(db: Session) -> None:
    db.add(Agent(pool="general", process="host:1", status=AgentStatus.BUSY, tasks_done=3))
    db.add(ProviderCall(provider="local", model="builtin", tokens_in=10, tokens_out=5, latency_ms=1.5,
                        outcome="ok", cost_usd=0.0))
    db.add(AuditLog(actor="admin", action="scale", target="healthcare", details={"from": 2, "to": 4}))
    db.commit()
    assert db.scalar(sa.select(Agent.status)) is AgentStatus.BUSY
    assert db.scalar(sa.select(AuditLog.details)) == {"from": 2, "to": 4}
    assert db.scalar(sa.select(ProviderCall.tokens_in)) == 10


def test_each_models_typed_attributes_match_its_table_columns() -> None:
    """models.py says each column twice (sa.Column and the type checker's Mapped[...]): names, order,
    NULL-ability and Python type must agree, or a query would type-check against a column that is not there."""
    import ast
    import types
    import typing
    from pathlib import Path

    from sqlalchemy.orm import Mapped

    import models

    namespace = {**vars(models), "Mapped": Mapped}
    tree = ast.parse(Path(models.__file__).read_text())
    checked = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not hasattr(getattr(models, node.name), "__mapper__"):
            continue
        typed = [stmt for block in node.body if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
                 for stmt in block.body if isinstance(stmt, ast.AnnAssign)]
        table = getattr(models, node.name).__table__
        assert [ast.unparse(stmt.target) for stmt in typed] == [column.key for column in table.c], node.name
        for stmt, column in zip(typed, table.c, strict=True):
            (annotated,) = typing.get_args(eval(ast.unparse(stmt.annotation), namespace))  # noqa: S307 - our own source
            parts = typing.get_args(annotated) if isinstance(annotated, types.UnionType) else (annotated,)
            assert column.nullable == (type(None) in parts), f"{node.name}.{column.key}"
            (python,) = [typing.get_origin(part) or part for part in parts if part is not type(None)]
            sql_type = column.type.impl_instance if isinstance(column.type, sa.TypeDecorator) else column.type
            expected = (dict, list) if isinstance(sql_type, sa.JSON) else (sql_type.python_type,)
            assert python in expected, f"{node.name}.{column.key}"
        checked.add(table.name)
    assert checked == set(models.Base.metadata.tables)
