"""Full lifecycles across nodes (issue #6 items 2 and 6): every step is taken on the node of the
party that owns it, the events travel in bundles, and the books converge: the same orders with
the same content hash, the same claims and states, the same ledger sums. Two nodes (JP, PH)
and three (JP, PH, US), where US sees nothing of a PH-JP order. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from acsa.orders.models import Order
from acsa.sync.models import OutboxEvent
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    accept,
    assert_same_books,
    close,
    create,
    deliver,
    pay_all,
    receive,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template


def test_full_lifecycle_two_nodes_converges(cluster):
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    number = create(jp)  # JP requests
    r = jp.send(ph)
    assert r.applied == ["JP:1", "JP:2"] and not r.pending and not r.quarantined
    assert ph.order(number).state == "requested"
    accept(ph, number)
    deliver(ph, number)
    r = ph.send(jp)
    assert r.applied == ["PH:1", "PH:2"] and not r.quarantined
    assert jp.order(number).state == "delivered"
    receive(jp, number, received="9900")  # a short receipt: a discrepancy, billed as received
    pay_all(jp, number)
    r = jp.send(ph)
    assert len(r.applied) == 2 and not r.quarantined and not r.pending
    book = assert_same_books(jp, ph)
    state, _, _, content_hash, _ = book["orders"][number]
    assert state == "settled"
    assert content_hash == jp.order(number).content_hash
    assert book["claims"] and all(s == "settled" for s, _ in book["claims"].values())
    assert book["ledger"], "the settlement posted ledger lines on both nodes"
    # both books hold the lines of both parties, and they agree line for line in sum
    assert {k[0] for k in book["ledger"]} == {"JP", "PH"}
    # a closing step by either party, then back: still equal
    close(ph, number)
    ph.send(jp)
    assert jp.order(number).state == "closed"
    assert_same_books(jp, ph)
    # nothing left to send either way: the acknowledgements went through
    jp.send(ph)
    assert jp.export(ph)["count"] == 0
    assert ph.export(jp)["count"] == 0


def test_events_sent_only_to_the_order_parties_three_nodes(cluster):
    c = cluster(("JP", "PH", "US"))
    jp, ph, us = c["JP"], c["PH"], c["US"]
    # PH orders from US and from JP at once
    to_us = create(ph, supplier="US")
    to_jp = create(ph, supplier="JP")
    with ph.session() as s:
        by_subject = {r.event_id: r.subject for r in s.scalars(select(OutboxEvent))}
    jp_ids = sorted(i for i, subj in by_subject.items() if subj == to_jp)
    assert len(jp_ids) == 2
    b_us = ph.export(us)
    assert {e["subject"] for e in b_us["events"]} == {to_us}
    assert not set(jp_ids) & {e["id"] for e in b_us["events"]}
    b_jp = ph.export(jp)
    assert {e["subject"] for e in b_jp["events"]} == {to_jp}
    us.import_(b_us)
    jp.import_(b_jp)
    # each supplier takes its steps on its own node
    accept(us, to_us)
    deliver(us, to_us)
    accept(jp, to_jp)
    deliver(jp, to_jp)
    b = us.export(ph)
    assert {e["subject"] for e in b["events"]} == {to_us}
    ph.import_(b)
    b = jp.export(ph)
    assert {e["subject"] for e in b["events"]} == {to_jp}
    ph.import_(b)
    receive(ph, to_us)
    receive(ph, to_jp)
    pay_all(ph, to_us)
    pay_all(ph, to_jp)
    for partner, number, other in ((us, to_us, to_jp), (jp, to_jp, to_us)):
        b = ph.export(partner)
        assert b["events"] and {e["subject"] for e in b["events"]} == {number}
        r = partner.import_(b)
        assert not r.quarantined and not r.pending
        # the partner sends back its acknowledgement
        partner.send(ph)
        assert ph.export(partner)["count"] == 0
        with partner.session() as s:
            assert s.scalar(select(Order).where(Order.number == other)) is None, \
                f"{partner} holds an order it is not a party to"
    assert_same_books(ph, us, numbers=[to_us])
    assert_same_books(ph, jp, numbers=[to_jp])
    assert ph.order(to_us).state == ph.order(to_jp).state == "settled"
    # US never got a PH-JP event: nothing of to_jp is in its inbox
    assert not [e for e in us.inbox() if e in jp_ids]
    assert all(not e.startswith("JP:") for e in us.inbox())
