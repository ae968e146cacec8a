"""Every error the API returns is an RFC 9457 problem-details document.

A domain error keeps its class name as the problem type, its message as `detail`, its hint, and
the path of the bad field; request validation errors list each bad field with its path.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from acsa import errors

TYPE_BASE = "https://acsa.example/problems/"
MEDIA = "application/problem+json"

STATUS = {
    "invalid": 422,
    "rule": 409,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "integrity": 500,
    "unauthenticated": 401,
    "throttled": 429,
}


def problem(status: int, type_: str, title: str, detail: str, *, instance: str = "",
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + type_, "title": title, "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v not in (None, [], "")})
    headers = {}
    if "retry_after" in extra and extra["retry_after"]:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


class HealthFailure(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.body = body


def from_domain(request: Request, e: errors.AcsaError) -> JSONResponse:
    status = STATUS.get(e.kind, 400)
    if isinstance(e, errors.StaleVersion):
        status = 412  # If-Match named a version the order has moved past
    extra: dict[str, Any] = {"hint": e.hint or None, "code": e.code}
    if e.field:
        extra["errors"] = [{"path": e.field, "message": e.message}]
    for key, value in e.details.items():
        extra[key] = value
    return problem(status, e.code, e.code, e.message, instance=request.url.path, **extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.AcsaError)
    async def _domain(request: Request, e: errors.AcsaError) -> JSONResponse:
        return from_domain(request, e)

    @app.exception_handler(HealthFailure)
    async def _health(request: Request, e: HealthFailure) -> JSONResponse:
        return JSONResponse(e.body, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError) -> JSONResponse:
        items = [{"path": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                  "message": err.get("msg", "invalid")} for err in e.errors()]
        first = items[0] if items else {"path": "", "message": "invalid request"}
        return problem(422, "InvalidRequest", "Invalid request",
                       f"{first['path'] or 'request'}: {first['message']}",
                       instance=request.url.path, errors=items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return problem(e.status_code, f"Http{e.status_code}", str(e.detail), str(e.detail),
                       instance=request.url.path)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, e: StaleDataError) -> JSONResponse:
        return problem(409, "StaleVersion", "StaleVersion",
                       "the order was changed by another request at the same time",
                       instance=request.url.path)

    @app.exception_handler(sa_exc.IntegrityError)
    async def _integrity(request: Request, e: sa_exc.IntegrityError) -> JSONResponse:
        return problem(409, "Conflict", "Conflict", "refused by the database: the record "
                       "already exists or is referenced", instance=request.url.path)

    @app.exception_handler(sa_exc.DataError)
    async def _data(request: Request, e: sa_exc.DataError) -> JSONResponse:
        return problem(422, "InvalidValue", "Invalid value", "a value is too long, out of "
                       "range or contains a character the database cannot store",
                       instance=request.url.path)

    @app.exception_handler(sa_exc.OperationalError)
    async def _operational(request: Request, e: sa_exc.OperationalError) -> JSONResponse:
        text = str(e.orig) if e.orig else str(e)
        if "locked" in text or "deadlock" in text or "could not serialize" in text:
            return problem(409, "Busy", "Busy", "another request changed the same data; retry",
                           instance=request.url.path, retry_after=1)
        return problem(503, "DatabaseUnavailable", "Database unavailable",
                       text.splitlines()[0], instance=request.url.path)
