"""ASGI middleware: a cap on request bodies, and Idempotency-Key on POST.

Idempotency: the first response to a (credential, key) pair is stored and replayed for any
retry with the same method, path and body; a retry with a different request is refused (422);
a retry while the first is still running gets 409. Keys are scoped to the credential that sent
them (token or session) so one user's key never answers another's request, and a stored answer
is given only while that credential still signs someone in: a session that was signed out or
has expired, or a token revoked or of a disabled user, is passed to the application (which
refuses it) and never gets a stored response again (it may hold a secret shown only once).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acsa.api.models import IdempotencyKey
from acsa.api.problems import MEDIA, TYPE_BASE
from acsa.db.base import utcnow
from acsa.db.engine import unit_of_work

JSON_LIMIT = 1024 * 1024
UPLOAD_LIMIT = 26 * 1024 * 1024
BUNDLE_LIMIT = 128 * 1024 * 1024


def _problem(status: int, code: str, detail: str) -> tuple[int, bytes]:
    body = {"type": TYPE_BASE + code, "title": code, "status": status, "detail": detail}
    return status, json.dumps(body).encode()


async def _send_json(send: Send, status: int, body: bytes,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", MEDIA.encode()),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse bodies over the limit (413) before the route reads them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        limit = UPLOAD_LIMIT if ctype.startswith("multipart/") else JSON_LIMIT
        if scope.get("path", "").endswith("/sync/bundles"):
            limit = BUNDLE_LIMIT  # a partner node's pushed bundle (signed; see routes/sync.py)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_json(send, *_problem(413, "BodyTooLarge",
                                             f"the request body is over {limit:,} bytes"))
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read it here, within the limit, then hand it on whole
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _send_json(send, *_problem(413, "BodyTooLarge",
                                                 f"the request body is over {limit:,} bytes"))
                return
        await self.app(scope, _replaying(body, receive), send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the application the body read already, then whatever comes
    after it (a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


class Idempotency:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key", b"").decode("latin-1").strip()
        if not key:
            await self.app(scope, receive, send)
            return
        if len(key) > 200:
            await _send_json(send, *_problem(422, "InvalidIdempotencyKey",
                                             "Idempotency-Key is longer than 200 characters"))
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > UPLOAD_LIMIT:
                await _send_json(send, *_problem(413, "BodyTooLarge", "request body too large"))
                return
        credential = headers.get(b"authorization", b"") or _cookie(headers)
        scope_hash = hashlib.sha256(credential).hexdigest()
        replay_receive = _replaying(body, receive)
        if not await run_in_threadpool(self._live, headers):
            # a credential that no longer signs anyone in: no stored answer, and nothing
            # stored; the application refuses it as it refuses any other
            await self.app(scope, replay_receive, send)
            return
        fingerprint = hashlib.sha256(scope["method"].encode() + b" " + scope["path"].encode()
                                     + b"\n" + body).hexdigest()
        stored = await run_in_threadpool(self._claim, scope_hash, key, fingerprint)
        if stored == "conflict":
            await _send_json(send, *_problem(422, "IdempotencyKeyReused",
                                             "this Idempotency-Key was used for a different "
                                             "request"))
            return
        if stored == "pending":
            await _send_json(send, *_problem(409, "IdempotencyKeyInProgress",
                                             "a request with this Idempotency-Key is still "
                                             "being processed; retry shortly"),
                             [(b"retry-after", b"1")])
            return
        if isinstance(stored, dict):
            replay = [(k.encode(), v.encode()) for k, v in stored["headers"]]
            await send({"type": "http.response.start", "status": stored["status"],
                        "headers": replay + [(b"idempotent-replayed", b"true")]})
            await send({"type": "http.response.body", "body": stored["body"].encode("latin-1")})
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [(k.decode("latin-1"), v.decode("latin-1"))
                                       for k, v in message.get("headers", [])
                                       if k.lower() not in (b"set-cookie",)]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)
        try:
            await self.app(scope, replay_receive, capture)
        finally:
            await run_in_threadpool(self._finish, scope_hash, key, captured)

    def _live(self, headers: dict[bytes, bytes]) -> bool:
        """The request's credential still signs someone in (as `deps.current_viewer` reads
        it: the Authorization header first, else the session cookie); a request with neither
        (signing in, a partner node's signed request) has nothing to check."""
        from acsa.api.deps import SESSION_COOKIE
        from acsa.users import service as users

        auth = headers.get(b"authorization", b"").decode("latin-1")
        raw = cookie_parser(_cookie(headers).decode("latin-1")).get(SESSION_COOKIE, "")
        if not auth and not raw:
            return True
        with unit_of_work(self.engine, read_only=True) as s:
            if auth:
                scheme, _, token = auth.partition(" ")
                return scheme.lower() == "bearer" and bool(token.strip()) and \
                    users.resolve_token(s, token.strip()) is not None
            return users.resolve_session(s, raw) is not None

    def _claim(self, scope_hash: str, key: str, fingerprint: str) -> str | dict[str, Any] | None:
        try:
            with unit_of_work(self.engine) as s:
                row = s.scalar(select(IdempotencyKey).where(
                    IdempotencyKey.scope_hash == scope_hash, IdempotencyKey.key == key))
                if row is None:
                    s.add(IdempotencyKey(scope_hash=scope_hash, key=key,
                                         fingerprint=fingerprint, created_at=utcnow()))
                    return None
                if row.fingerprint != fingerprint:
                    return "conflict"
                if row.status is None:
                    return "pending"
                return {"status": row.status, "headers": json.loads(row.headers or "[]"),
                        "body": row.body or ""}
        except IntegrityError:
            return "pending"

    def _finish(self, scope_hash: str, key: str, captured: dict[str, Any]) -> None:
        with unit_of_work(self.engine) as s:
            row = s.scalar(select(IdempotencyKey).where(
                IdempotencyKey.scope_hash == scope_hash, IdempotencyKey.key == key))
            if row is None:
                return
            if captured["status"] >= 500:
                s.delete(row)  # a server failure is not an answer: let the retry run
                return
            row.status = captured["status"]
            row.headers = json.dumps(captured["headers"])
            row.body = captured["body"].decode("latin-1")


def _cookie(headers: dict[bytes, bytes]) -> bytes:
    return headers.get(b"cookie", b"")
