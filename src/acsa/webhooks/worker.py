"""The background thread that sends due webhook deliveries, and the app lifespan that runs it.

It calls `deliver_due` about every second (at once again while a full batch came back), logs
and survives any error, and stops cleanly: `stop()` lets the send in flight finish (at most
the 5 s timeout), hands the rest of the batch back, and joins the thread. Several processes may
each run one; the claim in `delivery` keeps them from sending the same delivery twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from acsa.webhooks.delivery import TIMEOUT, deliver_due

log = logging.getLogger("acsa.webhooks")


class Worker:
    def __init__(self, engine: Engine, *, interval: float = 1.0, limit: int = 50,
                 client: httpx.Client | None = None) -> None:
        self.engine, self.interval, self.limit = engine, interval, limit
        self._client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="acsa-webhooks", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> Worker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2 * TIMEOUT) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        client = self._client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        try:
            while not self._stop.is_set():
                try:
                    sent = deliver_due(self.engine, client=client, limit=self.limit,
                                       stopping=self._stop.is_set)
                except Exception:  # the database may be away for a while: retry next tick
                    log.exception("webhook delivery run failed")
                    sent = 0
                if sent < self.limit:
                    self._stop.wait(self.interval)
        finally:
            if self._client is None:
                client.close()


def start_worker(engine: Engine, *, interval: float = 1.0,
                 client: httpx.Client | None = None) -> Worker:
    """A running worker; call `.stop()` on it to end it."""
    return Worker(engine, interval=interval, client=client).start()


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """FastAPI lifespan: the worker runs while the app serves (engine from app.state)."""
    worker = start_worker(app.state.engine)
    try:
        yield
    finally:
        await run_in_threadpool(worker.stop)
