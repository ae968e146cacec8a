"""A partner node asks for our reconciliation summary (`acsa reconcile --with US` on its side).

Like the other node-to-node routes, this one is not for people: the request must be signed
with the partner's registered node key (`keys.verify_request`). The answer is our summary of
the agreement between us and the caller as of the date, signed with our node key (the
passphrase from ACSA_KEY_PASSPHRASE in the server's environment): roots only, or with
`months=YYYY-MM,YYYY-MM/bb,...` the roots and leaves of those months or buckets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from acsa import errors
from acsa.api import deps
from acsa.api.schemas import PROBLEM_RESPONSES
from acsa.audit.chain import canonical_json
from acsa.db.base import utcnow
from acsa.db.engine import unit_of_work
from acsa.sync import keys, node
from acsa.sync import reconcile as rc

router = APIRouter(prefix="/sync", tags=["sync"], responses=PROBLEM_RESPONSES)


@router.get("/summary", summary="Our reconciliation summary for the calling partner node")
async def summary(request: Request,
                  agreement: str | None = Query(None, description="The agreement (default: "
                                                "the only one between us and the caller)."),
                  as_of: dt.date | None = Query(None, description="As of this date "
                                                "(default: today)."),
                  months: str | None = Query(None, description="YYYY-MM,YYYY-MM/bb,...: "
                                             "also the leaves of these months or buckets of a "
                                             "month (default: roots only).")
                  ) -> Response:
    engine = deps.engine_of(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    wanted = None if months is None else [rc.check_key(m.strip())
                                          for m in months.split(",") if m.strip()]

    def work() -> bytes:
        with unit_of_work(engine) as s:
            if not request.headers.get(keys.H_SIG):
                raise errors.NodeNotAuthenticated(
                    "this route is for partner nodes: the request carries no node signature")
            try:
                caller = keys.verify_request(s, request.headers, "GET", path, b"")
            except errors.SignatureInvalid as e:  # a request, not stored data: 401
                raise errors.NodeNotAuthenticated(e.message) from None
        with unit_of_work(engine) as s:
            rc.repeatable_read(s)
            ours = node.require_party(s)
            from acsa.cli.reconcile import _agreement

            code = _agreement(s, ours, caller, agreement)
            doc: dict[str, Any] = rc.summary(
                s, agreement=code, as_of=as_of or utcnow().date(), party_pair=(ours, caller),
                months=wanted)
            signed = rc.sign(s, {**doc, "to": caller})
        return canonical_json(signed).encode("utf-8")
    return Response(await asyncio.to_thread(work), media_type="application/json")
