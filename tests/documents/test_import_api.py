"""The bulk routes over HTTP (FastAPI TestClient on the demo world of tests/api, SQLite and
PostgreSQL): imports in the signed-in requesting official's name with rows of other parties
refused, and exports scoped to the viewer's party."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from tests.api import conftest as api
from tests.documents._bulk_helpers import counts, csv_bytes, order
from tests.integration.helpers import snapshot

# the fixtures of the API world (tests/api/conftest.py), shared with this folder
_cheap_passwords, _sqlite_world, _pg_world = api._cheap_passwords, api._sqlite_world, api._pg_world
world, app, client_for = api.world, api.app, api.client_for

API = "/api/v1/bulk"
DEMO = {"activity": "TY-RELIEF-CEBU", "order_on": "2026-11-02", "delivery_on": "2026-11-04",
        "requesting_unit": "JMSDF-DD110", "created_by": ""}


def _upload(client: TestClient, data: bytes, name: str = "orders.csv",
            **form: str) -> dict:  # type: ignore[type-arg]
    r = client.post(f"{API}/import/orders", files={"file": (name, data, "text/csv")},
                    data=form)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_requesting_official_imports_in_their_own_name(
        world: Engine, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("jp-req")
    rows = order("API-1", state="requested", **DEMO) + order(
        "API-2", **dict(DEMO, requesting_party="PH", supplying_party="JP"))
    report = _upload(client, csv_bytes(rows))
    assert report["status"] == "partial"
    assert [o["order_ref"] for o in report["imported"]] == ["API-1"]
    [problem] = report["problems"]
    assert (problem["row"], problem["column"]) == (3, "requesting_party")
    with unit_of_work(world, read_only=True) as s:
        o = orders.get_order(s, report["imported"][0]["number"])
        creator = s.execute(text("SELECT code FROM officials WHERE id = :i"),
                            {"i": o.created_by_id}).scalar_one()
        assert creator == "jp-sato" and o.state == "requested"
    again = _upload(client, csv_bytes(rows[:1]))
    assert again["already_imported_count"] == 1


def test_signing_as_someone_else_or_past_requested_is_refused(
        world: Engine, client_for: Callable[[str], TestClient]) -> None:
    before = counts(world)
    rows = order("API-3", **dict(DEMO, created_by="jp-other")) + order(
        "API-4", state="accepted", accepted_by="ph-cruz", **DEMO)
    report = _upload(client_for("jp-req"), csv_bytes(rows))
    assert [(p["row"], p["column"]) for p in report["problems"]] == [
        (2, "created_by"), (3, "state")]
    assert counts(world) == before


def test_only_requesting_officials_import(world: Engine,
                                         client_for: Callable[[str], TestClient]) -> None:
    before = snapshot(world)
    r = client_for("ph-fin").post(f"{API}/import/orders",
                                  files={"file": ("o.csv", csv_bytes(order("X")), "text/csv")})
    assert r.status_code == 403 and "requesting" in r.json()["detail"]
    r = client_for("jp-audit").post(f"{API}/import/orders",
                                    files={"file": ("o.csv", csv_bytes(order("X")), "text/csv")})
    assert r.status_code == 403
    assert snapshot(world) == before


def test_an_unreadable_upload_is_a_problem_document(
        world: Engine, client_for: Callable[[str], TestClient]) -> None:
    before = snapshot(world)
    r = client_for("jp-req").post(f"{API}/import/orders",
                                  files={"file": ("o.csv", b"order_ref\nX\n", "text/csv")})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "missing required column" in r.json()["detail"]
    assert snapshot(world) == before


def test_exports_are_the_viewers_partys(world: Engine,
                                        client_for: Callable[[str], TestClient]) -> None:
    ph = client_for("ph-fin")
    r = ph.get(f"{API}/export/orders", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    with unit_of_work(world, read_only=True) as s:
        mine = [o for o in orders.list_orders(s, viewer_party="PH")]
    assert sorted(r["number"] for r in rows) == sorted(o.number for o in mine)
    for row in rows:
        assert bool(row["fund_citation"]) is (row["requesting_party"] == "PH") or \
            not next(o for o in mine if o.number == row["number"]).fund_citation
    us = client_for("us-app").get(f"{API}/export/orders", params={"agreement": "PHJP"})
    assert us.status_code == 404
    r = client_for("jp-fin").get(f"{API}/export/ledger", params={"format": "xlsx"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    books = {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert books == {"JP"}
    t = client_for("jp-req").get(f"{API}/import/template", params={"format": "xlsx"})
    assert t.status_code == 200 and t.content[:2] == b"PK"
