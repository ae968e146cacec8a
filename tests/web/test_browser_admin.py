"""The administration pages in a real browser (Debian's Chromium, Playwright), against a real
`acsa serve` on the demo story (SQLite and PostgreSQL).

Japan's administrator goes from People to "Add an official" and fills the form with the
keyboard only (Tab, typing, arrow keys in the lists, Enter to send): a limit in yen with
decimals is refused beside its field with the rest of the form as it was typed; corrected, the
official is added and appears on People with the limit entered. Every administration page,
in its refused state too, passes axe-core (WCAG 2.x A and AA). The form's screenshot goes to
$ACSA_SCREENSHOTS/admin-official.png (docs/screenshots/ when refreshed) from the SQLite run.
"""

from __future__ import annotations

import re

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
from tests.web.test_browser_pages import axe_violations

ADMIN_PAGES = ["/admin", "/admin/officials/new", "/admin/users/new", "/admin/units/new",
               "/admin/activities/new", "/admin/rates/new", "/admin/accounts/jp-req",
               "/people"]


def active(page: Page) -> dict[str, str]:
    return page.evaluate("""() => { const e = document.activeElement;
        return {id: e.id || '', text: (e.textContent || '').trim(), tag: e.tagName,
                value: e.value === undefined ? '' : String(e.value)}; }""")


def tab_to(page: Page, *, id: str = "", text: str = "", limit: int = 120) -> None:
    """Press Tab until the element with this id (or a link with this text) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = active(page)
        if (id and now["id"] == id) or (text and now["text"] == text and now["tag"] == "A"):
            return
    raise AssertionError(f"Tab never reached {id or text!r}")


def type_into(page: Page, field_id: str, text: str) -> None:
    tab_to(page, id=field_id)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def choose(page: Page, field_id: str, value: str) -> None:
    """Pick an option of a (closed) list with the arrow keys."""
    tab_to(page, id=field_id)
    page.keyboard.press("Home")
    for _ in range(40):
        if active(page)["value"] == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value!r} is not an option of {field_id}")


def test_an_administrator_adds_an_official_with_the_keyboard_only(
        server: Server, browser: Browser, db_url: str):  # noqa: F811 - fixtures
    save = db_url.startswith("sqlite")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, server.base, "jp-admin", WORDS["en"])
    page.goto(f"{server.base}/people")
    tab_to(page, text="Add an official")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/admin/officials/new")
    expect(page.locator("h1")).to_have_text("Add an official")

    type_into(page, "f-code", "jp-hayashi")
    type_into(page, "f-name", "Cdr Hayashi Ryo")
    type_into(page, "f-rank_title", "Commander")
    choose(page, "f-role", "approving")
    choose(page, "f-unit", "JASDF-1TAW")
    type_into(page, "f-limit_amount", "300000.50")  # yen have no decimals
    with page.expect_navigation():
        page.keyboard.press("Enter")
    field = page.locator("#f-limit_amount")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-limit_amount-error")).to_contain_text("Not accepted:")
    expect(page.get_by_role("alert")).to_contain_text("Delegated value limit")
    expect(page.locator("#f-name")).to_have_value("Cdr Hayashi Ryo")  # kept as typed
    expect(page.locator("#f-role")).to_have_value("approving")
    assert axe_violations(page) == []  # the refused form too

    type_into(page, "f-limit_amount", "300000")
    assert active(page)["id"] == "f-limit_amount"
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "admin-official.png", save)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin\?done=official&code=jp-hayashi$"))
    expect(page.get_by_role("status")).to_contain_text("Official jp-hayashi was added.")
    tab_to(page, text="See the officials")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/people")
    row = page.locator("#h-officials ~ div table tbody tr", has_text="jp-hayashi")
    expect(row).to_contain_text("Cdr Hayashi Ryo")
    expect(row).to_contain_text("Approving official")
    expect(row).to_contain_text("JASDF-1TAW")
    expect(row.locator("td.num")).to_have_text("¥300,000")

    for path in ADMIN_PAGES:
        response = page.goto(f"{server.base}{path}")
        assert response is not None and response.status == 200, path
        assert axe_violations(page) == [], path
    context.close()

    # someone who is not an administrator sees no form and is refused
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server.base, "jp-req", WORDS["en"])
    page.goto(f"{server.base}/people")
    expect(page.get_by_role("link", name="Add an official")).to_have_count(0)
    response = page.goto(f"{server.base}/admin/officials/new")
    assert response is not None and response.status == 403
    context.close()
    assert not save or (SHOTS / "admin-official.png").exists()
