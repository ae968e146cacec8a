"""The order form and the read-only pages in a real browser (Debian's Chromium, Playwright),
against a real `acsa serve` on the demo story (SQLite and PostgreSQL).

Japan's requesting official opens "New order" from the register, fills the form by keyboard,
watches the check panel answer as they type (a method the agreement does not allow is refused,
then allowed), creates the draft and requests it; the draft's number then shows in the
register. The same form in Japanese. Every new page passes axe-core (vendored in
tests/web/vendor/, MPL-2.0, injected into the page: nothing is fetched) with no violation, and
screenshots of the new pages go to $ACSA_SCREENSHOTS (see test_browser.py) from the SQLite run.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.web.test_browser import (  # noqa: F401 - fixtures
    SHOTS,
    WORDS,
    Server,
    browser,
    server,
    shoot,
    sign_in,
)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# (path, screenshot) of the pages each a11y run covers
PAGES = [("/claims", "claims.png"), ("/activities", None),
         ("/activities/KAMANDAG-10", "activity.png"), ("/agreements", None),
         ("/agreements/PHJP", "agreement.png"), ("/rates", "rates.png"),
         ("/books", "books.png"), ("/audit", "audit.png"), ("/people", "people.png")]


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.x A and AA rules on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return {passes: r.passes.length, violations: r.violations.map(v => v.id + ': ' +
            v.help + ' -> ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))};
    }""")
    assert result["passes"] > 10, result  # axe ran and checked the page
    return list(result["violations"])


def fill_line(page: Page, n: int, *, category: str, description: str, stock: str,
              quantity: str, unit: str, price: str, method: str) -> None:
    page.locator(f"#line-{n}-category").select_option(category)
    page.locator(f"#line-{n}-description").fill(description)
    page.locator(f"#line-{n}-stock_number").fill(stock)
    page.locator(f"#line-{n}-quantity").fill(quantity)
    page.locator(f"#line-{n}-unit").fill(unit)
    page.locator(f"#line-{n}-unit_price").fill(price)
    page.locator(f"#line-{n}-method").select_option(method)


def create_through_the_form(page: Page, base: str, lang: str, save: bool) -> str:
    words = {"en": {"new": "New order", "create": "Create the draft", "ready":
                    "the draft can be requested", "refused": "refused",
                    "agreement": "Agreement", "activity": "Activity",
                    "place": "Place of delivery", "date": "Delivery or service date",
                    "fund": "Fund citation (internal)", "draft": "Draft"},
             "ja": {"new": "新規発注", "create": "案を作成する", "ready": "この案は要請できます",
                    "refused": "不可", "agreement": "協定", "activity": "活動",
                    "place": "引渡場所", "date": "引渡日または役務提供日",
                    "fund": "予算科目（内部）", "draft": "作成中"}}[lang]
    page.goto(f"{base}/orders")
    page.get_by_role("link", name=words["new"]).click()
    page.wait_for_url(f"{base}/orders/new")
    panel = page.locator("#check")
    page.get_by_label(words["agreement"], exact=True).select_option("PHJP")
    page.get_by_label(words["activity"], exact=True).select_option("KAMANDAG-10")
    page.get_by_label(words["place"]).fill("Alava Pier, Subic Bay")
    page.get_by_label(words["date"]).fill(page.locator("#f-order_on").input_value())
    page.get_by_label(words["fund"]).fill("JMSDF FY2026 O&M 02-31-150")
    # fuel settled by equal-value exchange: the check refuses the method as it is chosen
    fill_line(page, 1, category="fuel", description="Diesel fuel, marine (F-76)",
              stock="9140-00-273-2377", quantity="8000", unit="L", price="68.50",
              method="eve")
    expect(panel.locator('li.refused a[href="#line-1-method"]')).to_be_visible()
    expect(panel).to_contain_text(words["refused"])
    # by keyboard: focus the method and choose cash with the arrow keys
    page.locator("#line-1-method").focus()
    page.locator("#line-1-method").select_option("cash")
    expect(panel).to_contain_text(words["ready"])
    expect(page.locator("#check-live")).to_contain_text(words["ready"])  # said, once
    expect(panel.locator("li.refused")).to_have_count(0)
    expect(panel).to_contain_text("548,000.00")  # 8,000 L x 68.50 PHP, checked server-side
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "order-new.png" if lang == "en" else "order-new-ja.png", save)
    page.get_by_role("button", name=words["create"]).press("Enter")
    page.wait_for_url(re.compile(r"/orders/PHJP-JP-\d{4}-\d{4}\?done=create$"))
    expect(page.locator("h1 .badge").first).to_have_text(words["draft"])
    number = page.url.split("/orders/")[1].split("?")[0]
    page.get_by_role("button", name=WORDS[lang]["request"]).click()
    page.wait_for_url(re.compile(r"done=request"))
    expect(page.locator("h1 .badge").first).to_have_text(WORDS[lang]["requested"])
    return number


def test_an_order_is_created_through_the_form_and_every_new_page_passes_axe(
        server: Server, browser: Browser, db_url: str):  # noqa: F811 - fixtures
    save = db_url.startswith("sqlite")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, server.base, "jp-req", WORDS["en"])
    number = create_through_the_form(page, server.base, "en", save)
    page.goto(f"{server.base}/orders?state=requested")
    expect(page.get_by_role("link", name=number)).to_be_visible()

    page.goto(f"{server.base}/orders/new")
    assert axe_violations(page) == []

    # every new page, as an auditor (the verify button) and an administrator (users)
    for user in ("jp-audit", "ph-admin"):
        page.goto(f"{server.base}/")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, server.base, user, WORDS["en"])
        for path, shot in PAGES:
            response = page.goto(f"{server.base}{path}")
            assert response is not None and response.status == 200, path
            assert axe_violations(page) == [], path
            if shot and ((user == "jp-audit" and shot != "people.png")
                         or (user == "ph-admin" and shot == "people.png")):
                shoot(page, shot, save)
        if user == "jp-audit":
            page.goto(f"{server.base}/audit")
            page.get_by_role("button", name="Verify the chain now").click()
            expect(page.get_by_text("The chain is intact.")).to_be_visible()
    context.close()

    # the same form in Japanese, and a tablet in portrait: no sideways scrolling
    tablet = browser.new_context(viewport={"width": 820, "height": 1180}, locale="ja-JP")
    page = tablet.new_page()
    sign_in(page, server.base, "jp-req", WORDS["ja"])
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    create_through_the_form(page, server.base, "ja", save)
    for path in ("/orders/new", "/books", "/agreements/PHJP", "/claims"):
        page.goto(f"{server.base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 820, f"{path} scrolls sideways on a tablet ({width}px)"
    tablet.close()

    # with JavaScript off, the same form checks, adds a line and creates: the server does all
    nojs = browser.new_context(java_script_enabled=False)
    page = nojs.new_page()
    sign_in(page, server.base, "jp-req", WORDS["en"])
    page.goto(f"{server.base}/orders/new")
    page.get_by_label("Agreement", exact=True).select_option("PHJP")
    page.get_by_label("Activity", exact=True).select_option("HADR-EX-2026")
    fill_line(page, 1, category="ammunition", description="5.56 mm ball", stock="1305-01",
              quantity="1000", unit="each", price="25", method="cash")
    page.get_by_role("button", name="Check now").click()
    page.wait_for_url(f"{server.base}/orders/new")
    panel = page.locator("#check")
    expect(panel.locator('li.refused a[href="#line-1-category"]')).to_be_visible()
    expect(panel).to_contain_text("Required data elements still missing")
    expect(page.locator("#line-1-description")).to_have_value("5.56 mm ball")
    page.get_by_role("button", name="Add a line").click()
    expect(page.locator("#line-4-description")).to_be_visible()
    page.get_by_role("button", name="Create the draft").click()
    expect(page.locator("#line-1-category")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("An ACSA rule does not allow this.")
    page.locator("#line-1-category").select_option("food")
    page.locator("#line-1-description").fill("Field rations")
    page.locator("#line-1-unit").fill("each")
    page.get_by_role("button", name="Create the draft").click()
    page.wait_for_url(re.compile(r"\?done=create$"))
    nojs.close()

    # a third nation sees none of it
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server.base, "us-app", WORDS["en"])
    for path in ("/agreements/PHJP", "/activities/PORTCALL-MNL", f"/orders/{number}/edit"):
        response = page.goto(f"{server.base}{path}")
        assert response is not None and response.status == 404, path
    page.goto(f"{server.base}/claims")
    expect(page.get_by_text("PHJP-JP-2026-0004-C1")).to_have_count(0)
    context.close()
    assert not save or (SHOTS / "order-new.png").exists()
