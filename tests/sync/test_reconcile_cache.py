"""Reconciliation's cache and the change log behind it (migration 0012), on SQLite and
PostgreSQL: the triggers log every order whose leaf may have changed, whoever writes and only
if the change commits; a cached summary recomputes exactly the buckets of what changed (or of
another date's differences), and whatever it answers equals the summary computed from every
row; anything it cannot vouch for (a pruned or late row, missing triggers, a TRUNCATE) makes it
compute everything.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text, update

from acsa.db import migrate
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim
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
from tests.sync.test_reconcile import AS_OF, buckets_in, claim_of, fetcher, plant, story

D = dt.date
Two = tuple[Node, Node, dict[str, str]]


@pytest.fixture(autouse=True)
def _keys_locked() -> Iterator[None]:
    keys._UNLOCKED.clear()
    yield
    keys._UNLOCKED.clear()


@pytest.fixture
def two(cluster: Callable[..., Cluster]) -> Two:  # noqa: F811
    """PH's and JP's nodes holding the same story (tests.sync.test_reconcile.story)."""
    c = cluster(("JP", "PH"))
    numbers = story(c["PH"])
    assert story(c["JP"]) == numbers
    return c["PH"], c["JP"], numbers


def book(n: Node, as_of: dt.date = AS_OF, months: list[str] | None = None,
         use_cache: bool = True) -> tuple[rc.Book, dict[str, Any]]:
    """Our book through the cache, and its summary (roots, or the leaves of `months`)."""
    with n.session() as s:
        rc.repeatable_read(s)
        b = rc.compute(s, agreement="PHJP", as_of=as_of, party_pair=("PH", "JP"),
                       months=months, use_cache=use_cache)
        return b, b.summary(months)


def fresh(n: Node, as_of: dt.date = AS_OF, months: list[str] | None = None) -> dict[str, Any]:
    with n.session() as s:
        return rc.summary(s, agreement="PHJP", as_of=as_of, party_pair=("PH", "JP"),
                          months=months, use_cache=False)


def position(n: Node) -> int:
    with n.session() as s:
        return int(s.execute(text("SELECT coalesce(max(id), 0) FROM reconcile_changes"))
                   .scalar_one())


def logged(n: Node, since: int) -> list[int]:
    with n.session() as s:
        return [int(r[0]) for r in s.execute(text(
            "SELECT order_id FROM reconcile_changes WHERE id > :p ORDER BY id"), {"p": since})]


def ids_of(n: Node, numbers: dict[str, str]) -> dict[str, int]:
    with n.session() as s:
        return {k: orders.get_order(s, numbers[k]).id for k in "abcde"}


def sql(n: Node, statement: str, **params: Any) -> None:
    with n.session() as s:
        s.execute(text(statement), params)


# --- the log ----------------------------------------------------------------------------------
def test_the_triggers_log_what_a_leaf_reads_and_nothing_else(two: Two) -> None:
    ph, _, numbers = two
    ids = ids_of(ph, numbers)
    p = position(ph)
    with ph.session() as s:  # columns no leaf reads
        s.execute(update(Order).where(Order.id == ids["a"])
                  .values(notes="a note", delivery_place="Pier 9", overdue=True))
        s.execute(update(Claim).where(Claim.number == numbers["b_claim"])
                  .values(overdue=True, item="renamed"))
    assert logged(ph, p) == []
    with ph.session() as s:
        s.execute(update(Order).where(Order.id == ids["a"]).values(state="closed"))
    assert logged(ph, p) == [ids["a"]]
    p = position(ph)
    with ph.session() as s:
        s.execute(update(Claim).where(Claim.number == numbers["b_claim"])
                  .values(amount_minor=Claim.amount_minor + 1))
    assert logged(ph, p) == [ids["b"]]
    p = position(ph)
    with ph.session() as s:  # a claim moved to another order: both orders
        s.execute(update(Claim).where(Claim.number == numbers["b_claim"])
                  .values(order_id=ids["d"]))
    assert sorted(logged(ph, p)) == sorted([ids["b"], ids["d"]])
    p = position(ph)
    with ph.session() as s:  # the services: a new order, then its transitions
        new = f.order_to(s, "requested", on=D(2026, 10, 1)).id
    assert set(logged(ph, p)) == {new}
    p = position(ph)
    sql(ph, "DELETE FROM order_lines WHERE order_id = :o", o=new)
    sql(ph, "DELETE FROM orders WHERE id = :o", o=new)
    assert logged(ph, p) == [new]


def test_a_rolled_back_change_leaves_no_row_and_the_cache_holds(two: Two) -> None:
    ph, _, numbers = two
    ids = ids_of(ph, numbers)
    book(ph)
    p = position(ph)
    with pytest.raises(RuntimeError), ph.session() as s:
        s.execute(update(Order).where(Order.id == ids["d"]).values(state="cancelled"))
        s.execute(update(Claim).where(Claim.number == numbers["b_claim"])
                  .values(state="settled"))
        inside = s.execute(text("SELECT order_id FROM reconcile_changes WHERE id > :p"),
                           {"p": p}).scalars().all()
        assert sorted(inside) == sorted([ids["d"], ids["b"]])  # written with the change...
        raise RuntimeError("the command fails")
    assert logged(ph, p) == []  # ... and gone with it
    b, roots = book(ph)
    assert b.cache == f"hit: 0 of {buckets_in(roots)} buckets recomputed"
    assert roots == fresh(ph)


# --- the cache recomputes what changed, and only that ----------------------------------------
def test_only_the_buckets_of_what_changed_are_recomputed(two: Two) -> None:
    ph, _, numbers = two
    b, roots = book(ph)
    n = buckets_in(roots)
    assert b.cache == "miss" and book(ph)[0].cache == f"hit: 0 of {n} buckets recomputed"
    with ph.session() as s:  # a state, behind the services' back: d's bucket
        s.execute(update(Order).where(Order.number == numbers["d"]).values(state="cancelled"))
    b, roots = book(ph)
    assert b.cache == f"hit: 1 of {n} buckets recomputed" and roots == fresh(ph)
    with ph.session() as s:  # a payment through the services (new ledger lines): e's bucket
        settlement.pay(s, claim_ref=numbers["e_claim"], by=f.official("JP", "finance"),
                       on=D(2026, 9, 5), amount=Money.of("2500", "PHP"))
    b, roots = book(ph)
    assert b.cache == f"hit: 1 of {n} buckets recomputed" and roots == fresh(ph)
    with ph.session() as s:  # a new number: the bucket it left and the one it is in now
        s.execute(update(Order).where(Order.number == numbers["c"])
                  .values(number=numbers["c"] + "-R"))
    b, roots = book(ph)
    moved = rc.bucket_of(numbers["c"]) != rc.bucket_of(numbers["c"] + "-R")
    assert b.cache == f"hit: {1 + moved} of {buckets_in(roots)} buckets recomputed"
    assert roots == fresh(ph)
    # the leaves of a month and of a bucket, through the cache, equal the computed ones
    keys = ["2026-07", f"2026-08/{rc.bucket_of(numbers['e'])}"]
    b, leaves = book(ph, months=keys)
    assert b.cache.startswith("hit") and leaves == fresh(ph, months=keys)
    assert numbers["c"] + "-R" in leaves["leaves"]["2026-07"]["orders"]


def test_a_warm_reconciliation_finds_what_a_cold_one_finds(two: Two) -> None:
    """Both caches filled, then changes on both sides through the services and behind their
    back: the warm report is the cold one, difference for difference."""
    ph, jp, numbers = two
    for n in (ph, jp):
        book(n)
    only_theirs = plant(ph, jp, numbers)
    ids = ids_of(jp, numbers)
    with jp.session() as s:
        s.execute(update(Claim).where(Claim.number == numbers["a_claim"])
                  .values(amount_minor=Claim.amount_minor + 7))
        s.execute(update(Order).where(Order.id == ids["d"]).values(number=numbers["d"] + "-Z"))
        extra = f.order_to(s, "requested", on=D(2026, 6, 2)).id
    sql(jp, "DELETE FROM order_lines WHERE order_id = :o", o=extra)
    sql(jp, "DELETE FROM orders WHERE id = :o", o=extra)  # made and gone: no difference
    with jp.session() as s:
        extra_claim = claim_of(s, only_theirs).number
    warm = rc.reconcile(fetcher(ph), fetcher(jp))
    cold = rc.reconcile(fetcher(ph, use_cache=False), fetcher(jp, use_cache=False))
    assert [d.to_dict() for d in warm.differences] == [d.to_dict() for d in cold.differences]
    for name in ("orders", "claims", "matched_orders", "matched_claims", "months_differing",
                 "our_root", "their_root", "requested"):
        assert getattr(warm, name) == getattr(cold, name), name
    assert warm.items() == {
        ("order", numbers["b"]): {"amount"}, ("order", numbers["e"]): {"amount"},
        ("claim", numbers["e_claim"]): {"amount"}, ("order", numbers["c"]): {"state"},
        ("order", only_theirs): {"only_theirs"}, ("claim", extra_claim): {"only_theirs"},
        ("claim", numbers["a_claim"]): {"amount"},
        ("order", numbers["d"]): {"only_ours"}, ("order", numbers["d"] + "-Z"): {"only_theirs"}}


def test_another_date_starts_from_the_nearest_cached_one(two: Two) -> None:
    """A node reconciling as of today finds yesterday's summary: only the orders dated,
    claimed or posted in between are recomputed, either way in time."""
    ph, jp, numbers = two
    plant(ph, jp, numbers)  # among others, a payment of 5 September on e's claim
    b, roots = book(ph, as_of=D(2026, 8, 31))
    assert b.cache == "miss" and roots == fresh(ph, as_of=D(2026, 8, 31))
    b, roots = book(ph, as_of=D(2026, 9, 30))  # e's new lines (September)
    assert b.cache == f"hit (from 2026-08-31): 1 of {buckets_in(roots)} buckets recomputed"
    assert roots == fresh(ph, as_of=D(2026, 9, 30))
    b, roots = book(ph, as_of=D(2026, 9, 30))
    assert b.cache == f"hit: 0 of {buckets_in(roots)} buckets recomputed"
    for day in (D(2026, 6, 1), D(2026, 12, 31), D(2026, 5, 9)):  # back, forward, before all
        b, roots = book(ph, as_of=day)
        assert b.cache.startswith("hit (from ") and roots == fresh(ph, as_of=day), day
    assert book(ph, as_of=D(2026, 5, 9))[1]["months"] == {}


# --- what the cache cannot vouch for ----------------------------------------------------------
def test_pruned_rows_are_counted_and_a_late_row_is_caught(two: Two) -> None:
    ph, _, numbers = two
    ids = ids_of(ph, numbers)
    b, roots = book(ph)
    n = buckets_in(roots)
    assert logged(ph, 0) == []  # every cached summary covers them: deleted
    with ph.session() as s:
        s.execute(update(Order).where(Order.id == ids["d"]).values(state="cancelled"))
    assert book(ph)[0].cache == f"hit: 1 of {n} buckets recomputed"
    assert logged(ph, 0) == []
    assert book(ph)[0].cache == f"hit: 0 of {n} buckets recomputed"
    # a row below the cached position, as a PostgreSQL transaction that took its id before
    # the summary and committed after it would leave
    sql(ph, "INSERT INTO reconcile_changes (id, order_id) VALUES (1, :o)", o=ids["b"])
    with ph.session() as s:
        s.execute(update(Order).where(Order.id == ids["b"]).values(state="cancelled"))
    sql(ph, "DELETE FROM reconcile_changes WHERE id > 1")  # as if it were its only trace
    b, roots = book(ph)
    assert b.cache == "miss" and roots == fresh(ph)
    assert roots["months"]["2026-06"] == fresh(ph)["months"]["2026-06"]


def test_a_truncate_computes_everything(two: Two) -> None:
    ph, _, _ = two
    book(ph)
    sql(ph, "INSERT INTO reconcile_changes (order_id) VALUES (-1)")  # what TRUNCATE logs
    assert book(ph)[0].cache == "miss"


def test_without_the_triggers_nothing_is_taken_from_the_cache(two: Two,
                                                              sync_backend: str) -> None:  # noqa: F811
    ph, jp, numbers = two
    book(ph)
    if sync_backend == "postgres":
        sql(ph, "ALTER TABLE claims DISABLE TRIGGER reconcile_claims_au")
    else:
        sql(ph, "DROP TRIGGER reconcile_claims_au")
    with ph.session() as s:
        s.execute(update(Claim).where(Claim.number == numbers["b_claim"])
                  .values(amount_minor=Claim.amount_minor + 1))
    b, roots = book(ph)
    assert b.cache == "off" and roots == fresh(ph)
    assert rc.reconcile(fetcher(ph), fetcher(jp)).items() == {
        ("claim", numbers["b_claim"]): {"amount"}}
    with ph.session() as s:  # and what was cached is gone: never trusted again
        assert not s.execute(text("SELECT key FROM node_settings WHERE key LIKE 'reconcile:%'")
                             ).all()


def test_migrating_down_and_up_drops_the_cached_summaries(two: Two) -> None:
    """What changes while the triggers are gone is logged nowhere: no summary cached before
    may be used after."""
    ph, _, numbers = two
    book(ph)
    migrate.downgrade(ph.engine, "0011")
    with ph.session() as s:
        s.execute(update(Order).where(Order.number == numbers["d"]).values(state="cancelled"))
        assert not s.execute(text("SELECT key FROM node_settings WHERE key LIKE 'reconcile:%'")
                             ).all()
    migrate.upgrade(ph.engine)
    b, roots = book(ph)
    assert b.cache == "miss" and roots == fresh(ph)


def test_equal_books_with_nothing_changed_read_no_order_claim_or_line(
        two: Two, monkeypatch: pytest.MonkeyPatch) -> None:
    """The roots come from the cache: the statements a warm summary sends (through SQLAlchemy,
    and through the raw driver cursor of `reconcile._raw`) touch no order, claim or ledger
    entry, and of the ledger lines only the head."""
    ph, jp, _ = two
    book(ph)
    sent: list[str] = []
    raw = rc._raw

    def recorded(session: Any, sql_: str, params: Any, **kw: Any) -> Any:
        sent.append(sql_)
        return raw(session, sql_, params, **kw)

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    monkeypatch.setattr(rc, "_raw", recorded)
    with ph.session() as s:
        rc.repeatable_read(s)
        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            b = rc.compute(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert b.cache.startswith("hit: 0 of")
    assert sent, "no statement was recorded: the test would prove nothing"
    text_ = "\n".join(sent).lower()
    read = re.findall(r"\b(?:from|join)\s+(\w+)", text_)
    assert read, text_
    for table in ("orders", "claims", "ledger_entries", "order_lines"):
        assert table not in read, table
    lines = [x for x in sent if "ledger_lines" in x]
    assert sorted(lines) == ["SELECT coalesce(max(id), 0) FROM ledger_lines",
                             "SELECT count(*) FROM ledger_lines"]
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees
