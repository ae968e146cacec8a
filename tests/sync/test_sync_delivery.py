"""How bundles travel (issue #6 item 2): importing is idempotent (the same events twice, or in
overlapping bundles, change nothing more), order-independent (an event whose predecessor has
not arrived waits as pending and is applied when it does), and acknowledged (a lost bundle is
sent again by the next export without --since). SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select

from acsa.sync import service as sync
from acsa.sync.models import InboxEvent
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    accept,
    assert_same_books,
    create,
    deliver,
    pay_all,
    receive,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template


def test_same_events_twice_change_nothing(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    first = jp.export(ph)
    again = jp.export(ph)  # nothing acknowledged yet: the same events in a new bundle
    assert [e["id"] for e in again["events"]] == [e["id"] for e in first["events"]]
    assert again["bundle_id"] != first["bundle_id"]
    r1 = ph.import_(first)
    assert len(r1.applied) == 2
    before = ph.counts()
    book = ph.book()
    r2 = ph.import_(again)
    assert r2.duplicates == 2 and r2.stored == 0 and not r2.applied and not r2.quarantined
    assert ph.book() == book
    after = ph.counts()
    assert {k: v for k, v in after.items() if k != "progress"} == \
        {k: v for k, v in before.items() if k != "progress"}
    assert ph.order(number).state == "requested"


def test_overlapping_bundles(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    a = create(jp)
    b1 = jp.export(ph)  # a's two events
    b = create(jp)
    b2 = jp.export(ph)  # a's and b's four events: overlaps b1
    assert len(b2["events"]) == 4
    r = ph.import_(b2)
    assert len(r.applied) == 4
    r = ph.import_(b1)
    assert r.duplicates == 2 and not r.applied and not r.stored
    assert ph.order(a).state == ph.order(b).state == "requested"
    assert_same_books(jp, ph)
    with ph.session() as s:
        assert s.query(InboxEvent).count() == 4


def test_out_of_order_waits_then_applies(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp, request=False)  # JP:1 created
    b1 = jp.export(ph)
    from tests.sync._nodes import D, f, orders

    with jp.session() as s:
        orders.request_order(s, number=number, by=f.official("JP", "requesting"), on=D)
    b2 = jp.export(ph, since=1)  # JP:2 requested, which builds on JP:1
    assert [e["id"] for e in b2["events"]] == ["JP:2"] and b2["events"][0]["deps"] == ["JP:1"]
    before = ph.counts()
    r = ph.import_(b2)
    assert r.pending == ["JP:2"] and not r.applied and not r.quarantined
    assert ph.counts()["orders"] == before["orders"]
    with ph.session() as s:
        st = sync.status(s)
        ev = s.get(InboxEvent, "JP:2")
        assert ev.status == "pending" and "JP:1" in ev.waiting_for
    assert st["pending"][0]["event"] == "JP:2" and "JP:1" in st["pending"][0]["waiting_for"]
    assert st["partners"][0]["received_up_to"] == 0
    assert st["partners"][0]["gaps"] == [[1, 2]]  # PH knows a bundle before it is missing
    r = ph.import_(b1)
    assert r.applied == ["JP:1", "JP:2"] and not r.pending
    assert ph.inbox() == {"JP:1": "applied", "JP:2": "applied"}
    assert ph.order(number).state == "requested"
    assert ph.progress("JP").received == 2 and json.loads(ph.progress("JP").ranges) == []
    assert_same_books(jp, ph)


def test_lost_bundle_is_sent_again(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    lost = jp.export(ph)  # never arrives
    assert lost["count"] == 2
    other = create(jp)
    b = jp.export(ph)  # no --since: everything PH has not acknowledged
    assert [e["id"] for e in b["events"]] == ["JP:1", "JP:2", "JP:3", "JP:4"]
    assert b["range"] == [0, 4]
    ph.import_(b)
    assert ph.progress("JP").received == 4
    # PH acknowledges in its next bundle, even one with no events
    ack = ph.export(jp)
    assert ack["count"] == 0 and ack["acks"] == {"JP": 4}
    jp.import_(ack)
    assert jp.progress("PH").acked == 4
    assert jp.export(ph)["count"] == 0
    with jp.session() as s:
        assert sync.status(s)["partners"][0]["not_acknowledged"] == 0
    # the next step goes alone
    accept(ph, number)
    b = ph.export(jp)
    assert [e["kind"] for e in b["events"]] == ["order.accepted"] and b["acks"] == {"JP": 4}
    jp.import_(b)
    assert jp.order(number).state == "accepted"
    assert jp.order(other).state == "requested"
    # --since sends again what was acknowledged, and it changes nothing
    r = ph.import_(jp.export(ph, since=0))
    assert r.duplicates == 4 and not r.applied
    assert_same_books(jp, ph)


def test_acknowledgement_waits_for_a_gap(cluster):
    """PH receives JP's later bundle but not the earlier one: it acknowledges only up to the
    gap, so JP's next export still carries what was lost."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    create(jp)
    jp.export(ph)  # lost
    create(jp)
    late = jp.export(ph, since=2)
    ph.import_(late)
    assert ph.progress("JP").received == 0
    assert ph.export(jp)["acks"] == {"JP": 0}
    jp.import_(ph.export(jp))
    again = jp.export(ph)
    assert [e["id"] for e in again["events"]] == ["JP:1", "JP:2", "JP:3", "JP:4"]
    r = ph.import_(again)
    assert r.applied == ["JP:1", "JP:2"] and r.duplicates == 2
    assert ph.progress("JP").received == 4
    assert_same_books(jp, ph)


def test_run_pending_applies_what_waits(cluster):
    """An event that waits is applied by `run_pending` (the same as any later import) once
    what it waits for is there."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    b1 = jp.export(ph)
    ph.import_(b1)
    accept(ph, number)
    deliver(ph, number)
    b = ph.export(jp)
    # deliver the delivery alone first: it waits for the acceptance
    only_delivery = dict(b, events=[e for e in b["events"] if e["kind"] == "order.delivered"])
    from tests.sync._nodes import seal

    only_delivery["range"] = [0, 0]
    r = jp.import_(seal(only_delivery, ph.signer()))
    assert r.pending == ["PH:2"]
    assert sync.run_pending(jp.engine).pending == ["PH:2"]
    r = jp.import_(b)
    assert r.applied == ["PH:1", "PH:2"] and r.duplicates == 1
    receive(jp, number)
    pay_all(jp, number)
    jp.send(ph)
    assert_same_books(jp, ph)
    with jp.session() as s:
        assert not list(s.scalars(select(InboxEvent).where(InboxEvent.status == "pending")))


def test_new_official_travels_and_an_event_waits_for_it(cluster):
    """PH appoints a new approving official, who accepts JP's order. The appointment goes to
    every partner (`*`); delivered after the acceptance, the acceptance waits for it."""
    import datetime as dt

    from acsa.money import Money
    from acsa.parties import service as parties
    from tests.sync._nodes import D, orders

    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    jp.send(ph)
    with ph.session() as s:
        parties.add_official(s, code="ph-approving-2", name="PH approving two", party="PH",
                             role="approving", valid_from=dt.date(2026, 1, 1),
                             limit=Money.of(50_000_000, "PHP"), unit="PN-NFSL")
    appointed = ph.export(jp)
    assert [(e["kind"], e["to"]) for e in appointed["events"]] == [("official.added", "*")]
    with ph.session() as s:
        orders.accept_order(s, number=number, by="ph-approving-2", on=D,
                            supplying_unit="PN-NFSL", supplier_poc="Lt Reyes")
    acceptance = ph.export(jp, since=appointed["range"][1])
    assert [e["kind"] for e in acceptance["events"]] == ["order.accepted"]
    r = jp.import_(acceptance)
    assert r.pending == ["PH:2"] and not r.applied
    with jp.session() as s:
        assert "ph-approving-2" in sync.status(s)["pending"][0]["waiting_for"]
    r = jp.import_(appointed)
    assert r.applied == ["PH:1", "PH:2"]
    assert jp.order(number).state == "accepted"
    assert_same_books(jp, ph)
    # a US node would get the appointment too (reference data is for every partner)
    assert [e["kind"] for e in ph.export("US")["events"]] == ["official.added"]
