"""The per-order sums the database keeps as ledger lines are posted (migration 0013), on SQLite
and PostgreSQL: they equal the ledger lines' own sums after every kind of posting, a migration
fills them from the lines already there, and a reconciliation summary read from them equals
the summary read from the ledger lines, for any date (an order with a line posted after the
date, or a database without the trigger, is read from its lines).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from acsa.db import migrate
from acsa.money import Money
from acsa.settlement import service as settlement
from acsa.sync import keys
from acsa.sync import reconcile as rc
from tests import factories as f
from tests.sync._nodes import (  # noqa: F401
    Cluster,
    Node,
    cluster,
    sync_backend,
    world_template,
)
from tests.sync.test_reconcile import AS_OF, claim_of, story

D = dt.date
# the lines' own sums, grouped as order_sums keeps them
FROM_LINES = (
    "SELECT l.agreement_code, coalesce(e.order_id, 0), l.book, l.account, l.commodity, "
    "sum(l.amount), count(*), max(l.posted_on), max(l.id) FROM ledger_lines l "
    "JOIN ledger_entries e ON e.id = l.entry_id "
    "GROUP BY l.agreement_code, coalesce(e.order_id, 0), l.book, l.account, l.commodity")
KEPT = ("SELECT agreement_code, order_id, book, account, commodity, amount, lines, "
        "last_posted_on, last_line_id FROM order_sums")
# dates between the story's postings (5-10 received, 5-20 paid, 6-10, 7-10, 8-12, 9-1 paid)
DATES = [AS_OF, D(2026, 5, 15), D(2026, 6, 30), D(2026, 8, 20), D(2026, 5, 1)]


@pytest.fixture(autouse=True)
def _keys_locked() -> Iterator[None]:
    keys._UNLOCKED.clear()
    yield
    keys._UNLOCKED.clear()


@pytest.fixture
def ph(cluster: Callable[..., Cluster]) -> Node:  # noqa: F811
    """PH's node holding tests.sync.test_reconcile.story."""
    node = cluster(("JP", "PH"))["PH"]
    story(node)
    return node


def rows(n: Node, sql: str) -> list[tuple[Any, ...]]:
    with n.session() as s:
        return sorted(tuple(str(v) for v in r) for r in s.execute(text(sql)))


def leaves(n: Node, as_of: dt.date) -> dict[str, Any]:
    """The summary with the leaves of every month, computed from every row."""
    with n.session() as s:
        months = list(rc.summary(s, agreement="PHJP", as_of=as_of, party_pair=("PH", "JP"),
                                 use_cache=False)["months"])
        return rc.summary(s, agreement="PHJP", as_of=as_of, party_pair=("PH", "JP"),
                          months=months or None, use_cache=False)


def drop_trigger(n: Node) -> None:
    on = " ON ledger_lines" if n.url.startswith("postgresql") else ""
    with n.session() as s:
        s.execute(text(f"DROP TRIGGER {rc.SUMS_TRIGGER}{on}"))


def kept(n: Node) -> bool:
    with n.session() as s:
        return rc.sums_kept(s)


def test_the_sums_follow_every_posting(ph: Node) -> None:
    """Receipts, bills, payments and an in-kind claim (the story), then two part payments
    recorded out of date order: the kept sums equal the lines' own, row for row."""
    assert rows(ph, KEPT) == rows(ph, FROM_LINES)
    assert len(rows(ph, KEPT)) > 10
    with ph.session() as s:
        number = f.order_to(s, "received", on=D(2026, 10, 1)).number
        ref = claim_of(s, number).number
        settlement.pay(s, claim_ref=ref, by=f.official("JP", "finance"), on=D(2026, 10, 5),
                       amount=Money.of("1000", "PHP"))
        settlement.pay(s, claim_ref=ref, by=f.official("JP", "finance"), on=D(2026, 10, 3),
                       amount=Money.of("2000", "PHP"))
    # the later payment was recorded first: a row keeps the latest date, not the last one
    assert rows(ph, KEPT) == rows(ph, FROM_LINES)


def test_a_rolled_back_posting_leaves_no_sum(ph: Node) -> None:
    before = rows(ph, KEPT)
    with pytest.raises(RuntimeError), ph.session() as s:
        f.order_to(s, "received", on=D(2026, 10, 1))
        raise RuntimeError("abandoned")
    assert rows(ph, KEPT) == before


def test_the_migration_fills_the_sums_from_the_lines_there(ph: Node) -> None:
    migrate.downgrade(ph.engine, "0012")
    with ph.session() as s:  # postings while no sums are kept
        f.order_to(s, "received", on=D(2026, 10, 1))
    migrate.upgrade(ph.engine)
    assert rows(ph, KEPT) == rows(ph, FROM_LINES)
    assert kept(ph)


@pytest.mark.parametrize("as_of", DATES, ids=[d.isoformat() for d in DATES])
def test_a_summary_from_the_kept_sums_equals_one_from_the_lines(ph: Node,
                                                                as_of: dt.date) -> None:
    """As of dates between postings too: an order with a line after the date (the 5-20
    payment as of 5-15) must be read from its lines, or its leaf would hold the payment."""
    assert kept(ph)
    from_sums = leaves(ph, as_of)
    drop_trigger(ph)
    assert not kept(ph)
    assert leaves(ph, as_of) == from_sums


def test_the_summary_reads_the_kept_sums_and_not_without_their_trigger(ph: Node) -> None:
    """A hand-made change to a kept sum shows in the summary while the trigger is there (so the
    sums are what is read); with the trigger gone, the lines are read and the change does not
    show."""
    truth = leaves(ph, AS_OF)
    with ph.session() as s:
        s.execute(text("UPDATE order_sums SET amount = amount + 1 WHERE order_id = "
                       "(SELECT min(order_id) FROM order_sums WHERE order_id > 0 "
                       "AND amount <> 0)"))
    assert leaves(ph, AS_OF) != truth
    drop_trigger(ph)
    assert leaves(ph, AS_OF) == truth
