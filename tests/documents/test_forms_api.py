"""The forms over HTTP (TestClient on the demo world of tests/api, SQLite and PostgreSQL):
200 with a PDF attachment for either party, the partner's copy without the requester's
internal fields, 404 for a third nation or an unknown number, 422 for an unknown language."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine

from acsa.db.engine import unit_of_work
from acsa.settlement import service as settlement
from tests.api import conftest as api_fixtures
from tests.api.helpers import API, ON, PH_REQUESTS, line, received_order
from tests.documents._forms_helpers import flat, qr_texts, text

# the fixtures of the API tests: the demo world, its app and its signed-in clients
world, app, client_for = api_fixtures.world, api_fixtures.app, api_fixtures.client_for
_sqlite_world, _pg_world = api_fixtures._sqlite_world, api_fixtures._pg_world
_cheap_passwords = api_fixtures._cheap_passwords

ClientFor = Callable[[str], TestClient]
ORDER = "PHJP-JP-2026-0001"  # JP asked PH for fuel and water; billed, paid twice, closed
CLAIM = f"{ORDER}-C1"
FUND = "JMSDFFY2026O&M02-31-118"  # the requester's internal fund citation, squeezed


def _pdf(client: TestClient, path: str, name: str) -> bytes:
    r = client.get(f"{API}{path}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert r.content.startswith(b"%PDF")
    return r.content


def test_order_form_for_both_parties(client_for: ClientFor, world: Engine) -> None:
    requester = _pdf(client_for("jp-req"), f"/orders/{ORDER}/form.pdf", f"{ORDER}-ja.pdf")
    supplier = _pdf(client_for("ph-app"), f"/orders/{ORDER}/form.pdf?lang=fil",
                    f"{ORDER}-fil.pdf")
    assert FUND in flat(requester) and "発注書兼受領書" in text(requester)
    assert FUND not in flat(supplier) and "Order at Resibo ng ACSA" in text(supplier)
    assert "PHP 8,232,000.00" in text(requester) and "PHP 8,232,000.00" in text(supplier)
    assert qr_texts(requester) == qr_texts(supplier)  # the same order, the same hash
    assert len(PdfReader(io.BytesIO(requester)).pages) >= 1


def test_claim_notice_and_receipts(client_for: ClientFor, world: Engine) -> None:
    client = client_for("ph-fin")
    notice = _pdf(client, f"/claims/{CLAIM}/notice.pdf", f"{CLAIM}-notice-ja.pdf")
    assert "PHP 8,129,250.00" in text(notice) and "PHP 0.00" in text(notice)
    claim_payments = client.get(f"{API}/claims/{CLAIM}").json()["settlements"]
    ids = [s["id"] for s in claim_payments]
    assert len(ids) == 2
    receipt = _pdf(client_for("jp-fin"), f"/settlements/{ids[0]}/receipt.pdf?lang=fil",
                   f"receipt-{ids[0]}-fil.pdf")
    assert "PHP 5,000,000.00" in text(receipt) and "PHP 3,129,250.00" in text(receipt)


def test_offset_document(client_for: ClientFor, world: Engine) -> None:
    received_order(world, [line("fuel", "JP-8 jet fuel", "1000", "L", "120", "JPY", "cash",
                                "9130-01-031-5816")], who=PH_REQUESTS)
    with unit_of_work(world) as s:
        number = settlement.propose_offset(s, agreement_code="PHJP", by="ph-santos",
                                           on=ON, currency="PHP").number
    doc = _pdf(client_for("jp-fin"), f"/offsets/{number}/document.pdf", f"{number}-ja.pdf")
    assert number in text(doc) and "承認待ち" in text(doc)
    r = client_for("us-app").get(f"{API}/offsets/{number}/document.pdf")
    assert r.status_code == 404


def test_a_third_nation_and_unknown_numbers_get_404(client_for: ClientFor,
                                                      world: Engine) -> None:
    us = client_for("us-app")
    for path in (f"/orders/{ORDER}/form.pdf", f"/claims/{CLAIM}/notice.pdf",
                 "/settlements/1/receipt.pdf"):
        r = us.get(f"{API}{path}")
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json")
    jp = client_for("jp-req")
    for path in ("/orders/PHJP-JP-2026-0999/form.pdf", "/claims/X-C1/notice.pdf",
                 "/settlements/999999/receipt.pdf", "/offsets/PHJP-OFS-0999/document.pdf"):
        assert jp.get(f"{API}{path}").status_code == 404, path
    assert jp.get(f"{API}/orders/{ORDER}/form.pdf?lang=en").status_code == 422
