"""Writing outbox rows in the caller's transaction: one per active subscription of each party
to the order an event is about. Called by `audit.service.append`; it never sends anything, so
a slow or broken receiver can never hold up or undo the change that made the event."""

from __future__ import annotations

import functools

from sqlalchemy import Select, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.orders.models import Order
from acsa.webhooks.models import PENDING, WebhookDelivery, WebhookSubscription


@functools.cache
def _subscribers_of_order() -> Select[tuple[int]]:
    """The active subscriptions of both parties to the order :number (built once: it runs
    for every audit event)."""
    return (select(WebhookSubscription.id)
            .join(Order, or_(Order.requesting_party == WebhookSubscription.party_code,
                             Order.supplying_party == WebhookSubscription.party_code))
            .where(Order.number == bindparam("number"), WebhookSubscription.active)
            .order_by(WebhookSubscription.id))


def enqueue_for_event(session: Session, event: Event) -> int:
    """Queue `event` for the subscribers of both parties to its order; the number queued.
    Events whose subject is not an order number queue nothing."""
    subscribers = session.scalars(_subscribers_of_order(), {"number": event.subject}).all()
    for subscription_id in subscribers:
        enqueue(session, subscription_id=subscription_id, event_seq=event.seq)
    return len(subscribers)


def enqueue(session: Session, *, subscription_id: int, event_seq: int) -> None:
    now = utcnow()
    session.execute(insert(WebhookDelivery).values(
        subscription_id=subscription_id, event_seq=event_seq, status=PENDING, attempts=0,
        next_attempt_at=now, last_error="", created_at=now))
