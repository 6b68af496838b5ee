"""Alembic environment: runs on the connection OperatorOS hands in, or on DATABASE_URL."""
from __future__ import annotations

import sys
from pathlib import Path

from alembic import context

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import Base  # noqa: E402

target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from config import Settings
    from database import make_engine

    engine = make_engine(Settings.from_env().database_url)
    with engine.begin() as conn:
        _run(conn)
