"""Subscriptions and the delivery log: add, list, deactivate, ping, and read what was sent.

Every query is scoped to the caller's party: a subscription of another party is not found,
exactly like one that does not exist. Changes are audited; the secret never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.parties import service as parties
from acsa.webhooks.models import (
    FAILED,
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from acsa.webhooks.outbox import enqueue, enqueue_for_event

MAX_ACTIVE_PER_PARTY = 10
MIN_SECRET = 16

__all__ = ["add_subscription", "list_subscriptions", "get_subscription", "deactivate",
           "ping", "deliveries", "enqueue_for_event", "DeliveryRecord"]


class TooManySubscriptions(errors.AcsaError):
    hint = "Deactivate a subscription you no longer use first."


class SubscriptionInactive(errors.AcsaError):
    hint = "Add a new subscription; a deactivated one stays off."


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidInput(f"{url!r} is not an http(s) URL with a host", field="url",
                                  hint="Give the receiver's full URL, e.g. "
                                  "https://logistics.example/acsa/events.")
    return url.strip()


def _public_url(url: str) -> str:
    """The URL as recorded in the audit chain: without query or fragment, which may hold a
    receiver's own token."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}{p.path}"


def add_subscription(session: Session, *, party: str, url: str, secret: str, actor: str,
                     description: str = "") -> WebhookSubscription:
    party_code = parties.get_party(session, party).code
    url = _check_url(url)
    if len(secret) < MIN_SECRET:
        raise errors.InvalidInput(f"a webhook secret needs at least {MIN_SECRET} characters",
                                  field="secret")
    active = session.scalar(select(func.count()).select_from(WebhookSubscription).where(
        WebhookSubscription.party_code == party_code, WebhookSubscription.active)) or 0
    if active >= MAX_ACTIVE_PER_PARTY:
        raise TooManySubscriptions(f"{party_code} already has {active} active webhook "
                                   f"subscriptions, the most allowed")
    sub = WebhookSubscription(party_code=party_code, url=url, secret=secret,
                              description=description, active=True, created_by=actor,
                              created_at=utcnow())
    session.add(sub)
    session.flush()
    audit.append(session, party=party_code, actor=actor, action="webhook.added",
                 subject=f"webhook:{sub.id}",
                 payload={"url": _public_url(url), "description": description})
    return sub


def list_subscriptions(session: Session, *, party: str) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription)
                                .where(WebhookSubscription.party_code == party)
                                .order_by(WebhookSubscription.id)))


def get_subscription(session: Session, subscription_id: int, *,
                     party: str) -> WebhookSubscription:
    sub = session.scalar(select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id, WebhookSubscription.party_code == party))
    if sub is None:
        raise errors.NotFound(f"no webhook subscription {subscription_id}", field="id")
    return sub


def deactivate(session: Session, subscription_id: int, *, party: str,
               actor: str) -> WebhookSubscription:
    """Stop sending to it. Deliveries still waiting are marked failed, with why."""
    sub = get_subscription(session, subscription_id, party=party)
    if not sub.active:
        return sub
    sub.active = False
    sub.deactivated_at = utcnow()
    session.execute(update(WebhookDelivery).where(
        WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, next_attempt_at=None, claimed_by=None,
                last_error="subscription deactivated before delivery"))
    audit.append(session, party=sub.party_code, actor=actor, action="webhook.deactivated",
                 subject=f"webhook:{sub.id}", payload={})
    return sub


def ping(session: Session, subscription_id: int, *, party: str, actor: str) -> WebhookDelivery:
    """Queue a `webhook.ping` event for this subscription only (to test the receiver)."""
    sub = get_subscription(session, subscription_id, party=party)
    if not sub.active:
        raise SubscriptionInactive(f"webhook subscription {sub.id} is deactivated")
    event = audit.append(session, party=sub.party_code, actor=actor, action="webhook.ping",
                         subject=f"webhook:{sub.id}", payload={})
    enqueue(session, subscription_id=sub.id, event_seq=event.seq)
    delivery = session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.subscription_id == sub.id, WebhookDelivery.event_seq == event.seq))
    assert delivery is not None
    return delivery


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery as the log shows it: the outbox row, its event, and every attempt."""

    delivery: WebhookDelivery
    action: str
    subject: str
    attempts: list[WebhookAttempt]


def deliveries(session: Session, subscription_id: int, *, party: str, offset: int = 0,
               limit: int = 50, status: str | None = None) -> tuple[list[DeliveryRecord], int]:
    """A page of the subscription's deliveries, newest first, and how many there are."""
    sub = get_subscription(session, subscription_id, party=party)
    where = [WebhookDelivery.subscription_id == sub.id]
    if status:
        where.append(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = session.execute(
        select(WebhookDelivery, Event.action, Event.subject)
        .join(Event, Event.seq == WebhookDelivery.event_seq).where(*where)
        .order_by(WebhookDelivery.id.desc()).offset(offset).limit(limit)).all()
    ids = [d.id for d, _, _ in rows]
    log: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        for a in session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.id)):
            log[a.delivery_id].append(a)
    return [DeliveryRecord(d, action, subject, log[d.id]) for d, action, subject in rows], total
