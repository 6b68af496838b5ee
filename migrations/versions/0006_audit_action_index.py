"""audit action index: the last backup and the last purge found at once, whatever the audit log's size

The status reply for admins (and `db status`) shows the last backup and the last purge: the newest
audit row of one action. Without an index on the action, finding it walks the audit log backwards
from its newest row, and reads all of it when there was never a backup.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:15:00
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_log_action_id', 'audit_log', ['action', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_action_id', table_name='audit_log')
