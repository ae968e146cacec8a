"""Webhooks: a party's administrators subscribe a URL to their party's order events, list and
deactivate subscriptions, read the delivery log and send a test ping.

Every route is for administrators of the viewer's own party, and every lookup is scoped to
that party (another party's subscription is 404). The secret is accepted once, on creation,
and never returned.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from acsa.api import deps
from acsa.api.schemas import (
    Page,
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
)
from acsa.users.service import Viewer
from acsa.webhooks import service
from acsa.webhooks.models import WebhookSubscription

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _out(sub: WebhookSubscription) -> WebhookOut:
    return WebhookOut(id=sub.id, party=sub.party_code, url=sub.url, description=sub.description,
                      active=sub.active, created_by=sub.created_by, created_at=sub.created_at,
                      deactivated_at=sub.deactivated_at)


def _delivery(r: service.DeliveryRecord) -> WebhookDeliveryOut:
    d = r.delivery
    return WebhookDeliveryOut(
        id=d.id, event_seq=d.event_seq, action=r.action, subject=r.subject,
        status=d.status,  # type: ignore[arg-type]
        attempts=d.attempts, next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code, last_error=d.last_error, created_at=d.created_at,
        delivered_at=d.delivered_at,
        log=[WebhookAttemptOut(attempt=a.attempt, at=a.at, status_code=a.status_code,
                               error=a.error, duration_ms=a.duration_ms) for a in r.attempts])


@router.post("", response_model=WebhookOut, status_code=201)
def add_webhook(body: WebhookIn, request: Request, response: Response,
                viewer: Viewer = deps.ViewerDep) -> WebhookOut:
    """Subscribe a URL to every event of the orders the viewer's party is a party to. Each
    message is a JSON POST signed with the secret: `X-ACSA-Signature: sha256=<hex
    HMAC-SHA256(secret, X-ACSA-Timestamp + "." + raw body)>`; refuse timestamps more than
    five minutes old. The secret is not shown again."""
    deps.require_admin(viewer)

    def go(s: Session) -> WebhookOut:
        sub = service.add_subscription(s, party=viewer.party, url=body.url, secret=body.secret,
                                       description=body.description, actor=viewer.username)
        response.headers["Location"] = f"{request.url.path}/{sub.id}"
        return _out(sub)
    return deps.run(request, go)


@router.get("", response_model=list[WebhookOut])
def list_webhooks(request: Request, viewer: Viewer = deps.ViewerDep) -> list[WebhookOut]:
    """The viewer's party's subscriptions, active and deactivated (never the secrets)."""
    deps.require_admin(viewer)
    return deps.run(request, lambda s: [
        _out(x) for x in service.list_subscriptions(s, party=viewer.party)])


@router.delete("/{subscription_id}", status_code=204)
def deactivate_webhook(subscription_id: int, request: Request,
                       viewer: Viewer = deps.ViewerDep) -> None:
    """Deactivate a subscription: nothing more is sent to it; deliveries still waiting are
    marked failed. The subscription and its log stay readable."""
    deps.require_admin(viewer)
    deps.run(request, lambda s: service.deactivate(s, subscription_id, party=viewer.party,
                                                   actor=viewer.username))


@router.get("/{subscription_id}/deliveries", response_model=Page[WebhookDeliveryOut])
def webhook_deliveries(subscription_id: int, request: Request,
                       viewer: Viewer = deps.ViewerDep,
                       status: Literal["pending", "delivered", "failed"] | None = None,
                       page: int = Query(1, ge=1, le=1_000_000),
                       page_size: int = Query(50, ge=1, le=500)) -> Page[WebhookDeliveryOut]:
    """The delivery log, newest first: each delivery's state and every attempt with the
    receiver's status code or the error."""
    deps.require_admin(viewer)

    def go(s: Session) -> Page[WebhookDeliveryOut]:
        rows, total = service.deliveries(s, subscription_id, party=viewer.party,
                                         status=status, offset=(page - 1) * page_size,
                                         limit=page_size)
        return Page[WebhookDeliveryOut](items=[_delivery(r) for r in rows], page=page,
                                        page_size=page_size, total=total)
    return deps.run(request, go)


@router.post("/{subscription_id}/test", response_model=WebhookDeliveryOut, status_code=202)
def test_webhook(subscription_id: int, request: Request,
                 viewer: Viewer = deps.ViewerDep) -> WebhookDeliveryOut:
    """Queue a `webhook.ping` event for this subscription alone; watch its delivery log."""
    deps.require_admin(viewer)

    def go(s: Session) -> WebhookDeliveryOut:
        d = service.ping(s, subscription_id, party=viewer.party, actor=viewer.username)
        return _delivery(service.DeliveryRecord(d, "webhook.ping",
                                                f"webhook:{subscription_id}", []))
    return deps.run(request, go)
