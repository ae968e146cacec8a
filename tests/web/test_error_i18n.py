"""A refusal in English, Japanese and Filipino (issue #4): every error class of acsa has its own
sentence in `web.error_text`, filled with the error's values and formatted for the language;
real refusals through the web say it in the reader's language, with the service's English
words kept for support staff."""

from __future__ import annotations

import datetime as dt
import html
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import acsa
from acsa import errors, money
from acsa.documents import labels
from acsa.orders import domain as orders_domain
from acsa.parties import domain as parties_domain
from acsa.web import catalogs, deps, error_text, i18n
from acsa.web import labels as web_labels
from tests.web.conftest import csrf_of
from tests.web.test_order_form import order_fields

Browser = Callable[..., TestClient]
TODAY = dt.datetime.now(dt.UTC).date().isoformat()
CLOSED = "PHJP-JP-2026-0001"  # the demo's first order: closed


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_classes() -> set[type[errors.AcsaError]]:
    """Every subclass of AcsaError defined in acsa, once every module of it is imported."""
    for module in pkgutil.walk_packages(acsa.__path__, "acsa."):
        if not module.name.startswith("acsa.migrations"):  # alembic scripts, not importable
            importlib.import_module(module.name)
    return {c for c in _subclasses(errors.AcsaError) if c.__module__.startswith("acsa.")}


def bare(cls: type[errors.AcsaError]) -> errors.AcsaError:
    """An error of the class as a raise site that names no details would give."""
    e = cls.__new__(cls)
    e.message, e.field, e.details = "refused", None, {}
    return e


def test_every_error_class_has_its_own_sentence():
    classes = error_classes()
    names = {c.__name__ for c in classes}
    assert len(names) == len(classes), "two error classes share a name"
    assert sorted(names - set(error_text.ENTRIES)) == []  # add an entry to error_text.ENTRIES
    assert sorted(set(error_text.ENTRIES) - names) == []  # an entry of no class (renamed?)


@pytest.mark.parametrize("lang", ["en", "ja", "fil"])
def test_every_class_is_said_even_without_details(lang: str):
    for cls in error_classes():
        said = error_text.say(bare(cls), lang)
        assert said.sentence and "%(" not in said.sentence + said.hint, (cls.__name__, said)


@pytest.mark.parametrize("lang", ["ja", "fil"])
def test_every_sentence_and_hint_is_translated_with_the_same_placeholders(lang: str):
    ours = {m.id for m in catalogs.template() if m.id and any(
        path.endswith(("error_text.py", "templates/error.html")) for path, _ in m.locations)}
    catalog = catalogs.read(lang)
    for message_id in sorted(ours):
        found = catalog.get(message_id)
        assert found is not None and found.string and not found.fuzzy, message_id
        want = sorted(re.findall(r"%\((\w+)\)s", message_id))
        assert sorted(re.findall(r"%\((\w+)\)s", found.string)) == want, message_id


def test_a_class_without_an_entry_falls_back_to_the_english_message(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delitem(error_text.ENTRIES, "OrderClosed")
    said = error_text.say(errors.OrderClosed("order X is closed", number="X"), "ja")
    assert said.sentence == "" and said.hint == ""
    info = deps.refusal(errors.OrderClosed("order X is closed", number="X"))
    assert info["message"] == "order X is closed" and info["said"]["ja"]["sentence"] == ""


def _raised(call: Callable[[], object]) -> errors.AcsaError:
    with pytest.raises(errors.AcsaError) as caught:
        call()
    return caught.value


def test_the_values_are_formatted_for_the_language():
    e = _raised(lambda: parties_domain.check_value_limit(
        official_code="ph-cruz", limit=money.Money.of("50000000", "PHP"),
        value=money.Money.of("60006000", "PHP"), rate_note=""))
    limit, value = (i18n.fmt_money(5_000_000_000, "PHP", "ja"),
                    i18n.fmt_money(6_000_600_000, "PHP", "ja"))
    ja = error_text.say(e, "ja")
    assert ja.sentence == (f"ph-cruz が署名できるのは {limit} までです。"
                           f"この発注の金額は {value} です。")
    assert ja.field == "署名する担当官"
    e = _raised(lambda: parties_domain.check_authority(
        official_code="jp-kato", official_role="approving", official_party="JP",
        valid_from=dt.date(2025, 1, 1), valid_to=None,
        roles=orders_domain.roles_for("create"), party="JP", on=dt.date(2026, 6, 1),
        action="create an order"))
    assert error_text.say(e, "en").sentence == (
        "The role of jp-kato is “Approving official”, but only “Requesting official” may "
        "create an order.")
    assert error_text.say(e, "fil").sentence == (
        "Ang tungkulin ni jp-kato ay “Opisyal na nag-aapruba”, ngunit ang “Opisyal na "
        "humihiling” lamang ang maaaring gumawa ng order.")
    e = _raised(lambda: parties_domain.check_authority(
        official_code="jp-sato", official_role="requesting", official_party="JP",
        valid_from=dt.date(2026, 7, 1), valid_to=dt.date(2027, 6, 30),
        roles=orders_domain.roles_for("create"), party="JP", on=dt.date(2026, 6, 1),
        action="create an order"))
    assert error_text.say(e, "ja").sentence == (
        f"jp-sato の権限の有効期間は {i18n.fmt_date('2026-07-01', 'ja')} から "
        f"{i18n.fmt_date('2027-06-30', 'ja')} までで、{i18n.fmt_date('2026-06-01', 'ja')} "
        "は含まれません。")


def test_a_line_s_refusal_names_its_line_and_field():
    e = errors.InvalidQuantity("line 2: unknown unit 'zorkmids'", field="lines[2].unit")
    fil = error_text.say(e, "fil")
    assert fil.sentence == ("Hindi magagamit ang dami o yunit na ibinigay para sa “Yunit ng "
                            "sukat (linya 2)”.")
    assert fil.field == ""  # the sentence names it
    assert fil.hint == "Gumamit ng yunit gaya ng L, gal, kg, t, each, h, day."
    e = errors.CategoryNotEligible("line 1: 'zorkmid' is not an ACSA category",
                                   field="lines[1].category", category="zorkmid",
                                   categories=["food", "water"])
    ja = error_text.say(e, "ja")
    assert ja.sentence == "明細 1：「zorkmid」は ACSA の区分ではありません。"
    assert (ja.field, ja.hint) == ("区分（明細 1）", "対象となる区分：食料、水。")


# --- through the web -----------------------------------------------------------------------------
@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every refusal a page is rendered with (`error` of the template's context)."""
    seen: list[dict[str, Any]] = []
    real = deps.render

    def render(request: Any, template: str, context: dict[str, Any], **kw: Any) -> Any:
        if context.get("error"):
            seen.append(context["error"])
        return real(request, template, context, **kw)
    monkeypatch.setattr(deps, "render", render)
    return seen


def alert(page: str) -> str:
    found = re.search(r'<div class="alert error" role="alert">(.*?)</div>', page, flags=re.S)
    assert found, "no refusal on the page"
    return html.unescape(found.group(1))


def test_a_closed_order_edited_is_refused_in_the_reader_s_language(browser_for: Browser):
    ja = alert(browser_for("jp-req", lang="ja").get(f"/orders/{CLOSED}/edit").text)
    assert "ACSA の規則により認められていません。" in ja  # the kind's lead-in
    assert f"発注 {CLOSED} は完了しているため、これ以上変更できません。" in ja
    assert "対処方法：完了した発注は変更できません。訂正は新しい発注で記録してください。" in ja
    assert f"<code>OrderClosed</code> <span lang=\"en\">order {CLOSED} is closed; it can no " \
        "longer be changed</span>" in ja  # the service's words, for support staff
    fil = alert(browser_for("jp-req", lang="fil").get(f"/orders/{CLOSED}/edit").text)
    assert f"Sarado na ang order {CLOSED}; hindi na ito mababago." in fil
    en = browser_for("jp-req").get(f"/orders/{CLOSED}/edit")
    assert en.status_code == 409
    assert f"Order {CLOSED} is closed; it can no longer be changed." in alert(en.text)
    assert "完了" not in en.text and "Sarado" not in en.text


def test_an_order_past_its_draft_edited_names_its_state(browser_for: Browser, api_for):
    number = "PHJP-JP-2026-0004"
    state = api_for("jp-req").get(f"/api/v1/orders/{number}").json()["state"]
    assert state not in ("draft", "closed")
    fil = alert(browser_for("jp-req", lang="fil").get(f"/orders/{number}/edit").text)
    assert (f"Hindi maaaring gawin ang “I-edit ang borador” sa order {number} habang ito ay "
            f"“{labels.label(labels.STATES, state, 'fil')}”.") in fil
    assert ("Borador lamang ang maaaring baguhin; kapag nahiling na, kailangan ng bagong order "
            "para sa pagbabago.") in fil


def _big_request(api_for) -> str:
    """Japan requests 876,000 L of diesel (60,006,000.00 PHP): within its requester's limit of
    200,000,000 JPY at the agreement's rate, above the limit of the Philippine approver."""
    api = api_for("jp-req")
    r = api.post("/api/v1/orders", json={
        "agreement": "PHJP", "activity": "KAMANDAG-10", "order_on": TODAY,
        "delivery_place": "Alava Pier, Subic Bay", "delivery_on": TODAY,
        "fund_citation": "JMSDF FY2026 O&M 02-31-150", "requesting_unit": "JMSDF-DD110",
        "requester_poc": "Lt Cdr Sato", "billing_address": "JMSDF Yokosuka District",
        "lines": [{"category": "fuel", "description": "Diesel fuel, marine (F-76)",
                   "stock_number": "9140-00-273-2377", "quantity": "876000", "unit": "L",
                   "unit_price": "68.50", "method": "cash"}]})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    r = api.post(f"/api/v1/orders/{number}/request", json={"on": TODAY})
    assert r.status_code == 200, r.text
    return str(number)


@pytest.mark.parametrize("lang", ["ja", "fil"])
def test_an_official_over_the_value_limit_accepting_is_told_why(
        browser_for: Browser, api_for, refusals: list[dict[str, Any]], lang: str):
    number = _big_request(api_for)
    ph_app = browser_for("ph-app", lang=lang)
    page = ph_app.get(f"/orders/{number}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = ph_app.post(f"/orders/{number}/accept", data={
        "csrf_token": csrf_of(page), "version": version, "supplying_unit": "PN-NBSBMA",
        "supplier_poc": "Lt Reyes"})
    assert r.status_code == 403
    [refusal] = refusals
    limit, value = (i18n.fmt_money(5_000_000_000, "PHP", lang),
                    i18n.fmt_money(6_000_600_000, "PHP", lang))
    said = refusal["said"][lang]
    assert said["sentence"] == {
        "ja": f"ph-cruz が署名できるのは {limit} までです。この発注の金額は {value} です。",
        "fil": f"Maaaring pumirma si ph-cruz hanggang {limit}; nagkakahalaga ang order na ito "
               f"ng {value}."}[lang]
    assert said["field"] == {"ja": "署名する担当官", "fil": "Opisyal na pumipirma"}[lang]
    assert refusal["said"]["en"]["sentence"] == (
        "ph-cruz may sign up to ₱50,000,000.00; this order is worth ₱60,006,000.00.")
    assert refusal["message"].startswith("ph-cruz may sign up to 50,000,000.00 PHP")
    assert "may sign up to" in r.text  # the service's words stay on the page


def test_a_category_not_allowed_on_the_order_form_is_told_why(
        browser_for: Browser, refusals: list[dict[str, Any]]):
    for lang in ("ja", "fil"):
        client = browser_for("jp-req", lang=lang)
        r = client.post("/orders/new", data={
            "csrf_token": csrf_of(client.get("/orders/new").text), "op": "create",
            **order_fields(activity="HADR-EX-2026", line_1_category="ammunition")})
        assert r.status_code == 409
        assert 'id="line-1-category" name="line_1_category"' in r.text
    ja, fil = (refusal["said"][lang] for refusal, lang in zip(refusals, ("ja", "fil"),
                                                               strict=True))
    allowed = ("exercise", "training", "peacekeeping", "evacuation", "other")  # PHJP's

    def types(lang: str) -> str:
        return ("、" if lang == "ja" else ", ").join(
            i18n.gettext(lang, web_labels.ACTIVITY_TYPE[t]) for t in allowed)
    hadr = {lang: i18n.gettext(lang, web_labels.ACTIVITY_TYPE["hadr"]) for lang in ("ja", "fil")}
    assert ja["sentence"] == (f"明細 1：PHJP で弾薬が認められるのは {types('ja')} だけで、"
                              f"「{hadr['ja']}」は対象外です。")
    assert ja["field"] == "区分（明細 1）"
    assert ja["hint"] == "弾薬の明細を削除するか、対象となる活動の下で発注してください。"
    assert fil["sentence"] == (f"Linya 1: Pinapayagan ng PHJP ang bala para lamang sa "
                               f"{types('fil')}, hindi para sa “{hadr['fil']}”.")
    assert fil["field"] == "Kategorya (linya 1)"


def test_inline_refusals_show_the_sentence_on_the_page(browser_for: Browser, api_for):
    number = _big_request(api_for)
    ph_app = browser_for("ph-app", lang="ja")
    page = ph_app.get(f"/orders/{number}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = ph_app.post(f"/orders/{number}/accept", data={
        "csrf_token": csrf_of(page), "version": version, "supplying_unit": "PN-NBSBMA",
        "supplier_poc": "Lt Reyes"})
    limit = i18n.fmt_money(5_000_000_000, "PHP", "ja")
    assert f"ph-cruz が署名できるのは {limit} までです。" in alert(r.text)
    jp = browser_for("jp-req", lang="fil")
    r = jp.post("/orders/new", data={
        "csrf_token": csrf_of(jp.get("/orders/new").text), "op": "create",
        **order_fields(activity="HADR-EX-2026", line_1_category="ammunition")})
    assert "Linya 1: Pinapayagan ng PHJP ang bala para lamang sa" in alert(r.text)
