"""Audit packs over HTTP, on the demo story (SQLite and PostgreSQL): a party gets the zip of
its own order or activity, verifiable offline, without the other party's internal fields; an
order or activity of other parties is 404; nobody signed in is 401."""

from __future__ import annotations

import io
import json

from sqlalchemy import Engine, select

from acsa.activities.models import Activity
from acsa.audit import pack as packs
from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from tests.api.conftest import (  # noqa: F401  (the API fixtures, for this folder)
    _cheap_passwords,
    _pg_world,
    _sqlite_world,
    anonymous,
    app,
    client_for,
    world,
)
from tests.api.helpers import API
from tests.documents._pack_helpers import entries, manifest, pdf_text, sha

PROBLEM = "application/problem+json"


def numbers(engine: Engine, activity: str) -> dict[tuple[str, str], str]:
    """(requesting party, supplying party) -> order number, of the orders under `activity`."""
    with unit_of_work(engine) as s:
        rows = s.execute(select(Order.requesting_party, Order.supplying_party, Order.number)
                         .join(Activity, Activity.id == Order.activity_id)
                         .where(Activity.code == activity).order_by(Order.number)).all()
    return {(r, p): n for r, p, n in rows}


def fund_of(engine: Engine, number: str) -> str:
    with unit_of_work(engine) as s:
        return s.scalar(select(Order.fund_citation).where(Order.number == number)) or ""


def test_a_party_downloads_its_orders_pack(world, client_for):  # noqa: F811
    number = numbers(world, "KAMANDAG-10")[("JP", "PH")]
    r = client_for("jp-req").get(f"{API}/orders/{number}/audit-pack.zip")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == \
        f'attachment; filename="acsa-audit-pack-{number}.zip"'
    files = entries(r.content)
    assert r.headers["x-manifest-sha256"] == sha(files[packs.MANIFEST])
    m = manifest(r.content)
    assert m["scope"]["orders"] == [number] and m["produced_by"]["party"] == "JP"
    assert m["produced_by"]["user"] == "jp-req"
    assert m["orders"][0]["documents"][0]["filename"] == "fuel-delivery-ticket-0441.pdf"
    assert f"orders/{number}/order-form-ja.pdf" in files
    report = packs.verify_pack(io.BytesIO(r.content))
    assert report.ok, report.problems
    assert report.checked["forms"] == 1 and report.checked["documents"] == 1
    # the requester's own pack keeps its fund citation
    fund = fund_of(world, number)
    assert json.loads(files[f"{order_dir(number)}/order.json"])["snapshot"]["fund_citation"] \
        == fund


def order_dir(number: str) -> str:
    return f"orders/{number}"


def test_the_supplier_gets_no_internal_field_of_the_requester(world, client_for):  # noqa: F811
    number = numbers(world, "KAMANDAG-10")[("JP", "PH")]
    fund = fund_of(world, number)
    r = client_for("ph-app").get(f"{API}/orders/{number}/audit-pack.zip", params={"lang": "fil"})
    assert r.status_code == 200, r.text
    files = entries(r.content)
    order_json = json.loads(files[f"{order_dir(number)}/order.json"])
    assert order_json["snapshot"]["fund_citation"] is None
    assert fund not in pdf_text(files[f"{order_dir(number)}/order-form-fil.pdf"])
    assert all(fund.encode() not in content for name, content in files.items()
               if not name.endswith(".pdf"))
    assert packs.verify_pack(io.BytesIO(r.content)).ok


def test_an_activity_pack_has_the_viewers_orders_only(world, client_for):  # noqa: F811
    under = numbers(world, "KAMANDAG-10")
    r = client_for("jp-req").get(f"{API}/activities/KAMANDAG-10/audit-pack.zip")
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == \
        'attachment; filename="acsa-audit-pack-KAMANDAG-10.zip"'
    m = manifest(r.content)
    assert m["scope"]["orders"] == sorted(n for (req, sup), n in under.items()
                                          if "JP" in (req, sup))
    assert len(m["scope"]["orders"]) == 2
    assert packs.verify_pack(io.BytesIO(r.content)).ok
    # KAMANDAG-10 runs under PH-US too: the US sees the activity, with none of these orders
    us = client_for("us-app").get(f"{API}/activities/KAMANDAG-10/audit-pack.zip")
    assert us.status_code == 200 and manifest(us.content)["orders"] == []


def test_other_parties_objects_are_404(world, client_for):  # noqa: F811
    number = numbers(world, "KAMANDAG-10")[("JP", "PH")]
    phus = numbers(world, "BALIKATAN-2025")[("PH", "US")]
    for user, path in (("us-app", f"/orders/{number}/audit-pack.zip"),
                       ("jp-req", f"/orders/{phus}/audit-pack.zip"),
                       ("jp-req", "/orders/PHJP-JP-2026-9999/audit-pack.zip"),
                       ("jp-req", "/activities/BALIKATAN-2025/audit-pack.zip"),
                       ("us-app", "/activities/TY-RELIEF-CEBU/audit-pack.zip"),
                       ("jp-req", "/activities/NO-SUCH/audit-pack.zip")):
        r = client_for(user).get(f"{API}{path}")
        assert r.status_code == 404, (user, path, r.text)
        assert r.headers["content-type"] == PROBLEM
    ok = client_for("ph-app").get(f"{API}/orders/{phus}/audit-pack.zip")
    assert ok.status_code == 200 and manifest(ok.content)["scope"]["orders"] == [phus]


def test_a_bad_language_is_422_and_nobody_signed_in_401(world, client_for, anonymous):  # noqa: F811
    number = numbers(world, "KAMANDAG-10")[("JP", "PH")]
    r = client_for("jp-req").get(f"{API}/orders/{number}/audit-pack.zip", params={"lang": "de"})
    assert r.status_code == 422
    for path in (f"/orders/{number}/audit-pack.zip", "/activities/KAMANDAG-10/audit-pack.zip"):
        r = anonymous.get(f"{API}{path}")
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM


def test_the_routes_are_in_the_api_document(app):  # noqa: F811
    paths = app.openapi()["paths"]
    for path in ("/api/v1/orders/{number}/audit-pack.zip",
                 "/api/v1/activities/{code}/audit-pack.zip"):
        op = paths[path]["get"]
        assert "application/zip" in op["responses"]["200"]["content"]
        for status in ("401", "404", "422"):
            assert PROBLEM in op["responses"][status]["content"], (path, status)
