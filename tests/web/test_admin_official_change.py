"""Changing an official from the administration pages (`/admin/officials/{code}`): the form
shows the official's terms, a change is saved (and audited) and the official then signs within
the new terms; every bad field is named in the summary and beside the field, the form comes
back as entered and nothing is written; the CSRF token is required; an administrator of the
Philippines cannot see or change Japan's officials; the page speaks Japanese and Filipino.
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from acsa.parties import service as parties
from tests.web.conftest import csrf_of, web_sign_in
from tests.web.test_admin import (
    Browser,
    accept,
    counts,
    invalid_fields,
    post,
    requested_from_japan,
)
from tests.web.test_pages import structure

PATH = "/admin/officials/jp-kato"


def terms(engine: Engine, code: str = "jp-kato") -> dict[str, Any]:
    with unit_of_work(engine, read_only=True) as s:
        return parties.official_terms(s, parties.get_official(s, code))


def change_form(**changes: str) -> dict[str, str]:
    return {"limit_amount": "500,000,000", "limit_currency": "JPY", "valid_from": "2025-01-01",
            "valid_to": "2028-12-31", "unit": "JASDF-1TAW", **changes}


def test_the_form_shows_the_officials_terms_and_people_links_to_it(browser_for: Browser):
    admin = browser_for("jp-admin")
    people = admin.get("/people").text
    assert f'href="{PATH}"' in people and 'href="/admin/officials/ph-cruz"' not in people
    page = admin.get(PATH)
    assert page.status_code == 200
    assert "Change official jp-kato" in page.text and "Capt Kato Hiroshi" in page.text
    assert 'value="500000000"' in page.text and 'value="2025-01-01"' in page.text
    assert 'value="2028-12-31"' in page.text
    assert '<option value="JASDF-1TAW" selected>' in page.text
    assert '<option value="JPY" selected>' in page.text
    shape = structure(page.text)  # one h1, every control labelled
    assert shape.h1 == 1 and shape.levels[0] == 1
    for tag, a in shape.controls:
        assert a.get("id") in shape.labels or a.get("_wrapped"), (tag, a)
    assert "cannot be changed from these pages" not in browser_for("jp-admin").get(
        "/admin").text


def test_a_lower_limit_is_saved_audited_and_binds_the_official(browser_for: Browser, app: Any,
                                                                world: Engine):
    """jp-kato may sign 500,000,000 JPY; lowered to 100,000 JPY, the 270,000 JPY request
    awaiting Japan's acceptance is refused to them, and raised again it is accepted."""
    admin = browser_for("jp-admin")
    r = post(admin, PATH, change_form(limit_amount="100,000", valid_to="2027-03-31"))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin?done=changed&code=jp-kato"
    assert "Official jp-kato was changed" in admin.get(r.headers["location"]).text
    assert terms(world) == {"limit": "100,000 JPY", "valid_from": "2025-01-01",
                            "valid_to": "2027-03-31", "unit": "JASDF-1TAW"}
    with unit_of_work(world, read_only=True) as s:
        event = s.scalars(select(Event).where(Event.action == "official.changed")).one()
        assert (event.actor, event.party, event.subject) == ("jp-admin", "JP",
                                                             "official:jp-kato")
        assert json.loads(event.payload)["before"]["limit"] == "500,000,000 JPY"
    row = admin.get("/people").text.split("<td>jp-kato</td>")[1].split("</tr>")[0]
    assert "¥100,000" in row
    number = requested_from_japan(world)
    signer = web_sign_in(TestClient(app), "jp-app")
    refused = accept(signer, number)
    assert refused.status_code in (403, 409, 422) and "limit" in refused.text
    r = post(admin, PATH, change_form(limit_amount=""))  # empty: no value limit
    assert r.status_code == 303, r.text
    assert terms(world)["limit"] is None
    assert accept(signer, number).status_code == 303
    with unit_of_work(world, read_only=True) as s:
        assert s.scalars(select(Order.state).where(Order.number == number)).one() == \
            "accepted"


def test_ending_the_validity_deactivates_the_official(browser_for: Browser, app: Any,
                                                      world: Engine):
    """Valid until the last day of January 2026: the official may no longer accept today."""
    admin = browser_for("jp-admin")
    r = post(admin, PATH, change_form(valid_to="2026-01-31"))
    assert r.status_code == 303, r.text
    assert terms(world)["valid_to"] == "2026-01-31"
    refused = accept(web_sign_in(TestClient(app), "jp-app"), requested_from_japan(world))
    assert refused.status_code in (403, 409, 422)
    assert "authority runs from 2025-01-01 to 2026-01-31" in html.unescape(refused.text)
    with unit_of_work(world, read_only=True) as s:
        assert s.scalars(select(Order.state).where(
            Order.number == requested_from_japan(world))).one() == "requested"


def test_bad_values_are_named_shown_as_entered_and_nothing_is_written(browser_for: Browser,
                                                                      world: Engine):
    admin = browser_for("jp-admin")
    before, db = terms(world), counts(world)
    r = post(admin, PATH, change_form(limit_amount="12.345", valid_from="",
                                      unit="NO-SUCH-UNIT"))
    assert r.status_code == 422
    assert invalid_fields(r.text) == {"limit_amount", "valid_from", "unit"}
    summary = r.text.split('id="form-error"')[1].split("</div>")[0]
    for link in ('href="#f-limit_amount">Delegated value limit</a>',
                 'href="#f-valid_from">Valid from</a>', 'href="#f-unit">Unit</a>'):
        assert link in summary, link
    assert 'value="12.345"' in r.text  # as entered
    assert 'id="f-limit_amount-error"' in r.text
    for form, field in [
        (change_form(valid_from="2027-01-10", valid_to="2027-01-01"), "valid_to"),
        (change_form(limit_amount="1500.50"), "limit_amount"),  # yen have no decimals
        (change_form(limit_amount="-5"), "limit_amount"),
        (change_form(limit_amount="0"), "limit_amount"),
        (change_form(limit_currency="XYZ"), "limit_currency"),
        (change_form(unit="PN-NBSBMA"), "unit"),  # a unit of the Philippines
        (change_form(), "limit_amount"),  # nothing changes
    ]:
        r = post(admin, PATH, form)
        assert r.status_code == 422, (form, r.status_code)
        assert invalid_fields(r.text) == {field}, (form, invalid_fields(r.text))
    assert terms(world) == before and counts(world) == db


def test_csrf_and_who_may(browser_for: Browser, world: Engine):
    before, db = terms(world), counts(world)
    admin = browser_for("jp-admin")
    r = admin.post(PATH, data=change_form(limit_amount="1"), follow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    r = admin.post(PATH, data={"csrf_token": "forged", **change_form(limit_amount="1")},
                   follow_redirects=False)
    assert r.status_code == 403
    # not an administrator: refused before the form is read
    signer = browser_for("jp-app")
    page = signer.get("/people")
    assert signer.get(PATH).status_code == 403
    r = signer.post(PATH, data={"csrf_token": csrf_of(page.text),
                                **change_form(limit_amount="1")}, follow_redirects=False)
    assert r.status_code == 403
    # the Philippines' administrator neither sees nor changes Japan's officials
    ph = browser_for("ph-admin")
    assert ph.get(PATH).status_code == 404
    r = post(ph, PATH, change_form(limit_amount="1"), form_path="/admin/officials/ph-cruz")
    assert r.status_code == 404
    r = post(ph, PATH, {**change_form(limit_amount="1"), "party": "JP"},
             form_path="/admin/officials/ph-cruz")
    assert r.status_code == 403 and "cannot administer JP" in r.text
    assert terms(world) == before and counts(world) == db


def test_the_pages_need_sign_in(anonymous: TestClient, world: Engine):
    r = anonymous.get(PATH, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    r = anonymous.post(PATH, data=change_form(limit_amount="1"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert terms(world)["limit"] == "500,000,000 JPY"


@pytest.mark.parametrize("lang, words", [
    ("ja", ["担当官 jp-kato の変更", "変更を保存する", "担当官 jp-kato を変更しました"]),
    ("fil", ["Baguhin ang opisyal na si jp-kato", "I-save ang pagbabago",
             "Binago ang opisyal na si jp-kato"]),
])
def test_the_form_in_japanese_and_filipino(browser_for: Browser, lang: str, words: list[str]):
    admin = browser_for("jp-admin", lang=lang)
    page = admin.get(PATH)
    assert page.headers["content-language"] == lang
    r = post(admin, PATH, change_form(limit_amount="12.345"))
    assert r.status_code == 422 and invalid_fields(r.text) == {"limit_amount"}
    done = admin.get("/admin", params={"done": "changed", "code": "jp-kato"}).text
    text = page.text + r.text + done
    for word in words:
        assert word in text, word
    for english in ("Change official", "Save the change", "Not accepted:",
                    "Official jp-kato was changed"):
        assert english not in text, english
