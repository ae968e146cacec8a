"""What every endpoint shares: the engine, one unit of work per request, the signed-in viewer
(browser session with CSRF, or bearer token), role checks and ETag/If-Match."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.users import service as users
from acsa.users.service import Viewer

T = TypeVar("T")
SESSION_COOKIE = "acsa_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotSignedIn(errors.AcsaError):
    kind = "unauthenticated"
    hint = "Sign in at POST /api/v1/auth/login, or send 'Authorization: Bearer <token>'."


class CsrfFailed(errors.AcsaError):
    kind = "forbidden"
    hint = f"Send the CSRF token from sign-in in the {CSRF_HEADER} header."


class Forbidden(errors.AcsaError):
    kind = "forbidden"


def engine_of(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


@contextmanager
def transaction(request: Request, *, read_only: bool | None = None) -> Iterator[Session]:
    """The request's unit of work; GET requests read without taking SQLite's write lock."""
    if read_only is None:
        read_only = request.method in SAFE_METHODS
    with unit_of_work(engine_of(request), read_only=read_only) as session:
        yield session


def run(request: Request, fn: Callable[[Session], T]) -> T:
    """One unit of work: committed when `fn` returns, rolled back on any error."""
    with transaction(request) as session:
        return fn(session)


def current_viewer(request: Request) -> Viewer:
    auth = request.headers.get("authorization", "")
    with transaction(request, read_only=True) as session:
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotSignedIn("the Authorization header must be 'Bearer <token>'")
            found_token = users.find_token(session, token.strip())
            if found_token is None:
                raise NotSignedIn("the API token is unknown, revoked or expired")
            return users.viewer_of(session, *found_token)
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotSignedIn("not signed in")
        found = users.resolve_session(session, cookie)
        if found is None:
            raise NotSignedIn("the session has expired; sign in again")
        user, web_session = found
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
                request.headers.get(CSRF_HEADER, "").encode(), web_session.csrf_token.encode()):
            raise CsrfFailed("missing or wrong CSRF token")
        return users.viewer_of(session, user)


ViewerDep = Depends(current_viewer)


def require_official(viewer: Viewer, action: str) -> str:
    """The official code the viewer signs as; auditors and users without one cannot act."""
    if viewer.is_auditor:
        raise Forbidden(f"auditors have read-only access and cannot {action}")
    if not viewer.official:
        raise Forbidden(f"user {viewer.username} is not linked to an official and cannot "
                        f"{action}", hint="An administrator links the user to an official.")
    return viewer.official


def require_admin(viewer: Viewer, party: str | None = None) -> None:
    if not viewer.is_admin:
        raise Forbidden("only an administrator may do this")
    if party is not None and party.upper() != viewer.party:
        raise Forbidden(f"an administrator of {viewer.party} cannot administer {party.upper()}")


def expected_version(request: Request) -> int | None:
    """The version named by If-Match ("v7", W/"v7" or 7), if any."""
    raw = request.headers.get("if-match")
    if not raw or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"').removeprefix("v")
    if not tag.isdigit():
        raise errors.InvalidInput("If-Match must be an ETag from this API, e.g. \"v7\"",
                                  field="If-Match")
    return int(tag)


def etag(version: int) -> str:
    return f'"v{version}"'
