"""The administration pages: an administrator adds officials (with a delegated limit), users,
units and activities of their own party, records rates (as finance officials may), and
resets, disables and enables users' accounts.

Each test proves what a person relies on: what is added is listed and acts within what was
entered; a user who is not an administrator (or not of that party) is refused with 403 and
nothing changes; a bad value is named beside its field, the form comes back as it was filled
in and nothing is written; the pages speak Japanese and Filipino. SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from acsa.activities.models import Activity
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from acsa.parties.models import Official, Unit
from acsa.rates.models import Rate
from acsa.users.models import User
from tests.web.conftest import PASSWORD, csrf_of, web_sign_in
from tests.web.test_pages import structure

Browser = Callable[..., TestClient]
TODAY = dt.datetime.now(dt.UTC).date()
NEW_PASSWORD = "a brand new passphrase here"


def counts(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine, read_only=True) as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Official, User, Unit, Activity, Rate, Event)}


def post(client: TestClient, path: str, data: dict[str, Any], *,
         form_path: str | None = None) -> Any:
    """Submit a form the way a browser does: with the CSRF token of the page it is on."""
    page = client.get(form_path or path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=False)


def official_form(**changes: str) -> dict[str, str]:
    return {"code": "jp-hayashi", "name": "Cdr Hayashi Ryo", "rank_title": "Commander",
            "role": "approving", "unit": "JASDF-1TAW", "person": "", "email": "",
            "limit_amount": "300,000", "limit_currency": "JPY",
            "valid_from": TODAY.isoformat(), "valid_to": "", **changes}


def user_form(**changes: Any) -> dict[str, Any]:
    return {"username": "jp-hayashi-user", "display_name": "Hayashi",
            "password": PASSWORD, "password_again": PASSWORD, "official": "jp-hayashi",
            **changes}


def invalid_fields(html: str) -> set[str]:
    return set(re.findall(r'id="f-(\w+)"[^>]*aria-invalid="true"', html))


def requested_from_japan(engine: Engine) -> str:
    """The demo's request awaiting Japan's acceptance: 30 person-nights at 9,000 JPY."""
    with unit_of_work(engine, read_only=True) as s:
        return s.scalars(select(Order.number).where(
            Order.state == "requested", Order.supplying_party == "JP")).one()


def accept(client: TestClient, number: str) -> Any:
    page = client.get(f"/orders/{number}")
    return client.post(f"/orders/{number}/accept", data={
        "csrf_token": csrf_of(page.text), "supplying_unit": "JASDF-1TAW",
        "supplier_poc": "Cdr Hayashi, +81 568 00 0000", "on": TODAY.isoformat()},
        follow_redirects=False)


# --- what is added is listed and acts within what was entered ------------------------------
def test_an_official_added_with_a_limit_is_listed_and_signs_only_within_it(
        browser_for: Browser, app: Any, world: Engine):
    admin = browser_for("jp-admin")
    people = admin.get("/people").text
    assert 'href="/admin/officials/new"' in people and 'href="/admin/users/new"' in people
    r = post(admin, "/admin/officials/new", official_form())
    assert r.status_code == 303 and r.headers["location"] == \
        "/admin?done=official&code=jp-hayashi"
    done = admin.get(r.headers["location"]).text
    assert "Official jp-hayashi was added." in done
    r = post(admin, "/admin/officials/new", official_form(
        code="jp-low", name="Lt Low Limit", limit_amount="100000"))
    assert r.status_code == 303
    listed = admin.get("/people").text
    row = listed.split("<td>jp-hayashi</td>")[1].split("</tr>")[0]
    assert "Cdr Hayashi Ryo" in row and "¥300,000" in row and "JASDF-1TAW" in row
    assert "¥100,000" in listed.split("<td>jp-low</td>")[1].split("</tr>")[0]

    for username, official in (("hayashi", "jp-hayashi"), ("low", "jp-low")):
        r = post(admin, "/admin/users/new", user_form(username=username, official=official))
        assert r.status_code == 303, r.text
    users = admin.get("/people").text.split('id="h-users"')[1]
    assert re.search(r"<td>hayashi</td><td>Hayashi</td><td>jp-hayashi</td>", users)

    number = requested_from_japan(world)  # 270,000 JPY
    low = web_sign_in(TestClient(app), "low")
    refused = accept(low, number)
    assert refused.status_code in (403, 409, 422), refused.text
    assert "jp-low" in refused.text and "limit" in refused.text
    with unit_of_work(world, read_only=True) as s:
        assert s.scalars(select(Order.state).where(Order.number == number)).one() == \
            "requested"
    signer = web_sign_in(TestClient(app), "hayashi")
    r = accept(signer, number)
    assert r.status_code == 303, r.text
    with unit_of_work(world, read_only=True) as s:
        order = s.scalars(select(Order).where(Order.number == number)).one()
        signer_id = s.scalars(select(Official.id).where(Official.code == "jp-hayashi")).one()
        assert order.state == "accepted" and order.accepted_by_id == signer_id
        event = s.scalars(select(Event).where(Event.action == "official.added",
                                              Event.subject == "official:jp-hayashi")).one()
        assert event.actor == "jp-admin" and event.party == "JP"


def test_a_unit_and_an_activity_added_are_listed(browser_for: Browser, world: Engine):
    admin = browser_for("ph-admin")
    r = post(admin, "/admin/units/new", {"code": "PN-NFWM", "name": "Naval Forces West",
                                         "address": "Puerto Princesa, Palawan"})
    assert r.status_code == 303 and "done=unit" in r.headers["location"]
    units = admin.get("/people").text.split('id="h-units"')[1].split("</section>")[0]
    assert "<li>PN-NFWM</li>" in units
    r = post(admin, "/admin/officials/new", official_form(
        code="ph-new", name="Lt Santos", role="supplying", unit="PN-NFWM", limit_amount="",
        limit_currency="PHP"))
    assert r.status_code == 303, r.text

    r = post(admin, "/admin/activities/new", {
        "code": "KAMANDAG-11", "name": "KAMANDAG 11", "type": "exercise",
        "place": "Palawan", "starts_on": "2027-05-20", "ends_on": "2027-06-02",
        "agreements": ["PHJP", "PHUS"]})
    assert r.status_code == 303 and r.headers["location"] == \
        "/admin?done=activity&code=KAMANDAG-11"
    page = admin.get("/activities/KAMANDAG-11")
    assert page.status_code == 200 and "Palawan" in page.text
    with unit_of_work(world, read_only=True) as s:
        act = s.scalars(select(Activity).where(Activity.code == "KAMANDAG-11")).one()
        assert sorted(a.code for a in act.agreements) == ["PHJP", "PHUS"]
        unit = s.scalars(select(Unit).where(Unit.code == "PN-NFWM")).one()
        assert unit.party_code == "PH"


def test_a_rate_is_recorded_by_finance_or_an_administrator(browser_for: Browser,
                                                           world: Engine):
    fin = browser_for("jp-fin")
    assert fin.get("/admin/officials/new").status_code == 403
    assert 'href="/admin/rates/new"' in fin.get("/admin").text
    r = post(fin, "/admin/rates/new", {"base": "USD", "quote": "JPY", "rate": "151.25",
                                       "on": "2026-11-02", "source": "BOJ reference rate",
                                       "kind": "market", "agreement": ""})
    assert r.status_code == 303 and "done=rate" in r.headers["location"]
    assert "USD/JPY 151.25" in fin.get(r.headers["location"]).text
    assert "BOJ reference rate" in fin.get("/rates", params={"currency": "USD"}).text \
        or "BOJ reference rate" in fin.get("/rates", params={"currency": "USD",
                                                             "page": 2}).text
    with unit_of_work(world, read_only=True) as s:
        row = s.scalars(select(Rate).where(Rate.source == "BOJ reference rate")).one()
        assert (row.base, row.quote, row.rate, row.kind) == ("USD", "JPY", "151.25", "market")
    # a fixed fiscal-year rate needs its agreement, and an agreement has one rate per FY
    before = counts(world)
    r = post(fin, "/admin/rates/new", {"base": "JPY", "quote": "PHP", "rate": "0.38",
                                       "on": "2026-06-01", "source": "MOD",
                                       "kind": "agreement_fy", "agreement": ""})
    assert r.status_code == 422 and invalid_fields(r.text) == {"agreement"}
    r = post(fin, "/admin/rates/new", {"base": "JPY", "quote": "PHP", "rate": "0.38",
                                       "on": "2026-06-01", "source": "MOD",
                                       "kind": "agreement_fy", "agreement": "PHJP"})
    assert r.status_code == 409 and invalid_fields(r.text) == {"rate"}
    assert "already has a FY2026 rate" in r.text
    assert counts(world) == before
    assert browser_for("jp-audit").get("/admin/rates/new").status_code == 403


# --- only an administrator of the party concerned -------------------------------------------
FORMS = {
    "/admin/officials/new": official_form(code="jp-intruder"),
    "/admin/users/new": user_form(username="intruder", official=""),
    "/admin/units/new": {"code": "JP-INTRUDER", "name": "Intruder unit", "address": ""},
    "/admin/activities/new": {"code": "INTRUDE-1", "name": "x", "type": "exercise",
                              "place": "x", "starts_on": "2027-01-01",
                              "ends_on": "2027-01-02", "agreements": ["PHJP"]},
}


def test_a_user_who_is_not_an_administrator_is_refused_and_nothing_changes(
        browser_for: Browser, world: Engine):
    req = browser_for("jp-req")
    people = req.get("/people").text
    assert "/admin/" not in people and 'id="h-users"' not in people
    assert req.get("/admin").status_code == 403
    token = csrf_of(req.get("/orders").text)
    before = counts(world)
    for path, data in {**FORMS, "/admin/rates/new": {
            "base": "USD", "quote": "JPY", "rate": "150", "on": "2026-11-01",
            "source": "x", "kind": "market"}}.items():
        page = req.get(path)
        assert page.status_code == 403 and "<form method=\"post\" action=\"/admin" \
            not in page.text, path
        r = req.post(path, data={"csrf_token": token, "party": "JP", **data},
                     follow_redirects=False)
        assert r.status_code == 403, path
    for action in ("disable", "enable", "password"):
        r = req.post(f"/admin/accounts/jp-fin/{action}",
                     data={"csrf_token": token, "password": NEW_PASSWORD,
                           "password_again": NEW_PASSWORD}, follow_redirects=False)
        assert r.status_code == 403, action
    assert req.get("/admin/accounts/jp-fin").status_code == 403
    assert counts(world) == before


def test_an_administrator_of_the_philippines_cannot_touch_japan_s_people(
        browser_for: Browser, app: Any, world: Engine):
    ph = browser_for("ph-admin")
    before = counts(world)
    # a form made to name Japan is refused before it is read
    for path, data in FORMS.items():
        r = post(ph, path, {**data, "party": "JP"})
        assert r.status_code == 403, path
        assert "cannot administer JP" in r.text
    # Japan's units and officials are not found from the Philippines' forms
    r = post(ph, "/admin/officials/new", official_form(code="ph-x", unit="JMSDF-DD110",
                                                        limit_currency="PHP"))
    assert r.status_code == 422 and invalid_fields(r.text) == {"unit"}
    assert "no unit 'JMSDF-DD110' of PH" in html.unescape(r.text)
    r = post(ph, "/admin/users/new", user_form(username="ph-x", official="jp-sato"))
    assert r.status_code == 422 and invalid_fields(r.text) == {"official"}
    r = post(ph, "/admin/activities/new", {**FORMS["/admin/activities/new"],
                                           "agreements": ["JPUS"]})
    assert r.status_code == 422 and invalid_fields(r.text) == {"agreements"}
    # nor are Japan's users
    assert ph.get("/admin/accounts/jp-req").status_code == 404
    r = post(ph, "/admin/accounts/jp-req/disable", {}, form_path="/admin/accounts/ph-req")
    assert r.status_code == 404
    r = post(ph, "/admin/accounts/jp-req/password",
             {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
             form_path="/admin/accounts/ph-req")
    assert r.status_code == 404
    assert counts(world) == before
    web_sign_in(TestClient(app), "jp-req")  # still signs in with the old password


def test_the_pages_need_sign_in(anonymous: TestClient, world: Engine):
    before = counts(world)
    for path in ("/admin", "/admin/officials/new", "/admin/rates/new",
                 "/admin/accounts/jp-req"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next="), path
    for path, data in FORMS.items():
        r = anonymous.post(path, data=data, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin"), path
    assert counts(world) == before


def test_a_form_without_its_csrf_token_is_refused(browser_for: Browser, world: Engine):
    admin = browser_for("jp-admin")
    before = counts(world)
    r = admin.post("/admin/officials/new", data=official_form(), follow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    r = admin.post("/admin/officials/new", data={"csrf_token": "forged", **official_form()},
                   follow_redirects=False)
    assert r.status_code == 403
    assert counts(world) == before


# --- a bad value is named, shown again, and changes nothing ---------------------------------
def test_bad_values_are_named_beside_their_fields_and_nothing_is_written(
        browser_for: Browser, world: Engine):
    admin = browser_for("jp-admin")
    before = counts(world)
    r = post(admin, "/admin/officials/new", official_form(
        code="bad code", name="Cdr Typo", limit_amount="12.345", valid_from="2027-01-10",
        valid_to="2027-01-01", role="admiral"))
    assert r.status_code == 422
    assert invalid_fields(r.text) == {"code", "limit_amount", "role"}
    summary = r.text.split('id="form-error"')[1].split("</div>")[0]
    for link in ('href="#f-code">Code</a>', 'href="#f-limit_amount">Delegated value limit</a>',
                 'href="#f-role">Role</a>'):
        assert link in summary, link
    assert 'value="Cdr Typo"' in r.text and 'value="bad code"' in r.text  # as entered
    assert 'id="f-code-error"' in r.text and 'aria-describedby="f-code-hint f-code-error"' \
        in r.text
    # once those are right, the dates are checked: the end before the start is named
    r = post(admin, "/admin/officials/new", official_form(
        valid_from="2027-01-10", valid_to="2027-01-01"))
    assert r.status_code == 422 and invalid_fields(r.text) == {"valid_to"}
    # yen have no decimals: the amount is refused, not rounded
    r = post(admin, "/admin/officials/new", official_form(limit_amount="1500.50"))
    assert r.status_code == 422 and invalid_fields(r.text) == {"limit_amount"}
    # a code already taken is a conflict on the code
    r = post(admin, "/admin/officials/new", official_form(code="jp-sato"))
    assert r.status_code == 409 and invalid_fields(r.text) == {"code"}
    assert "already exists" in r.text
    # a weak or mistyped password, a username with a space: each named; no password echoed
    r = post(admin, "/admin/users/new", user_form(
        username="two words", password="short pass", password_again="other pass",
        official="jp-sato"))
    assert r.status_code == 422
    assert invalid_fields(r.text) == {"username", "password", "password_again"}
    assert "short pass" not in r.text and "other pass" not in r.text
    assert 'value="two words"' in r.text
    assert re.search(r'<option value="jp-sato" selected>', r.text)
    r = post(admin, "/admin/units/new", {"code": "JMSDF-DD110", "name": "again"})
    assert r.status_code == 409 and invalid_fields(r.text) == {"code"}
    r = post(admin, "/admin/activities/new", {**FORMS["/admin/activities/new"],
                                              "starts_on": "2027-02-01",
                                              "ends_on": "2027-01-01", "agreements": []})
    assert r.status_code == 422 and invalid_fields(r.text) >= {"agreements"}
    assert counts(world) == before


# --- a user's account ------------------------------------------------------------------------
def test_an_administrator_disables_enables_and_resets_a_user(browser_for: Browser, app: Any,
                                                              world: Engine):
    admin = browser_for("ph-admin")
    page = admin.get("/admin/accounts/ph-req").text
    assert "Disable the account" in page and "Reset the password" in page
    victim = web_sign_in(TestClient(app), "ph-req")
    assert victim.get("/orders").status_code == 200

    r = post(admin, "/admin/accounts/ph-req/disable", {}, form_path="/admin/accounts/ph-req")
    assert r.status_code == 303 and r.headers["location"] == \
        "/admin?done=disabled&code=ph-req"
    assert victim.get("/orders", follow_redirects=False).status_code == 303  # signed out
    form = TestClient(app).get("/signin")
    with pytest.raises(AssertionError):
        web_sign_in(TestClient(app), "ph-req")
    assert "Enable the account" in admin.get("/admin/accounts/ph-req").text
    r = post(admin, "/admin/accounts/ph-req/enable", {}, form_path="/admin/accounts/ph-req")
    assert r.status_code == 303
    web_sign_in(TestClient(app), "ph-req")
    assert form.status_code == 200

    # a mistyped reset changes nothing; a good one replaces the password
    r = post(admin, "/admin/accounts/ph-rcv/password",
             {"password": NEW_PASSWORD, "password_again": "something else entirely"},
             form_path="/admin/accounts/ph-rcv")
    assert r.status_code == 422 and invalid_fields(r.text) == {"password_again"}
    web_sign_in(TestClient(app), "ph-rcv")
    r = post(admin, "/admin/accounts/ph-rcv/password",
             {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
             form_path="/admin/accounts/ph-rcv")
    assert r.status_code == 303
    with pytest.raises(AssertionError):
        web_sign_in(TestClient(app), "ph-rcv")
    web_sign_in(TestClient(app), "ph-rcv", NEW_PASSWORD)
    with unit_of_work(world, read_only=True) as s:
        actions = list(s.scalars(select(Event.action).where(
            Event.subject.in_(["user:ph-req", "user:ph-rcv"]), Event.actor == "ph-admin")
            .order_by(Event.seq)))
    assert actions == ["user.disabled", "user.enabled", "user.password_reset"]

    # an administrator does not lock themselves out
    own = admin.get("/admin/accounts/ph-admin").text
    assert "Disable the account" not in own
    r = post(admin, "/admin/accounts/ph-admin/disable", {}, form_path="/admin/accounts/ph-req")
    assert r.status_code == 422 and "cannot disable or enable their own account" in r.text
    assert admin.get("/people").status_code == 200


# --- Japanese and Filipino -------------------------------------------------------------------
@pytest.mark.parametrize("lang,words", [
    ("ja", ["担当官の追加", "委任限度額", "有効期間の開始日", "（任意）", "受け付けられません：",
            "フォームの値に使用できないものがあります。", "担当官 jp-x を追加しました。"]),
    ("fil", ["Magdagdag ng opisyal", "Itinakdang limitasyon ng halaga", "Simula ng bisa",
             "(opsyonal)", "Hindi tinanggap:", "May halaga sa form na hindi magagamit.",
             "Naidagdag ang opisyal na jp-x."]),
])
def test_the_forms_in_japanese_and_filipino(browser_for: Browser, lang: str,
                                            words: list[str]):
    admin = browser_for("jp-admin", lang=lang)
    page = admin.get("/admin/officials/new")
    assert page.headers["content-language"] == lang
    r = post(admin, "/admin/officials/new", official_form(code="bad code"))
    assert r.status_code == 422 and invalid_fields(r.text) == {"code"}
    done = admin.get("/admin", params={"done": "official", "code": "jp-x"}).text
    text = page.text + r.text + done
    for word in words:
        assert word in text, word
    for english in ("Add an official", "Not accepted:", "Delegated value limit",
                    "Official jp-x was added."):
        assert english not in text, english


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_administration_page_has_one_h1_labelled_controls_and_its_language(
        browser_for: Browser, lang: str):
    admin = browser_for("jp-admin", lang=lang)
    refused = post(admin, "/admin/users/new", user_form(username="two words"))
    assert refused.status_code == 422
    pages = {path: admin.get(path) for path in (
        "/admin", "/admin/officials/new", "/admin/users/new", "/admin/units/new",
        "/admin/activities/new", "/admin/rates/new", "/admin/accounts/jp-req",
        "/admin/accounts/jp-admin")}
    for path, r in {**pages, "refused": refused}.items():
        assert r.status_code == 200 or path == "refused", path
        s = structure(r.text)
        assert s.h1 == 1 and s.html_lang == lang, path
        steps = [b - a for a, b in zip(s.levels, s.levels[1:], strict=False)]
        assert s.levels[0] == 1 and all(x <= 1 for x in steps), (path, s.levels)
        for tag, a in s.controls:
            assert a.get("id") in s.labels or a.get("_wrapped"), (path, tag, a)
        assert len(s.ids) == len(set(s.ids)), path
        if lang != "en":  # English left in a translated page is the service's, marked so
            main = r.text.split("<main", 1)[1]
            assert "Reason given by the system" not in main and "(optional)" not in main
