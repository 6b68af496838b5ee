"""task events: each step of a task's life (queued, claimed, provider and tool calls, retries, result)

Streamed by GET /api/tasks/<id>/events and `python main.py "follow task N"`; the queued event keeps
the trace context of the request that submitted the task, so its worker joins the same trace.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 03:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_events_task_id_tasks'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_events')),
    )
    op.create_index('ix_task_events_task_id', 'task_events', ['task_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_events_task_id', table_name='task_events')
    op.drop_table('task_events')
