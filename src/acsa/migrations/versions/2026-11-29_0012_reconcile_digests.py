"""Reconciliation's change log: which orders changed since a cached summary, written by the
database itself (issue #6: equal books confirmed without reading every order and claim again).

`reconcile_changes` gets the id of an order when the order is inserted, deleted, or updated in
a column its reconciliation leaf or bucket reads (number, state, order_on, agreement_code,
requesting_party, supplying_party, or its id), and the order id of a claim (old and new) when
the claim is inserted, deleted or updated in a column its leaf reads. Triggers write it in the
same transaction as the change: a rolled-back change leaves no row, and every writer (the
services, a partner's event, a bulk import, a hand-written UPDATE) leaves one. On PostgreSQL a
TRUNCATE of either table logs order id -1 (everything changed). `acsa.sync.reconcile` reads
the rows above a cached summary's position and recomputes only those orders' buckets; it
deletes the rows every cached summary covers. Ledger lines need no trigger: they are
append-only, and what was added since a summary is above its watermark. The cached summaries
themselves (`node_settings`, keys `reconcile:%`) are dropped both ways: what changed while
the triggers were not there was never logged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ORDER_COLUMNS = ("id", "number", "state", "order_on", "agreement_code", "requesting_party",
                 "supplying_party")
CLAIM_COLUMNS = ("id", "number", "order_id", "state", "method", "currency", "amount_minor",
                 "quantity", "unit", "commodity", "agreement_code", "issued_on")
LOG = "INSERT INTO reconcile_changes (order_id)"
DROP_CACHE = "DELETE FROM node_settings WHERE key LIKE 'reconcile:%'"


def _changed(columns: tuple[str, ...], differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in columns)


def _sqlite_triggers() -> dict[str, str]:
    out = {}
    for table, columns, ref in (("orders", ORDER_COLUMNS, "id"),
                                ("claims", CLAIM_COLUMNS, "order_id")):
        out[f"reconcile_{table}_ai"] = (f"AFTER INSERT ON {table} BEGIN {LOG} "
                                        f"VALUES (NEW.{ref}); END")
        out[f"reconcile_{table}_au"] = (
            f"AFTER UPDATE OF {', '.join(columns)} ON {table} "
            f"WHEN {_changed(columns, 'IS NOT')} BEGIN {LOG} VALUES (OLD.{ref}); "
            f"{LOG} SELECT NEW.{ref} WHERE NEW.{ref} IS NOT OLD.{ref}; END")
        out[f"reconcile_{table}_ad"] = (f"AFTER DELETE ON {table} BEGIN {LOG} "
                                        f"VALUES (OLD.{ref}); END")
    return out


def _pg_function(table: str, ref: str) -> str:
    return f"""
        CREATE FUNCTION acsa_reconcile_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'TRUNCATE' THEN
            {LOG} VALUES (-1);
            RETURN NULL;
          END IF;
          IF TG_OP <> 'INSERT' THEN
            {LOG} VALUES (OLD.{ref});
          END IF;
          IF TG_OP = 'INSERT' THEN
            {LOG} VALUES (NEW.{ref});
          ELSIF TG_OP = 'UPDATE' THEN
            IF NEW.{ref} IS DISTINCT FROM OLD.{ref} THEN
              {LOG} VALUES (NEW.{ref});
            END IF;
          END IF;
          RETURN NULL;
        END $$"""


def upgrade() -> None:
    op.execute(DROP_CACHE)
    op.create_table(
        "reconcile_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_changes")),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, columns, ref in (("orders", ORDER_COLUMNS, "id"),
                                    ("claims", CLAIM_COLUMNS, "order_id")):
            fn = f"acsa_reconcile_{table}_changed()"
            op.execute(_pg_function(table, ref))
            op.execute(f"CREATE TRIGGER reconcile_{table}_ai AFTER INSERT ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {fn}")
            op.execute(f"CREATE TRIGGER reconcile_{table}_au AFTER UPDATE ON {table} "
                       f"FOR EACH ROW WHEN ({_changed(columns, 'IS DISTINCT FROM')}) "
                       f"EXECUTE FUNCTION {fn}")
            op.execute(f"CREATE TRIGGER reconcile_{table}_ad AFTER DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {fn}")
            op.execute(f"CREATE TRIGGER reconcile_{table}_truncate AFTER TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}")
        return
    for name, body in _sqlite_triggers().items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    op.execute(DROP_CACHE)
    if op.get_bind().dialect.name == "postgresql":
        for table in ("orders", "claims"):
            for suffix in ("ai", "au", "ad", "truncate"):
                op.execute(f"DROP TRIGGER reconcile_{table}_{suffix} ON {table}")
            op.execute(f"DROP FUNCTION acsa_reconcile_{table}_changed()")
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("reconcile_changes")
