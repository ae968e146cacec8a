"""The data elements an order must carry before it is requested, and before it binds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from acsa.errors import MissingDataElements
from acsa.orders.domain import check_complete, missing_elements


def complete_order() -> dict[str, Any]:
    return {
        "number": "PHJP-PH-2026-0007", "agreement": "PHJP", "order_on": "2026-10-01",
        "activity": "KAMANDAG 10", "requesting_party": "PH", "supplying_party": "JP",
        "requesting_unit": "AFP 1st Marine Brigade", "requester_poc": "Maj. Santos",
        "delivery_place": "Subic Bay", "delivery_on": "2026-10-05",
        "fund_citation": "AFP-2026-OMA-0042", "billing_address": "AFP Finance Center, Manila",
        "currency": "JPY",
        "lines": [
            {"category": "fuel", "description": "JP-8 jet fuel", "kind": "supply",
             "stock_number": "9130-01-031-5816", "quantity": "50000", "unit": "L",
             "unit_price": 120, "method": "rik"},
            {"category": "transportation", "description": "C-130 airlift Manila-Cebu",
             "kind": "service", "stock_number": "", "quantity": "1", "unit": "sortie",
             "unit_price": 0, "method": "cash"},
        ],
        "requested_by": "PH-REQ-01", "supplying_unit": "JASDF 1st Tactical Airlift Group",
        "supplier_poc": "Lt Col Tanaka", "total_minor": 6_000_000,
    }


def test_a_complete_order_misses_nothing_at_either_stage():
    assert missing_elements(complete_order(), "request") == []
    assert missing_elements(complete_order(), "accept") == []
    check_complete(complete_order(), "accept")


REQUEST_KEYS = [
    ("number", "order number"), ("agreement", "agreement reference"),
    ("order_on", "order date"), ("activity", "activity"),
    ("requesting_party", "requesting party"), ("supplying_party", "supplying party"),
    ("requesting_unit", "requesting unit"), ("requester_poc", "requester point of contact"),
    ("delivery_place", "place of delivery"), ("delivery_on", "delivery or service date"),
    ("fund_citation", "fund citation"), ("billing_address", "billing address"),
    ("currency", "currency"),
]
ACCEPT_KEYS = [
    ("requested_by", "requesting official's signature"), ("supplying_unit", "supplying unit"),
    ("supplier_poc", "supplier point of contact"), ("total_minor", "total value"),
]


@pytest.mark.parametrize(("key", "element"), REQUEST_KEYS)
@pytest.mark.parametrize("blank", [None, ""])
def test_each_request_element_is_named_when_missing(key, element, blank):
    order = complete_order()
    order[key] = blank
    assert missing_elements(order, "request") == [element]
    assert missing_elements(order, "accept") == [element]


@pytest.mark.parametrize(("key", "element"), ACCEPT_KEYS)
def test_accept_elements_are_needed_to_bind_not_to_request(key, element):
    order = complete_order()
    del order[key]
    assert missing_elements(order, "request") == []
    assert missing_elements(order, "accept") == [element]


def test_a_total_of_zero_is_a_total():
    order = complete_order()
    order["total_minor"] = 0
    assert missing_elements(order, "accept") == []


@pytest.mark.parametrize(("change", "element"), [
    ({"category": ""}, "line category"),
    ({"description": ""}, "line description"),
    ({"stock_number": ""}, "line stock number (supplies)"),
    ({"quantity": "0"}, "line quantity"),
    ({"unit": ""}, "line unit of measure"),
    ({"unit_price": None}, "line unit price"),
    ({"method": ""}, "line settlement method"),
])
def test_each_line_element_is_named_when_one_line_lacks_it(change, element):
    order = complete_order()
    order["lines"][0].update(change)
    assert missing_elements(order, "request") == [element]


def test_a_service_needs_no_stock_number_but_a_supply_does():
    order = complete_order()
    assert order["lines"][1]["stock_number"] == ""
    assert missing_elements(order, "request") == []
    order["lines"][1]["kind"] = "supply"
    assert missing_elements(order, "request") == ["line stock number (supplies)"]


def test_an_order_without_lines_misses_the_lines_and_every_line_element():
    order = complete_order()
    order["lines"] = []
    missing = missing_elements(order, "request")
    assert missing[0] == "at least one line"
    assert "line quantity" in missing and "line unit price" in missing


def test_check_complete_lists_every_missing_element():
    order = complete_order()
    for key in ("fund_citation", "billing_address", "supplier_poc"):
        order[key] = ""
    with pytest.raises(MissingDataElements) as e:
        check_complete(order, "accept")
    msg = e.value.message
    assert msg.startswith("order PHJP-PH-2026-0007 cannot be accepted: missing 3 required")
    assert "fund citation, billing address, supplier point of contact" in msg
    assert e.value.details["missing"] == [
        "fund citation", "billing address", "supplier point of contact"]
    assert "--supplier-poc" in e.value.hint


def test_check_complete_at_request_ignores_what_only_acceptance_needs():
    order = copy.deepcopy(complete_order())
    order["supplier_poc"] = ""
    check_complete(order, "request")
    order["requester_poc"] = ""
    with pytest.raises(MissingDataElements) as e:
        check_complete(order, "request")
    assert "cannot be requested" in e.value.message
    assert e.value.details["missing"] == ["requester point of contact"]
    assert "--supplier-poc" not in e.value.hint
