"""The outbox: an order event queues one delivery per active subscription of each party to
the order, in the event's own transaction, and nothing for anyone else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.webhooks import service
from acsa.webhooks.models import WebhookDelivery
from tests.factories import order_to
from tests.webhooks.conftest import deliveries, make_order, subscribe


def test_an_order_event_queues_for_both_parties_and_no_other(world):
    jp, ph, us = subscribe(world, "JP"), subscribe(world, "PH"), subscribe(world, "US")
    number = make_order(world, "accepted")  # created, requested, accepted
    with unit_of_work(world) as s:
        seqs = list(s.scalars(select(Event.seq).where(Event.subject == number)
                              .order_by(Event.seq)))
    assert len(seqs) == 3
    assert [d.event_seq for d in deliveries(world, jp)] == seqs
    assert [d.event_seq for d in deliveries(world, ph)] == seqs
    assert deliveries(world, us) == []
    assert {d.status for d in deliveries(world)} == {"pending"}


def test_events_that_are_not_about_an_order_queue_nothing(world):
    subscribe(world, "PH")
    with unit_of_work(world) as s:
        parties.add_unit(s, code="PN-X", party="PH", name="another unit")
    assert deliveries(world) == []


def test_a_deactivated_subscription_queues_nothing(world):
    jp = subscribe(world, "JP")
    with unit_of_work(world) as s:
        service.deactivate(s, jp, party="JP", actor="jp-admin")
    make_order(world, "requested")
    assert deliveries(world) == []


def test_the_outbox_row_is_written_in_the_transaction_of_the_change(world):
    subscribe(world, "JP")
    with pytest.raises(RuntimeError, match="abandon"):
        with unit_of_work(world) as s:
            number = order_to(s, "requested").number
            queued = s.scalar(select(func.count()).select_from(WebhookDelivery))
            assert queued == 2  # visible inside the transaction ...
            raise RuntimeError("abandon the change")
    with unit_of_work(world) as s:  # ... and gone with it
        assert s.scalar(select(Order).where(Order.number == number)) is None
    assert deliveries(world) == []
    make_order(world, "requested")  # committed: change and rows together
    assert len(deliveries(world)) == 2
