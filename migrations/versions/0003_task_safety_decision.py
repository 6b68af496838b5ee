"""task safety decision: the pool's and the request's safety decision kept with each task

The decision (red flags, self-harm, problem gambling, prompt injection, the request's topic) is made
once when a task is submitted and carried by its claim to the worker; tasks queued before this
revision have NULL and are decided once when claimed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tasks', sa.Column('safety', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('safety')
