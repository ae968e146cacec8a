"""Order numbers: gap-free per agreement, requesting party and that party's fiscal year; a
refused create does not consume a number."""

from __future__ import annotations

import pytest

from acsa import errors
from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from tests.factories import D, draft, fuel_line
from tests.integration.helpers import assert_refused


def jpus(s, on, requester="JP"):
    currency = {"JP": "USD", "US": "JPY"}[requester]
    price = {"JP": "2.50", "US": "380"}[requester]
    return draft(s, agreement="JPUS", activity="PORTCALL-YOKO", requester=requester, on=on,
                 lines=[fuel_line(currency=currency, price=price)])


def test_numbers_run_without_gaps(session):
    numbers = [draft(session).number for _ in range(3)]
    assert numbers == ["PHJP-JP-2026-0001", "PHJP-JP-2026-0002", "PHJP-JP-2026-0003"]


def test_each_requesting_party_and_agreement_counts_apart(session):
    a = draft(session).number
    b = draft(session, requester="PH", lines=[fuel_line(currency="JPY", price="300")]).number
    c = draft(session, agreement="PHUS", requester="PH", lines=[fuel_line(currency="USD")]).number
    d = draft(session).number
    assert [a, b, c, d] == ["PHJP-JP-2026-0001", "PHJP-PH-2026-0001", "PHUS-PH-2026-0001",
                            "PHJP-JP-2026-0002"]


@pytest.mark.parametrize("requester, dates, expected", [
    # Japan's fiscal year starts on 1 April and is named by the year it starts in
    ("JP", [D(2026, 3, 31), D(2026, 4, 1), D(2026, 3, 31), D(2027, 3, 31)],
     ["JPUS-JP-2025-0001", "JPUS-JP-2026-0001", "JPUS-JP-2025-0002", "JPUS-JP-2026-0002"]),
    # the US fiscal year starts on 1 October and is named by the year it ends in
    ("US", [D(2026, 9, 30), D(2026, 10, 1), D(2026, 9, 30)],
     ["JPUS-US-2026-0001", "JPUS-US-2027-0001", "JPUS-US-2026-0002"]),
])
def test_numbered_by_the_requesting_partys_fiscal_year(session, requester, dates, expected):
    made = [jpus(session, on, requester) for on in dates]
    assert [o.number for o in made] == expected
    assert [o.fiscal_year for o in made] == [int(n.split("-")[2]) for n in expected]


def test_philippine_fiscal_year_is_the_calendar_year(session):
    made = [draft(session, requester="PH", on=on, lines=[fuel_line(currency="JPY", price="300")])
            for on in (D(2026, 12, 31), D(2027, 1, 1))]
    assert [o.number for o in made] == ["PHJP-PH-2026-0001", "PHJP-PH-2027-0001"]


def test_a_refused_create_does_not_consume_a_number(world):
    with unit_of_work(world) as s:
        assert draft(s).number == "PHJP-JP-2026-0001"
    assert_refused(world, errors.MethodNotAllowed, lambda s: draft(s, lines=[fuel_line("eve")]))
    with unit_of_work(world) as s:
        # a refusal caught inside a unit of work that then goes on does not leave a gap either
        with pytest.raises(errors.WeaponsExcluded):
            draft(s, lines=[orders.LineInput(category="weapons", description="rifles",
                                             quantity=1, unit="each",
                                             unit_price=fuel_line().unit_price, method="cash")])
        assert draft(s).number == "PHJP-JP-2026-0002"
    with unit_of_work(world) as s:
        assert draft(s).number == "PHJP-JP-2026-0003"
