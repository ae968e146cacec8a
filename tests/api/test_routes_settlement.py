"""Claims, payments, returns in kind, equal-value exchanges, offsets and the deadlines run
over HTTP: scoped to the viewer's party, acting as the viewer's official."""

from __future__ import annotations

import datetime as dt

import pytest

from acsa.db.engine import unit_of_work
from acsa.settlement import service as settlement
from tests.api.helpers import API, ON, PH_REQUESTS, PH_US, line, received_order, refused

PAID_HALF = "PHJP-JP-2026-0002-C1"  # PH bills JP for medical care; 195,300.00 PHP still owed
US_BILL = "PHUS-PH-2025-0001-C2"  # the US bills PH for fuel never returned in kind


# --- the claims register -------------------------------------------------------------------
def test_each_party_lists_only_claims_it_is_creditor_or_debtor_of(client_for):
    jp = client_for("jp-fin").get(f"{API}/claims", params={"page_size": 500}).json()
    us = client_for("us-app").get(f"{API}/claims", params={"page_size": 500}).json()
    assert jp["total"] == len(jp["items"]) == 6
    assert all("JP" in (c["creditor"], c["debtor"]) for c in jp["items"])
    assert US_BILL not in {c["number"] for c in jp["items"]}
    assert {c["number"] for c in us["items"]} == {"PHUS-PH-2025-0001-C1", US_BILL}


def test_claims_are_filtered_sorted_and_paginated(client_for):
    jp = client_for("jp-fin")
    overdue = jp.get(f"{API}/claims", params={"overdue": "true", "state": "open",
                                              "debtor": "jp", "sort": "number",
                                              "order": "desc"}).json()
    assert [c["number"] for c in overdue["items"]] == [
        "PHJP-JP-2026-0004-C1", "PHJP-JP-2026-0003-C1", PAID_HALF]
    first = jp.get(f"{API}/claims", params={"page_size": 4, "sort": "number"}).json()
    second = jp.get(f"{API}/claims", params={"page_size": 4, "page": 2,
                                             "sort": "number"}).json()
    assert (first["total"], len(first["items"]), len(second["items"])) == (6, 4, 2)
    numbers = [c["number"] for c in first["items"] + second["items"]]
    assert numbers == sorted(numbers)
    rik = jp.get(f"{API}/claims", params={"method": "rik", "creditor": "JP"}).json()
    assert [c["number"] for c in rik["items"]] == ["PHJP-PH-2026-0002-C1"]
    of_order = jp.get(f"{API}/claims", params={"order_number": "PHJP-JP-2026-0002"}).json()
    assert [c["number"] for c in of_order["items"]] == [PAID_HALF]


def test_bad_list_parameters_are_422(client_for):
    jp = client_for("jp-fin")
    for params in ({"state": "paid"}, {"method": "card"}, {"page": 0}, {"page_size": 501},
                   {"overdue": "maybe"}, {"sort": "amount"}, {"debtor": "JAPAN"}):
        r = jp.get(f"{API}/claims", params=params)
        assert r.status_code == 422 and r.json()["errors"], params


def test_a_claim_shows_its_money_and_settlements(client_for):
    claim = client_for("jp-req").get(f"{API}/claims/{PAID_HALF}").json()
    assert (claim["order"], claim["creditor"], claim["debtor"]) == (
        "PHJP-JP-2026-0002", "PH", "JP")
    assert (claim["amount"], claim["amount_minor"]) == ("382,500.00 PHP", 38_250_000)
    assert (claim["outstanding"], claim["outstanding_minor"]) == ("195,300.00 PHP", 19_530_000)
    [payment] = claim["settlements"]
    assert (payment["kind"], payment["tendered"], payment["recorded_by"]) == (
        "payment", "500,000 JPY", "jp-abe")
    assert payment["applied_minor"] == 18_720_000 and payment["rate"]


def test_claim_and_offset_numbers_are_identifiers(world, client_for):
    jp = client_for("jp-fin")
    for path in ("claims/a%00b", "claims/%20x", "offsets/a%00b", f"claims/{'C' * 61}"):
        assert jp.get(f"{API}/{path}").status_code == 422, path
    refused(world, jp, "POST", f"{API}/claims/a%00b/payments", 422,
            json={"amount": "1", "currency": "PHP", "on": "2026-11-29"})
    for params in ({"agreement": "PH\x00JP"}, {"order_number": "x\x00"}):
        assert jp.get(f"{API}/claims", params=params).status_code == 422, params


def test_a_claim_of_other_parties_is_not_found_like_a_missing_one(client_for):
    us = client_for("us-app")
    other, missing = us.get(f"{API}/claims/{PAID_HALF}"), us.get(f"{API}/claims/NO-SUCH-C1")
    assert other.status_code == missing.status_code == 404
    assert other.json()["type"] == missing.json()["type"]
    assert other.json()["detail"] == f"no claim '{PAID_HALF}'"
    assert other.json().keys() == missing.json().keys()


# --- payments ------------------------------------------------------------------------------
def test_the_debtors_finance_official_pays_a_bill(world, client_for):
    r = client_for("jp-fin").post(f"{API}/claims/{PAID_HALF}/payments", json={
        "amount": "195300.00", "currency": "PHP", "reference": "wire 1129", "on": "2026-11-29"})
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/claims/{PAID_HALF}")
    body = r.json()
    assert body["settlement"]["kind"] == "payment"
    assert body["settlement"]["recorded_by"] == "jp-abe"
    assert body["claim"]["state"] == "settled" and body["claim"]["outstanding_minor"] == 0
    assert len(body["claim"]["settlements"]) == 2
    order = client_for("ph-app").get(f"{API}/orders/PHJP-JP-2026-0002").json()
    assert order["state"] == "settled"
    with unit_of_work(world) as s:
        assert settlement.find_claim(s, PAID_HALF).state == "settled"


def test_who_may_not_pay_is_refused_with_the_reason_and_nothing_is_written(world, client_for):
    for user, status, code in [
        ("ph-fin", 403, "WrongParty"),  # the creditor's finance official
        ("jp-req", 403, "WrongRole"),
        ("jp-audit", 403, "Forbidden"),  # auditors are read-only
        ("jp-admin", 403, "Forbidden"),  # an administrator who signs as no official
        ("us-app", 404, "NotFound"),  # not a party to the claim: no existence leak
    ]:
        body = refused(world, client_for(user), "POST", f"{API}/claims/{PAID_HALF}/payments",
                       status, json={"amount": "100.00", "currency": "PHP", "on": "2026-11-29"})
        assert body["code"] == code, (user, body)


BAD_PAYMENTS = [
    ({"amount": "195300.01", "currency": "PHP"}, 409),  # more than is outstanding
    ({"amount": "-5", "currency": "PHP"}, 422),
    ({"amount": "0", "currency": "PHP"}, 422),
    ({"amount": "100", "currency": "XYZ"}, 422),  # not a currency acsa knows
    ({"amount": "100", "currency": "php"}, 422),
    ({"amount": "100.5", "currency": "JPY"}, 422),  # JPY has no minor unit
    ({"amount": "100.001", "currency": "PHP"}, 422),
    ({"amount": "1e400", "currency": "PHP"}, 422),
    ({"amount": "NaN", "currency": "PHP"}, 422),
    ({"amount": "100", "currency": "PHP", "tip": "1"}, 422),  # unknown field
    ({"amount": "100", "currency": "PHP", "on": "2026-02-30"}, 422),
    ({"amount": "100", "currency": "PHP", "on": "2026-07-01"}, 422),  # before the bill
    ({"amount": "100", "currency": "PHP", "on": "2031-01-01"}, 403),  # authority expired
    ({"currency": "PHP"}, 422),
    ({"amount": "1", "currency": "PHP", "reference": "x" * 301}, 422),  # longer than stored
    ({"amount": "1", "currency": "PHP", "reference": "wire\u0000"}, 422),  # PostgreSQL: no NUL
]


def test_a_bad_payment_is_a_4xx_and_writes_nothing(world, client_for):
    jp = client_for("jp-fin")
    for payload, status in BAD_PAYMENTS:
        refused(world, jp, "POST", f"{API}/claims/{PAID_HALF}/payments", status,
                json={"on": "2026-11-29", **payload})


def test_a_payment_in_another_currency_is_converted_at_the_agreements_rate(client_for):
    r = client_for("jp-fin").post(f"{API}/claims/{PAID_HALF}/payments", json={
        "amount": "100000", "currency": "JPY", "on": "2026-11-29"})
    assert r.status_code == 201, r.text
    settled = r.json()["settlement"]
    assert (settled["tendered"], settled["applied"]) == ("100,000 JPY", "37,440.00 PHP")


def test_a_change_needs_the_csrf_token(world, client_for):
    jp = client_for("jp-fin")
    del jp.headers["X-CSRF-Token"]
    refused(world, jp, "POST", f"{API}/claims/{PAID_HALF}/payments", 403,
            json={"amount": "1", "currency": "PHP", "on": "2026-11-29"})


def test_paying_an_in_kind_claim_is_refused(world, client_for):
    [rik] = received_order(world, [line("fuel", "Diesel fuel, marine", "1000", "L", "70",
                                        "PHP", "rik", "9140-00-273-2377")])
    body = refused(world, client_for("jp-fin"), "POST", f"{API}/claims/{rik}/payments", 409,
                   json={"amount": "1", "currency": "PHP", "on": "2026-11-29"})
    assert "rik" in body["detail"]


# --- returns in kind and equal-value exchanges ---------------------------------------------
def test_a_return_in_kind_in_another_unit_of_the_same_dimension(world, client_for):
    [rik] = received_order(world, [line("fuel", "Diesel fuel, marine", "1000", "L", "70",
                                        "PHP", "rik", "9140-00-273-2377")])
    jp = client_for("jp-fin")
    r = jp.post(f"{API}/claims/{rik}/returns", json={
        "quantity": "0.5", "unit": "m**3", "stock_number": "9140-00-273-2377",
        "on": "2026-11-20"})
    assert r.status_code == 201, r.text
    claim = r.json()["claim"]
    assert (claim["outstanding_quantity"], claim["state"]) == ("500", "open")
    assert r.json()["settlement"]["tendered"] == "0.5 m**3"
    r = jp.post(f"{API}/claims/{rik}/returns", json={
        "quantity": "500", "unit": "L", "stock_number": "9140-00-273-2377", "on": "2026-11-21"})
    assert r.status_code == 201 and r.json()["claim"]["state"] == "settled"


BAD_RETURNS = [
    ({"quantity": "1", "unit": "kg"}, 422),  # mass is not volume
    ({"quantity": "1", "unit": "furlong_per_fortnight"}, 422),
    ({"quantity": "1", "unit": "1e999999"}, 422),
    ({"quantity": "1", "unit": "(("}, 422),
    ({"quantity": "1", "unit": "L/0"}, 422),
    ({"quantity": "1e15", "unit": "km**3"}, 422),  # too much to express in litres
    ({"quantity": "1001", "unit": "L"}, 409),  # more than is owed
    ({"quantity": "1", "unit": "L", "stock_number": "0000-00-000-0000"}, 409),  # another item
    ({"quantity": "0", "unit": "L"}, 422),
    ({"quantity": "1.0001", "unit": "L"}, 422),
    ({"quantity": "1", "unit": "L", "on": "2026-10-01"}, 422),  # before the claim
]


def test_a_bad_return_is_a_4xx_and_writes_nothing(world, client_for):
    [rik] = received_order(world, [line("fuel", "Diesel fuel, marine", "1000", "L", "70",
                                        "PHP", "rik", "9140-00-273-2377")])
    jp = client_for("jp-fin")
    for payload, status in BAD_RETURNS:
        refused(world, jp, "POST", f"{API}/claims/{rik}/returns", status,
                json={"stock_number": "9140-00-273-2377", "on": "2026-11-20", **payload})


def test_an_equal_value_exchange_settles_a_service_claim(world, client_for):
    [eve] = received_order(world, [line("transportation", "Harbour launch, hours", "10", "h",
                                        "5000", "PHP", "eve")])
    jp = client_for("jp-fin")
    wrong = refused(world, jp, "POST", f"{API}/claims/{eve}/exchanges", 409, json={
        "value": "50000", "currency": "PHP", "category": "medical",
        "description": "field clinic", "on": "2026-11-20"})
    assert "same type" in wrong["detail"]
    r = jp.post(f"{API}/claims/{eve}/exchanges", json={
        "value": "50000", "currency": "PHP", "category": "transportation",
        "description": "JMSDF launch, 10 hours", "on": "2026-11-20"})
    assert r.status_code == 201, r.text
    assert r.json()["claim"]["state"] == "settled"
    assert r.json()["settlement"]["kind"] == "exchange"


# --- offsets -------------------------------------------------------------------------------
@pytest.fixture
def both_ways(world):
    """A JP bill to PH (billeting, 270,000 JPY) beside the open PH bills to JP."""
    [bill] = received_order(world, [line("billeting", "Aircrew billeting, person-nights", "30",
                                         "person_day", "9000", "JPY", "cash")], who=PH_REQUESTS)
    return bill


def test_an_offset_is_proposed_by_one_party_and_approved_by_the_other(world, client_for,
                                                                       both_ways):
    ph, jp = client_for("ph-fin"), client_for("jp-fin")
    r = ph.post(f"{API}/offsets", json={"agreement": "PHJP", "currency": "JPY",
                                        "on": "2026-11-25", "note": "Q3 netting"})
    assert r.status_code == 201, r.text
    offset = r.json()
    assert (offset["state"], offset["proposing_party"], offset["approving_party"]) == (
        "proposed", "PH", "JP")
    assert (offset["amount"], offset["amount_minor"]) == ("270,000 JPY", 270_000)
    assert both_ways in {i["claim"] for i in offset["items"]}
    assert r.headers["location"].endswith(f"/offsets/{offset['number']}")
    listed = jp.get(f"{API}/offsets").json()
    assert [o["number"] for o in listed["items"]] == [offset["number"]]
    assert client_for("us-app").get(f"{API}/offsets").json()["total"] == 0
    assert client_for("us-app").get(f"{API}/offsets/{offset['number']}").status_code == 404

    refused(world, ph, "POST", f"{API}/offsets/{offset['number']}/approve", 403,
            json={"on": "2026-11-26"})  # the proposer cannot approve its own offset
    r = jp.post(f"{API}/offsets/{offset['number']}/approve", json={"on": "2026-11-26"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["approved_by"]) == ("approved", "jp-abe")
    bill = jp.get(f"{API}/claims/{both_ways}").json()
    assert bill["state"] == "settled" and bill["settlements"][0]["offset"] == offset["number"]
    again = refused(world, jp, "POST", f"{API}/offsets/{offset['number']}/approve", 409,
                    json={"on": "2026-11-26"})
    assert "approved" in again["detail"]


def test_offsets_under_an_agreement_of_other_parties_are_not_found(world, client_for,
                                                                   both_ways):
    refused(world, client_for("us-app"), "POST", f"{API}/offsets", 404,
            json={"agreement": "PHJP", "on": "2026-11-25"})
    refused(world, client_for("us-app"), "POST", f"{API}/offsets/PHJP-OFS-0001/approve", 404,
            json={"on": "2026-11-25"})


def test_an_offset_needs_claims_both_ways_and_a_finance_official(world, client_for):
    body = refused(world, client_for("ph-fin"), "POST", f"{API}/offsets", 409,
                   json={"agreement": "PHJP", "on": "2026-11-25"})
    assert "both directions" in body["hint"]
    refused(world, client_for("ph-app"), "POST", f"{API}/offsets", 403,
            json={"agreement": "PHJP", "on": "2026-11-25"})
    refused(world, client_for("ph-fin"), "POST", f"{API}/offsets", 422,
            json={"agreement": "PHJP", "currency": "ABC", "on": "2026-11-25"})


# --- deadlines -----------------------------------------------------------------------------
def test_the_deadlines_run_covers_only_the_viewers_partys_claims(world, client_for):
    # a PH-US return in kind due in June 2026 that no deadlines run has seen yet
    [rik] = received_order(world, [line("fuel", "JP-5 aviation fuel", "1000", "L", "0.92",
                                        "USD", "rik", "9130-01-031-5816")],
                           who=PH_US, on=dt.date(2025, 6, 2))
    jp = client_for("jp-fin").post(f"{API}/deadlines", json={"as_of": "2026-11-29",
                                                             "soon_days": 60})
    assert jp.status_code == 200, jp.text
    assert jp.json() == {"as_of": "2026-11-29", "newly_overdue": [], "converted": [],
                         "due_soon": [], "offset_eligible": []}
    rik_claim = client_for("ph-fin").get(f"{API}/claims/{rik}").json()
    assert (rik_claim["state"], rik_claim["overdue"]) == ("open", False)  # JP's run: untouched

    ph = client_for("ph-admin").post(f"{API}/deadlines", json={"as_of": "2026-11-29",
                                                               "soon_days": 60})
    assert ph.status_code == 200, ph.text
    run = ph.json()
    [conversion] = run["converted"]
    assert conversion["claim"] == rik
    # the conversion is dated the day after the return fell due (June 2026), not the day of
    # the run, so every node derives the same one; its bill, due days_to_pay later, has
    # passed its due date by the run's day and is overdue at once, as is the demo's US bill
    # (converted the same way in 2026), which is therefore no longer "due soon"
    assert run["newly_overdue"] == [rik, conversion["cash_claim"]]
    assert US_BILL not in [d["claim"] for d in run["due_soon"]]
    cash = client_for("us-app").get(f"{API}/claims/{conversion['cash_claim']}").json()
    assert (cash["method"], cash["amount"], cash["debtor"]) == ("cash", "920.00 USD", "PH")


def test_only_finance_officials_and_administrators_run_the_deadlines(world, client_for):
    for user in ("jp-req", "jp-audit", "us-app"):
        body = refused(world, client_for(user), "POST", f"{API}/deadlines", 403,
                       json={"as_of": "2026-11-29"})
        assert "finance" in body["detail"], user


def test_a_bad_deadlines_run_is_422_and_writes_nothing(world, client_for):
    later = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    jp = client_for("jp-fin")
    for payload in ({"as_of": "tomorrow"}, {"as_of": "2026-11-29", "soon_days": -1},
                    {"as_of": "2026-11-29", "soon_days": 366}, {},
                    {"as_of": later.isoformat()}):
        refused(world, jp, "POST", f"{API}/deadlines", 422, json=payload)


def test_a_deadlines_run_twice_changes_nothing_the_second_time(world, client_for):
    jp = client_for("jp-fin")
    first = jp.post(f"{API}/deadlines", json={"as_of": str(ON)}).json()
    second = jp.post(f"{API}/deadlines", json={"as_of": str(ON)}).json()
    assert second["newly_overdue"] == [] and second["converted"] == []
    assert first["due_soon"] == second["due_soon"]
