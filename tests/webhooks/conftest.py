"""Webhook fixtures: the test world on each database, subscriptions, orders made in their own
committed unit of work, and receivers (an httpx MockTransport that records what it is sent,
and a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from acsa.db.base import utcnow
from acsa.db.engine import unit_of_work
from acsa.webhooks import service
from acsa.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.factories import order_to, setup_world

SECRET = "s3cret-for-webhook-tests-0123456789"


@pytest.fixture
def world(engine: Engine, _acsa_home: Path) -> Engine:
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


def subscribe(engine: Engine, party: str, url: str = "https://receiver.example/hook",
              secret: str = SECRET) -> int:
    with unit_of_work(engine) as s:
        return service.add_subscription(s, party=party, url=url, secret=secret,
                                        actor=f"{party.lower()}-admin").id


def make_order(engine: Engine, state: str = "requested", **kw: Any) -> str:
    """A PH-JP order (JP requests, PH supplies) brought to `state` and committed."""
    with unit_of_work(engine) as s:
        return order_to(s, state, **kw).number


def deliveries(engine: Engine, subscription_id: int | None = None) -> list[WebhookDelivery]:
    with unit_of_work(engine) as s:
        stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
        if subscription_id is not None:
            stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
        return list(s.scalars(stmt))


def attempts(engine: Engine, delivery_id: int) -> list[WebhookAttempt]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.attempt)))


def later(seconds: float = 1) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=seconds)


@dataclass
class Recorder:
    """An in-memory receiver: answers each request with `respond(request)` and keeps it."""

    respond: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(204)
    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self.lock:
            self.requests.append(request)
        return self.respond(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self._handle))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    url: str
    received: list[Received]
    status: list[int]  # the status to answer with (mutable: tests change it)


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server on 127.0.0.1 in a thread, recording every POST."""
    received: list[Received] = []
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                     body))
            self.send_response(status[0])
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpReceiver(f"http://127.0.0.1:{server.server_port}/acsa/events", received,
                           status)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
