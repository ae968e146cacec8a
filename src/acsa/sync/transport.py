"""`acsa sync push/pull`: the same bundles as the files, over HTTPS between running nodes,
each request signed with our node key (`keys.sign_request`). The partner's address is the URL
registered with its key (`acsa keys add-partner --url`); its certificate is checked against the
system's trust store, or against `--ca FILE` for a partner's own certificate authority."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.sync import bundle, keys, node
from acsa.sync import service as sync
from acsa.sync.models import NodeKey

PATH = "/api/v1/sync/bundles"
PUSH_BATCH = 2000  # events per pushed bundle


def partner_url(session: Session, party: str, url: str | None = None) -> str:
    if url:
        return url.rstrip("/")
    row = session.scalar(select(NodeKey).where(
        NodeKey.party == party.upper(), NodeKey.own.is_(False), NodeKey.status == "active",
        NodeKey.official_code.is_(None), NodeKey.url != "").order_by(NodeKey.id.desc()))
    if row is None:
        raise errors.NotFound(f"no address is registered for {party.upper()}'s node",
                              field="url", hint="Give --url, or register it with "
                              "`acsa keys add-partner ... --url https://...`.")
    return row.url.rstrip("/")


def _client(ca: str | None, timeout: float) -> httpx.Client:
    return httpx.Client(verify=ca if ca else True, timeout=timeout)


def _refusal(r: httpx.Response, what: str) -> errors.AcsaError:
    try:
        problem = r.json()
        detail = problem.get("detail") or r.text
        code = str(problem.get("type", "")).rsplit("/", 1)[-1]
    except ValueError:
        detail, code = r.text[:300], ""
    kind = {401: errors.NodeNotAuthenticated, 403: errors.UnknownKey,
            409: errors.BundleReplayed if code == "BundleReplayed" else errors.AcsaError,
            500: errors.IntegrityError}.get(r.status_code, errors.AcsaError)
    return kind(f"the partner node refused the {what} ({r.status_code} {code}): {detail}")


def push(engine: Engine, *, to: str, url: str | None = None, ca: str | None = None,
         since: int | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """Send our unacknowledged events to `to`'s node, in bundles of PUSH_BATCH, until all are
    there; record what it acknowledges."""
    to = to.upper()
    with unit_of_work(engine, read_only=True) as s:
        node.require_party(s)
        base = partner_url(s, to, url)
    sent, bundles = 0, 0
    last: dict[str, Any] = {}
    with _client(ca, timeout) as client:
        while True:
            with unit_of_work(engine) as s:
                data = sync.export(s, to=to, since=since, limit=PUSH_BATCH)
                signer = keys.node_signer(s)
            if data["count"] == 0 and bundles > 0:
                break
            raw = bundle.dumps(data)
            headers = keys.sign_request(signer, "POST", PATH, raw)
            headers["Content-Type"] = "application/json"
            try:
                r = client.post(base + PATH, content=raw, headers=headers)
            except httpx.HTTPError as e:
                raise errors.AcsaError(f"cannot reach {to}'s node at {base}: {e}",
                                       hint="Check the address and the network; nothing was "
                                       "lost: the events stay unacknowledged and go next "
                                       "time.") from None
            if r.status_code != 200:
                raise _refusal(r, "bundle")
            last = r.json()
            with unit_of_work(engine) as s:
                sync.record_ack(s, to, int(last["received_up_to"]))
            sent += data["count"]
            bundles += 1
            since = None if since is None else data["range"][1]
            if data["count"] < PUSH_BATCH:
                break
    return {"to": to, "url": base, "events": sent, "bundles": bundles, "last": last}


def pull(engine: Engine, *, frm: str, url: str | None = None, ca: str | None = None,
         since: int | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """Ask `frm`'s node for its events for us and import them, until a bundle comes back
    empty (the partner decides how many events a bundle holds)."""
    frm = frm.upper()
    with unit_of_work(engine, read_only=True) as s:
        node.require_party(s)
        base = partner_url(s, frm, url)
    results: list[dict[str, Any]] = []
    with _client(ca, timeout) as client:
        while True:
            with unit_of_work(engine) as s:
                signer = keys.node_signer(s)
                acked = sync.received_from(s, frm)
            query = f"?acked={acked}" + (f"&since={since}" if since is not None else "")
            headers = keys.sign_request(signer, "GET", PATH + query, b"")
            try:
                r = client.get(base + PATH + query, headers=headers)
            except httpx.HTTPError as e:
                raise errors.AcsaError(f"cannot reach {frm}'s node at {base}: {e}") from None
            if r.status_code != 200:
                raise _refusal(r, "pull")
            raw = r.content
            header = json.loads(raw)
            if header["count"] == 0 and results:
                break
            result = sync.import_bundle(engine, raw)
            results.append(result.to_dict())
            if header["count"] == 0:
                break
            if since is not None:
                since = int(header["range"][1])
            # ask again: the partner caps each bundle at its own size, which we do not assume
    return {"from": frm, "url": base, "bundles": len(results),
            "events": sum(r["events"] for r in results),
            "applied": sum(len(r["applied"]) for r in results),
            "pending": results[-1]["pending"] if results else [],
            "quarantined": [q for r in results for q in r["quarantined"]],
            "conflicts": [c for r in results for c in r["conflicts"]]}
