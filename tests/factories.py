"""A small, complete world for service-level tests: the three parties, units, an official of
every role for each party, agreements (PH-JP amended into force on 2026-03-01), rates and
activities; and `order_to(state)` to bring an order through its life to a given state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.rates import service as rates

D = dt.date
PHJP_IN_FORCE = D(2026, 3, 1)
ROLES = ("requesting", "approving", "supplying", "receiving", "finance", "auditor")
LIMITS = {"PH": Money.of(50_000_000, "PHP"), "JP": Money.of(150_000_000, "JPY"),
          "US": Money.of(1_000_000, "USD")}


def amend_phjp_in_force(home: Path, on: dt.date = PHJP_IN_FORCE) -> None:
    (home / "agreements").mkdir(parents=True, exist_ok=True)
    (home / "agreements" / "phjp-in-force.toml").write_text(
        f'amends = "PHJP"\nversion = 2\nin_force_on = {on.isoformat()}\n')


def official(party: str, role: str) -> str:
    """The code of the standard official of `party` in `role`, e.g. 'jp-requesting'."""
    return f"{party.lower()}-{role}"


def setup_world(session: Session, home: Path) -> None:
    amend_phjp_in_force(home)
    parties.ensure_parties(session)
    agreements.load(session, home / "agreements")
    for party, unit in (("PH", "PN-NFSL"), ("JP", "JMSDF-ESC1"), ("US", "USN-CTF73")):
        parties.add_unit(session, code=unit, party=party, name=f"{unit} unit",
                         address=f"{unit} finance office")
        for role in ROLES:
            limit = LIMITS[party] if role in ("requesting", "approving") else None
            parties.add_official(session, code=official(party, role), name=f"{party} {role}",
                                 party=party, role=role, valid_from=D(2026, 1, 1),
                                 valid_to=D(2030, 12, 31), limit=limit, unit=unit)
    phjp = agreements.get(session, "PHJP")
    rates.add_rate(session, base="JPY", quote="PHP", rate="0.3744", on=D(2026, 4, 1),
                   source="MOD FY2026 official rate", kind="agreement_fy", agreement=phjp)
    jpus = agreements.get(session, "JPUS")
    rates.add_rate(session, base="USD", quote="JPY", rate="150", on=D(2026, 4, 1),
                   source="MOD FY2026 official rate", kind="agreement_fy", agreement=jpus)
    rates.add_rate(session, base="USD", quote="PHP", rate="58.10", on=D(2026, 1, 2),
                   source="BSP reference rate", kind="market")
    activities.add_activity(session, code="KAMANDAG-10", name="KAMANDAG 10", type="exercise",
                            place="Subic Bay", starts_on=D(2026, 5, 1), ends_on=D(2026, 6, 30),
                            agreement_codes=["PHJP", "PHUS"])
    activities.add_activity(session, code="HADR-CEBU", name="Typhoon relief Cebu", type="hadr",
                            place="Cebu", starts_on=D(2026, 8, 1), ends_on=D(2026, 9, 30),
                            agreement_codes=["PHJP"])
    activities.add_activity(session, code="PORTCALL-YOKO", name="Port call Yokosuka",
                            type="liaison", place="Yokosuka", starts_on=D(2026, 5, 1),
                            ends_on=D(2026, 5, 10), agreement_codes=["JPUS"])


def fuel_line(method: str = "cash", qty: str = "10000", price: str = "95.50",
              currency: str = "PHP") -> orders.LineInput:
    return orders.LineInput(category="fuel", description="Diesel fuel, marine (F-76)",
                            quantity=Decimal(qty), unit="L", unit_price=Money.of(price, currency),
                            method=method, stock_number="9140-00-273-2377")


def airlift_line(method: str = "eve", price: str = "250000",
                 currency: str = "PHP") -> orders.LineInput:
    return orders.LineInput(category="transportation", description="C-130 airlift, flight hours",
                            quantity=Decimal(4), unit="h", unit_price=Money.of(price, currency),
                            method=method)


def draft(session: Session, *, lines: list[orders.LineInput] | None = None,
          agreement: str = "PHJP", activity: str = "KAMANDAG-10", requester: str = "JP",
          on: dt.date = D(2026, 5, 10), **extra: object) -> Order:
    unit = {"PH": "PN-NFSL", "JP": "JMSDF-ESC1", "US": "USN-CTF73"}[requester]
    fields: dict[str, object] = dict(
        delivery_place="Subic Bay, Alava Pier", delivery_on=on + dt.timedelta(days=2),
        fund_citation="FY2026 O&M 1234-56", requester_poc="Lt Sato, +81 46 000 0000",
        requesting_unit=unit)
    fields.update(extra)
    return orders.create_order(session, agreement_code=agreement, activity_code=activity,
                               by=official(requester, "requesting"), order_on=on,
                               lines=lines or [fuel_line()], **fields)  # type: ignore[arg-type]


def order_to(session: Session, state: str, **kw: object) -> Order:
    """A new order brought to `state` (draft, requested, accepted, delivered, received)."""
    order = draft(session, **kw)  # type: ignore[arg-type]
    number, on = order.number, order.order_on
    req, sup = order.requesting_party, order.supplying_party
    sup_unit = {"PH": "PN-NFSL", "JP": "JMSDF-ESC1", "US": "USN-CTF73"}[sup]
    if state == "draft":
        return order
    orders.request_order(session, number=number, by=official(req, "requesting"), on=on)
    if state == "requested":
        return orders.get_order(session, number)
    orders.accept_order(session, number=number, by=official(sup, "approving"), on=on,
                        supplier_poc="Cdr Cruz, +63 47 000 0000", supplying_unit=sup_unit)
    if state == "accepted":
        return orders.get_order(session, number)
    order = orders.get_order(session, number)
    orders.record_delivery(session, number=number, by=official(sup, "supplying"),
                           on=on + dt.timedelta(days=2),
                           quantities={ln.line_no: ln.quantity for ln in order.lines},
                           document_name="issue-slip.pdf", document=f"slip {number}".encode())
    if state == "delivered":
        return orders.get_order(session, number)
    orders.record_receipt(session, number=number, by=official(req, "receiving"),
                          on=on + dt.timedelta(days=2), lines={})
    if state == "received":
        return orders.get_order(session, number)
    raise ValueError(f"order_to does not go to {state!r}")


__all__ = ["ReceiptLineInput", "D", "setup_world", "official", "order_to", "draft",
           "fuel_line", "airlift_line", "amend_phjp_in_force"]
