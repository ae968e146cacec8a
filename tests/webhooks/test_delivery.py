"""Sending: signed messages arrive for the subscriber's orders only; failures are retried on
the backoff schedule without touching the committed change, then marked failed, and every
attempt is in the log; two workers never send the same delivery."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

import httpx

from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from acsa.webhooks import delivery, service, signing
from acsa.webhooks.delivery import BACKOFF, MAX_ATTEMPTS, deliver_due
from tests.webhooks.conftest import (
    SECRET,
    Recorder,
    attempts,
    deliveries,
    later,
    make_order,
    subscribe,
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_signed_message_arrives_for_the_subscribers_order(world, http_receiver):
    jp = subscribe(world, "JP", url=http_receiver.url)
    subscribe(world, "US", url=http_receiver.url + "/us")
    number = make_order(world, "requested")

    assert deliver_due(world, now=later()) == 2
    got = http_receiver.received
    assert [r.path for r in got] == ["/acsa/events"] * 2  # nothing for US: not its order
    for r in got:
        assert r.headers["content-type"] == "application/json"
        assert signing.verify(SECRET, timestamp=r.headers["x-acsa-timestamp"], body=r.body,
                              signature=r.headers["x-acsa-signature"], now=time.time())
        assert not signing.verify("not-the-secret-at-all", timestamp=r.headers[
            "x-acsa-timestamp"], body=r.body, signature=r.headers["x-acsa-signature"],
            now=time.time())
    bodies = [json.loads(r.body) for r in got]
    assert [b["event"]["action"] for b in bodies] == ["order.created", "order.requested"]
    assert [r.headers["x-acsa-event"] for r in got] == ["order.created", "order.requested"]
    assert {b["event"]["subject"] for b in bodies} == {number}
    assert {b["subscription"]["party"] for b in bodies} == {"JP"}
    assert [str(b["id"]) for b in bodies] == [r.headers["x-acsa-delivery"] for r in got]
    assert bodies[1]["event"]["payload"]["on"] == "2026-05-10"
    rows = deliveries(world, jp)
    assert [(d.status, d.attempts, d.last_status_code) for d in rows] == [
        ("delivered", 1, 200)] * 2
    assert all(d.delivered_at is not None and d.next_attempt_at is None for d in rows)
    assert [(a.attempt, a.status_code, a.error) for a in attempts(world, rows[0].id)] == [
        (1, 200, "")]
    assert deliver_due(world, now=later(3600)) == 0  # delivered once, never again


def test_a_failing_receiver_is_retried_with_backoff_and_the_order_stands(world):
    subscribe(world, "JP")
    number = make_order(world, "draft")  # one event: order.created
    fail = Recorder(respond=lambda r: httpx.Response(500, text="database\n  is down"))
    t0 = later()

    assert deliver_due(world, now=t0, client=fail.client()) == 1
    [d] = deliveries(world)
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert d.last_error == "HTTP 500: database is down"
    assert d.next_attempt_at == t0 + BACKOFF[0]
    with unit_of_work(world) as s:  # the change committed regardless
        assert orders.get_order(s, number).state == "draft"

    assert deliver_due(world, now=t0 + BACKOFF[0] / 2, client=fail.client()) == 0
    t1 = t0 + BACKOFF[0]
    assert deliver_due(world, now=t1, client=fail.client()) == 1
    [d] = deliveries(world)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 2, t1 + BACKOFF[1])
    assert len(fail.requests) == 2
    # the body is the same on every attempt (receivers can drop duplicates by delivery id)
    assert fail.requests[0].content == fail.requests[1].content
    assert fail.requests[0].headers["x-acsa-delivery"] == fail.requests[1].headers[
        "x-acsa-delivery"]

    ok = Recorder()
    assert deliver_due(world, now=t1 + BACKOFF[1], client=ok.client()) == 1
    [d] = deliveries(world)
    assert (d.status, d.attempts, d.last_status_code, d.last_error) == (
        "delivered", 3, 204, "")
    assert [a.status_code for a in attempts(world, d.id)] == [500, 500, 204]


def test_a_refused_connection_is_logged_and_retried(world):
    subscribe(world, "PH", url=f"http://127.0.0.1:{_closed_port()}/hook")
    make_order(world, "draft")
    t0 = later()
    assert deliver_due(world, now=t0) == 1
    [d] = deliveries(world)
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, None)
    assert d.last_error.startswith("ConnectError")
    assert d.next_attempt_at == t0 + BACKOFF[0]
    [a] = attempts(world, d.id)
    assert a.status_code is None and a.error.startswith("ConnectError")


def test_after_the_last_attempt_the_delivery_is_failed_and_logged(world):
    subscribe(world, "JP")
    make_order(world, "draft")
    fail = Recorder(respond=lambda r: httpx.Response(503))
    at = later()
    for _ in range(MAX_ATTEMPTS):
        assert deliver_due(world, now=at, client=fail.client()) == 1
        [d] = deliveries(world)
        at = d.next_attempt_at or at
    [d] = deliveries(world)
    assert (d.status, d.attempts, d.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    log = attempts(world, d.id)
    assert [a.attempt for a in log] == list(range(1, MAX_ATTEMPTS + 1))
    assert {(a.status_code, a.error) for a in log} == {(503, "HTTP 503")}
    gaps = [b.at - a.at for a, b in zip(log, log[1:], strict=False)]
    assert gaps == list(BACKOFF)
    assert deliver_due(world, now=later(10 * 86400), client=fail.client()) == 0
    assert len(fail.requests) == MAX_ATTEMPTS


def test_a_worker_never_sends_what_another_has_claimed(world):
    """While worker A is sending (inside its receiver's handler), worker B runs and finds
    nothing to send: A's whole batch is claimed."""
    subscribe(world, "JP")
    make_order(world, "accepted")  # three deliveries
    b = Recorder()
    b_results = []

    def a_handler(request: httpx.Request) -> httpx.Response:
        b_results.append(deliver_due(world, now=later(), client=b.client()))
        return httpx.Response(200)

    a = Recorder(respond=a_handler)
    assert deliver_due(world, now=later(), client=a.client()) == 3
    assert b_results == [0, 0, 0] and b.requests == []
    assert {d.status for d in deliveries(world)} == {"delivered"}


def test_two_concurrent_workers_send_each_delivery_exactly_once(world):
    subscribe(world, "JP")
    subscribe(world, "PH")
    for _ in range(3):
        make_order(world, "accepted")  # 3 orders x 3 events x 2 subscriptions
    expected = {d.id for d in deliveries(world)}
    assert len(expected) == 18

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.01)
        return httpx.Response(200)

    receiver = Recorder(respond=slow)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            client = receiver.client()
            start.wait()
            while deliver_due(world, now=later(), client=client, limit=4):
                pass
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    sent = Counter(int(r.headers["x-acsa-delivery"]) for r in receiver.requests)
    assert set(sent) == expected
    assert set(sent.values()) == {1}
    assert {(d.status, d.attempts) for d in deliveries(world)} == {("delivered", 1)}


def test_a_claim_whose_worker_died_is_sent_after_its_lease(world):
    subscribe(world, "JP")
    make_order(world, "draft")
    t0 = later()
    assert len(delivery._claim(world, token="dead-worker", now=t0, limit=50)) == 1
    r = Recorder()
    assert deliver_due(world, now=t0 + delivery.lease(50) / 2, client=r.client()) == 0
    assert deliver_due(world, now=t0 + delivery.lease(50), client=r.client()) == 1
    [d] = deliveries(world)
    assert (d.status, d.attempts, d.claimed_by) == ("delivered", 1, None)


def test_stopping_hands_the_rest_of_the_batch_back(world):
    subscribe(world, "JP")
    make_order(world, "accepted")
    r = Recorder()
    calls = iter([False, True])
    t0 = later()
    assert deliver_due(world, now=t0, client=r.client(), stopping=lambda: next(calls)) == 1
    rows = deliveries(world)
    assert [d.status for d in rows] == ["delivered", "pending", "pending"]
    assert all(d.claimed_by is None and d.next_attempt_at == t0 for d in rows[1:])


def test_deactivating_fails_what_is_waiting_and_sends_nothing(world):
    jp = subscribe(world, "JP")
    make_order(world, "requested")
    with unit_of_work(world) as s:
        service.deactivate(s, jp, party="JP", actor="jp-admin")
    r = Recorder()
    assert deliver_due(world, now=later(), client=r.client()) == 0
    assert r.requests == []
    assert {(d.status, d.last_error) for d in deliveries(world)} == {
        ("failed", "subscription deactivated before delivery")}
    with unit_of_work(world) as s:
        rows, total = service.deliveries(s, jp, party="JP")
        assert total == 2 and [x.action for x in rows] == ["order.requested", "order.created"]
