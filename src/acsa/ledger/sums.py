"""Sums of the ledger kept by the database as lines are posted (migration 0013).

`order_sums` (per agreement, order, book, account and commodity) and `claim_sums` (per claim,
receivable account, commodity and agreement) are written by triggers on `ledger_lines`, in the
posting's own transaction, whoever posts. The ledger is append-only, so a row is the sum of
every line behind it; with the latest posting date and line id among them, a reader knows when
the row answers for a date: when its latest line is posted on or before it (and, for reconciliation,
is under its watermark). Otherwise, or when a trigger is missing or disabled (a database where
someone dropped it: what was posted meanwhile is in no row), the reader sums the ledger lines.
"""

from __future__ import annotations

from sqlalchemy import Connection

ORDER_TRIGGER = "ledger_lines_order_sums"
CLAIM_TRIGGER = "ledger_lines_claim_sums"


def kept(conn: Connection, trigger: str) -> bool:
    """Whether the database keeps the sums of `trigger` (it is there, and enabled)."""
    if conn.dialect.name == "postgresql":
        sql = ("SELECT count(*) FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal "
               "AND tgenabled <> 'D'")
    else:
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?"
    return int(conn.exec_driver_sql(sql, (trigger,)).scalar_one()) == 1
