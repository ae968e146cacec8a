"""Indexes for reconciliation: the ledger sums of chosen orders without a scan of the ledger.

`acsa.sync.reconcile` needs the sums of a few orders' ledger lines (the orders of the
differing buckets of a month, or of the buckets new lines touched since its cached digests):
from an order to its entries (`ix_ledger_entries_order`), and from an entry to its lines with
every column the sums read (`ix_ledger_lines_entry_sums`, covering), so each order costs a few
index lookups instead of a scan of every line of the agreement. Nothing is added to the rows:
the posting code is unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_entries_order", "ledger_entries", ["order_id", "id"])
    op.create_index("ix_ledger_lines_entry_sums", "ledger_lines",
                    ["entry_id", "agreement_code", "book", "account", "commodity", "posted_on",
                     "amount"])


def downgrade() -> None:
    op.drop_index("ix_ledger_lines_entry_sums", table_name="ledger_lines")
    op.drop_index("ix_ledger_entries_order", table_name="ledger_entries")
