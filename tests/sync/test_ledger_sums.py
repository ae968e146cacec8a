"""The per-order and per-claim sums the database keeps as ledger lines are posted (migration
0013, acsa.ledger.sums), on SQLite and PostgreSQL: they equal the ledger lines' own sums after
every kind of posting, a migration fills them from the lines already there, and a
reconciliation summary and an ageing read from them equal those read from the ledger lines,
for any date (a sum with a line posted after the date, or a database without the triggers, is
read from the lines).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from acsa.db import migrate
from acsa.ledger import reports, sums
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
CLAIMS_FROM_LINES = (
    "SELECT claim_id, account, commodity, agreement_code, sum(amount), count(*), "
    "max(posted_on), max(id) FROM ledger_lines WHERE claim_id IS NOT NULL AND account IN "
    "('assets:receivable:cash', 'assets:receivable:kind', 'assets:receivable:service') "
    "GROUP BY claim_id, account, commodity, agreement_code")
CLAIMS_KEPT = ("SELECT claim_id, account, commodity, agreement_code, amount, lines, "
               "last_posted_on, last_line_id FROM claim_sums")
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


def drop_triggers(n: Node) -> None:
    on = " ON ledger_lines" if n.url.startswith("postgresql") else ""
    with n.session() as s:
        for trigger in (sums.ORDER_TRIGGER, sums.CLAIM_TRIGGER):
            s.execute(text(f"DROP TRIGGER {trigger}{on}"))


def aged(n: Node, as_of: dt.date, agreement: str | None = None) -> list[reports.AgeingRow]:
    with n.session() as s:
        return reports.ageing(s, as_of=as_of, agreement=agreement)


def same_sums(n: Node) -> None:
    assert rows(n, KEPT) == rows(n, FROM_LINES)
    assert rows(n, CLAIMS_KEPT) == rows(n, CLAIMS_FROM_LINES)


def kept(n: Node) -> bool:
    with n.session() as s:
        return rc.sums_kept(s)


def tamper(n: Node, table: str) -> None:
    """Add one to a kept sum that is not zero, behind the triggers' back."""
    key = "order_id" if table == "order_sums" else "claim_id"
    with n.session() as s:
        s.execute(text(f"UPDATE {table} SET amount = amount + 1 WHERE {key} = "
                       f"(SELECT min({key}) FROM {table} WHERE {key} > 0 AND amount <> 0)"))


def test_the_sums_follow_every_posting(ph: Node) -> None:
    """Receipts, bills, payments and an in-kind claim (the story), then two part payments
    recorded out of date order: the kept sums equal the lines' own, row for row."""
    same_sums(ph)
    assert len(rows(ph, KEPT)) > 10 and len(rows(ph, CLAIMS_KEPT)) == 4  # a, b, c, e
    with ph.session() as s:
        number = f.order_to(s, "received", on=D(2026, 10, 1)).number
        ref = claim_of(s, number).number
        settlement.pay(s, claim_ref=ref, by=f.official("JP", "finance"), on=D(2026, 10, 5),
                       amount=Money.of("1000", "PHP"))
        settlement.pay(s, claim_ref=ref, by=f.official("JP", "finance"), on=D(2026, 10, 3),
                       amount=Money.of("2000", "PHP"))
    # the later payment was recorded first: a row keeps the latest date, not the last one
    same_sums(ph)


def test_a_rolled_back_posting_leaves_no_sum(ph: Node) -> None:
    before = rows(ph, KEPT), rows(ph, CLAIMS_KEPT)
    with pytest.raises(RuntimeError), ph.session() as s:
        f.order_to(s, "received", on=D(2026, 10, 1))
        raise RuntimeError("abandoned")
    assert (rows(ph, KEPT), rows(ph, CLAIMS_KEPT)) == before


def test_the_migration_fills_the_sums_from_the_lines_there(ph: Node) -> None:
    migrate.downgrade(ph.engine, "0012")
    with ph.session() as s:  # postings while no sums are kept
        f.order_to(s, "received", on=D(2026, 10, 1))
    migrate.upgrade(ph.engine)
    same_sums(ph)
    assert kept(ph)


@pytest.mark.parametrize("as_of", DATES, ids=[d.isoformat() for d in DATES])
def test_a_summary_from_the_kept_sums_equals_one_from_the_lines(ph: Node,
                                                                as_of: dt.date) -> None:
    """As of dates between postings too: an order with a line after the date (the 5-20
    payment as of 5-15) must be read from its lines, or its leaf would hold the payment."""
    assert kept(ph)
    from_sums = leaves(ph, as_of)
    drop_triggers(ph)
    assert not kept(ph)
    assert leaves(ph, as_of) == from_sums


@pytest.mark.parametrize("as_of", DATES, ids=[d.isoformat() for d in DATES])
def test_an_ageing_from_the_kept_sums_equals_one_from_the_lines(ph: Node,
                                                                as_of: dt.date) -> None:
    """As of 5-15, the claim paid on 5-20 is open in full: its kept sum (paid) must not be
    taken for that date."""
    from_sums = aged(ph, as_of), aged(ph, as_of, "PHJP"), aged(ph, as_of, "PHUS")
    drop_triggers(ph)
    assert (aged(ph, as_of), aged(ph, as_of, "PHJP"), aged(ph, as_of, "PHUS")) == from_sums
    if as_of == D(2026, 5, 15):
        assert from_sums[0] and from_sums[0][0].outstanding == from_sums[0][0].value_minor


@pytest.mark.parametrize("table", ["order_sums", "claim_sums"])
def test_the_kept_sums_are_read_and_not_without_their_triggers(ph: Node, table: str) -> None:
    """A hand-made change to a kept sum shows in the summary (and, for a claim, the ageing)
    while the triggers are there, so the sums are what is read; with the triggers gone the
    lines are read and the change does not show."""
    truth = leaves(ph, AS_OF), aged(ph, AS_OF)
    tamper(ph, table)
    changed = leaves(ph, AS_OF), aged(ph, AS_OF)
    assert changed[0] != truth[0]
    assert (changed[1] != truth[1]) == (table == "claim_sums")
    drop_triggers(ph)
    assert (leaves(ph, AS_OF), aged(ph, AS_OF)) == truth
