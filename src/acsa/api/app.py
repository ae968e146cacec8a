"""The FastAPI application: routes under /api/v1, problem details, body limit, idempotency,
the health check and OpenAPI 3.1 at /openapi.json with interactive docs at /docs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import Engine, text

from acsa import __version__
from acsa.api import problems
from acsa.api.middleware import BodyLimit, Idempotency
from acsa.api.routes import auth, orders
from acsa.api.schemas import PROBLEM_RESPONSES
from acsa.db import migrate
from acsa.webhooks import worker

API_PREFIX = "/api/v1"


def create_app(engine: Engine, *, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI(
        title="acsa", version=__version__,
        description="Mutual logistics support under Acquisition and Cross-Servicing "
        "Agreements. Sign in with POST /api/v1/auth/login (cookie + X-CSRF-Token) or send "
        "'Authorization: Bearer <token>'. Every POST accepts an Idempotency-Key header; "
        "transitions accept If-Match with the order's ETag. Errors are RFC 9457 problem "
        "details.",
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
        lifespan=worker.lifespan)  # the webhook delivery worker runs with the server
    app.state.engine = engine
    app.state.secure_cookies = secure_cookies
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    api.include_router(auth.router)
    api.include_router(orders.router)
    api.include_router(orders.documents)
    for module in _optional_routes():
        api.include_router(module.router)
    app.include_router(api)
    _mount_web(app)

    @app.get("/health", tags=["health"])
    def health(request: Request) -> dict[str, Any]:
        """Liveness and the database: reachable, and its schema at the code's revision."""
        eng: Engine = request.app.state.engine
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = migrate.current(eng), migrate.head(eng)
        if current != head:
            problems_body = {"status": "degraded", "database": "reachable",
                             "schema": current, "expected": head}
            raise problems.HealthFailure(problems_body)
        return {"status": "ok", "database": eng.dialect.name, "schema": current}

    app.add_middleware(Idempotency, engine=engine)
    app.add_middleware(BodyLimit)
    return app


def _mount_web(app: FastAPI) -> None:
    """The web application (`acsa.web`): its pages, static files and sign-in, beside the API."""
    import importlib

    try:
        web = importlib.import_module("acsa.web.app")
    except ModuleNotFoundError as e:
        if e.name not in ("acsa.web", "acsa.web.app"):
            raise
        return
    web.mount(app)


def _optional_routes() -> list[Any]:
    """Route modules beyond auth and orders (settlement, books, reference data, audit,
    webhooks), each exposing `router`."""
    import importlib

    found = []
    for name in ("settlement", "books", "reference", "audit", "webhooks", "documents", "reports",
                 "bulk", "audit_pack", "sync", "sync_reconcile"):
        try:
            found.append(importlib.import_module(f"acsa.api.routes.{name}"))
        except ModuleNotFoundError as e:
            if e.name != f"acsa.api.routes.{name}":
                raise
    return found
