"""A token's site: the site it acts on (null: every site of the municipality, for an admin
or supervisor made without `--site`; api/deps.py answers 403 `wrong_site` elsewhere).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("site_id", sa.String(length=40), nullable=True))
    # a device token already paired for a site is bound to that site
    op.execute("UPDATE tokens SET site_id = (SELECT MIN(p.site_id) FROM device_pairings p "
               "WHERE p.token_id = tokens.id) WHERE role IN ('display', 'kiosk')")


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("site_id")
