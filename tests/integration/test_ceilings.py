"""Ceilings (10 USC 2347, as JPUS sets them): the US may acquire at most $60M a US fiscal year
under JPUS, of which at most $20M in supplies. An acceptance that would breach a ceiling is
refused; past 80% it is accepted with a warning. JPY orders count at the JPUS FY rate of 150
JPY per USD."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa import errors
from acsa.audit import service as audit
from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from tests.factories import D, draft
from tests.integration import race
from tests.integration.helpers import add_official, assert_refused

ON = D(2026, 6, 1)  # US FY2026, JP FY2026


@pytest.fixture
def world_big(world):
    """Officials without value limits, so only the ceilings bind."""
    with unit_of_work(world) as s:
        for code, party, role in (("us-req-big", "US", "requesting"),
                                  ("jp-appr-big", "JP", "approving"),
                                  ("jp-req-big", "JP", "requesting"),
                                  ("us-appr-big", "US", "approving")):
            add_official(s, code, party, role)
    return world


def lines(supplies_jpy: int, services_jpy: int, currency="JPY") -> list[orders.LineInput]:
    out = []
    if supplies_jpy:
        out.append(orders.LineInput(category="fuel", description="JP-5, bulk", quantity=Decimal(1),
                                    unit="each", unit_price=Money(supplies_jpy, currency),
                                    method="cash", stock_number="9130-00-273-2379"))
    if services_jpy:
        out.append(orders.LineInput(category="repair", description="hull repair",
                                    quantity=Decimal(1), unit="each",
                                    unit_price=Money(services_jpy, currency), method="cash"))
    return out


def requested(engine, supplies_usd=0, services_usd=0, on=ON, requester="US") -> str:
    """A requested JPUS order worth the given dollars (in JPY when the US requests)."""
    currency, scale = ("JPY", 150) if requester == "US" else ("USD", 100)
    with unit_of_work(engine) as s:
        number = draft(s, agreement="JPUS", activity="PORTCALL-YOKO", requester=requester, on=on,
                       lines=lines(int(Decimal(supplies_usd) * scale),
                                   int(Decimal(services_usd) * scale), currency)).number
        orders.request_order(s, number=number, by=f"{requester.lower()}-req-big", on=on)
    return number


def accept(number, on=ON, requester="US"):
    supplier = "jp" if requester == "US" else "us"
    unit = "JMSDF-ESC1" if requester == "US" else "USN-CTF73"
    return lambda s: orders.accept_order(s, number=number, by=f"{supplier}-appr-big", on=on,
                                         supplier_poc="Cdr Ito", supplying_unit=unit)


def accepted(engine, supplies_usd=0, services_usd=0, on=ON) -> list[str]:
    number = requested(engine, supplies_usd, services_usd, on)
    with unit_of_work(engine) as s:
        return accept(number, on)(s).warnings


def test_below_the_warning_threshold(world_big):
    assert accepted(world_big, supplies_usd=15_000_000) == []
    with unit_of_work(world_big) as s:
        (order,) = orders.list_orders(s, agreement="JPUS")
        assert (order.ceiling_currency, order.ceiling_supplies_minor,
                order.ceiling_services_minor) == ("USD", 1_500_000_000, 0)


def test_warning_past_80_percent(world_big):
    accepted(world_big, supplies_usd=15_000_000)
    number = requested(world_big, supplies_usd=1_500_000)
    with unit_of_work(world_big) as s:
        warnings = accept(number)(s).warnings
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "supplies ceiling 20,000,000.00 USD: 16,500,000.00 USD used (82%)")
    with unit_of_work(world_big) as s:
        (event,) = [e for e in audit.history(s, number) if e.action == "order.accepted"]
        assert "16,500,000.00 USD used" in event.payload


def test_breaching_the_supplies_ceiling(world_big):
    accepted(world_big, supplies_usd=15_000_000)
    number = requested(world_big, supplies_usd=Decimal("5000000.01"))  # 750,000,001 JPY
    err = assert_refused(world_big, errors.CeilingExceeded, accept(number))
    assert "20,000,000.01 USD" in err.message and "supplies" in err.message
    fits = requested(world_big, supplies_usd=5_000_000)  # exactly at the ceiling
    with unit_of_work(world_big) as s:
        assert "(100%)" in accept(fits)(s).warnings[0]
    with unit_of_work(world_big) as s:  # refused, it stays requested and still does not fit
        assert orders.get_order(s, number).state == "requested"
    assert_refused(world_big, errors.CeilingExceeded, accept(number))


def test_breaching_the_total_ceiling(world_big):
    warnings = accepted(world_big, supplies_usd=15_000_000, services_usd=33_000_000)
    assert [w.split(" ceiling")[0] for w in warnings] == ["total"]  # 48M of 60M: 80%
    assert accepted(world_big, services_usd=12_000_000) == [
        "total ceiling 60,000,000.00 USD: 60,000,000.00 USD used (100%) after "
        "JPUS-US-2026-0002"]
    number = requested(world_big, services_usd=1)
    err = assert_refused(world_big, errors.CeilingExceeded, accept(number))
    assert "total" in err.message


def test_each_us_fiscal_year_has_its_own_ceiling(world_big):
    accepted(world_big, supplies_usd=19_000_000, on=D(2026, 9, 30))  # US FY2026
    assert accepted(world_big, supplies_usd=5_000_000, on=D(2026, 10, 1)) == []  # US FY2027
    number = requested(world_big, supplies_usd=1_000_001, on=D(2026, 9, 30))
    assert_refused(world_big, errors.CeilingExceeded, accept(number, on=D(2026, 9, 30)))


def test_a_cancelled_order_frees_its_share(world_big):
    big = requested(world_big, supplies_usd=19_000_000)
    with unit_of_work(world_big) as s:
        accept(big)(s)
    second = requested(world_big, supplies_usd=2_000_000)
    assert_refused(world_big, errors.CeilingExceeded, accept(second))
    with unit_of_work(world_big) as s:
        orders.cancel_order(s, number=big, by="jp-appr-big", on=ON, reason="exercise cancelled")
    with unit_of_work(world_big) as s:
        assert accept(second)(s).warnings == []


def test_the_ceiling_caps_only_the_us_acquisitions(world_big):
    number = requested(world_big, supplies_usd=25_000_000, requester="JP")
    with unit_of_work(world_big) as s:
        assert accept(number, requester="JP")(s).warnings == []


def test_two_acceptances_at_once_cannot_breach_together(request, world_big, db_url):
    """$15M and $6M of supplies each fit the $20M ceiling alone, not together."""
    first, second = (requested(world_big, supplies_usd=usd) for usd in (15_000_000, 6_000_000))
    a, b = race.held(db_url, accept(first), accept(second))
    assert [a.ok, b.ok].count(True) == 1, (a.error, b.error)
    assert isinstance(a.error or b.error, errors.CeilingExceeded)
    with unit_of_work(world_big) as s:
        accepted_value = sum(o.ceiling_supplies_minor for o in orders.list_orders(s)
                             if o.state == "accepted")
    assert accepted_value <= 2_000_000_000
