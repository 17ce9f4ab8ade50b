"""Failed authentications counted per client (services/throttle.py), and the CPR column
wide enough for its encrypted form (storage/crypto.py: version, key id, nonce, ciphertext).

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client"),
    )
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("cpr", existing_type=sa.String(length=10),
                           type_=sa.String(length=80), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("cpr", existing_type=sa.String(length=80),
                           type_=sa.String(length=10), existing_nullable=True)
    op.drop_table("auth_failures")
