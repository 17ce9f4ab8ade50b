"""The planner's settings a supervisor changes per site at runtime (null: the file's).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("passed_over_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("duration_quantile", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("duration_quantile")
        batch.drop_column("passed_over_minutes")
