"""`POST /offsets/{number}/withdraw`: the proposing party's finance official withdraws a proposed
offset with a reason; refusals are problem documents that change nothing (the other party 403,
a third party 404, an approved or withdrawn offset 409 `OffsetNotProposed`, no reason 422); a
payment of a claim a proposed offset names is 409 `ClaimInProposedOffset`; the cookie session's
CSRF token and an Idempotency-Key replay hold as for every change. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.helpers import API, PH_REQUESTS, line, received_order, refused

NUMBER = "PHJP-OFS-0001"
JP_BILL = "PHJP-JP-2026-0002-C1"  # Japan owes the Philippines 195,300.00 PHP (medical care)
REASON = {"on": "2026-11-26", "reason": "JP pays in cash instead"}


@pytest.fixture
def proposed(world, client_for) -> dict:
    """PH owes JP 270,000 JPY (billeting); PH's finance official proposes netting it."""
    received_order(world, [line("billeting", "Aircrew billeting, person-nights", "30",
                                "person_day", "9000", "JPY", "cash")], who=PH_REQUESTS)
    r = client_for("ph-fin").post(f"{API}/offsets", json={"agreement": "PHJP",
                                                          "on": "2026-11-25"})
    assert r.status_code == 201, r.text
    assert r.json()["number"] == NUMBER and JP_BILL in {i["claim"] for i in r.json()["items"]}
    return r.json()


def test_the_proposer_withdraws_and_the_claims_are_free_again(world, client_for, proposed):
    ph, jp = client_for("ph-fin"), client_for("jp-fin")
    pay = {"amount": "1000", "currency": "PHP", "on": "2026-11-26"}
    body = refused(world, jp, "POST", f"{API}/claims/{JP_BILL}/payments", 409, json=pay)
    assert body["code"] == "ClaimInProposedOffset"
    assert NUMBER in body["detail"] and "--withdraw" in body["hint"]

    refused(world, jp, "POST", f"{API}/offsets/{NUMBER}/withdraw", 403, json=REASON)
    refused(world, client_for("ph-app"), "POST", f"{API}/offsets/{NUMBER}/withdraw", 403,
            json=REASON)  # the proposing party, not finance
    refused(world, client_for("us-app"), "POST", f"{API}/offsets/{NUMBER}/withdraw", 404,
            json=REASON)
    for bad in ({"on": "2026-11-26"}, {"on": "2026-11-26", "reason": ""}):
        refused(world, ph, "POST", f"{API}/offsets/{NUMBER}/withdraw", 422, json=bad)

    r = ph.post(f"{API}/offsets/{NUMBER}/withdraw", json=REASON)
    assert r.status_code == 200, r.text
    assert (r.json()["number"], r.json()["state"]) == (NUMBER, "withdrawn")
    assert jp.get(f"{API}/offsets/{NUMBER}").json()["state"] == "withdrawn"
    events = ph.get(f"{API}/audit/events", params={"subject": f"offset:{NUMBER}",
                                                   "action": "offset.withdrawn"}).json()
    assert [(e["party"], e["actor"]) for e in events["items"]] == [("PH", "ph-santos")]

    again = refused(world, ph, "POST", f"{API}/offsets/{NUMBER}/withdraw", 409, json=REASON)
    assert again["code"] == "OffsetNotProposed" and "withdrawn" in again["detail"]
    refused(world, jp, "POST", f"{API}/offsets/{NUMBER}/approve", 409,
            json={"on": "2026-11-26"})
    paid = jp.post(f"{API}/claims/{JP_BILL}/payments", json=pay)
    assert paid.status_code == 201, paid.text


def test_an_approved_offset_cannot_be_withdrawn(world, client_for, proposed):
    assert client_for("jp-fin").post(f"{API}/offsets/{NUMBER}/approve",
                                     json={"on": "2026-11-26"}).status_code == 200
    body = refused(world, client_for("ph-fin"), "POST", f"{API}/offsets/{NUMBER}/withdraw",
                   409, json=REASON)
    assert f"offset {NUMBER} is approved" in body["detail"]


def test_withdrawal_needs_the_csrf_token_and_a_replay_is_answered_once(world, client_for,
                                                                       proposed):
    ph = client_for("ph-fin")
    token = ph.headers.pop("X-CSRF-Token")
    refused(world, ph, "POST", f"{API}/offsets/{NUMBER}/withdraw", 403, json=REASON)
    ph.headers["X-CSRF-Token"] = token
    key = {"Idempotency-Key": "withdraw-ofs-1"}
    first = ph.post(f"{API}/offsets/{NUMBER}/withdraw", json=REASON, headers=key)
    again = ph.post(f"{API}/offsets/{NUMBER}/withdraw", json=REASON, headers=key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
