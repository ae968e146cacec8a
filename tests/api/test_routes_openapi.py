"""The OpenAPI document of the settlement, books, reference and audit routes: every operation
is described, answers with a declared schema, and documents its problem responses."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from acsa.api.app import create_app

TAGS = {"settlement", "books", "reference", "audit"}


@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app(create_engine("sqlite://")).openapi()


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items() if TAGS & set(op.get("tags", []))]


def test_every_capability_has_its_route(spec):
    found = {(m.upper(), p.removeprefix("/api/v1")) for m, p, _ in operations(spec)}
    assert found == {
        ("GET", "/claims"), ("GET", "/claims/{number}"),
        ("POST", "/claims/{number}/payments"), ("POST", "/claims/{number}/returns"),
        ("POST", "/claims/{number}/exchanges"), ("POST", "/offsets"), ("GET", "/offsets"),
        ("GET", "/offsets/{number}"), ("POST", "/offsets/{number}/approve"),
        ("POST", "/offsets/{number}/withdraw"),
        ("POST", "/deadlines"),
        ("GET", "/books/balance"), ("GET", "/books/ageing"), ("GET", "/books/report"),
        ("GET", "/books/export"),
        ("GET", "/agreements"), ("GET", "/agreements/{code}"), ("GET", "/parties"),
        ("GET", "/units"), ("POST", "/units"), ("GET", "/officials"), ("POST", "/officials"),
            ("PATCH", "/officials/{code}"), ("POST", "/officials/{code}/deactivate"),
        ("GET", "/users"), ("POST", "/users"), ("GET", "/activities"),
        ("POST", "/activities"), ("GET", "/rates"), ("POST", "/rates"),
        ("GET", "/audit/verify"), ("GET", "/audit/events"),
        ("GET", "/orders/{number}/audit-pack.zip"), ("GET", "/activities/{code}/audit-pack.zip"),
    }


def test_every_operation_is_described_and_answers_with_a_schema(spec):
    for method, path, op in operations(spec):
        assert op.get("description"), (method, path)
        ok = [code for code in op["responses"] if code.startswith("2")]
        assert len(ok) == 1, (method, path)
        content = op["responses"][ok[0]]["content"]
        assert content and all(c.get("schema") for c in content.values()), (method, path)
        for status in ("401", "403", "404", "409", "422"):
            problem = op["responses"][status]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"].endswith("/Problem"), (method, path, status)


def test_lists_are_paginated(spec):
    for method, path, op in operations(spec):
        if method != "get" or "{" in path or path.startswith("/api/v1/books") \
                or path.endswith("/verify"):
            continue
        names = {p["name"] for p in op.get("parameters", [])}
        assert {"page", "page_size"} <= names, path
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"items", "page", "page_size", "total"} <= set(page["properties"]), path
