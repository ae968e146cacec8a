"""The dashboard's figures for each party and role, and every page in English, Japanese and
Filipino with numbers, dates and money formatted for the locale."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from acsa.web import catalogs, i18n

Browser = Callable[..., TestClient]


def section(html: str, heading_id: str) -> str:
    part = html.split(f'id="{heading_id}"', 1)
    assert len(part) == 2, f"no section {heading_id}"
    return part[1].split("</section>", 1)[0]


def test_the_dashboard_counts_orders_by_state_for_the_party(browser_for: Browser):
    page = browser_for("ph-app").get("/").text
    states = section(page, "h-states")
    counts = dict(re.findall(r'state=(\w+)">[^<]+</a></th><td class="num">([\d,]+)</td>',
                             states))
    assert counts == {"draft": "0", "requested": "1", "accepted": "0", "delivered": "0",
                      "received": "3", "settled": "1", "closed": "2", "cancelled": "0",
                      "disputed": "1"}
    us = section(browser_for("us-app").get("/").text, "h-states")
    assert re.search(r'state=received">[^<]+</a></th><td class="num">1</td>', us)
    assert "<td class=\"num\">1</td></tr></tfoot>" in us.replace("\n", "")


def test_what_needs_my_action_follows_role_and_party(browser_for: Browser):
    work = section(browser_for("jp-app").get("/").text, "h-work")
    assert "Requests to accept" in work and "PHJP-PH-2026-0003" in work
    assert "Nothing waits for you." in section(browser_for("ph-app").get("/").text, "h-work")
    fin = section(browser_for("jp-fin").get("/").text, "h-work")
    assert "Bills to pay" in fin and "PHJP-JP-2026-0004-C1" in fin
    ph_fin = section(browser_for("ph-fin").get("/").text, "h-work")
    assert "Bills owed to us, to follow up" in ph_fin and "PHJP-JP-2026-0004-C1" in ph_fin
    assert "read-only" in section(browser_for("jp-audit").get("/").text, "h-work")
    assert "not linked to an official" in section(browser_for("ph-admin").get("/").text,
                                                  "h-work")


def test_claims_due_show_the_days_left(browser_for: Browser):
    due = section(browser_for("jp-fin").get("/").text, "h-due")
    assert "PHJP-JP-2026-0004-C1" in due and "days overdue" in due
    assert "PHUS" not in due  # Japan is no party to the PH-US claims
    us_due = section(browser_for("us-app").get("/").text, "h-due")
    assert "PHUS-PH-2025-0001-C2" in us_due and "PHJP" not in us_due


def test_balances_in_the_claim_currencies_and_a_reporting_currency(browser_for: Browser):
    ph = browser_for("ph-fin")
    books = section(ph.get("/").text, "h-books")
    assert "Japan (JSDF)" in books and "United States of America" in books
    assert "₱825,300.00" in books  # Japan's open bills to the Philippines, in PHP
    assert "$55,200.00" in books  # the Philippines' converted debt to the US, in USD
    assert "USD/PHP 58.65" in books  # the rate used is shown
    in_usd = section(ph.get("/", params={"currency": "USD"}).text, "h-books")
    assert "Owed to us, USD" in in_usd and "-$55,200.00" in in_usd
    assert "Cannot convert into USD" in in_usd  # PHJP has no PHP/USD rate: said, not hidden
    assert "<svg" in books and "<title" in books  # the chart, with an accessible name
    jp = section(browser_for("jp-fin").get("/").text, "h-books")
    assert "United States" not in jp


@pytest.mark.parametrize("lang,said", [
    ("ja", "PHJP の 2026 会計年度の PHP/USD レートが記録されていません。"),
    ("fil", "Walang naitalang halaga ng palitan ng PHJP para sa taon ng pananalapi 2026 para sa "
            "PHP/USD."),
])
def test_a_missing_rate_is_said_in_the_readers_language(browser_for: Browser, lang: str,
                                                         said: str):
    """The dashboard's figures are cached once for every language: the refusal behind a
    partner left unconverted is kept in each, not in the service's English."""
    page = section(browser_for("ph-fin", lang=lang).get("/", params={"currency": "USD"}).text,
                   "h-books")
    assert said in page
    assert "Cannot convert into USD" not in page


@pytest.mark.parametrize("lang,words", [
    ("ja", ["ダッシュボード", "状態別の発注", "対応が必要な事項", "受領済", "日本国（自衛隊）",
            "2026/11/29"]),
    ("fil", ["Mga order ayon sa katayuan", "Mga kailangan kong aksyunan", "Natanggap",
             "Hapon (JSDF)"]),
    ("en", ["Orders by state", "What needs my action", "Received", "Japan (JSDF)"]),
])
def test_the_dashboard_in_each_language(browser_for: Browser, lang: str, words: list[str]):
    page = browser_for("ph-fin", lang=lang).get("/")
    assert page.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in page.text
    for word in words:
        if word.startswith("2026/") and "2026/11/29" not in page.text:
            continue  # "today" is the real date; only its format is checked below
        assert word in page.text, word
    if lang == "ja":
        assert re.search(r"\d{4}/\d{2}/\d{2} 現在", page.text)


def test_order_pages_in_japanese_and_filipino(browser_for: Browser):
    ja = browser_for("jp-req", lang="ja").get("/orders/PHJP-JP-2026-0001").text
    for word in ("発注 PHJP-JP-2026-0001", "燃料・油脂・潤滑油", "現金による償還", "経緯", "明細",
                 "120,000 L", "2026/05/27"):
        assert word in ja, word
    fil = browser_for("jp-req", lang="fil").get("/orders/PHJP-JP-2026-0001").text
    for word in ("Gasolina, langis at pampadulas", "Bayad na salapi", "Mga linya",
                 "Takbo ng mga pangyayari"):
        assert word in fil, word
    register = browser_for("jp-req", lang="ja").get("/orders").text
    assert "番号または品名に含む語" in register and "完了" in register


def test_money_dates_and_numbers_are_formatted_for_the_locale():
    assert i18n.fmt_money(123456750, "PHP", "en") == "₱1,234,567.50"
    assert i18n.fmt_money(1380000, "JPY", "ja") == "￥1,380,000"
    assert i18n.fmt_money(5520000, "USD", "fil") == "$55,200.00"
    assert i18n.fmt_date("2026-05-27", "ja") == "2026/05/27"
    assert i18n.fmt_date("2026-05-27", "en") == "May 27, 2026"
    assert i18n.fmt_date("2026-05-27", "fil") == "May 27, 2026"
    assert i18n.fmt_number("118500.000", "en") == "118,500"
    assert i18n.money_text("1,234.50 PHP", "ja") == "PHP1,234.50" or \
        i18n.money_text("1,234.50 PHP", "ja").endswith("1,234.50")


@pytest.mark.parametrize("lang", ["ja", "fil"])
def test_every_message_is_translated_with_the_same_placeholders(lang: str):
    assert catalogs.missing(lang) == []
    catalog = catalogs.read(lang)
    used = {m.id for m in catalogs.template() if m.id}
    for message in catalog:
        if not message.id or message.id not in used:
            continue
        want = sorted(re.findall(r"%\((\w+)\)s", message.id))
        assert sorted(re.findall(r"%\((\w+)\)s", message.string)) == want, message.id
    assert i18n.translations(lang).gettext("Dashboard") != "Dashboard" or lang == "fil"


def test_the_dashboard_never_shows_figures_from_before_a_change(browser_for: Browser):
    """Counts and balances are reused only while the ledger and audit heads stand still."""
    jp_fin = browser_for("jp-fin")
    before = section(jp_fin.get("/").text, "h-books")
    assert "₱825,300.00" in before  # what Japan owes the Philippines in PHP bills
    page = jp_fin.get("/orders/PHJP-JP-2026-0004").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = jp_fin.post("/orders/PHJP-JP-2026-0004/pay", data={
        "csrf_token": token, "claim": "PHJP-JP-2026-0004-C1", "amount": "378000.00",
        "currency": "PHP"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = jp_fin.get("/").text
    assert "₱447,300.00" in section(after, "h-books")  # 825,300 - 378,000
    counts = section(after, "h-states")
    assert re.search(r'state=settled">[^<]+</a></th><td class="num">2</td>', counts)
