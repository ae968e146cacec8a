"""Node-to-node exchange over HTTPS. These routes are not for people: every request must be
signed with a partner node's registered key (`keys.verify_request`); a signed-in user's
session or token gives no access. A push is applied exactly as `acsa sync import`; a pull is
answered with a bundle of our events for the caller, as `acsa sync export` would write it.
The node's key passphrase comes from ACSA_KEY_PASSPHRASE in the server's environment."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acsa import errors
from acsa.api import deps
from acsa.api.schemas import PROBLEM_RESPONSES
from acsa.db.engine import unit_of_work
from acsa.sync import bundle, keys, reconcile
from acsa.sync import service as sync

router = APIRouter(prefix="/sync", tags=["sync"], responses=PROBLEM_RESPONSES)

log = logging.getLogger(__name__)
MAX_EVENTS = 2000  # per pulled bundle; the puller asks again while bundles come back full


def _authenticate(request: Request, session: Session, body: bytes) -> str:
    if not request.headers.get(keys.H_SIG):
        raise errors.NodeNotAuthenticated(
            "this route is for partner nodes: the request carries no node signature")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        return keys.verify_request(session, request.headers, request.method, path, body)
    except (errors.SignatureInvalid, errors.UnknownKey, errors.InvalidInput) as e:
        raise errors.NodeNotAuthenticated(e.message, hint=e.hint) from None


@router.post("/bundles", summary="Push a bundle of the caller's events to this node")
async def push(request: Request, background: BackgroundTasks) -> dict[str, Any]:
    """Apply a partner's bundle (the same checks and outcome as `acsa sync import`). The answer
    says what was applied, waits, or was refused, and how far this node now holds the caller's
    events (`received_up_to`), which the caller records as acknowledged. Once it is sent, if
    events were applied, our summary of our agreements with the caller is cached anew
    (`reconcile.prepare`), so that the next reconciliation starts warm."""
    raw = await request.body()
    engine = deps.engine_of(request)

    def work() -> dict[str, Any]:
        with unit_of_work(engine) as s:
            party = _authenticate(request, s, raw)
        data = bundle.parse(raw)
        if data["from"] != party:
            raise errors.NotOwner(f"the request is signed by {party} but the bundle is from "
                                  f"{data['from']}")
        result = sync.import_bundle(engine, raw)
        with unit_of_work(engine) as s:
            received = sync.received_from(s, party)
        if result.applied:
            background.add_task(_prepare, engine, party)
        return {**result.to_dict(), "received_up_to": received}
    return await asyncio.to_thread(work)


def _prepare(engine: Engine, party: str) -> None:
    """After the answer to a push: `reconcile.prepare` for the sender (run in the server's
    thread pool). A failure only leaves the next reconciliation to compute everything."""
    try:
        reconcile.prepare(engine, partner=party, as_of=dt.datetime.now(dt.UTC).date())
    except Exception:  # noqa: BLE001 (the push was answered; nothing else depends on this)
        log.warning("the reconciliation summary for %s was not refreshed", party,
                    exc_info=True)


@router.get("/bundles", summary="Pull a bundle of this node's events for the caller")
async def pull(request: Request,
               since: int | None = Query(None, description="Events after this seq (default: "
                                         "after what the caller has acknowledged)."),
               acked: int | None = Query(None, description="How far the caller holds all our "
                                         "events for it (recorded as acknowledged).")
               ) -> Response:
    engine = deps.engine_of(request)

    def work() -> bytes:
        with unit_of_work(engine) as s:
            party = _authenticate(request, s, b"")
            if acked is not None:
                sync.record_ack(s, party, acked)
            return bundle.dumps(sync.export(s, to=party, since=since, limit=MAX_EVENTS))
    return Response(await asyncio.to_thread(work), media_type="application/json")
