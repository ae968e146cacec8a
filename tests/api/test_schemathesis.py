"""Property-based tests of the whole API from its own OpenAPI document (schemathesis).

Every operation in /openapi.json is called in-process (ASGI) with generated valid and invalid
requests, signed in with a bearer token of a demo user who may attempt it, on a fresh copy of
the demo story per backend. No answer may be a 5xx; the headers and the body of every answer
whose status and media type the document declares must match it. The run is bounded: a few
examples per operation, no deadline, derandomized; nothing is skipped.

That every status and media type an operation sends is declared at all is checked apart, on
the document (the two tests at the end): every operation declares its problem responses as
application/problem+json, and a body that is not JSON gets a declared status.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from unittest import mock

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
)
from sqlalchemy import create_engine, text

from acsa import demo
from acsa.api.app import create_app
from acsa.db.engine import make_engine, unit_of_work
from acsa.users import service as users
from acsa.users.models import User
from tests.api.conftest import CHEAP_HASHER, PASSWORD
from tests.conftest import _pg_admin, _pg_url

EXAMPLES = 6  # per operation
CHECKS = [not_a_server_error, response_headers_conformance, response_schema_conformance]
# who calls an operation: one who may attempt it, so the generated data reaches the route
ADMIN_ONLY = ("/api/v1/webhooks", "/api/v1/units", "/api/v1/officials", "/api/v1/users",
              "/api/v1/activities")
FINANCE = ("/api/v1/rates", "/api/v1/deadlines", "/api/v1/audit/verify", "/api/v1/claims",
           "/api/v1/offsets", "/api/v1/books")
# Left out: DELETE /auth/tokens/{token_id} revokes tokens by their small integer ids, and so
# sooner or later the very token this run signs in with (destructive by design).
EXCLUDED = {("DELETE", "/api/v1/auth/tokens/{token_id}")}


@asynccontextmanager
async def _no_worker(app: Any) -> AsyncIterator[None]:
    yield


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app on a fresh copy of the demo story, with a bearer token per demo user."""
    drop = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("schemathesis") / "acsa.db"
        shutil.copy(request.getfixturevalue("_sqlite_world"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        drop = f"acsa_st_{uuid.uuid4().hex[:10]}"
        with _pg_admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{drop}" TEMPLATE '
                              f'"{request.getfixturevalue("_pg_world")}"'))
        engine = make_engine(_pg_url(drop))
    tokens = {}
    with mock.patch.object(users, "HASHER", CHEAP_HASHER), unit_of_work(engine) as s:
        for name in ("sato", "abe", "jp-admin"):
            party, official, admin = demo.USERS[name]
            user = s.query(User).filter_by(username=name).one_or_none() or users.add_user(
                s, username=name, password=PASSWORD, party=party, official=official,
                is_admin=admin, actor="schemathesis")
            tokens[name] = users.create_token(s, user, name="schemathesis")[1]
    try:
        yield {"app": without_worker(create_app(engine)), "tokens": tokens,
               "started": time.monotonic()}
    finally:
        engine.dispose()
        if drop:
            with _pg_admin().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


def without_worker(app: FastAPI) -> FastAPI:
    """The app without its webhook delivery worker, which would otherwise send to whatever
    URLs the generated subscriptions name."""
    app.router.lifespan_context = _no_worker
    return app


# The document is the app's own, read over ASGI; the app each case is sent to is the one on
# the module's database (`api`). (schemathesis.pytest.from_fixture needs pytest < 9.2.)
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", without_worker(create_app(create_engine("sqlite://")))).exclude(
    func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in EXCLUDED)


def caller(path: str) -> str:
    if path.startswith(ADMIN_ONLY):
        return "jp-admin"
    if path.startswith(FINANCE):
        return "abe"
    return "sato"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_document_says(case: Any, api: dict[str, Any]) -> None:
    token = api["tokens"][caller(case.operation.path)]
    case.call_and_validate(app=api["app"], headers={"Authorization": f"Bearer {token}"},
                           checks=CHECKS)


# --- what the document declares --------------------------------------------------------------
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(create_engine("sqlite://")).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items()
            if path.startswith("/api/v1/") for method, op in ops.items()]


def test_every_operation_declares_its_problem_responses(document: dict[str, Any]):
    missing = []
    for method, path, op in operations(document):
        wanted = {"422"} if op.get("parameters") or op.get("requestBody") else set()
        if path != "/api/v1/auth/login":
            wanted.add("401")
        if "{" in path:
            wanted.add("404")
        for status in sorted(wanted):
            content = op["responses"].get(status, {}).get("content", {})
            if PROBLEM not in content:
                missing.append(f"{method} {path}: {status} {PROBLEM}")
    assert not missing, f"{len(missing)} undeclared:\n" + "\n".join(missing)


def test_a_body_that_is_not_json_gets_a_declared_status(document: dict[str, Any]):
    client = TestClient(without_worker(create_app(create_engine("sqlite://"))),
                        raise_server_exceptions=False)
    undeclared = []
    for method, path, op in operations(document):
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            continue
        r = client.request(method, path.replace("{", "x").replace("}", ""),
                           content=b"\x1c8\xff", headers={"content-type": "application/json"})
        assert r.status_code < 500, (method, path, r.text)
        if str(r.status_code) not in op["responses"]:
            undeclared.append(f"{method} {path}: {r.status_code}")
    assert not undeclared, "\n".join(undeclared)
