"""The web application in a real browser: Debian's Chromium, driven by Playwright, against a
real `acsa serve` process on the demo story (SQLite and PostgreSQL).

An order's life through the pages, by the people who sign in: the Japanese requesting
official requests a draft, the Philippine approving official accepts it, the Philippine
supplying official records the delivery with its source document, the Japanese receiving
officer records a shortage, Japan's finance officer sees the bill, pays it, and sees what
Japan owes the Philippines back where it was; the Philippine finance officer closes the order.
The same again in Japanese (language chosen on the sign-in page and remembered). A user of a
third nation sees none of it. Screenshots of the main pages go to $ACSA_SCREENSHOTS
(docs/screenshots/ when the documentation's are refreshed; a scratch folder otherwise).

The drafts here are made over the API; the creation form is driven in test_browser_pages.py.
Without /usr/bin/chromium these tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ACSA = Path(sys.executable).parent / "acsa"
# Screenshots go to a scratch folder, so that a test run leaves the work tree as it was;
# `ACSA_SCREENSHOTS=docs/screenshots pytest tests/web -k browser` refreshes the documentation's.
SHOTS = Path(os.environ.get("ACSA_SCREENSHOTS")
             or Path(tempfile.gettempdir()) / "acsa-screenshots").resolve()
TODAY = dt.datetime.now(dt.UTC).date().isoformat()

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is required in CI for the browser tests", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests "
                "skipped outside CI", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from tests.e2e.test_serve import free_port  # noqa: E402


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path


STARTUP = 120  # seconds the server may take to answer /health: imports alone took over 30 s
# on a busy 2-core machine


@contextlib.contextmanager
def serving(db_url: str, acsa_home: Path, tmp_path: Path) -> Iterator[Server]:
    """`acsa --db URL serve` on a free port until the block ends."""
    port, log = free_port(), tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("ACSA_DATABASE_URL", "ACSA_AGREEMENTS_DIR")}
    env.update(ACSA_HOME=str(acsa_home), NO_COLOR="1")
    with log.open("wb") as out:
        process = subprocess.Popen([str(ACSA), "--db", db_url, "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    srv = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{srv.base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        yield srv
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def server(world: Engine, db_url: str, _acsa_home: Path, tmp_path: Path) -> Iterator[Server]:
    """`acsa --db URL serve` on a copy of the demo world with the web users."""
    world.dispose()
    with serving(db_url, _acsa_home, tmp_path) as srv:
        yield srv


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def draft(base: str) -> str:
    """A draft order of Japan's requesting official, over the API."""
    with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
        r = api.post("/auth/login", json={"username": "jp-req", "password": PASSWORD})
        assert r.status_code == 200, r.text
        api.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = api.post("/orders", json={
            "agreement": "PHJP", "activity": "KAMANDAG-10", "order_on": TODAY,
            "delivery_place": "Alava Pier, Subic Bay", "delivery_on": TODAY,
            "fund_citation": "JMSDF FY2026 O&M 02-31-140", "requesting_unit": "JMSDF-DD110",
            "requester_poc": "Lt Cdr Sato", "billing_address": "JMSDF Yokosuka District",
            "lines": [{"category": "fuel", "description": "Diesel fuel, marine (F-76)",
                       "stock_number": "9140-00-273-2377", "quantity": "12000", "unit": "L",
                       "unit_price": "68.50", "method": "cash"}]})
        assert r.status_code == 201, r.text
        return str(r.json()["number"])


# the words of each language the flow clicks and reads
WORDS = {
    "en": {"username": "Username", "password": "Password", "sign_in": "Sign in",
           "sign_out": "Sign out", "request": "Request (sign)", "accept": "Accept (sign)",
           "unit": "Supplying unit", "poc": "Supplier point of contact",
           "deliver": "Record delivery", "document": re.compile("^Source document"),
           "receive": "Record receipt", "received": "Received",
           "reason": "Reason for a short, over or damaged quantity", "pay": "Pay",
           "close": "Close order", "bills": "Bills to pay", "requested": "Requested",
           "accepted": "Accepted", "delivered": "Delivered", "closed": "Closed",
           "settled": "Settled", "not_found": "Not found."},
    "ja": {"username": "ユーザー名", "password": "パスワード", "sign_in": "サインイン",
           "sign_out": "サインアウト", "request": "要請（署名）", "accept": "受諾（署名）",
           "unit": "提供部隊", "poc": "提供側連絡先", "deliver": "提供を記録",
           "document": re.compile("^根拠書類"), "receive": "受領を記録", "received": "受領",
           "reason": "不足・過剰・損傷の理由", "pay": "支払う", "close": "発注を完了する",
           "bills": "支払うべき請求", "requested": "要請済", "accepted": "受諾済",
           "delivered": "提供済", "closed": "完了", "settled": "決済済",
           "not_found": "見つかりません。"},
}


def sign_in(page: Page, base: str, user: str, w: dict) -> None:
    page.goto(f"{base}/signin")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.className") == "skip"
    page.get_by_label(w["username"]).fill(user)
    page.get_by_label(w["password"]).fill(PASSWORD)
    page.keyboard.press("Enter")  # keyboard only
    page.wait_for_url(f"{base}/")
    expect(page.locator("h1")).to_be_visible()


def sign_out(page: Page, w: dict) -> None:
    page.get_by_role("button", name=w["sign_out"]).click()
    page.wait_for_url(re.compile(r"/signin$"))


def badge(page: Page) -> str:
    return page.locator("h1 .badge").first.inner_text()


def we_owe(page: Page, partner: str) -> str:
    """The dashboard's 'we owe' cell for a partner, in the claim currency."""
    row = page.locator("#h-books ~ .scroll > table tbody tr", has_text=partner)
    return row.locator("td").nth(1).inner_text()


def shoot(page: Page, name: str, save: bool) -> None:
    if save:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("document.fonts.ready")
        page.screenshot(path=str(SHOTS / name), full_page=True)


def life(page: Page, base: str, number: str, lang: str, save: bool) -> None:
    w = WORDS[lang]
    suffix = "" if lang == "en" else f"-{lang}"
    sign_in(page, base, "jp-req", w)
    page.goto(f"{base}/orders/{number}")
    page.get_by_role("button", name=w["request"]).click()
    page.wait_for_url(re.compile(r"done=request"))
    expect(page.locator("h1 .badge").first).to_have_text(w["requested"])
    sign_out(page, w)

    sign_in(page, base, "ph-app", w)
    page.goto(f"{base}/orders/{number}")
    expect(page.get_by_text("JMSDF FY2026 O&M 02-31-140")).to_have_count(0)  # internal
    page.get_by_label(w["unit"]).select_option("PN-NBSBMA")
    page.get_by_label(w["poc"]).fill("Lt Reyes, +63 47 252 0000")
    page.get_by_role("button", name=w["accept"]).click()
    page.wait_for_url(re.compile(r"done=accept"))
    expect(page.locator("h1 .badge").first).to_have_text(w["accepted"])
    sign_out(page, w)

    sign_in(page, base, "ph-sup", w)
    page.goto(f"{base}/orders/{number}")
    page.get_by_label(w["document"]).set_input_files(files=[{
        "name": "fuel-ticket-0441.pdf", "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4\n% fuel delivery ticket 0441\n%%EOF\n"}])
    page.get_by_role("button", name=w["deliver"]).click()
    page.wait_for_url(re.compile(r"done=deliver"))
    expect(page.locator("h1 .badge").first).to_have_text(w["delivered"])
    expect(page.get_by_role("link", name="fuel-ticket-0441.pdf")).to_be_visible()
    sign_out(page, w)

    sign_in(page, base, "jp-fin", w)
    partner = "Philippines" if lang == "en" else "フィリピン"
    owed_before = we_owe(page, partner)
    sign_out(page, w)

    sign_in(page, base, "jp-rcv", w)
    page.goto(f"{base}/orders/{number}")
    page.get_by_label(w["received"], exact=True).fill("11500")
    page.get_by_label(w["reason"]).fill("tank gauge 500 L short")
    page.get_by_role("button", name=w["receive"]).click()
    page.wait_for_url(re.compile(r"done=receive"))
    expect(page.get_by_text("tank gauge 500 L short").first).to_be_visible()
    sign_out(page, w)

    sign_in(page, base, "jp-fin", w)
    assert we_owe(page, partner) != owed_before  # the new bill is owed
    work = page.locator("section", has=page.locator("#h-work"))
    expect(work).to_contain_text(w["bills"])
    expect(work).to_contain_text(number)
    shoot(page, f"dashboard{suffix}.png", save)
    page.goto(f"{base}/orders/{number}")
    expect(page.get_by_text("787,750.00").first).to_be_visible()  # 11,500 L x 68.50 billed
    page.get_by_role("button", name=w["pay"], exact=True).click()
    page.wait_for_url(re.compile(r"done=pay"))
    expect(page.locator("h1 .badge").first).to_have_text(w["settled"])
    page.goto(f"{base}/")
    assert we_owe(page, partner) == owed_before  # the bill paid: back where it was
    sign_out(page, w)

    sign_in(page, base, "ph-fin", w)
    page.goto(f"{base}/orders/{number}")
    page.get_by_role("button", name=w["close"]).click()
    page.wait_for_url(re.compile(r"done=close"))
    expect(page.locator("h1 .badge").first).to_have_text(w["closed"])
    shoot(page, f"order{suffix}.png", save)
    sign_out(page, w)


def test_an_order_lives_its_life_in_the_browser_in_english_and_japanese(
        server: Server, browser: Browser, db_url: str):
    save = db_url.startswith("sqlite")  # one set of screenshots per run
    first, second = draft(server.base), draft(server.base)
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto(f"{server.base}/orders")
    assert page.url.startswith(f"{server.base}/signin?next=/orders")
    shoot(page, "signin.png", save)
    life(page, server.base, first, "en", save)

    sign_in(page, server.base, "jp-req", WORDS["en"])
    page.goto(f"{server.base}/orders?sort=order_on&order=desc")
    expect(page.get_by_role("link", name=first)).to_be_visible()
    shoot(page, "register.png", save)
    # the language is chosen with the selector, by keyboard, and remembered after sign-out
    page.get_by_label("Language").select_option("ja")
    page.get_by_role("button", name="Change").press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    sign_out(page, WORDS["ja"])
    expect(page.get_by_role("heading", name="サインイン")).to_be_visible()
    life(page, server.base, second, "ja", save)

    # a third nation sees none of it
    sign_in(page, server.base, "us-app", WORDS["ja"])
    page.goto(f"{server.base}/orders")
    for number in (first, second):
        expect(page.get_by_role("link", name=number)).to_have_count(0)
        response = page.goto(f"{server.base}/orders/{number}")
        assert response is not None and response.status == 404
        expect(page.get_by_text(WORDS["ja"]["not_found"], exact=True)).to_be_visible()
    context.close()

    # a tablet, in portrait
    tablet = browser.new_context(viewport={"width": 820, "height": 1180})
    page = tablet.new_page()
    sign_in(page, server.base, "ph-fin", WORDS["en"])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820, f"the dashboard scrolls sideways on a tablet ({width}px)"
    shoot(page, "dashboard-tablet.png", save)
    tablet.close()
