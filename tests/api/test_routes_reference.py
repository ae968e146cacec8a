"""Reference data over HTTP: agreements, parties, units, officials, users, activities and
rates, each read within the viewer's party and changed only by those whose role allows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD
from tests.api.helpers import API, refused


def items(client: TestClient, path: str, **params: object) -> list[dict]:
    r = client.get(f"{API}/{path}", params={"page_size": 500, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return body["items"]


# --- agreements and parties ----------------------------------------------------------------
def test_a_party_sees_only_the_agreements_it_is_a_party_to(client_for):
    jp = client_for("jp-req")
    assert [a["code"] for a in items(jp, "agreements")] == ["JPUS", "PHJP"]
    phjp = jp.get(f"{API}/agreements/phjp").json()
    assert phjp["status"] == "in force" and phjp["parties"] == ["PH", "JP"]
    assert phjp["definition"]["settlement"]["deadline_months"] == 12
    other, missing = jp.get(f"{API}/agreements/PHUS"), jp.get(f"{API}/agreements/NOPE")
    assert other.status_code == missing.status_code == 404
    assert "PHUS" not in other.json()["hint"] and other.json()["hint"] == missing.json()["hint"]
    assert [a["code"] for a in items(client_for("us-app"), "agreements",
                                     sort="signed_on", order="desc")] == ["JPUS", "PHUS"]


def test_parties_are_the_viewers_and_its_partners(client_for):
    assert [p["code"] for p in items(client_for("ph-fin"), "parties")] == ["JP", "PH", "US"]
    jp = items(client_for("jp-fin"), "parties")
    assert {p["code"]: p["currency"] for p in jp} == {"JP": "JPY", "PH": "PHP", "US": "USD"}


# --- units ---------------------------------------------------------------------------------
def test_units_are_the_viewers_partys_own(client_for):
    ph = items(client_for("ph-fin"), "units")
    assert [u["code"] for u in ph] == ["AFP-HSC", "PAF-220AW", "PN-NBSBMA"]
    page = client_for("ph-fin").get(f"{API}/units", params={"page_size": 2, "page": 2,
                                                            "sort": "name"}).json()
    assert (page["total"], len(page["items"])) == (3, 1)


def test_an_administrator_adds_a_unit_of_their_own_party(world, client_for):
    admin = client_for("ph-admin")
    r = admin.post(f"{API}/units", json={"code": "PA-1ID", "name": "1st Infantry Division",
                                         "address": "Camp Capinpin"})
    assert r.status_code == 201, r.text
    assert r.json() == {"code": "PA-1ID", "party": "PH", "name": "1st Infantry Division",
                        "address": "Camp Capinpin"}
    assert "PA-1ID" in [u["code"] for u in items(client_for("ph-fin"), "units")]
    assert "PA-1ID" not in [u["code"] for u in items(client_for("jp-fin"), "units")]
    event = client_for("ph-fin").get(f"{API}/audit/events",
                                     params={"subject": "unit:PA-1ID"}).json()["items"]
    assert [(e["action"], e["actor"]) for e in event] == [("unit.added", "ph-admin")]
    refused(world, admin, "POST", f"{API}/units", 409, json={"code": "PA-1ID", "name": "x"})
    refused(world, client_for("ph-fin"), "POST", f"{API}/units", 403,
            json={"code": "PA-2ID", "name": "2nd Infantry Division"})
    refused(world, admin, "POST", f"{API}/units", 422,
            json={"code": "PA 3ID", "name": "bad code"})
    refused(world, admin, "POST", f"{API}/units", 422,
            json={"code": "PA-3ID", "name": "nul\u0000name"})
    refused(world, admin, "POST", f"{API}/units", 422,
            json={"code": "PA-3ID", "name": "x", "party": "JP"})  # the party is never chosen


# --- officials -----------------------------------------------------------------------------
def test_officials_are_the_viewers_partys_own(client_for):
    jp = items(client_for("jp-req"), "officials")
    assert jp and {o["party"] for o in jp} == {"JP"}
    [sato] = [o for o in jp if o["code"] == "jp-sato"]
    assert (sato["limit"], sato["limit_minor"], sato["unit"]) == (
        "200,000,000 JPY", 200_000_000, "JMSDF-DD110")
    finance = items(client_for("jp-req"), "officials", role="finance")
    assert [o["code"] for o in finance] == ["jp-abe"]


def test_an_administrator_adds_an_official_of_their_own_party(world, client_for):
    admin = client_for("ph-admin")
    r = admin.post(f"{API}/officials", json={
        "code": "ph-tan", "name": "Maj Leo Tan", "role": "approving",
        "valid_from": "2026-01-01", "valid_to": "2027-12-31", "limit_amount": "1000000",
        "unit": "PN-NBSBMA"})
    assert r.status_code == 201, r.text
    tan = r.json()
    assert (tan["party"], tan["limit"], tan["limit_currency"], tan["unit"]) == (
        "PH", "1,000,000.00 PHP", "PHP", "PN-NBSBMA")
    for payload, status in [
        ({"unit": "JMSDF-DD110"}, 404),  # a unit of another party
        ({"unit": "NO-SUCH-UNIT"}, 404),
        ({"valid_to": "2025-01-01"}, 422),  # before valid_from
        ({"role": "king"}, 422),
        ({"limit_amount": "0.001"}, 422),
        ({"limit_currency": "USD"}, 422),  # a currency without an amount
        ({"limit_amount": "1", "limit_currency": "ABC"}, 422),
        ({"code": "ph-tan"}, 409),
    ]:
        body = {"code": "ph-ong", "name": "Capt Ong", "role": "finance",
                "valid_from": "2026-01-01", **payload}
        refused(world, admin, "POST", f"{API}/officials", status, json=body)
    refused(world, client_for("jp-admin"), "POST", f"{API}/officials", 404, json={
        "code": "jp-x", "name": "x", "role": "finance", "valid_from": "2026-01-01",
        "unit": "PN-NBSBMA"})
    refused(world, client_for("ph-fin"), "POST", f"{API}/officials", 403, json={
        "code": "ph-x", "name": "x", "role": "finance", "valid_from": "2026-01-01"})


# --- users ---------------------------------------------------------------------------------
def test_users_are_the_viewers_partys_own(client_for):
    names = [u["username"] for u in items(client_for("jp-req"), "users")]
    assert names == ["jp-admin", "jp-audit", "jp-fin", "jp-rcv", "jp-req"]
    [fin] = [u for u in items(client_for("jp-req"), "users") if u["username"] == "jp-fin"]
    assert (fin["official"], fin["role"], fin["is_admin"], fin["locked"]) == (
        "jp-abe", "finance", False, False)


def test_an_administrator_adds_a_user_of_their_own_party(world, app, client_for):
    admin = client_for("ph-admin")
    r = admin.post(f"{API}/users", json={"username": "garcia", "password": PASSWORD,
                                         "official": "ph-garcia", "display_name": "Maj Garcia"})
    assert r.status_code == 201, r.text
    assert (r.json()["party"], r.json()["official"], r.json()["role"]) == (
        "PH", "ph-garcia", "requesting")
    assert "password" not in r.text and PASSWORD not in r.text
    with TestClient(app) as garcia:
        me = garcia.post(f"{API}/auth/login", json={"username": "garcia",
                                                    "password": PASSWORD})
        assert me.status_code == 200 and me.json()["official"] == "ph-garcia"
    for payload, status in [
        ({"official": "jp-sato"}, 404),  # an official of another party: not even named
        ({"official": "nobody"}, 404),
        ({"password": "short"}, 422),
        ({"password": "aaaaaaaaaaaaaaaa"}, 422),  # too simple
        ({"username": "has space"}, 422),
        ({"username": "u" * 41}, 422),  # longer than the audit chain's actor
        ({"display_name": "Lim\u0000"}, 422),
        ({"username": "garcia"}, 409),
        ({"is_admin": "perhaps"}, 422),
    ]:
        body = {"username": "lim", "password": PASSWORD, **payload}
        refused(world, admin, "POST", f"{API}/users", status, json=body)
    refused(world, client_for("ph-fin"), "POST", f"{API}/users", 403,
            json={"username": "lim", "password": PASSWORD})


# --- activities ----------------------------------------------------------------------------
def test_activities_are_those_under_the_viewers_agreements(client_for):
    us = items(client_for("us-app"), "activities")
    assert {a["code"]: a["agreements"] for a in us} == {
        "BALIKATAN-2025": ["PHUS"], "KAMANDAG-10": ["PHUS"]}  # not PH-JP: not the US's
    jp = items(client_for("jp-req"), "activities", type="hadr")
    assert [a["code"] for a in jp] == ["HADR-EX-2026"]
    jp = items(client_for("jp-req"), "activities", agreement="PHUS")
    assert jp == []


def test_an_administrator_adds_an_activity_under_their_partys_agreements(world, client_for):
    admin = client_for("jp-admin")
    activity = {"code": "NANKAI-27", "name": "Nankai exercise", "type": "exercise",
                "place": "Okinawa", "starts_on": "2027-01-10", "ends_on": "2027-01-20",
                "agreements": ["PHJP", "JPUS"]}
    r = admin.post(f"{API}/activities", json=activity)
    assert r.status_code == 201, r.text
    assert r.json()["agreements"] == ["JPUS", "PHJP"]
    assert [a["agreements"] for a in items(client_for("ph-fin"), "activities")
            if a["code"] == "NANKAI-27"] == [["PHJP"]]
    for payload, status in [
        ({"agreements": ["PHUS"]}, 404),  # not an agreement of JP
        ({"agreements": ["PHJP", "phjp"]}, 422),
        ({"agreements": []}, 422),
        ({"ends_on": "2026-01-01"}, 422),
        ({"type": "war"}, 422),
        ({"code": "NANKAI-27"}, 409),
    ]:
        refused(world, admin, "POST", f"{API}/activities", status,
                json={**activity, "code": "NANKAI-28", **payload})
    refused(world, client_for("jp-fin"), "POST", f"{API}/activities", 403,
            json={**activity, "code": "NANKAI-29"})


# --- rates ---------------------------------------------------------------------------------
def test_rates_are_market_rates_and_the_viewers_agreements_rates(client_for):
    us = items(client_for("us-app"), "rates")
    assert {r["agreement"] for r in us} == {None, "JPUS"}
    ph = items(client_for("ph-fin"), "rates", kind="agreement_fy")
    assert [(r["agreement"], r["base"], r["quote"], r["rate"]) for r in ph] == [
        ("PHJP", "JPY", "PHP", "0.3744")]
    usd = items(client_for("ph-fin"), "rates", currency="usd")
    assert usd and all("USD" in (r["base"], r["quote"]) for r in usd)


def test_finance_officials_record_rates(world, client_for):
    jp = client_for("jp-fin")
    r = jp.post(f"{API}/rates", json={"base": "USD", "quote": "JPY", "rate": "151.25",
                                      "on": "2026-11-27", "source": "BoJ reference rate"})
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["rate"]) == ("market", "151.25")
    for payload, status in [
        ({"kind": "agreement_fy", "agreement": "PHUS"}, 404),  # not an agreement of JP
        ({"kind": "agreement_fy", "agreement": "JPUS"}, 409),  # FY2026 is fixed already
        ({"kind": "agreement_fy"}, 422),  # without its agreement
        ({"quote": "USD"}, 422),
        ({"rate": "0"}, 422),
        ({"rate": "-1"}, 422),
        ({"base": "XYZ"}, 422),
        ({"source": ""}, 422),
        ({"on": "2026-02-29"}, 422),
        ({"on": "9999-12-31", "kind": "agreement_fy", "agreement": "JPUS"}, 422),
        ({"on": "0001-01-01", "kind": "agreement_fy", "agreement": "JPUS"}, 422),
        ({"source": "BoJ\u0000"}, 422),
    ]:
        body = {"base": "USD", "quote": "JPY", "rate": "150", "on": "2026-11-28",
                "source": "test", **payload}
        refused(world, jp, "POST", f"{API}/rates", status, json=body)
    for user in ("jp-req", "jp-audit"):
        refused(world, client_for(user), "POST", f"{API}/rates", 403, json={
            "base": "USD", "quote": "JPY", "rate": "150", "on": "2026-11-28", "source": "x"})
    assert client_for("jp-admin").post(f"{API}/rates", json={
        "base": "USD", "quote": "PHP", "rate": "58.7", "on": "2026-11-28",
        "source": "BSP"}).status_code == 201


def test_reference_data_needs_a_signed_in_user(anonymous):
    for path in ("agreements", "agreements/PHJP", "parties", "units", "officials", "users",
                 "activities", "rates"):
        assert anonymous.get(f"{API}/{path}").status_code == 401, path


# --- changing an official ------------------------------------------------------------------
def test_an_administrator_changes_an_official_of_their_own_party(world, client_for):
    admin = client_for("ph-admin")
    r = admin.patch(f"{API}/officials/ph-cruz", json={"limit_amount": "2000000",
                                                      "valid_to": "2027-06-30"})
    assert r.status_code == 200, r.text
    cruz = r.json()
    assert (cruz["limit"], cruz["valid_from"], cruz["valid_to"], cruz["unit"]) == (
        "2,000,000.00 PHP", "2025-01-01", "2027-06-30", "PN-NBSBMA")
    [listed] = [o for o in items(client_for("ph-fin"), "officials") if o["code"] == "ph-cruz"]
    assert listed == cruz
    events = client_for("ph-fin").get(f"{API}/audit/events",
                                      params={"subject": "official:ph-cruz"}).json()["items"]
    assert ("official.changed", "ph-admin") in [(e["action"], e["actor"]) for e in events]
    # null clears: no limit, no end
    r = admin.patch(f"{API}/officials/ph-cruz", json={"limit_amount": None, "valid_to": None})
    assert r.status_code == 200, r.text
    assert (r.json()["limit"], r.json()["valid_to"]) == (None, None)
    for payload, status in [
        ({"valid_to": "2024-12-31"}, 422),  # before valid_from
        ({"valid_from": None}, 422),
        ({"limit_amount": "0"}, 422),
        ({"limit_amount": "-5"}, 422),
        ({"limit_currency": "USD"}, 422),  # a currency without an amount
        ({"limit_amount": "1", "limit_currency": "ABC"}, 422),
        ({"unit": "JMSDF-DD110"}, 404),  # a unit of another party
        ({"role": "finance"}, 422),  # the role is not changeable
        ({}, 422),  # nothing to change
    ]:
        refused(world, admin, "PATCH", f"{API}/officials/ph-cruz", status, json=payload)
    refused(world, client_for("jp-admin"), "PATCH", f"{API}/officials/ph-cruz", 404,
            json={"limit_amount": "1"})
    refused(world, client_for("ph-app"), "PATCH", f"{API}/officials/ph-cruz", 403,
            json={"limit_amount": "1"})


def test_an_administrator_deactivates_an_official(world, client_for):
    admin = client_for("ph-admin")
    r = admin.post(f"{API}/officials/ph-santos/deactivate", json={"on": "2026-12-31"})
    assert r.status_code == 200, r.text
    assert r.json()["valid_to"] == "2026-12-31"
    refused(world, admin, "POST", f"{API}/officials/ph-santos/deactivate", 422,
            json={"on": "2027-01-31"})  # deactivation only shortens
    refused(world, client_for("jp-admin"), "POST", f"{API}/officials/ph-santos/deactivate",
            404, json={"on": "2026-06-30"})
