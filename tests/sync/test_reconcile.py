"""Reconciliation (issue #6, item 5): two nodes' books for one agreement as of a date, compared
by hash summary first and leaf by leaf only where the month roots differ.

The PH and JP nodes are separate databases (two SQLite files, or two PostgreSQL databases, or
one of each) holding the same story, applied on each node through the same services; then
differences are planted in one of them and every one must be found and classified exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from acsa import errors
from acsa.agreements import service as agreements
from acsa.ledger import domain as books
from acsa.ledger import service as ledger
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim
from acsa.sync import keys
from acsa.sync import reconcile as rc
from tests import factories as f
from tests.sync._nodes import (  # noqa: F401
    PASS,
    Cluster,
    Node,
    cluster,
    sync_backend,
    world_template,
)

AS_OF = dt.date(2026, 12, 31)
D = dt.date


@pytest.fixture(autouse=True)
def _keys_locked() -> Iterator[None]:
    keys._UNLOCKED.clear()
    yield
    keys._UNLOCKED.clear()


def minor(shown: str) -> int:
    """'955,123.45 PHP' -> 95512345."""
    return int(Decimal(shown.split()[0].replace(",", "")) * 100)


def claim_of(s: Any, number: str) -> Claim:
    return settlement.claims_of(s, orders.get_order(s, number))[0]


def story(n: Node) -> dict[str, str]:
    """The same facts, applied on a node: JP's orders to PH under PHJP (and one of PH's to JP,
    returned in kind), in five months; paid, open, part-paid, requested only."""
    with n.session() as s:
        a = f.order_to(s, "received", on=D(2026, 5, 10)).number
        settlement.pay(s, claim_ref=claim_of(s, a).number, by=f.official("JP", "finance"),
                       on=D(2026, 5, 20), amount=Money.of("955000", "PHP"))
        b = f.order_to(s, "received", on=D(2026, 6, 10)).number
        c = f.order_to(s, "received", on=D(2026, 7, 10), requester="PH",
                       lines=[f.fuel_line(method="rik", currency="JPY", price="150")]).number
        d = f.order_to(s, "requested", on=D(2026, 8, 10)).number
        e = f.order_to(s, "received", on=D(2026, 8, 12)).number
        settlement.pay(s, claim_ref=claim_of(s, e).number, by=f.official("JP", "finance"),
                       on=D(2026, 9, 1), amount=Money.of("100000", "PHP"))
        return {"a": a, "b": b, "c": c, "d": d, "e": e,
                **{f"{k}_claim": claim_of(s, v).number
                   for k, v in (("a", a), ("b", b), ("c", c), ("e", e))}}


def fetcher(n: Node, pair: tuple[str, str] = ("PH", "JP"), calls: list[Any] | None = None,
            use_cache: bool = True) -> rc.Fetch:
    def fetch(months: list[str] | None) -> dict[str, Any]:
        if calls is not None:
            calls.append(months)
        with n.session() as s:
            rc.repeatable_read(s)
            return rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=pair,
                              months=months, use_cache=use_cache)
    return fetch


@pytest.fixture
def two(cluster: Callable[..., Cluster]) -> tuple[Node, Node, dict[str, str]]:  # noqa: F811
    c = cluster(("JP", "PH"))
    ph, jp = c["PH"], c["JP"]
    numbers = story(ph)
    assert story(jp) == numbers
    return ph, jp, numbers


# --- equal books ------------------------------------------------------------------------------
def test_equal_books_are_confirmed_by_the_roots_alone(two: tuple[Node, Node, dict[str, str]]
                                                      ) -> None:
    ph, jp, _ = two
    ours_calls: list[Any] = []
    their_calls: list[Any] = []
    report = rc.reconcile(fetcher(ph, calls=ours_calls), fetcher(jp, calls=their_calls))
    assert report.agrees
    assert their_calls == [None] and ours_calls == [None]  # no leaf was asked for
    assert report.leaves_requested == [] and report.months_differing == []
    assert report.our_root == report.their_root
    assert (report.matched_orders, report.orders) == (5, 5)
    assert (report.matched_claims, report.claims) == (4, 4)
    assert report.differences == [] and report.unresolved == []


def test_roots_only_summary_ships_no_leaf(two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, _, _ = two
    roots = fetcher(ph)(None)
    assert "leaves" not in roots
    assert sorted(roots["months"]) == ["2026-05", "2026-06", "2026-07", "2026-08"]
    assert roots["months"]["2026-08"]["orders"] == 2
    one = fetcher(ph)(["2026-06"])
    assert list(one["leaves"]) == ["2026-06"] and list(one["months"]) == ["2026-06"]
    assert one["months"]["2026-06"] == roots["months"]["2026-06"]
    # the leaves hash to the month's root
    assert rc.root_of_leaves(one["leaves"]["2026-06"]) == roots["months"]["2026-06"]["root"]


# --- planted differences ---------------------------------------------------------------------
def plant(ph: Node, jp: Node, numbers: dict[str, str]) -> str:
    """In PH's book: an extra ledger entry on order b, an extra payment on e's claim. In JP's
    book: order c disputed (a state), and an order PH's book does not have. Returns that
    order's number."""
    with ph.session() as s:
        order_b = orders.get_order(s, numbers["b"])
        ledger.post(s, agreement=agreements.get(s, "PHJP"), kind="adjustment",
                    posted_on=D(2026, 6, 15), memo="a correction only PH posted",
                    order_id=order_b.id,
                    postings=books.transfer("PH", "JP", books.receivable("cash"),
                                            books.PROVIDED, ("PHP", 12345)))
        settlement.pay(s, claim_ref=numbers["e_claim"], by=f.official("JP", "finance"),
                       on=D(2026, 9, 5), amount=Money.of("2500", "PHP"))
    with jp.session() as s:
        orders.dispute_order(s, number=numbers["c"], by=f.official("JP", "approving"),
                             on=D(2026, 7, 20), reason="short delivery")
        only_theirs = f.order_to(s, "received", on=D(2026, 9, 10)).number
    return only_theirs


def test_every_planted_difference_is_found_and_classified(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, jp, numbers = two
    extra = plant(ph, jp, numbers)
    with jp.session() as s:
        extra_claim = claim_of(s, extra).number
    their_calls: list[Any] = []
    report = rc.reconcile(fetcher(ph), fetcher(jp, calls=their_calls))
    assert not report.agrees
    assert report.items() == {
        ("order", numbers["b"]): {"amount"},  # the extra entry
        ("order", numbers["e"]): {"amount"},  # the extra payment, in the books...
        ("claim", numbers["e_claim"]): {"amount"},  # ... and in what is outstanding
        ("order", numbers["c"]): {"state"},
        ("order", extra): {"only_theirs"},
        ("claim", extra_claim): {"only_theirs"},
    }
    # only the differing months were asked for, once, after the roots
    assert report.months_differing == ["2026-06", "2026-07", "2026-08", "2026-09"]
    assert their_calls == [None, ["2026-06", "2026-07", "2026-08", "2026-09"]]
    assert report.leaves_requested == report.months_differing
    # the differing values are shown
    by = {(d.number, d.field): d for d in report.differences}
    state = by[(numbers["c"], "state")]
    assert (state.ours, state.theirs, state.month) == ("received", "disputed", "2026-07")
    adj = by[(numbers["b"], "PH assets:receivable:cash")]
    assert adj.kind == "amount" and adj.ours.endswith(" PHP") and adj.theirs.endswith(" PHP")
    assert minor(adj.ours) - minor(adj.theirs) == 12345
    assert by[(numbers["b"], "PH income:support-provided")].kind == "amount"
    out = by[(numbers["e_claim"], "outstanding")]
    assert minor(out.theirs) - minor(out.ours) == 250000
    paid = {d.field for d in report.differences if d.number == numbers["e"]}
    assert "PH assets:cash" in paid and "JP liabilities:payable:cash" in paid
    only = by[(extra, "")]
    assert (only.ours, only.theirs, only.month) == ("-", "received", "2026-09")
    # the rest matched: a (May) by its month's root, d in August leaf by leaf
    assert report.matched_orders == 2 and report.orders == 6
    assert report.matched_claims == 3 and report.claims == 5  # a, b and c's claims
    # and seen from JP's side, the same differences mirrored
    mirror = rc.reconcile(fetcher(jp), fetcher(ph))
    flip = {"only_theirs": "only_ours"}
    assert mirror.items() == {k: {flip.get(x, x) for x in v} for k, v in report.items().items()}


def test_a_changed_claim_and_order_state_written_in_place(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    """Rows changed behind the services' back: a claim's amount and state, an order's state
    (what the summary reads fresh every time, never from its cache)."""
    ph, jp, numbers = two
    fetcher(ph)(None)  # fill the cache first
    with ph.session() as s:
        s.execute(update(Claim).where(Claim.number == numbers["b_claim"])
                  .values(amount_minor=Claim.amount_minor + 1, state="settled"))
        s.execute(update(Order).where(Order.number == numbers["d"]).values(state="cancelled"))
    report = rc.reconcile(fetcher(ph), fetcher(jp))
    assert report.items() == {("claim", numbers["b_claim"]): {"amount", "state"},
                              ("order", numbers["d"]): {"state"}}


def test_a_missing_order_is_only_ours(two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, jp, numbers = two
    with ph.session() as s:
        extra = f.order_to(s, "requested", on=D(2026, 5, 28)).number
    report = rc.reconcile(fetcher(ph), fetcher(jp))
    assert report.items() == {("order", extra): {"only_ours"}}
    assert report.months_differing == ["2026-05"]


def test_as_of_leaves_out_what_came_later(two: tuple[Node, Node, dict[str, str]]) -> None:
    """As of 31 August the extra payment of 5 September is not in the books yet: agree."""
    ph, jp, numbers = two
    plant(ph, jp, numbers)

    def at(n: Node, day: dt.date) -> rc.Fetch:
        def fetch(months: list[str] | None) -> dict[str, Any]:
            with n.session() as s:
                return rc.summary(s, agreement="PHJP", as_of=day, party_pair=("PH", "JP"),
                                  months=months)
        return fetch
    report = rc.reconcile(at(ph, D(2026, 5, 31)), at(jp, D(2026, 5, 31)))
    assert report.agrees and report.matched_orders == 1


# --- the cache is the recomputation -----------------------------------------------------------
def buckets_in(summary: dict[str, Any]) -> int:
    return sum(len(e["buckets"]) for e in summary["months"].values())


def test_the_cache_always_equals_the_recomputation(two: tuple[Node, Node, dict[str, str]]
                                                   ) -> None:
    ph, jp, numbers = two

    def both() -> tuple[dict[str, Any], dict[str, Any], str]:
        with ph.session() as s:
            rc.repeatable_read(s)
            book = rc.compute(s, agreement="PHJP", as_of=AS_OF, party_pair=("JP", "PH"))
            cached = book.summary()
        with ph.session() as s:
            fresh = rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("JP", "PH"),
                               use_cache=False)
        return cached, fresh, book.cache

    cached, fresh, how = both()
    assert cached == fresh and how == "miss"
    n = buckets_in(fresh)
    cached, fresh, how = both()
    assert cached == fresh and how == f"hit: 0 of {n} buckets recomputed"
    plant(ph, jp, numbers)  # new lines on b (June) and e (August)
    cached, fresh, how = both()
    assert cached == fresh and how == f"hit: 2 of {n} buckets recomputed"
    with ph.session() as s:  # an order moves to another month, behind the services' back
        s.execute(update(Order).where(Order.number == numbers["a"])
                  .values(order_on=D(2026, 7, 1)))
    cached, fresh, how = both()  # where it was (May, now gone) and where it is (July)
    assert cached == fresh and how == f"hit: 2 of {buckets_in(fresh)} buckets recomputed"
    assert "2026-05" not in cached["months"]
    with ph.session() as s:  # a cache that does not match the ledger is not used
        s.execute(text("UPDATE node_settings SET value = replace(value, :a, :b) "
                       "WHERE key LIKE :k"), {"a": '"n":', "b": '"n":1', "k": "reconcile:PHJP%"})
    cached, fresh, how = both()
    assert cached == fresh and how == "miss"


# --- the exchanged form is signed ------------------------------------------------------------
def _signed(n: Node, to: str, months: list[str] | None = None) -> dict[str, Any]:
    with n.session() as s:
        doc = rc.export_summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                                months=months)
        return rc.sign(s, {**doc, "to": to}, PASS)


def test_a_signed_summary_verifies_and_a_tampered_one_is_refused(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, jp, numbers = two
    doc = json.loads(json.dumps(_signed(jp, "PH")))  # as read back from a file
    with ph.session() as s:
        body = rc.verify(s, doc, party="JP", agreement="PHJP", to="PH")
    report = rc.reconcile(fetcher(ph), lambda months: body)
    assert report.agrees

    tampered = json.loads(json.dumps(doc))
    tampered["leaves"]["2026-06"]["orders"][numbers["b"]]["state"] = "closed"
    with ph.session() as s, pytest.raises(errors.SignatureInvalid):
        rc.verify(s, tampered, party="JP", agreement="PHJP", to="PH")
    tampered = {**doc, "root": "0" * 64}
    with ph.session() as s, pytest.raises(errors.SignatureInvalid):
        rc.verify(s, tampered, party="JP", agreement="PHJP", to="PH")
    with ph.session() as s, pytest.raises(errors.NotOwner):  # claims to be someone else's
        rc.verify(s, doc, party="US", agreement="PHJP", to="PH")
    with ph.session() as s, pytest.raises(errors.BundleNotForUs):
        rc.verify(s, doc, party="JP", agreement="PHJP", to="US")
    own = _signed(ph, "PH")  # signed by our own key, not the partner's
    with ph.session() as s, pytest.raises(errors.AcsaError):
        rc.verify(s, {**own, "party": "JP"}, party="JP", agreement="PHJP", to="PH")


def test_leaves_that_do_not_hash_to_their_root_are_refused(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    """A summary whose leaves were changed and re-signed by the partner itself: inconsistent,
    refused by the comparison rather than reported as differences."""
    ph, jp, numbers = two
    doc = _signed(jp, "PH")
    doc["leaves"]["2026-06"]["orders"][numbers["b"]]["state"] = "closed"
    ours = fetcher(ph)(None)
    bad = {**doc, "root": "x"}  # roots differ, so the leaves are looked at
    with pytest.raises(errors.IntegrityError):
        rc.compare(ours, bad)


def test_a_file_with_roots_only_leaves_differing_months_unresolved(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, jp, numbers = two
    plant(ph, jp, numbers)
    with jp.session() as s:
        roots = rc.export_summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                                  roots_only=True)
    report = rc.reconcile(fetcher(ph), lambda months: roots)
    assert not report.agrees
    assert report.unresolved == ["2026-06", "2026-07", "2026-08", "2026-09"]
    assert report.differences == []


def test_the_pair_must_be_the_agreements(two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, _, _ = two
    with ph.session() as s, pytest.raises(errors.InvalidInput):
        rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "US"))
    with ph.session() as s, pytest.raises(errors.InvalidInput):
        rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                   months=["2026-13"])


# --- one node on PostgreSQL, the other on SQLite ----------------------------------------------
@pytest.mark.postgres
def test_a_postgresql_node_against_a_sqlite_node(world_template: Callable[..., str],  # noqa: F811
                                                 tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    pg = Cluster("postgres", world_template("postgres", request), tmp_path)
    lite = Cluster("sqlite", world_template("sqlite"), tmp_path)
    try:
        ph = pg.add("PH", ("JP",))
        jp = lite.add("JP", ("PH",))
        numbers = story(ph)
        assert story(jp) == numbers
        their_calls: list[Any] = []
        report = rc.reconcile(fetcher(ph), fetcher(jp, calls=their_calls))
        assert report.agrees and their_calls == [None]
        extra = plant(ph, jp, numbers)
        with jp.session() as s:
            extra_claim = claim_of(s, extra).number
        report = rc.reconcile(fetcher(ph), fetcher(jp))
        assert report.items() == {
            ("order", numbers["b"]): {"amount"}, ("order", numbers["e"]): {"amount"},
            ("claim", numbers["e_claim"]): {"amount"}, ("order", numbers["c"]): {"state"},
            ("order", extra): {"only_theirs"}, ("claim", extra_claim): {"only_theirs"}}
    finally:
        pg.close()
        lite.close()


# --- the third level: buckets within a month ---------------------------------------------------
def test_buckets_find_exactly_the_planted_differences(
        two: tuple[Node, Node, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking only for the differing buckets of each month (never the whole month) gives the
    same report, difference for difference and count for count, as asking for whole months."""
    ph, jp, numbers = two
    plant(ph, jp, numbers)
    whole = rc.reconcile(fetcher(ph), fetcher(jp))
    assert all("/" not in k for k in whole.requested)
    monkeypatch.setattr(rc, "WHOLE_MONTH", 2.0)  # never the whole month if both have it
    ours_calls: list[Any] = []
    their_calls: list[Any] = []
    parts = rc.reconcile(fetcher(ph, calls=ours_calls), fetcher(jp, calls=their_calls))
    asked = their_calls[1]
    assert their_calls == [None, asked] and ours_calls == [None, asked]
    assert any("/" in k for k in asked)
    assert "2026-09" in asked  # a month PH lacks is asked whole
    assert all(k[:7] in whole.months_differing for k in asked)
    a, b = fetcher(ph)(None), fetcher(jp)(None)
    for k in asked:
        if "/" in k:
            assert k[8:] in rc.differing_buckets(a, b, k[:7])
    assert [d.to_dict() for d in parts.differences] == [d.to_dict() for d in whole.differences]
    for name in ("orders", "claims", "matched_orders", "matched_claims", "months_differing",
                 "unresolved", "leaves_requested", "our_root", "their_root"):
        assert getattr(parts, name) == getattr(whole, name), name
    # each bucket's leaves hash to its root, and only hold that bucket's orders and claims
    doc = fetcher(jp)(asked)
    for k, leaves in doc["leaves"].items():
        if "/" in k:
            assert all(rc.bucket_of(n) == k[8:] for n in leaves["orders"])
            assert rc.bucket_roots_of_leaves(leaves)[k[8:]][0] == \
                doc["months"][k[:7]]["buckets"][k[8:]]["root"]


def test_bucket_roots_hash_to_the_month_and_are_checked(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    ph, jp, numbers = two
    roots = fetcher(ph)(None)
    for m, entry in roots["months"].items():
        whole = fetcher(ph)([m])
        assert rc.bucket_roots_of_leaves(whole["leaves"][m]) == {
            b: (e["root"], e["orders"], e["claims"]) for b, e in entry["buckets"].items()}
        assert sum(e["orders"] for e in entry["buckets"].values()) == entry["orders"]
    bad = json.loads(json.dumps(roots))
    b = next(iter(bad["months"]["2026-08"]["buckets"]))
    bad["months"]["2026-08"]["buckets"][b]["root"] = "0" * 64
    with pytest.raises(errors.IntegrityError):
        rc.check_leaves(bad, "their")
    # a bucket's leaves that were changed do not hash to its root
    key = f"2026-06/{rc.bucket_of(numbers['b'])}"
    part = fetcher(jp)([key])
    part["leaves"][key]["orders"][numbers["b"]]["state"] = "closed"
    with pytest.raises(errors.IntegrityError):
        rc.check_leaves(part, "their")
    with ph.session() as s, pytest.raises(errors.InvalidInput):
        rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                   months=["2026-06/zz"])
    with ph.session() as s, pytest.raises(errors.InvalidInput):
        rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                   months=[f"2026-06/{rc.BUCKETS:02x}"])


def test_cached_bucket_digests_equal_the_recomputation(
        two: tuple[Node, Node, dict[str, str]]) -> None:
    """Only the buckets new lines touched are recomputed, through the indexes, and every
    answer (roots, and the leaves of months and buckets) equals the one computed from every
    line without the cache."""
    ph, jp, numbers = two

    def both(keys: list[str] | None) -> tuple[dict[str, Any], dict[str, Any], str]:
        with ph.session() as s:
            rc.repeatable_read(s)
            book = rc.compute(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                              months=keys)
            cached = book.summary(keys)
        with ph.session() as s:
            fresh = rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                               months=keys, use_cache=False)
        return cached, fresh, book.cache

    assert both(None)[2] == "miss"
    n = buckets_in(both(None)[1])
    plant(ph, jp, numbers)  # new lines on orders b (June) and e (August)
    keys = ["2026-05", f"2026-06/{rc.bucket_of(numbers['b'])}",
            f"2026-08/{rc.bucket_of(numbers['d'])}"]
    cached, fresh, how = both(keys)
    assert cached == fresh and how.startswith("hit")
    assert set(cached["leaves"]) == set(keys) and cached["leaves"]["2026-05"]["orders"]
    cached, fresh, how = both(None)
    assert cached == fresh and how == f"hit: 2 of {n} buckets recomputed"
    cached, fresh, how = both(None)
    assert cached == fresh and how == f"hit: 0 of {n} buckets recomputed"
    with ph.session() as s:  # the sums by order equal those of one aggregation of the lines
        w = int(s.execute(text("SELECT max(id) FROM ledger_lines")).scalar_one())
        every = rc._amounts(s, "PHJP", AS_OF, w, None)

        def by_order(**which: Any) -> dict[int, str]:
            rows = rc._orders(s, "PHJP", AS_OF.isoformat(), ["JP", "PH"], sums_upto=w, **which)
            return {r[0]: rc._canonical(r[4], rc._pg(s)) for r in rows if r[4]}
        assert by_order() == by_order(ids=list(every)[:2]) | by_order(ids=list(every)[2:])
        assert by_order() == every and len(every) == 4  # d (requested) has no lines
        assert all(t and "\x1f0\x1e" not in t + "\x1e" for t in every.values())  # no zero sum
