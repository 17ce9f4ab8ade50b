"""The waiting room: one-time device pairing codes and the citizens' ticket-page codes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_pairings",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(16), sa.ForeignKey("tokens.id"), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_device_pairings_token_id", "device_pairings", ["token_id"])
    op.create_table(
        "ticket_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("visit_id", sa.Integer(), sa.ForeignKey("visits.id"), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ticket_codes_visit_id", "ticket_codes", ["visit_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_codes_visit_id", "ticket_codes")
    op.drop_table("ticket_codes")
    op.drop_index("ix_device_pairings_token_id", "device_pairings")
    op.drop_table("device_pairings")
