"""history indexes and daily totals: reads and purges that stay flat as history grows

Query plans at 1,000,000 finished tasks showed scans in: the status counts (every task, grouped by
status: now the queued and running ones and those finished in the last day), a pool's recent metrics (finished_at had no
index), a user's task list (ordered by id, found through user_id and created_at, then sorted), and the
foreign-key actions of a purge (deleting a task or a session looks up the rows that point at it:
messages, provider calls, workflow steps by task_id; tasks by session_id). daily_totals keeps what
the metrics and usage reports need of the rows that retention deletes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

FINISHED = sa.text("finished_at IS NOT NULL")
HAS_TASK = sa.text("task_id IS NOT NULL")
HAS_SESSION = sa.text("session_id IS NOT NULL")


def upgrade() -> None:
    # Partial indexes: queued and running tasks, and rows without a task, add no entry.
    op.create_index('ix_tasks_pool_finished', 'tasks', ['pool', 'finished_at', 'status'],
                    postgresql_where=FINISHED, sqlite_where=FINISHED)
    op.create_index('ix_tasks_user_id', 'tasks', ['user_id', 'id'])
    op.create_index('ix_tasks_session_id', 'tasks', ['session_id'],
                    postgresql_where=HAS_SESSION, sqlite_where=HAS_SESSION)
    for table in ('messages', 'provider_calls', 'workflow_steps'):
        op.create_index(f'ix_{table}_task_id', table, ['task_id'],
                        postgresql_where=HAS_TASK, sqlite_where=HAS_TASK)
    op.create_table(
        'daily_totals',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('tokens_in', sa.BigInteger(), nullable=False),
        sa.Column('tokens_out', sa.BigInteger(), nullable=False),
        sa.Column('cost_usd', sa.Float(), nullable=False),
        sa.Column('latency_ms', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'kind', 'name', name=op.f('pk_daily_totals')),
    )


def downgrade() -> None:
    op.drop_table('daily_totals')
    for table in ('messages', 'provider_calls', 'workflow_steps'):
        op.drop_index(f'ix_{table}_task_id', table_name=table)
    op.drop_index('ix_tasks_session_id', table_name='tasks')
    op.drop_index('ix_tasks_user_id', table_name='tasks')
    op.drop_index('ix_tasks_pool_finished', table_name='tasks')
