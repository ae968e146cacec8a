"""Conflicts (issue #6 item 4): the two parties act at once on the same order, each on its own
node, and the bundles cross. Whatever the order of arrival, both nodes reach the same state,
decided by the same rule (goods or money moved beat a cancellation, which beats any other
step; then the earlier signing time), the order is put in dispute for the two sides to settle,
and the losing event is kept (`superseded`) and listed. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from acsa.sync import service as sync
from acsa.sync.models import Conflict, InboxEvent, OutboxEvent
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    Node,
    accept,
    assert_same_books,
    cancel,
    create,
    deliver,
    dispute,
    pay_all,
    receive,
    resolve,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template

Step = Callable[[Node, str], None]


def last_event(n: Node) -> str:
    with n.session() as s:
        return s.scalar(select(OutboxEvent.event_id).order_by(OutboxEvent.seq.desc()).limit(1))


def cross(jp: Node, ph: Node, number: str, jp_step: Step, ph_step: Step, *,
          first: str) -> tuple[str, str]:
    """JP and PH each take a step on `number` before seeing the other's; then the bundles
    cross, `first` arriving first. Returns the two events' ids (JP's, PH's)."""
    jp_step(jp, number)
    jp_id = last_event(jp)
    ph_step(ph, number)
    ph_id = last_event(ph)
    to_ph, to_jp = jp.export(ph), ph.export(jp)
    if first == "JP":
        ph.import_(to_ph)
        jp.import_(to_jp)
    else:
        jp.import_(to_jp)
        ph.import_(to_ph)
    # a second round: each side's acknowledgement and anything it authored since
    ph.import_(jp.export(ph))
    jp.import_(ph.export(jp))
    return jp_id, ph_id


def accepted_order(jp: Node, ph: Node) -> str:
    number = create(jp)
    jp.send(ph)
    accept(ph, number)
    ph.send(jp)
    return number


def requested_order(jp: Node, ph: Node) -> str:
    number = create(jp)
    jp.send(ph)
    return number


def conflict_rows(n: Node) -> list[tuple[str, str, str]]:
    with n.session() as s:
        return [(c.subject, c.winner, c.loser) for c in s.scalars(select(Conflict))]


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_cancel_versus_delivery(cluster, first):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = accepted_order(jp, ph)
    jp_id, ph_id = cross(jp, ph, number, cancel, deliver, first=first)
    book = assert_same_books(jp, ph)
    state, _, reason, _, _ = book["orders"][number]
    assert state == "disputed"
    for n in (jp, ph):
        assert n.order(number).state_before_dispute == "delivered", "the delivery stands"
    assert jp_id in reason and ph_id in reason and "goods or money moved" in reason
    for n in (jp, ph):
        assert conflict_rows(n) == [(number, ph_id, jp_id)]
        with n.session() as s:
            listed = sync.conflicts(s)
        assert listed[0]["winner"] == ph_id and listed[0]["loser"] == jp_id
    # the losing cancellation is kept on PH, not applied
    with ph.session() as s:
        ev = s.get(InboxEvent, jp_id)
        assert ev is not None and ev.status == "superseded" and ev.waiting_for
    # JP's local cancellation was undone: its book holds the delivery
    assert jp.order(number).cancel_reason in (None, "")
    # the two sides settle the dispute, and the order carries on to the end on both nodes
    resolve(ph, number)
    ph.send(jp)
    assert jp.order(number).state == "delivered"
    receive(jp, number)
    pay_all(jp, number)
    jp.send(ph)
    ph.send(jp)
    book = assert_same_books(jp, ph)
    assert book["orders"][number][0] == "settled"
    assert book["ledger"]


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_cancel_versus_acceptance(cluster, first):
    """A cancellation outranks an acceptance: the order ends cancelled (in dispute) on both."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = requested_order(jp, ph)
    jp_id, ph_id = cross(jp, ph, number, cancel, accept, first=first)
    book = assert_same_books(jp, ph)
    state, cancel_reason, _, _, _ = book["orders"][number]
    assert (state, cancel_reason) == ("disputed", "not needed")
    for n in (jp, ph):
        assert n.order(number).state_before_dispute == "cancelled"
    for n in (jp, ph):
        assert conflict_rows(n) == [(number, jp_id, ph_id)]
    with jp.session() as s:
        assert s.get(InboxEvent, ph_id).status == "superseded"


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_dispute_versus_acceptance(cluster, first):
    """Two steps of the same rank: the earlier signed one stands, the same on both nodes."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = requested_order(jp, ph)
    jp_id, ph_id = cross(jp, ph, number, dispute, accept, first=first)
    book = assert_same_books(jp, ph)
    assert book["orders"][number][0] == "disputed"
    rows = conflict_rows(jp)
    assert rows == conflict_rows(ph)
    assert len(rows) <= 1
    if rows:
        assert {rows[0][1], rows[0][2]} == {jp_id, ph_id}
        assert rows[0][1] == jp_id, "JP's dispute was signed first"


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_both_cancel(cluster, first):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = requested_order(jp, ph)
    jp_id, ph_id = cross(jp, ph, number, lambda n, o: cancel(n, o, "JP reason"),
                         lambda n, o: cancel(n, o, "PH reason"), first=first)
    book = assert_same_books(jp, ph)
    state, reason, _, _, _ = book["orders"][number]
    assert state in ("cancelled", "disputed")
    assert reason == "JP reason", "JP's cancellation was signed first"


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_dispute_versus_delivery(cluster, first):
    """Both can stand in either order (a delivered order can be disputed, a disputed one ...
    not delivered): the delivery, a material fact, stands."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = accepted_order(jp, ph)
    jp_id, ph_id = cross(jp, ph, number, dispute, deliver, first=first)
    book = assert_same_books(jp, ph)
    assert book["orders"][number][0] == "disputed"
    for n in (jp, ph):
        assert n.order(number).state_before_dispute == "delivered"


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_payment_versus_dispute(cluster, first):
    """JP pays the claim while PH disputes the received order: both can be applied in either
    order, so both stand on both nodes (the claim settled, the order in dispute)."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = accepted_order(jp, ph)
    deliver(ph, number)
    ph.send(jp)
    receive(jp, number)
    jp.send(ph)
    jp_id, ph_id = cross(jp, ph, number, pay_all, dispute, first=first)
    book = assert_same_books(jp, ph)
    state, _, reason, _, _ = book["orders"][number]
    assert state == "disputed" and reason == "wrong fuel"
    assert book["claims"] and all(s == "settled" for s, _ in book["claims"].values())
    # both can stand in either order, so both do: no conflict, nothing superseded
    for n in (jp, ph):
        assert conflict_rows(n) == []
        assert "superseded" not in n.inbox().values()
    # once the dispute is settled the order is settled on both nodes
    resolve(ph, number)
    ph.send(jp)
    book = assert_same_books(jp, ph)
    assert book["orders"][number][0] == "settled"
