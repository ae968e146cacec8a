"""Many clients racing over HTTP for the same order: each act happens once.

Eight clients, each its own TestClient on its own thread with its own bearer token, released
together by a barrier, try to accept the same order, then to pay its whole bill, then to close
it. Exactly one of each succeeds; every other gets a 409 or 412 problem document, never a 5xx;
the claim is settled once, and both parties' books still agree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.ledger import reports
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim, SettlementRecord
from acsa.users import service as users
from tests.api.helpers import API, JP_REQUESTS, ON, line

CLIENTS = 8
STOCK = "9140-00-273-2377"


def tokens(engine: Engine, usernames: list[str]) -> list[str]:
    with unit_of_work(engine) as s:
        return [users.create_token(s, users.get_user(s, u), name=f"race {i}")[1]
                for i, u in enumerate(usernames)]


def race(app: FastAPI, bearer: list[str],
         send: Callable[[TestClient, int], Response]) -> list[Response]:
    """`send` from every client at once (as near as threads allow)."""
    start = threading.Barrier(len(bearer))

    def one(i: int) -> Response:
        client = TestClient(app, raise_server_exceptions=False,
                            headers={"Authorization": f"Bearer {bearer[i]}"})
        try:
            start.wait(timeout=30)
            return send(client, i)
        finally:
            client.close()

    with ThreadPoolExecutor(len(bearer)) as pool:
        return list(pool.map(one, range(len(bearer))))


def exactly_one_wins(answers: list[Response], ok: int) -> Response:
    statuses = sorted(r.status_code for r in answers)
    assert all(s < 500 for s in statuses), [r.text for r in answers]
    winners = [r for r in answers if r.status_code == ok]
    assert len(winners) == 1, statuses
    for r in answers:
        if r is winners[0]:
            continue
        assert r.status_code in (409, 412), (r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers
        assert r.json()["detail"], r.text
    return winners[0]


def books_agree(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        rows = reports.balances(s, as_of=ON.replace(year=ON.year + 1), agreement="PHJP")
    assert rows
    for r in rows:
        assert r.creditor_book == r.debtor_book, r


def requested(engine: Engine) -> str:
    who = JP_REQUESTS
    with unit_of_work(engine) as s:
        number = orders.create_order(
            s, agreement_code=who["agreement"], activity_code=who["activity"], by=who["req"],
            order_on=ON, lines=[line("fuel", "Diesel fuel, marine", "1000", "L", "70", "PHP",
                                     "cash", STOCK)],
            delivery_place="Subic Bay", delivery_on=ON, fund_citation="FY2026 O&M race",
            requester_poc="race POC", requesting_unit=who["req_unit"]).number
        orders.request_order(s, number=number, by=who["req"], on=ON)
        return number


def test_racing_clients_accept_pay_and_close_an_order_once(world, app):
    number = requested(world)
    with unit_of_work(world) as s:
        version = orders.get_order(s, number).version

    def accept(client: TestClient, i: int) -> Response:
        # half the clients name the version they saw, half do not
        headers = {"If-Match": f'"v{version}"'} if i % 2 else {}
        return client.post(f"{API}/orders/{number}/accept", headers=headers, json={
            "on": ON.isoformat(), "supplier_poc": "Lt Reyes", "supplying_unit": "PN-NBSBMA"})

    won = exactly_one_wins(race(app, tokens(world, ["ph-app"] * CLIENTS), accept), 200)
    assert won.json()["state"] == "accepted"
    with unit_of_work(world) as s:
        accepted = s.scalar(select(func.count()).select_from(Event).where(
            Event.subject == number, Event.action == "order.accepted"))
        assert accepted == 1
        order = orders.get_order(s, number)
        orders.record_delivery(s, number=number, by="ph-reyes", on=ON,
                               quantities={1: order.lines[0].quantity},
                               document_name="ticket.pdf", document=b"%PDF race ticket",
                               content_type="application/pdf")
        orders.record_receipt(s, number=number, by="jp-ito", on=ON, lines={})
        [bill] = settlement.claims_of(s, orders.get_order(s, number))
        claim, amount = bill.number, f"{bill.amount_minor / 100:.2f}"

    def pay(client: TestClient, i: int) -> Response:
        return client.post(f"{API}/claims/{claim}/payments", json={
            "amount": amount, "currency": "PHP", "on": ON.isoformat(),
            "reference": f"wire {i}"}, headers={"Idempotency-Key": f"race-pay-{i}"})

    won = exactly_one_wins(race(app, tokens(world, ["jp-fin"] * CLIENTS), pay), 201)
    assert won.json()["claim"]["state"] == "settled"
    with unit_of_work(world) as s:
        row = s.scalar(select(Claim).where(Claim.number == claim))
        assert row is not None and row.state == "settled"
        records = s.scalars(select(SettlementRecord).where(
            SettlementRecord.claim_id == row.id)).all()
        assert [r.applied_minor for r in records] == [row.amount_minor], "settled twice"
    books_agree(world)

    def close(client: TestClient, i: int) -> Response:
        return client.post(f"{API}/orders/{number}/close", json={"on": ON.isoformat()})

    finance = ["ph-fin", "jp-fin"] * (CLIENTS // 2)  # either party's finance official
    won = exactly_one_wins(race(app, tokens(world, finance), close), 200)
    assert won.json()["state"] == "closed"
    with unit_of_work(world) as s:
        closed = s.scalar(select(func.count()).select_from(Event).where(
            Event.subject == number, Event.action == "order.closed"))
        assert closed == 1
    books_agree(world)


def test_racing_creators_with_one_idempotency_key_make_one_order(world, app):
    """Retries of one creation arriving together: one order, the rest replay it or are told
    to retry (409 while the first is still running)."""
    body: dict[str, Any] = {
        "agreement": "PHJP", "activity": "TY-RELIEF-CEBU", "order_on": ON.isoformat(),
        "lines": [{"category": "fuel", "description": "Diesel fuel, marine", "quantity": "10",
                   "unit": "L", "unit_price": "70", "method": "cash"}]}
    [token] = tokens(world, ["jp-req"])
    with unit_of_work(world) as s:
        before = s.scalar(select(func.count()).select_from(orders.Order))

    def create(client: TestClient, i: int) -> Response:
        return client.post(f"{API}/orders", json=body,
                           headers={"Idempotency-Key": "one-order-please"})

    answers = race(app, [token] * CLIENTS, create)
    assert all(r.status_code in (201, 409) for r in answers), [r.text for r in answers]
    created = {r.json()["number"] for r in answers if r.status_code == 201}
    assert len(created) == 1, created
    with unit_of_work(world) as s:
        assert s.scalar(select(func.count()).select_from(orders.Order)) == before + 1
