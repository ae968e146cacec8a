"""The requesting unit's own reference of a bulk-imported order (`acsa import orders`), unique
per requesting party, so importing the same file again finds the orders it made instead of
creating them twice. Nullable: orders created one by one have none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("external_ref", sa.String(length=80), nullable=True))
    op.create_index("uq_orders_external_ref", "orders", ["requesting_party", "external_ref"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("uq_orders_external_ref", table_name="orders")
    op.drop_column("orders", "external_ref")
