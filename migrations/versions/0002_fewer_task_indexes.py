"""fewer task indexes: a partial claim index, no status/created index

Each claim and result changes a task's status, and PostgreSQL then adds an entry to every index of
the table: with six, index upkeep was most of the database's share of a task. The claim index now
holds queued rows only, and (status, created_at) goes: its readers (queue statistics, the stale
sweep) find the same rows through (status, lease_expires_at).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:15:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_status_created')
        batch_op.drop_index('ix_tasks_claim')
        batch_op.create_index('ix_tasks_claim', ['pool', sa.text('priority DESC'), 'id'], unique=False,
                              postgresql_where=QUEUED, sqlite_where=QUEUED)


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_claim')
        batch_op.create_index('ix_tasks_claim', ['pool', 'status', sa.text('priority DESC'), 'id'], unique=False)
        batch_op.create_index('ix_tasks_status_created', ['status', 'created_at'], unique=False)
