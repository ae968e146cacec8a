"""The order creation form and the draft edit form: checked as they are filled in (the
server-side check a page fetches, and the same check with no JavaScript), refusals with the
field and the rule, creation and editing through the services, CSRF, and party scoping."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

Browser = Callable[..., TestClient]
TODAY = dt.datetime.now(dt.UTC).date().isoformat()


def order_fields(**over: str) -> dict[str, str]:
    """A complete diesel order of Japan's requesting official under PH-JP."""
    data = {"agreement": "PHJP", "activity": "KAMANDAG-10", "order_on": TODAY,
            "currency": "", "requesting_unit": "JMSDF-DD110", "requester_poc": "Lt Cdr Sato",
            "fund_citation": "JMSDF FY2026 O&M 02-31-140",
            "billing_address": "JMSDF Yokosuka District", "implementing_arrangement": "",
            "delivery_place": "Alava Pier, Subic Bay", "delivery_on": TODAY, "notes": "",
            "line_count": "3",
            "line_1_category": "fuel", "line_1_description": "Diesel fuel, marine (F-76)",
            "line_1_stock_number": "9140-00-273-2377", "line_1_quantity": "12000",
            "line_1_unit": "L", "line_1_unit_price": "68.50", "line_1_method": "cash",
            "line_2_category": "", "line_2_description": "", "line_2_quantity": "",
            "line_2_unit": "", "line_2_unit_price": "", "line_2_method": "cash"}
    data.update(over)
    return data


def check(client: TestClient, **over: str) -> str:
    page = client.get("/orders/new")
    r = client.post("/orders/new/check", data={"csrf_token": csrf_of(page.text),
                                                **order_fields(**over)})
    assert r.status_code == 200, r.text
    assert "<html" not in r.text  # a fragment for the check panel
    return r.text


def refused(fragment: str) -> list[str]:
    return re.findall(r'<li class="refused">(.*?)</li>', fragment, flags=re.S)


def test_the_form_is_there_for_a_requesting_official_and_works_without_script(
        browser_for: Browser):
    jp = browser_for("jp-req")
    page = jp.get("/orders/new")
    assert page.status_code == 200
    html = page.text
    assert '<form method="post" action="/orders/new" id="order-form"' in html
    assert 'data-check="/orders/new/check"' in html
    assert re.search(r'<script src="/static/order-form\.js\?v=\w+" defer>', html)
    assert 'aria-live="polite"' in html
    assert 'value="JMSDF-DD110" selected' in html  # the official's own unit
    assert 'name="op" value="check"' in html and 'name="op" value="add_line"' in html
    # only the party's agreements and activities are offered
    assert 'value="PHJP"' in html and 'value="JPUS"' in html and 'value="PHUS"' not in html
    assert 'value="BALIKATAN-2025"' not in html  # a PH-US exercise
    js = jp.get(re.search(r'src="(/static/order-form\.js\?v=\w+)"', html).group(1))
    assert js.status_code == 200 and "fetch(" in js.text
    assert js.headers["content-type"].startswith("text/javascript") or \
        js.headers["content-type"].startswith("application/javascript")
    # with no script: "Add a line" and "Check now" post the form and show it again
    token = csrf_of(html)
    more = jp.post("/orders/new", data={"csrf_token": token, "op": "add_line",
                                        **order_fields()})
    assert more.status_code == 200 and 'name="line_4_description"' in more.text
    assert 'value="Diesel fuel, marine (F-76)"' in more.text  # what was typed is kept
    now = jp.post("/orders/new", data={"csrf_token": token, "op": "check",
                                       **order_fields(line_1_method="eve")})
    assert now.status_code == 200 and "Settlement method allowed for this category" in now.text
    assert 'class="refused"' in now.text


def test_a_complete_order_passes_every_check(browser_for: Browser):
    fragment = check(browser_for("jp-req"))
    assert refused(fragment) == []
    assert "the draft can be requested" in fragment
    assert "₱822,000.00" in fragment  # 12,000 L x 68.50 PHP
    assert "¥200,000,000" in fragment  # the official's limit, named
    for rule in ("The agreement is in force on the order date",
                 "The activity runs under the agreement",
                 "Category allowed under the agreement for this activity",
                 "Value within your delegated limit"):
        assert rule in fragment, rule


def test_the_check_names_the_field_and_the_rule(browser_for: Browser):
    jp = browser_for("jp-req")
    # a service settled by replacement in kind is not allowed
    bad = refused(check(jp, line_1_category="medical", line_1_method="rik"))
    assert len(bad) == 1 and 'href="#line-1-method"' in bad[0]
    assert "a service cannot be settled by &#39;rik&#39; under PHJP" in bad[0]
    # ammunition for a HADR exercise: the agreement's ammunition rule
    bad = refused(check(jp, activity="HADR-EX-2026", line_1_category="ammunition"))
    assert any('href="#line-1-category"' in b and "allows ammunition only for" in b
               for b in bad)
    # an activity that does not run under the agreement
    bad = refused(check(jp, agreement="JPUS"))
    assert any('href="#f-activity"' in b and "does not run under JPUS" in b for b in bad)
    # above the official's delegated limit, converted at the agreement's fixed FY rate
    bad = refused(check(jp, line_1_quantity="10000000"))
    assert any("Value within your delegated limit" in b and "may sign up to" in b
               and "FY" in b for b in bad)
    bad = refused(check(jp, delivery_on="next week"))
    assert any('href="#f-delivery_on"' in b and "is not a date" in b for b in bad)
    # a value that cannot be read is said, not a crash
    bad = refused(check(jp, line_1_quantity="lots", line_1_unit="zorkmids"))
    assert any('href="#line-1-quantity"' in b for b in bad)
    assert any('href="#line-1-unit"' in b for b in bad)


def test_missing_data_elements_are_listed_until_given(browser_for: Browser):
    jp = browser_for("jp-req")
    fragment = check(jp, fund_citation="", delivery_place="", line_1_stock_number="")
    missing = re.search(r'<ul class="missing">(.*?)</ul>', fragment, flags=re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", missing)
    assert items == ["place of delivery", "fund citation", "line stock number (supplies)"]
    # translated in Japanese
    ja = browser_for("jp-req", lang="ja")
    fragment = check(ja, fund_citation="")
    assert "予算科目" in fragment or "資金" in fragment


def test_another_party_s_activity_is_not_named(browser_for: Browser):
    """A PH-US exercise typed into a Japanese form: not found, and PHUS is never named."""
    fragment = check(browser_for("jp-req"), activity="BALIKATAN-2025")
    assert "no activity &#39;BALIKATAN-2025&#39;" in fragment
    assert "PHUS" not in fragment


def test_creating_a_draft_through_the_form(browser_for: Browser, api_for):
    jp = browser_for("jp-req")
    token = csrf_of(jp.get("/orders/new").text)
    r = jp.post("/orders/new", data={"csrf_token": token, "op": "create",
                                     **order_fields(line_2_category="water",
                                                    line_2_description="Potable water",
                                                    line_2_stock_number="8820-00-000-0001",
                                                    line_2_quantity="40",
                                                    line_2_unit="t",
                                                    line_2_unit_price="1,200.00",
                                                    line_2_method="rik")},
                follow_redirects=False)
    assert r.status_code == 303, r.text
    number = r.headers["location"].split("/orders/")[1].split("?")[0]
    assert r.headers["location"].endswith("?done=create")
    page = jp.get(r.headers["location"]).text
    assert "The draft order was created" in page and "Edit the draft" in page
    order = api_for("jp-req").get(f"/api/v1/orders/{number}").json()
    assert order["state"] == "draft" and order["agreement"] == "PHJP"
    assert [ln["method"] for ln in order["lines"]] == ["cash", "rik"]
    assert order["lines"][1]["unit_price"] == "1200.00" and order["currency"] == "PHP"
    assert order["fund_citation"] == "JMSDF FY2026 O&M 02-31-140"
    # and it can be requested at once: nothing required is missing
    page = jp.get(f"/orders/{number}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = jp.post(f"/orders/{number}/request", data={"csrf_token": csrf_of(page),
                                                   "version": version},
                follow_redirects=False)
    assert r.status_code == 303, r.text


def test_a_refused_creation_shows_the_form_with_the_field_marked(browser_for: Browser):
    jp = browser_for("jp-req")
    token = csrf_of(jp.get("/orders/new").text)
    r = jp.post("/orders/new", data={"csrf_token": token, "op": "create",
                                     **order_fields(line_1_category="medical",
                                                    line_1_method="rik")})
    assert r.status_code == 409
    assert "An ACSA rule does not allow this." in r.text
    assert 'id="line-1-method" name="line_1_method" aria-invalid="true"' in r.text
    assert 'href="#line-1-method"' in r.text  # "go to the field concerned"
    assert 'value="Diesel fuel, marine (F-76)"' in r.text  # nothing typed is lost
    r = jp.post("/orders/new", data={"csrf_token": token, "op": "create",
                                     **order_fields(line_1_quantity="-3")})
    assert r.status_code == 422 and "A value in the form cannot be used." in r.text
    assert 'id="line-1-quantity" name="line_1_quantity" value="-3" inputmode="decimal" ' \
        'maxlength="40" aria-invalid="true"' in r.text


def test_who_may_create_and_csrf(browser_for: Browser, api_for):
    before = api_for("jp-req").get("/api/v1/orders", params={"state": "draft"}).json()["total"]
    jp = browser_for("jp-req")
    r = jp.post("/orders/new", data={"csrf_token": "forged", "op": "create",
                                     **order_fields()})
    assert r.status_code == 403 and "security token" in r.text
    assert jp.post("/orders/new/check", data={"csrf_token": "forged",
                                              **order_fields()}).status_code == 403
    # an approving official is no requesting official: the service refuses, the form says so
    app = browser_for("jp-app")
    fragment = check(app)
    assert any("You may create orders for your party" in b for b in refused(fragment))
    r = app.post("/orders/new", data={"csrf_token": csrf_of(app.get("/orders/new").text),
                                      "op": "create", **order_fields()})
    assert r.status_code == 403 and "You are not authorised to do this." in r.text
    # an auditor cannot either
    audit = browser_for("jp-audit")
    r = audit.post("/orders/new", data={"csrf_token": csrf_of(audit.get("/orders/new").text),
                                        "op": "create", **order_fields()})
    assert r.status_code == 403
    # a third nation cannot use another pair's agreement: not found, as over the API
    us = browser_for("us-app")
    r = us.post("/orders/new", data={"csrf_token": csrf_of(us.get("/orders/new").text),
                                     "op": "create", **order_fields()})
    assert r.status_code in (403, 404)
    assert "JMSDF" not in re.sub(r'value="[^"]*"', "", r.text.split('id="order-form"')[0])
    after = api_for("jp-req").get("/api/v1/orders", params={"state": "draft"}).json()["total"]
    assert after == before
    assert browser_for("jp-req").get("/orders/new/check").status_code == 405


def _draft(jp: TestClient) -> str:
    token = csrf_of(jp.get("/orders/new").text)
    r = jp.post("/orders/new", data={"csrf_token": token, "op": "create",
                                     **order_fields(fund_citation="")},
                follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].split("/orders/")[1].split("?")[0]


def test_editing_a_draft(browser_for: Browser, api_for):
    jp = browser_for("jp-req")
    number = _draft(jp)
    form = jp.get(f"/orders/{number}/edit")
    assert form.status_code == 200
    assert f'action="/orders/{number}/edit"' in form.text
    assert "fund citation" in form.text  # still missing: listed by the check
    version = re.search(r'name="version" value="(\d+)"', form.text).group(1)
    data = {"csrf_token": csrf_of(form.text), "version": version, "op": "save",
            **order_fields(fund_citation="JMSDF FY2026 O&M 02-31-141", line_1_quantity="9000",
                           agreement="JPUS")}  # the agreement is not editable: ignored
    r = jp.post(f"/orders/{number}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "The draft was saved." in jp.get(r.headers["location"]).text
    order = api_for("jp-req").get(f"/api/v1/orders/{number}").json()
    assert order["fund_citation"] == "JMSDF FY2026 O&M 02-31-141"
    assert order["lines"][0]["quantity"] == "9000" and order["agreement"] == "PHJP"
    # the same form again (its version is now old): someone changed it first
    r = jp.post(f"/orders/{number}/edit", data=data)
    assert r.status_code == 409 and "Someone changed this first" in r.text
    # the supplying party never sees the requester's draft form (internal fields)
    assert browser_for("ph-app").get(f"/orders/{number}/edit").status_code == 404
    assert browser_for("us-app").get(f"/orders/{number}/edit").status_code == 404
    # a requested order is no longer a draft
    r = jp.get("/orders/PHJP-JP-2026-0001/edit")  # closed
    assert r.status_code == 409 and "it can no longer be changed" in r.text
