"""Indexes for pruning the event log by time and reading a site's audit by time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_audit_site_at", "audit", ["site_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_site_at", table_name="audit")
    op.drop_index("ix_events_at", table_name="events")
