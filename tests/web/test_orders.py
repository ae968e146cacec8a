"""The register and an order's page: party scoping, the actions each person sees, an order's
whole life through the forms, CSRF on every action, and the services' refusals shown."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

Browser = Callable[..., TestClient]
TODAY = dt.datetime.now(dt.UTC).date().isoformat()
JP_ORDERS = {"PHJP-JP-2026-0001", "PHJP-JP-2026-0002", "PHJP-JP-2026-0003",
             "PHJP-JP-2026-0004"}
REQUESTED = "PHJP-PH-2026-0003"  # the demo's request awaiting Japan's acceptance
UNPAID = "PHJP-JP-2026-0004"  # food for the port call: billed to Japan, unpaid


def numbers(html: str) -> set[str]:
    return set(re.findall(r'<td><a href="/orders/([A-Z0-9-]+)">', html))


def action_forms(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="/orders/[A-Z0-9-]+/([a-z]+)"', html))


def state(client: TestClient, number: str) -> str:
    r = client.get(f"/api/v1/orders/{number}")
    assert r.status_code == 200, r.text
    return str(r.json()["state"])


def post(client: TestClient, number: str, action: str, data: dict[str, str],
         files: dict | None = None, follow: bool = False):
    page = client.get(f"/orders/{number}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    body = {"csrf_token": csrf_of(page), **({"version": version.group(1)} if version else {}),
            **data}
    return client.post(f"/orders/{number}/{action}", data=body, files=files,
                       follow_redirects=follow)


def test_the_register_and_order_pages_are_scoped_to_the_party(browser_for: Browser):
    us = browser_for("us-app")
    listed = numbers(us.get("/orders").text)
    assert listed == {"PHUS-PH-2025-0001"}
    for number in JP_ORDERS | {REQUESTED}:
        r = us.get(f"/orders/{number}")
        assert r.status_code == 404, number
        assert number in r.text and "Not found." in r.text
    assert numbers(us.get("/orders", params={"q": "PHJP"}).text) == set()
    dash = us.get("/").text
    assert "Japan (JSDF)" not in dash
    jp = browser_for("jp-req")
    listed = numbers(jp.get("/orders").text)
    assert JP_ORDERS <= listed and "PHUS-PH-2025-0001" not in listed
    assert jp.get("/orders/PHUS-PH-2025-0001").status_code == 404


def test_the_register_filters_sorts_and_pages(browser_for: Browser):
    ph = browser_for("ph-app")
    assert numbers(ph.get("/orders", params={"state": "requested"}).text) == {REQUESTED}
    assert numbers(ph.get("/orders", params={"q": "provisions"}).text) == {UNPAID}
    assert numbers(ph.get("/orders", params={"agreement": "PHUS"}).text) == \
        {"PHUS-PH-2025-0001"}
    assert numbers(ph.get("/orders", params={"activity": "PORTCALL-MNL"}).text) == \
        {"PHJP-JP-2026-0003", UNPAID}
    assert numbers(ph.get("/orders", params={"date_from": "2026-10-01"}).text) == {REQUESTED}
    assert numbers(ph.get("/orders", params={"date_to": "2025-12-31"}).text) == \
        {"PHUS-PH-2025-0001"}
    overdue = numbers(ph.get("/orders", params={"overdue": "yes"}).text)
    assert "PHUS-PH-2025-0001" in overdue and REQUESTED not in overdue
    page = ph.get("/orders", params={"sort": "order_on", "order": "desc"}).text
    order = re.findall(r'<td><a href="/orders/([A-Z0-9-]+)">', page)
    assert order[0] == REQUESTED and order[-1] == "PHUS-PH-2025-0001"
    assert 'aria-sort="descending"' in page
    unknown = ph.get("/orders", params={"activity": "NO-SUCH"})
    assert unknown.status_code == 200 and "no activity" in unknown.text
    assert "Orders 1–8 of 8" in ph.get("/orders").text
    assert "No order matches." in ph.get("/orders", params={"page": "2"}).text


def test_the_register_counts_only_up_to_a_bound(browser_for: Browser,
                                                monkeypatch: pytest.MonkeyPatch):
    """A long history is not counted to the end: "more than 10,000" (here 3, pages of 2)."""
    from acsa.web.routes import orders as register

    monkeypatch.setattr(register, "COUNT_LIMIT", 3)
    monkeypatch.setattr(register, "PAGE_SIZE", 2)
    ph = browser_for("ph-app")
    page = ph.get("/orders").text
    assert "Orders 1–2 of more than 3" in page and 'rel="next"' in page
    assert "Page 1<" in page and "Page 1 of" not in page
    assert len(numbers(page)) == 2
    page = ph.get("/orders", params={"page": "4"}).text
    assert "Orders 7–8 of more than 3" in page and len(numbers(page)) == 2
    page = ph.get("/orders", params={"q": "provisions"}).text
    assert "Orders 1–1 of 1" in page  # few: counted exactly
    ja = browser_for("ph-app", lang="ja").get("/orders").text
    assert "3 件超中 1–2 件目" in ja


def test_actions_appear_only_for_who_may_take_them(browser_for: Browser):
    assert "accept" in action_forms(browser_for("jp-app").get(f"/orders/{REQUESTED}").text)
    for user in ("jp-req", "jp-fin", "jp-audit", "ph-app", "jp-admin"):
        forms = action_forms(browser_for(user).get(f"/orders/{REQUESTED}").text)
        assert "accept" not in forms, user
    assert action_forms(browser_for("jp-audit").get(f"/orders/{REQUESTED}").text) == set()
    assert "cancel" in action_forms(browser_for("ph-req").get(f"/orders/{REQUESTED}").text)
    # the unpaid bill: Japan's finance official pays it, the Philippine one does not
    jp_fin = browser_for("jp-fin").get(f"/orders/{UNPAID}").text
    assert f'action="/orders/{UNPAID}/pay"' in jp_fin
    ph_fin = browser_for("ph-fin").get(f"/orders/{UNPAID}").text
    assert f'action="/orders/{UNPAID}/pay"' not in ph_fin
    assert "close" not in action_forms(ph_fin)  # not settled yet


def test_a_forged_or_missing_csrf_token_changes_nothing(browser_for: Browser,
                                                        api_for: Callable[[str], TestClient]):
    jp_app = browser_for("jp-app")
    for token in ("forged", ""):
        r = jp_app.post(f"/orders/{REQUESTED}/accept", data={
            "csrf_token": token, "supplying_unit": "JASDF-1TAW", "supplier_poc": "Maj Mori"})
        assert r.status_code == 403
        assert "security token" in r.text
    assert state(api_for("jp-app"), REQUESTED) == "requested"


def test_a_refusal_shows_the_services_reason(browser_for: Browser,
                                             api_for: Callable[[str], TestClient]):
    jp_app = browser_for("jp-app")
    r = post(jp_app, REQUESTED, "accept", {})  # no supplying unit or point of contact
    assert r.status_code == 409
    assert "An ACSA rule does not allow this." in r.text
    assert "missing" in r.text and "supplying unit" in r.text
    assert state(api_for("jp-app"), REQUESTED) == "requested"
    ph_req = browser_for("ph-req", lang="ja")
    r = post(ph_req, REQUESTED, "cancel", {"reason": "  "})
    assert r.status_code == 422
    assert "フォームの値に使用できないものがあります。" in r.text  # translated lead-in
    assert "a cancellation needs a reason" in r.text  # the service's own words
    # a stale version: someone acted first
    page = jp_app.get(f"/orders/{REQUESTED}").text
    r = jp_app.post(f"/orders/{REQUESTED}/accept", data={
        "csrf_token": csrf_of(page), "version": "1", "supplying_unit": "JASDF-1TAW",
        "supplier_poc": "Maj Mori"})
    assert r.status_code == 409 and "version" in r.text


def test_an_order_lives_its_whole_life_through_the_forms(
        browser_for: Browser, api_for: Callable[[str], TestClient]):
    api = api_for("jp-req")
    created = api.post("/api/v1/orders", json={
        "agreement": "PHJP", "activity": "KAMANDAG-10", "order_on": TODAY,
        "delivery_place": "Alava Pier, Subic Bay", "delivery_on": TODAY,
        "fund_citation": "JMSDF FY2026 O&M 02-31-130", "requesting_unit": "JMSDF-DD110",
        "requester_poc": "Lt Cdr Sato", "billing_address": "JMSDF Yokosuka District",
        "lines": [{"category": "fuel", "description": "Diesel fuel, marine (F-76)",
                   "stock_number": "9140-00-273-2377", "quantity": "12000", "unit": "L",
                   "unit_price": "68.50", "method": "cash"}]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]

    jp_req = browser_for("jp-req")
    assert action_forms(jp_req.get(f"/orders/{number}").text) == {"request", "cancel"}
    r = post(jp_req, number, "request", {"on": TODAY})
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{number}?done=request"
    assert "The order was requested." in jp_req.get(r.headers["location"]).text
    assert state(api, number) == "requested"

    ph_app = browser_for("ph-app")
    page = ph_app.get(f"/orders/{number}").text
    assert "JMSDF FY2026 O&amp;M 02-31-130" not in page  # the requester's internal field
    assert "accept" in action_forms(page)
    r = post(ph_app, number, "accept", {"supplying_unit": "PN-NBSBMA",
                                        "supplier_poc": "Lt Reyes, +63 47 252 0000"})
    assert r.status_code == 303, r.text
    assert state(api, number) == "accepted"

    ph_sup = browser_for("ph-sup")
    assert "deliver" in action_forms(ph_sup.get(f"/orders/{number}").text)
    pdf = b"%PDF-1.4\n% delivery ticket\n%%EOF\n"
    r = post(ph_sup, number, "deliver", {"qty_1": "12000", "note": "truck 3"},
             files={"document": ("ticket-0441.pdf", pdf, "application/pdf")})
    assert r.status_code == 303, r.text
    assert state(api, number) == "delivered"
    page = ph_sup.get(f"/orders/{number}").text
    sha = hashlib.sha256(pdf).hexdigest()
    assert f'href="/api/v1/documents/{sha}"' in page and "ticket-0441.pdf" in page
    assert ph_sup.get(f"/api/v1/documents/{sha}").content == pdf

    jp_rcv = browser_for("jp-rcv")
    r = post(jp_rcv, number, "receive", {"received_1": "11500", "damaged_1": "0"})
    assert r.status_code == 422 and "reason" in r.text  # a shortage needs its reason
    r = post(jp_rcv, number, "receive", {"received_1": "11500", "damaged_1": "0",
                                         "reason_1": "tank gauge 500 L short"})
    assert r.status_code == 303, r.text
    page = jp_rcv.get(f"/orders/{number}").text
    assert "tank gauge 500 L short" in page and "short" in page
    assert "₱787,750.00" in page  # 11,500 L x 68.50 billed

    jp_fin = browser_for("jp-fin")
    page = jp_fin.get(f"/orders/{number}").text
    assert f'action="/orders/{number}/pay"' in page
    claim = re.search(r'name="claim" value="([^"]+)"', page).group(1)
    r = post(jp_fin, number, "pay", {"claim": claim, "amount": "787750.00",
                                     "currency": "PHP", "reference": "wire 1"})
    assert r.status_code == 303, r.text
    assert state(api, number) == "settled"

    ph_fin = browser_for("ph-fin")
    assert "close" in action_forms(ph_fin.get(f"/orders/{number}").text)
    r = post(ph_fin, number, "close", {})
    assert r.status_code == 303, r.text
    assert state(api, number) == "closed"
    timeline = ph_fin.get(f"/orders/{number}").text.split('id="h-timeline"')[1]
    for label in ("Created", "Requested", "Accepted", "Delivered", "Received", "Payment",
                  "Closed"):
        assert f"<strong>{label}</strong>" in timeline, label
    assert "Capt Maria Cruz PN" in timeline  # who accepted, by name


def test_the_timeline_and_data_of_an_order(browser_for: Browser):
    page = browser_for("jp-req").get("/orders/PHJP-JP-2026-0001").text
    for text in ("Diesel fuel, marine (F-76)", "fuel-delivery-ticket-0441.pdf",
                 "meter reading at the ship", "Fuel, oil and lubricants", "JMSDF wire 2026-0620-01",
                 "JMSDF FY2026 O&amp;M 02-31-118", "<strong>Closed</strong>"):
        assert text in page, text
    assert "JMSDF FY2026 O&amp;M 02-31-118" not in \
        browser_for("ph-app").get("/orders/PHJP-JP-2026-0001").text


def test_an_order_page_links_its_documents_for_the_signed_in_party(browser_for: Browser):
    """The order page offers the order form in both bilingual versions, each claim's notice,
    each payment's receipt and the audit pack; the browser's session downloads them; the
    partner's form leaves out the requester's fund citation."""
    import io

    import pypdf

    jp = browser_for("jp-req")
    page = jp.get("/orders/PHJP-JP-2026-0001").text
    links = set(re.findall(r'href="(/api/v1/[^"]+)" download', page))
    assert {"/api/v1/orders/PHJP-JP-2026-0001/form.pdf?lang=ja",
            "/api/v1/orders/PHJP-JP-2026-0001/form.pdf?lang=fil",
            "/api/v1/claims/PHJP-JP-2026-0001-C1/notice.pdf?lang=ja",
            "/api/v1/orders/PHJP-JP-2026-0001/audit-pack.zip"} <= links
    receipts = [x for x in links if x.endswith("/receipt.pdf?lang=ja")]
    assert receipts, "the paid claim's receipt is not offered"

    def text(client: TestClient, url: str) -> str:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", url
        return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)

    form = "/api/v1/orders/PHJP-JP-2026-0001/form.pdf?lang=ja"
    assert "発注書" in text(jp, form) and "PHJP-JP-2026-0001" in text(jp, form)
    assert "PHJP-JP-2026-0001" in text(jp, receipts[0])
    fund = re.search(r"JMSDF FY2026 O&amp;M [0-9-]+", page)
    assert fund, "the requester's own page shows its fund citation"
    ph = browser_for("ph-app")
    assert fund.group(0).replace("&amp;", "&") not in text(ph, form)
    assert jp.get("/api/v1/orders/PHJP-JP-2026-0001/audit-pack.zip").content[:2] == b"PK"
