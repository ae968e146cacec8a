"""Helpers of the API tests: orders taken through to receipt by the services (to make claims
of a given kind), and the check that a refused request wrote nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.integration.helpers import snapshot

D = dt.date
ON = D(2026, 11, 2)  # inside the officials' authority and the PH-JP FY2026 rate
API = "/api/v1"

# who takes an order through, under which agreement and activity
JP_REQUESTS = {"agreement": "PHJP", "activity": "TY-RELIEF-CEBU", "req": "jp-sato",
               "app": "ph-cruz", "sup": "ph-reyes", "rcv": "jp-ito", "req_unit": "JMSDF-DD110",
               "sup_unit": "PN-NBSBMA"}
PH_REQUESTS = {"agreement": "PHJP", "activity": "TY-RELIEF-CEBU", "req": "ph-garcia",
               "app": "jp-kato", "sup": "jp-ono-sup", "rcv": "ph-lim", "req_unit": "PAF-220AW",
               "sup_unit": "JASDF-1TAW"}
PH_US = {"agreement": "PHUS", "activity": "BALIKATAN-2025", "req": "ph-bautista",
         "app": "us-miller", "sup": "us-nguyen", "rcv": "ph-lim", "req_unit": "PN-NBSBMA",
         "sup_unit": "USN-CTF73"}


def line(category: str, description: str, qty: str, unit: str, price: str, currency: str,
         method: str, stock: str = "") -> orders.LineInput:
    return orders.LineInput(category=category, description=description, quantity=Decimal(qty),
                            unit=unit, unit_price=Money.of(price, currency), method=method,
                            stock_number=stock)


def received_order(engine: Engine, lines: list[orders.LineInput], *,
                   who: dict[str, str] = JP_REQUESTS, on: dt.date = ON) -> list[str]:
    """An order created, requested, accepted, delivered and received in full by the officials
    of `who`; returns the numbers of its open claims."""
    with unit_of_work(engine) as s:
        number = orders.create_order(
            s, agreement_code=who["agreement"], activity_code=who["activity"], by=who["req"],
            order_on=on, lines=lines, delivery_place="Subic Bay", delivery_on=on,
            fund_citation="FY2026 O&M test", requester_poc="test POC",
            requesting_unit=who["req_unit"]).number
        orders.request_order(s, number=number, by=who["req"], on=on)
        orders.accept_order(s, number=number, by=who["app"], on=on, supplier_poc="test POC",
                            supplying_unit=who["sup_unit"])
        order = orders.get_order(s, number)
        orders.record_delivery(s, number=number, by=who["sup"], on=on,
                               quantities={ln.line_no: ln.quantity for ln in order.lines},
                               document_name="ticket.pdf", document=f"%PDF {number}".encode(),
                               content_type="application/pdf")
        orders.record_receipt(s, number=number, by=who["rcv"], on=on, lines={})
        return settlement.open_claim_numbers(s, orders.get_order(s, number))


def refused(engine: Engine, client: TestClient, method: str, path: str, status: int,
            **kwargs: Any) -> dict[str, Any]:
    """The request is answered with `status` as a problem-details document and the database
    is exactly as it was before."""
    before = snapshot(engine)
    r: Response = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["detail"]
    assert snapshot(engine) == before, "a refused request changed the database"
    return body
