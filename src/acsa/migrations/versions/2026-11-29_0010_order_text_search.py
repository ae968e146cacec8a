"""Text search in the order register without reading every order: "diesel" or "0042" anywhere
in an order's number or a line's description (issue #4: no page waiting on a query that grows
with the whole history).

* SQLite: an FTS5 table `order_search` (tokenizer `trigram`: any substring of three characters
  or more, case folded), one row per order (rowid = orders.id) holding its number and its lines'
  descriptions (one a line), kept current by triggers on `orders` and `order_lines`.
* PostgreSQL: the `pg_trgm` extension (trusted since PostgreSQL 13: the database owner may
  create it) and GIN trigram indexes on lower(number) and lower(description), which the
  register's `lower(...) LIKE '%text%'` uses as it is.

`orders.service._order_filter` uses them; text shorter than three characters, or holding `%`,
`_` or a line break, is still matched with LIKE.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# the order's row of the search table, made anew from the order and its lines
_ROW = ("INSERT INTO order_search (rowid, number, descriptions) "
        "SELECT o.id, o.number, coalesce((SELECT group_concat(l.description, char(10)) "
        "FROM (SELECT description FROM order_lines WHERE order_id = o.id ORDER BY line_no) "
        "AS l), '') FROM orders AS o WHERE o.id = {ref}")
SQLITE_TRIGGERS = {
    "order_search_orders_ai": "AFTER INSERT ON orders BEGIN " + _ROW.format(ref="NEW.id")
                              + "; END",
    "order_search_orders_au": "AFTER UPDATE OF id, number ON orders BEGIN "
                              "DELETE FROM order_search WHERE rowid = OLD.id; "
                              + _ROW.format(ref="NEW.id") + "; END",
    "order_search_orders_ad": "AFTER DELETE ON orders BEGIN "
                              "DELETE FROM order_search WHERE rowid = OLD.id; END",
    "order_search_lines_ai": "AFTER INSERT ON order_lines BEGIN "
                             "DELETE FROM order_search WHERE rowid = NEW.order_id; "
                             + _ROW.format(ref="NEW.order_id") + "; END",
    "order_search_lines_au": "AFTER UPDATE OF order_id, line_no, description ON order_lines "
                             "BEGIN DELETE FROM order_search WHERE rowid IN "
                             "(OLD.order_id, NEW.order_id); "
                             + _ROW.format(ref="OLD.order_id") + "; "
                             + _ROW.format(ref="NEW.order_id")
                             + " AND NEW.order_id <> OLD.order_id; END",
    "order_search_lines_ad": "AFTER DELETE ON order_lines BEGIN "
                             "DELETE FROM order_search WHERE rowid = OLD.order_id; "
                             + _ROW.format(ref="OLD.order_id") + "; END",
}
PG_INDEXES = {"ix_orders_number_trgm": "orders USING gin (lower(number) gin_trgm_ops)",
              "ix_order_lines_description_trgm":
                  "order_lines USING gin (lower(description) gin_trgm_ops)"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, spec in PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {spec}")
        return
    op.execute("CREATE VIRTUAL TABLE order_search USING fts5(number, descriptions, "
               "tokenize = 'trigram')")
    op.execute(_ROW.format(ref="o.id").replace(" WHERE o.id = o.id", ""))
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX {name}")
        # pg_trgm stays: other objects of the database may use it, and it holds no data
        return
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE order_search")
