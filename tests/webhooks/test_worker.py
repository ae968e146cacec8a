"""The background worker: sends what the app's changes queue, survives errors, stops cleanly."""

from __future__ import annotations

import time

import httpx

from acsa.webhooks import worker
from tests.webhooks.conftest import Recorder, deliveries, make_order, subscribe


def _wait_for(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_worker_sends_queued_deliveries_and_stops(world):
    subscribe(world, "JP")
    receiver = Recorder()
    w = worker.start_worker(world, interval=0.05, client=receiver.client())
    try:
        assert w.running
        make_order(world, "requested")
        assert _wait_for(lambda: {d.status for d in deliveries(world)} == {"delivered"})
    finally:
        w.stop()
    assert not w.running
    assert [r.headers["x-acsa-event"] for r in receiver.requests] == [
        "order.created", "order.requested"]


def test_the_worker_keeps_going_after_a_receiver_raises(world):
    subscribe(world, "JP")

    def boom(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("receiver exploded")

    w = worker.start_worker(world, interval=0.05, client=Recorder(respond=boom).client())
    try:
        make_order(world, "draft")
        assert _wait_for(lambda: deliveries(world)[0].attempts == 1)
        assert w.running
    finally:
        w.stop()
    [d] = deliveries(world)
    assert d.status == "pending" and d.last_error == "RuntimeError: receiver exploded"


def test_an_idle_worker_stops_at_once(world):
    w = worker.start_worker(world, interval=30)
    started = time.monotonic()
    w.stop()
    assert not w.running and time.monotonic() - started < 5


def test_the_app_lifespan_runs_the_worker_while_it_serves(world, monkeypatch):
    """Wired as `FastAPI(..., lifespan=worker.lifespan)`: started with the app, stopped with
    it."""
    from fastapi.testclient import TestClient

    from acsa.api.app import create_app

    receiver = Recorder()
    started: list[worker.Worker] = []
    real_start = worker.start_worker

    def start(engine, **kw):
        started.append(real_start(engine, interval=0.05, client=receiver.client()))
        return started[-1]

    monkeypatch.setattr(worker, "start_worker", start)
    app = create_app(world)
    app.router.lifespan_context = worker.lifespan
    subscribe(world, "JP")
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        make_order(world, "draft")
        assert _wait_for(lambda: {d.status for d in deliveries(world)} == {"delivered"})
        assert started[0].running
    assert not started[0].running
