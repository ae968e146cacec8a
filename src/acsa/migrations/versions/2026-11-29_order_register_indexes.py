"""Indexes for the order register: every query is scoped to a party as requester or supplier
(the two party columns), and the register sorts by order date.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 06:06:52.888019
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_order_on'), ['order_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_requesting_party'), ['requesting_party'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_supplying_party'), ['supplying_party'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_supplying_party'))
        batch_op.drop_index(batch_op.f('ix_orders_requesting_party'))
        batch_op.drop_index(batch_op.f('ix_orders_order_on'))

