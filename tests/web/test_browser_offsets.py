"""Offsets in a real browser (Debian's Chromium, Playwright) against a real `acsa serve` on the
demo story (SQLite and PostgreSQL).

Japan's finance official opens Offsets from the menu, sees the open cash claims both ways under
PHJP, proposes an offset by keyboard; the Philippine finance official finds it in the register
and approves it; both dashboards and the claims register then show the reduced balances. The
same flow again in Japanese. Every offsets page passes axe-core (vendored, injected: nothing is
fetched); the only screenshot is offset.png in $ACSA_SCREENSHOTS (see test_browser.py), of the
approved offset, from the SQLite run.

The demo has open cash claims one way only under PHJP (Japan owes the Philippines 825,300.00
PHP), so each flow first adds a Philippine bill the other way through the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from tests.api.helpers import PH_REQUESTS, line, received_order
from tests.web.test_browser import (  # noqa: F401 - fixtures
    ACSA,
    SHOTS,
    WORDS,
    Server,
    browser,
    serving,
    shoot,
    sign_in,
    sign_out,
)
from tests.web.test_browser_pages import axe_violations

# the words each flow clicks and reads, beside test_browser.WORDS
OFFSET_WORDS = {
    "en": {"menu": "Offsets", "agreement": "Agreement", "currency": "Currency of the offset",
           "date": "Date", "note": "Note", "propose": "Propose the offset",
           "approve": "Approve the offset", "proposed": "proposed", "approved": "approved",
           "done_propose": "The offset was proposed.", "done_approve": "The offset was approved",
           "partner_ph": "Philippines", "partner_jp": "Japan"},
    "ja": {"menu": "相殺", "agreement": "協定", "currency": "相殺の通貨", "date": "日付",
           "note": "備考", "propose": "提案する", "approve": "相殺を承認する",
           "proposed": "提案中", "approved": "承認済",
           "done_propose": "相殺を提案しました。", "done_approve": "相殺を承認しました。",
           "partner_ph": "フィリピン", "partner_jp": "日本"},
}


def bill_to_japan(world: Engine, nights: str) -> str:
    """The Philippines owes Japan for aircrew billeting (9,000 JPY a person-night)."""
    [bill] = received_order(world, [line("billeting", "Aircrew billeting, person-nights",
                                         nights, "person_day", "9000", "JPY", "cash")],
                            who=PH_REQUESTS)
    return bill


@pytest.fixture
def first_bill(world: Engine) -> str:
    return bill_to_japan(world, "30")  # 270,000 JPY, before the server starts


@pytest.fixture
def served(first_bill: str, world: Engine, db_url: str, _acsa_home: Path,
           tmp_path: Path) -> Iterator[Server]:
    """`acsa --db URL serve` on the world with `first_bill`."""
    world.dispose()
    with serving(db_url, _acsa_home, tmp_path) as srv:
        yield srv


def books_row(page: Page, partner: str) -> tuple[str, str]:
    """The dashboard's (owed to us, we owe) cells for a partner."""
    row = page.locator("#h-books ~ .scroll > table tbody tr", has_text=partner)
    return row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()


def claim_outstanding(page: Page, base: str, claim: str) -> str:
    page.goto(f"{base}/claims?agreement=PHJP&sort=number")
    return page.locator("tr", has_text=claim).locator("td").nth(7).inner_text()


def flow(page: Page, base: str, lang: str, *, bill: str, number: str, netted: str,
         jp_owed_before: str, jp_owed_after: str, check_axe: bool, save: bool) -> None:
    """jp-fin proposes netting under PHJP in JPY, ph-fin approves it; the balances drop."""
    w, o = WORDS[lang], OFFSET_WORDS[lang]
    sign_in(page, base, "jp-fin", w)
    to_us, by_us = books_row(page, o["partner_ph"])
    assert netted in to_us and jp_owed_before in by_us, (to_us, by_us)
    page.get_by_role("navigation").get_by_role("link", name=o["menu"], exact=True).click()
    page.wait_for_url(f"{base}/offsets")
    propose = page.locator("section", has=page.locator("#h-propose"))
    preview = propose.locator("article", has=page.locator("#h-preview-PHJP"))
    expect(preview).to_contain_text(bill)
    if check_axe:
        assert axe_violations(page) == [], "/offsets"
    # by keyboard: the agreement, the currency, the date, then Enter on the button
    propose.get_by_label(o["agreement"], exact=True).select_option("PHJP")
    propose.get_by_label(o["currency"]).select_option("JPY")
    propose.get_by_label(o["date"], exact=True).fill("2026-11-25")
    propose.get_by_label(o["note"], exact=True).fill(f"netting {lang}")
    propose.get_by_role("button", name=o["propose"], exact=True).press("Enter")
    page.wait_for_url(f"{base}/offsets/{number}?done=propose")
    expect(page.locator("h1 .badge")).to_have_text(o["proposed"])
    expect(page.get_by_role("status")).to_contain_text(o["done_propose"])
    expect(page.get_by_role("button", name=o["approve"])).to_have_count(0)  # not for Japan
    if check_axe:
        assert axe_violations(page) == [], f"/offsets/{number} proposed"
    page.goto(f"{base}/")
    assert books_row(page, o["partner_ph"])[1] == by_us  # a proposal nets nothing
    sign_out(page, w)

    sign_in(page, base, "ph-fin", w)
    page.get_by_role("navigation").get_by_role("link", name=o["menu"], exact=True).click()
    page.locator("table.register").get_by_role("link", name=number, exact=True).click()
    page.wait_for_url(f"{base}/offsets/{number}")
    expect(page.locator("h1 .badge")).to_have_text(o["proposed"])
    if check_axe:
        assert axe_violations(page) == [], f"/offsets/{number} to approve"
    page.get_by_label(o["date"], exact=True).fill("2026-11-26")
    page.get_by_role("button", name=o["approve"], exact=True).press("Enter")
    page.wait_for_url(f"{base}/offsets/{number}?done=approve")
    expect(page.locator("h1 .badge")).to_have_text(o["approved"])
    expect(page.get_by_role("status")).to_contain_text(o["done_approve"])
    expect(page.get_by_role("button", name=o["approve"])).to_have_count(0)
    if check_axe:
        assert axe_violations(page) == [], f"/offsets/{number} approved"
    if lang == "en":
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "offset.png", save)
    page.goto(f"{base}/")
    assert netted not in books_row(page, o["partner_jp"])[1]  # the Philippines owes it no more
    sign_out(page, w)

    sign_in(page, base, "jp-fin", w)
    to_us, by_us = books_row(page, o["partner_ph"])
    assert netted not in to_us and jp_owed_after in by_us, (to_us, by_us)
    sign_out(page, w)


def test_an_offset_is_proposed_and_approved_in_the_browser_in_english_and_japanese(
        served: Server, browser: Browser, world: Engine, first_bill: str,  # noqa: F811
        db_url: str):
    save = db_url.startswith("sqlite")
    base = served.base
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    # 270,000 JPY at 0.3744 PHP per JPY = 101,088.00 PHP off Japan's oldest bill
    flow(page, base, "en", bill=first_bill, number="PHJP-OFS-0001", netted="270,000",
         jp_owed_before="825,300.00", jp_owed_after="724,212.00", check_axe=True, save=save)
    sign_in(page, base, "jp-fin", WORDS["en"])
    assert claim_outstanding(page, base, "PHJP-JP-2026-0002-C1") == "₱94,212.00"
    page.goto(f"{base}/claims?agreement=PHJP&state=open")
    expect(page.get_by_text(first_bill)).to_have_count(0)  # settled by the offset
    sign_out(page, WORDS["en"])
    context.close()

    # in Japanese (the browser's language), a second bill, a second offset
    second = bill_to_japan(world, "10")  # 90,000 JPY = 33,696.00 PHP
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP",
                                  bypass_csp=True)
    page = context.new_page()
    flow(page, base, "ja", bill=second, number="PHJP-OFS-0002", netted="90,000",
         jp_owed_before="724,212.00", jp_owed_after="690,516.00", check_axe=True, save=False)
    sign_in(page, base, "jp-fin", WORDS["ja"])
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert claim_outstanding(page, base, "PHJP-JP-2026-0002-C1").endswith("60,516.00")
    page.goto(f"{base}/offsets")
    assert axe_violations(page) == [], "/offsets in Japanese"
    rows = page.locator("table.register tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("PHJP-OFS-0002")  # newest first
    expect(rows.first).to_contain_text(OFFSET_WORDS["ja"]["approved"])
    context.close()

    # a third nation sees none of it
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, base, "us-fin", WORDS["en"])
    page.goto(f"{base}/offsets")
    expect(page.get_by_text("PHJP-OFS-0001")).to_have_count(0)
    response = page.goto(f"{base}/offsets/PHJP-OFS-0001")
    assert response is not None and response.status == 404
    expect(page.get_by_text(WORDS["en"]["not_found"])).to_be_visible()
    context.close()
    assert not save or (SHOTS / "offset.png").exists()
