"""Per-order sums of the ledger, kept by the database as lines are posted (issue #6: a node's
first reconciliation summary of equal books with 1,000,000 ledger lines under 2 seconds).

`order_sums` holds, per agreement, order, book, account and commodity, the sum of the ledger
lines posted under the order's entries, how many there are, and the latest posting date and
line id among them. A trigger on `ledger_lines` adds each new line to its row (an upsert), in
the same transaction as the line; lines of entries without an order go to order id 0. The
ledger is append-only (UPDATE, DELETE and TRUNCATE refused), so inserts are the only change
the sums must follow. `acsa.sync.reconcile` reads an order's sums here when its latest line
is posted on or before the summary's date and lies under its watermark, and from the ledger
lines otherwise; it reads none of them here when the trigger is missing or when the rows do
not count every ledger line (a trigger dropped for a while).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TRIGGER = "ledger_lines_order_sums"
KEY = "agreement_code, order_id, book, account, commodity"
# the new line's row: its entry's order (0 for none)
ROW = ("SELECT NEW.agreement_code, coalesce(e.order_id, 0), NEW.book, NEW.account, "
       "NEW.commodity, NEW.amount, 1, NEW.posted_on, NEW.id FROM ledger_entries e "
       "WHERE e.id = NEW.entry_id")
INSERT = f"INSERT INTO order_sums ({KEY}, amount, lines, last_posted_on, last_line_id) "
BACKFILL = (f"{INSERT}SELECT l.agreement_code, coalesce(e.order_id, 0), l.book, l.account, "
            "l.commodity, sum(l.amount), count(*), max(l.posted_on), max(l.id) FROM ledger_lines l "
            "JOIN ledger_entries e ON e.id = l.entry_id "
            "GROUP BY l.agreement_code, coalesce(e.order_id, 0), l.book, l.account, l.commodity")


def _upsert(greatest: str) -> str:
    return (f"{INSERT}{ROW} ON CONFLICT ({KEY}) DO UPDATE SET "
            "amount = order_sums.amount + excluded.amount, lines = order_sums.lines + 1, "
            f"last_posted_on = {greatest}(order_sums.last_posted_on, excluded.last_posted_on), "
            f"last_line_id = {greatest}(order_sums.last_line_id, excluded.last_line_id)")


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "order_sums",
        sa.Column("agreement_code", sa.String(12), nullable=False),
        sa.Column("order_id", big, nullable=False),  # no foreign key: 0 is no order
        sa.Column("book", sa.String(3), nullable=False),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("commodity", sa.String(80), nullable=False),
        sa.Column("amount", big, nullable=False),
        sa.Column("lines", big, nullable=False),
        sa.Column("last_posted_on", sa.Date(), nullable=False),
        sa.Column("last_line_id", big, nullable=False),
        sa.PrimaryKeyConstraint("agreement_code", "order_id", "book", "account", "commodity",
                                name=op.f("pk_order_sums")),
        sqlite_with_rowid=False,
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION acsa_order_sums() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              {_upsert("greatest")};
              RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON ledger_lines "
                   "FOR EACH ROW EXECUTE FUNCTION acsa_order_sums()")
    else:
        # SQLite's max() of two arguments is the greater; the SELECT's WHERE keeps its upsert
        # from being read as a join's ON
        op.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON ledger_lines BEGIN "
                   f"{_upsert('max')}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON ledger_lines")
        op.execute("DROP FUNCTION acsa_order_sums()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
    op.drop_table("order_sums")
