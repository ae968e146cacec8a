"""Per-order and per-claim sums of the ledger, kept by the database as lines are posted
(issue #6: a node's first reconciliation summary of equal books with 1,000,000 ledger lines
under 2 seconds; issue #2: the ageing of open claims).

`order_sums` holds, per agreement, order, book, account and commodity, the sum of the ledger
lines posted under the order's entries, how many there are, and the latest posting date and
line id among them; lines of entries without an order go to order id 0. `claim_sums` holds the
same per claim, receivable account, commodity and agreement (the lines'), for the creditor's
receivable lines of a claim (what is outstanding on it). Triggers on `ledger_lines` add each new line to its rows
(upserts), in the same transaction as the line. The ledger is append-only (UPDATE, DELETE and
TRUNCATE refused), so inserts are the only change the sums must follow; the migration fills
both tables from the lines already there. A reader takes a row's sum only when its latest line
is posted on or before the report's date (and, for reconciliation, under its watermark), and
sums the ledger lines otherwise, or when the trigger is missing (`acsa.ledger.sums`).

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

ORDER_TRIGGER = "ledger_lines_order_sums"
CLAIM_TRIGGER = "ledger_lines_claim_sums"
# acsa.ledger.domain.receivable(m) for m in cash, rik, eve, as at this revision
RECEIVABLES = "('assets:receivable:cash', 'assets:receivable:kind', 'assets:receivable:service')"
COUNTS = "amount, lines, last_posted_on, last_line_id"
ORDER_KEY = "agreement_code, order_id, book, account, commodity"
CLAIM_KEY = "claim_id, account, commodity, agreement_code"
# the new line's rows: its entry's order (0 for none); its claim, if a receivable's
ORDER_ROW = ("SELECT NEW.agreement_code, coalesce(e.order_id, 0), NEW.book, NEW.account, "
             "NEW.commodity, NEW.amount, 1, NEW.posted_on, NEW.id FROM ledger_entries e "
             "WHERE e.id = NEW.entry_id")
CLAIM_ROW = ("VALUES (NEW.claim_id, NEW.account, NEW.commodity, NEW.agreement_code, "
             "NEW.amount, 1, NEW.posted_on, NEW.id)")
CLAIM_WHEN = f"NEW.claim_id IS NOT NULL AND NEW.account IN {RECEIVABLES}"
BACKFILL_ORDERS = (
    f"INSERT INTO order_sums ({ORDER_KEY}, {COUNTS}) "
    "SELECT l.agreement_code, coalesce(e.order_id, 0), l.book, l.account, l.commodity, "
    "sum(l.amount), count(*), max(l.posted_on), max(l.id) FROM ledger_lines l "
    "JOIN ledger_entries e ON e.id = l.entry_id "
    "GROUP BY l.agreement_code, coalesce(e.order_id, 0), l.book, l.account, l.commodity")
BACKFILL_CLAIMS = (
    f"INSERT INTO claim_sums ({CLAIM_KEY}, {COUNTS}) "
    "SELECT claim_id, account, commodity, agreement_code, sum(amount), count(*), "
    f"max(posted_on), max(id) FROM ledger_lines WHERE claim_id IS NOT NULL "
    f"AND account IN {RECEIVABLES} GROUP BY claim_id, account, commodity, agreement_code")


def _upsert(table: str, columns: str, key: str, row: str, greatest: str) -> str:
    return (f"INSERT INTO {table} ({columns}, {COUNTS}) {row} ON CONFLICT ({key}) DO UPDATE "
            f"SET amount = {table}.amount + excluded.amount, lines = {table}.lines + 1, "
            f"last_posted_on = {greatest}({table}.last_posted_on, excluded.last_posted_on), "
            f"last_line_id = {greatest}({table}.last_line_id, excluded.last_line_id)")


def _order_upsert(greatest: str) -> str:
    return _upsert("order_sums", ORDER_KEY, ORDER_KEY, ORDER_ROW, greatest)


def _claim_upsert(greatest: str) -> str:
    return _upsert("claim_sums", CLAIM_KEY, CLAIM_KEY, CLAIM_ROW, greatest)


def _sums_table(name: str, *key: sa.Column) -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        name,
        *key,
        sa.Column("amount", big, nullable=False),
        sa.Column("lines", big, nullable=False),
        sa.Column("last_posted_on", sa.Date(), nullable=False),
        sa.Column("last_line_id", big, nullable=False),
        sa.PrimaryKeyConstraint(*(c.name for c in key if c.primary_key),
                                name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    _sums_table(
        "order_sums",
        sa.Column("agreement_code", sa.String(12), primary_key=True),
        sa.Column("order_id", big, primary_key=True),  # no foreign key: 0 is no order
        sa.Column("book", sa.String(3), primary_key=True),
        sa.Column("account", sa.String(60), primary_key=True),
        sa.Column("commodity", sa.String(80), primary_key=True))
    _sums_table(
        "claim_sums",
        sa.Column("claim_id", big, primary_key=True),
        sa.Column("account", sa.String(60), primary_key=True),
        sa.Column("commodity", sa.String(80), primary_key=True),
        sa.Column("agreement_code", sa.String(12), primary_key=True))
    op.execute(BACKFILL_ORDERS)
    op.execute(BACKFILL_CLAIMS)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION acsa_ledger_sums() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_NAME = '{ORDER_TRIGGER}' THEN
                {_order_upsert("greatest")};
              ELSE
                {_claim_upsert("greatest")};
              END IF;
              RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER {ORDER_TRIGGER} AFTER INSERT ON ledger_lines "
                   "FOR EACH ROW EXECUTE FUNCTION acsa_ledger_sums()")
        op.execute(f"CREATE TRIGGER {CLAIM_TRIGGER} AFTER INSERT ON ledger_lines "
                   f"FOR EACH ROW WHEN ({CLAIM_WHEN}) EXECUTE FUNCTION acsa_ledger_sums()")
    else:
        # SQLite's max() of two arguments is the greater. The order row's SELECT has a WHERE,
        # which keeps its upsert from being read as a join's ON
        op.execute(f"CREATE TRIGGER {ORDER_TRIGGER} AFTER INSERT ON ledger_lines BEGIN "
                   f"{_order_upsert('max')}; END")
        op.execute(f"CREATE TRIGGER {CLAIM_TRIGGER} AFTER INSERT ON ledger_lines "
                   f"WHEN {CLAIM_WHEN} BEGIN {_claim_upsert('max')}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in (ORDER_TRIGGER, CLAIM_TRIGGER):
            op.execute(f"DROP TRIGGER {trigger} ON ledger_lines")
        op.execute("DROP FUNCTION acsa_ledger_sums()")
    else:
        for trigger in (ORDER_TRIGGER, CLAIM_TRIGGER):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("claim_sums")
    op.drop_table("order_sums")
