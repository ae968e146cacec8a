"""The order page's forms to settle an open in-kind claim: return in kind (RIK) and an
equal-value exchange (EVE), offered to the debtor party's finance or supplying official only,
calling `settlement.service.return_in_kind` and `exchange`, with the service's refusals shown."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of
from tests.web.test_orders import TODAY, action_forms, post

Browser = Callable[..., TestClient]
Api = Callable[[str], TestClient]


def accepted_order(browser_for: Browser, api_for: Api, activity: str, line: dict) -> str:
    """An order Japan asks of the Philippines, requested and accepted: ready to deliver."""
    created = api_for("jp-req").post("/api/v1/orders", json={
        "agreement": "PHJP", "activity": activity, "order_on": TODAY,
        "delivery_place": "Alava Pier, Subic Bay", "delivery_on": TODAY,
        "fund_citation": "JMSDF FY2026 O&M 02-31-140", "requesting_unit": "JMSDF-DD110",
        "requester_poc": "Lt Cdr Sato", "billing_address": "JMSDF Yokosuka District",
        "lines": [line]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    for user, action, data in (
            ("jp-req", "request", {"on": TODAY}),
            ("ph-app", "accept", {"supplying_unit": "PN-NBSBMA", "supplier_poc": "Lt Reyes"})):
        r = post(browser_for(user), number, action, data)
        assert r.status_code == 303, r.text
    return number


def received_order(browser_for: Browser, api_for: Api, activity: str, line: dict) -> str:
    """An order Japan asks of the Philippines, through to its receipt: its claim is open and
    Japan owes it."""
    number = accepted_order(browser_for, api_for, activity, line)
    r = post(browser_for("ph-sup"), number, "deliver", {"qty_1": line["quantity"]},
             files={"document": ("slip.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert r.status_code == 303, r.text
    r = post(browser_for("jp-rcv"), number, "receive", {"received_1": line["quantity"],
                                                        "damaged_1": "0"})
    assert r.status_code == 303, r.text
    return number


def rik_order(browser_for: Browser, api_for: Api) -> str:
    return received_order(browser_for, api_for, "KAMANDAG-10", {
        "category": "spare_parts", "description": "Fuel filter element, gas turbine",
        "stock_number": "2940-21-912-3456", "quantity": "40", "unit": "each",
        "unit_price": "38000", "method": "rik"})


def eve_order(browser_for: Browser, api_for: Api) -> str:
    return received_order(browser_for, api_for, "TY-RELIEF-CEBU", {
        "category": "transportation", "description": "Tug transfer of relief cargo, hours",
        "quantity": "4", "unit": "h", "unit_price": "42000", "method": "eve"})


def claim_of(api: TestClient, number: str) -> dict:
    r = api.get("/api/v1/claims", params={"order_number": number})
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    assert len(items) == 1, items
    return items[0]


def test_a_return_in_kind_form_for_the_debtors_finance_official_only(
        browser_for: Browser, api_for: Api):
    number = rik_order(browser_for, api_for)
    jp_fin = browser_for("jp-fin")
    page = jp_fin.get(f"/orders/{number}").text
    assert "return" in action_forms(page) and "exchange" not in action_forms(page)
    form = page.split(f'action="/orders/{number}/return"')[1].split("</form>")[0]
    for field in ("csrf_token", "version", "claim", "quantity", "description", "on"):
        assert f'name="{field}"' in form, field
    for label in re.findall(r'<label for="([^"]+)"', form):
        assert f'id="{label}"' in form, label
    for user in ("ph-fin", "ph-sup", "jp-req", "jp-rcv", "jp-audit"):
        forms = action_forms(browser_for(user).get(f"/orders/{number}").text)
        assert "return" not in forms, user
    ja = browser_for("jp-fin", lang="ja").get(f"/orders/{number}").text
    assert "の現物返還" in ja and "返還数量" in ja


def test_a_partial_return_reduces_what_is_outstanding(browser_for: Browser, api_for: Api):
    number = rik_order(browser_for, api_for)
    jp_fin = browser_for("jp-fin")
    page = jp_fin.get(f"/orders/{number}").text
    claim = re.search(r'action="/orders/[^"]+/return".*?name="claim" value="([^"]+)"', page,
                      re.S).group(1)
    r = post(jp_fin, number, "return", {"claim": claim, "quantity": "15", "unit": "each",
                                        "description": "15 filter elements, same NSN"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/orders/{number}?done=return"
    assert "The return in kind was recorded." in jp_fin.get(r.headers["location"]).text
    got = claim_of(api_for("jp-fin"), number)
    assert got["state"] == "open"
    assert float(got["outstanding_quantity"]) == 25
    assert "return" in action_forms(jp_fin.get(f"/orders/{number}").text)  # still open


def test_an_over_quantity_return_is_refused_and_changes_nothing(browser_for: Browser,
                                                                api_for: Api):
    number = rik_order(browser_for, api_for)
    jp_fin = browser_for("jp-fin")
    page = jp_fin.get(f"/orders/{number}").text
    claim = re.search(r'action="/orders/[^"]+/return".*?name="claim" value="([^"]+)"', page,
                      re.S).group(1)
    before = claim_of(api_for("jp-fin"), number)
    r = post(jp_fin, number, "return", {"claim": claim, "quantity": "41", "unit": "each"})
    assert r.status_code == 409, r.text
    assert "An ACSA rule does not allow this." in r.text
    assert "is more than the" in r.text and "outstanding on" in r.text
    assert claim_of(api_for("jp-fin"), number) == before


def test_an_exchange_settles_an_eve_claim(browser_for: Browser, api_for: Api):
    number = eve_order(browser_for, api_for)
    for user in ("ph-fin", "jp-req"):
        assert "exchange" not in action_forms(browser_for(user).get(f"/orders/{number}").text)
    jp_fin = browser_for("jp-fin")
    page = jp_fin.get(f"/orders/{number}").text
    assert "exchange" in action_forms(page) and "return" not in action_forms(page)
    claim = re.search(r'action="/orders/[^"]+/exchange".*?name="claim" value="([^"]+)"', page,
                      re.S).group(1)
    value = re.search(r'name="value" inputmode="decimal" required value="([^"]+)"',
                      page).group(1)
    r = post(jp_fin, number, "exchange", {"claim": claim, "value": value, "currency": "PHP",
                                          "description": "JMSDF launch transfers, 4 hours"})
    assert r.status_code == 303, r.text
    page = jp_fin.get(r.headers["location"]).text
    assert "The equal-value exchange was recorded." in page
    assert "JMSDF launch transfers, 4 hours" in page
    assert claim_of(api_for("jp-fin"), number)["state"] == "settled"
    assert "exchange" not in action_forms(page)


def test_a_third_party_gets_404(browser_for: Browser, api_for: Api):
    number = rik_order(browser_for, api_for)
    us = browser_for("us-fin")
    page = us.get("/orders")  # a page of its own for the CSRF token
    for action, data in (("return", {"quantity": "1", "unit": "each"}),
                         ("exchange", {"value": "1", "description": "x"})):
        r = us.post(f"/orders/{number}/{action}",
                    data={"csrf_token": csrf_of(page.text), "claim": f"{number}-C1", **data},
                    follow_redirects=False)
        assert r.status_code == 404, (action, r.text)
    assert float(claim_of(api_for("jp-fin"), number)["outstanding_quantity"]) == 40
