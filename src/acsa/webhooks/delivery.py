"""Sending what is due: claim a batch, POST each message, record every attempt.

Three short transactions, none held open across the network:
1. claim: due pending rows are marked with this run's token and leased (`next_attempt_at`
   pushed past the run's longest possible duration), under `FOR UPDATE SKIP LOCKED` on
   PostgreSQL and the `BEGIN IMMEDIATE` write lock on SQLite, so two workers never claim the
   same row;
2. send: signed POST with a 5 s timeout, redirects not followed, no database lock held;
3. record (per delivery): the attempt is logged, and the row becomes delivered (2xx), failed
   (after MAX_ATTEMPTS), or pending again after the next backoff step; only the run that
   holds the claim may record.

Delivery is at least once: a worker that dies after a POST but before recording it leaves the
row to be sent again when its lease ends. Receivers drop duplicates by X-ACSA-Delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from acsa import __version__
from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.db.engine import unit_of_work
from acsa.webhooks import signing
from acsa.webhooks.models import (
    DELIVERED,
    FAILED,
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger("acsa.webhooks")

TIMEOUT = 5.0
# wait after attempt n (1-based) before attempt n + 1; the attempt after the last step fails
BACKOFF = tuple(dt.timedelta(seconds=s) for s in (10, 60, 300, 1800, 7200, 21600, 43200))
MAX_ATTEMPTS = len(BACKOFF) + 1
EXCERPT = 200  # characters of a refusing receiver's answer kept in the log
USER_AGENT = f"acsa-webhooks/{__version__}"


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    url: str
    secret: str
    action: str
    body: bytes


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver_due(engine: Engine, *, now: dt.datetime | None = None,
                client: httpx.Client | None = None, limit: int = 50,
                stopping: Callable[[], bool] | None = None) -> int:
    """Send up to `limit` due deliveries; the number attempted. `now` fixes the clock (tests);
    `stopping` is asked before each send, and what is left unsent is released at once."""
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else utcnow
    token = secrets.token_hex(16)
    jobs = _claim(engine, token=token, now=clock(), limit=limit)
    if not jobs:
        return 0
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    sent = 0
    try:
        for job in jobs:
            if stopping is not None and stopping():
                break
            result = _post(http, job, int(clock().timestamp()))
            _record(engine, job, token, result, clock())
            sent += 1
    finally:
        if client is None:
            http.close()
        if sent < len(jobs):
            _release(engine, token, [j.delivery_id for j in jobs[sent:]], clock())
    return sent


def lease(limit: int) -> dt.timedelta:
    """How long a run may hold its claim: each send can take a connect, a write and a read
    timeout, plus a margin."""
    return dt.timedelta(seconds=60 + limit * 3 * TIMEOUT)


def _claim(engine: Engine, *, token: str, now: dt.datetime, limit: int) -> list[_Job]:
    with unit_of_work(engine) as s:
        due = (select(WebhookDelivery.id)
               .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
               .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
        if s.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(s.scalars(due))
        if not ids:
            return []
        s.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                  .values(claimed_by=token, next_attempt_at=now + lease(limit))
                  .execution_options(synchronize_session=False))
        return _jobs(s, ids)


def _jobs(s: Session, ids: list[int]) -> list[_Job]:
    rows = s.execute(
        select(WebhookDelivery.id, WebhookSubscription, Event)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(Event, Event.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.id)).all()
    jobs = []
    for delivery_id, sub, ev in rows:
        if not sub.active:  # deactivated between the change and now: never sent
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(
                status=FAILED, next_attempt_at=None, claimed_by=None,
                last_error="subscription deactivated before delivery"))
            continue
        body = signing.message(
            delivery_id=delivery_id, subscription_id=sub.id, party=sub.party_code, seq=ev.seq,
            at=ev.at, event_party=ev.party, actor=ev.actor, action=ev.action,
            subject=ev.subject, order_hash=ev.order_hash, payload=ev.payload)
        jobs.append(_Job(delivery_id, sub.url, sub.secret, ev.action, body))
    return jobs


def _post(http: httpx.Client, job: _Job, timestamp: int) -> _Result:
    headers = signing.headers(secret=job.secret, timestamp=timestamp, body=job.body,
                              action=job.action, delivery_id=job.delivery_id,
                              user_agent=USER_AGENT)
    start = time.monotonic()
    try:
        with http.stream("POST", job.url, content=job.body, headers=headers,
                         timeout=TIMEOUT) as r:
            code = r.status_code
            excerpt = "" if 200 <= code < 300 else _excerpt(r, start)
        error = "" if 200 <= code < 300 else f"HTTP {code}" + (f": {excerpt}" if excerpt else "")
        return _Result(code, error, _ms(start))
    except Exception as e:  # any failure to send is this delivery's failure: logged, retried
        return _Result(None, f"{type(e).__name__}: {e}"[:500], _ms(start))


def _excerpt(r: httpx.Response, start: float) -> str:
    """The start of a refusal's body, read for at most the timeout (a receiver that trickles
    bytes cannot hold the worker)."""
    data = b""
    for chunk in r.iter_bytes():
        data += chunk
        if len(data) >= EXCERPT or time.monotonic() - start > TIMEOUT:
            break
    return " ".join(data[:EXCERPT].decode("utf-8", "replace").split())


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _record(engine: Engine, job: _Job, token: str, result: _Result, at: dt.datetime) -> None:
    with unit_of_work(engine) as s:
        d = s.scalar(select(WebhookDelivery).where(WebhookDelivery.id == job.delivery_id,
                                                   WebhookDelivery.claimed_by == token)
                     .with_for_update())
        if d is None:  # the lease ran out and another run took the row: it records its own
            log.warning("webhook delivery %s: claim lost before its result was recorded",
                        job.delivery_id)
            return
        d.attempts += 1
        s.add(WebhookAttempt(delivery_id=d.id, attempt=d.attempts, at=at,
                             status_code=result.status_code, error=result.error,
                             duration_ms=result.duration_ms))
        d.claimed_by, d.last_status_code, d.last_error = None, result.status_code, result.error
        if result.ok:
            d.status, d.delivered_at, d.next_attempt_at = DELIVERED, at, None
        elif d.status != PENDING or d.attempts >= MAX_ATTEMPTS:
            d.status, d.next_attempt_at = FAILED, None
            log.warning("webhook delivery %s failed for good after %s attempts: %s",
                        d.id, d.attempts, result.error)
        else:
            d.next_attempt_at = at + BACKOFF[d.attempts - 1]


def _release(engine: Engine, token: str, ids: list[int], now: dt.datetime) -> None:
    """Hand unsent claimed rows back, due now, for the next run."""
    with unit_of_work(engine) as s:
        s.execute(update(WebhookDelivery)
                  .where(WebhookDelivery.id.in_(ids), WebhookDelivery.claimed_by == token,
                         WebhookDelivery.status == PENDING)
                  .values(claimed_by=None, next_attempt_at=now)
                  .execution_options(synchronize_session=False))
