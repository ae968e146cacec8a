"""The read-only pages: claims, activities, agreements, rates, books, audit and people. Each is
scoped to the viewer's party exactly as the API (a third nation sees none of another pair's
data, and another pair's agreement or activity is 404), each list is paged, and each page has
one h1, labelled form controls and `lang` attributes."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

Browser = Callable[..., TestClient]
PAGES = ["/claims", "/activities", "/activities/KAMANDAG-10", "/agreements",
         "/agreements/PHJP", "/rates", "/books", "/audit", "/people", "/orders/new"]


def section(html: str, heading_id: str) -> str:
    part = html.split(f'id="{heading_id}"', 1)
    assert len(part) == 2, f"no section {heading_id}"
    return part[1].split("</section>", 1)[0]


def test_the_claims_register_filters_and_is_scoped(browser_for: Browser):
    ph = browser_for("ph-fin").get("/claims").text
    assert "PHJP-JP-2026-0004-C1" in ph and "PHUS-PH-2025-0001-C2" in ph
    owed = browser_for("ph-fin").get("/claims", params={"side": "owed_to_us"}).text
    assert "PHJP-JP-2026-0004-C1" in owed and "PHUS-PH-2025-0001-C2" not in owed
    we_owe = browser_for("ph-fin").get("/claims", params={"side": "we_owe"}).text
    assert "PHUS-PH-2025-0001-C2" in we_owe and "PHJP-JP-2026-0004-C1" not in we_owe
    jp = browser_for("jp-fin").get("/claims").text
    assert "PHJP-JP-2026-0004-C1" in jp and "PHUS" not in jp.split("<main")[1]
    us = browser_for("us-app").get("/claims").text
    assert "PHJP" not in us.split("<main")[1]
    only_open = browser_for("ph-fin").get("/claims", params={"state": "open"}).text
    assert "PHJP-JP-2026-0004-C1" in only_open
    settled = browser_for("ph-fin").get("/claims", params={"state": "settled",
                                                           "method": "cash"}).text
    assert "PHJP-JP-2026-0004-C1" not in settled
    assert '<a href="/orders/PHJP-JP-2026-0004">' in ph
    by_order = browser_for("ph-fin").get("/claims", params={"order": "PHJP-JP-2026-0004"}).text
    assert set(re.findall(r"<td>(PH[A-Z0-9-]+-C\d+)</td>", by_order)) == \
        {"PHJP-JP-2026-0004-C1"}
    desc = browser_for("ph-fin").get("/claims", params={"sort": "number", "dir": "desc"}).text
    listed = re.findall(r"<td>(PH[A-Z0-9-]+-C\d+)</td>", desc)
    assert listed == sorted(listed, reverse=True) and 'aria-sort="descending"' in desc


def test_activities_and_an_activity_with_its_orders_and_totals(browser_for: Browser):
    jp = browser_for("jp-req")
    listed = jp.get("/activities").text
    assert "KAMANDAG-10" in listed and "PORTCALL-MNL" in listed
    assert "BALIKATAN-2025" not in listed  # PH-US only
    hadr = jp.get("/activities", params={"type": "hadr"}).text
    assert "HADR-EX-2026" in hadr and "KAMANDAG-10" not in hadr
    page = jp.get("/activities/PORTCALL-MNL").text
    assert "JMSDF port call, Manila" in page
    assert "PHJP-JP-2026-0003" in page and "PHJP-JP-2026-0004" in page
    totals = section(page, "h-totals")
    assert "Food" in totals and "received by us" in totals and "₱" in totals
    # KAMANDAG runs under PH-JP and PH-US: Japan sees only its own orders and agreements
    kam = jp.get("/activities/KAMANDAG-10").text
    assert "PHUS" not in kam.split("<main")[1]
    # a third nation: another pair's activity is not found
    us = browser_for("us-app")
    assert us.get("/activities/PORTCALL-MNL").status_code == 404
    assert us.get("/activities/NO-SUCH").status_code == 404
    assert "PORTCALL-MNL" not in us.get("/activities").text
    assert "PHJP" not in us.get("/activities/KAMANDAG-10").text.split("<main")[1]


def test_agreements_terms_status_and_unconfirmed_values(browser_for: Browser):
    jp = browser_for("jp-req")
    listed = jp.get("/agreements").text
    assert "/agreements/PHJP" in listed and "/agreements/JPUS" in listed
    assert "/agreements/PHUS" not in listed and "In force" in listed
    page = jp.get("/agreements/PHJP").text
    assert "Japan-Philippines Acquisition and Cross-Servicing Agreement" in page
    assert "Fuel, oil and lubricants" in page and "Ammunition" in page
    assert "Equal-value exchange" in page and "a rate fixed for each fiscal year" in page
    days = re.search(r"Days to pay a cash bill</dt><dd>(.*?)</dd>", page).group(1)
    assert "30" in days and "unconfirmed" in days  # not public for PH-JP
    deadline = re.search(r"Months from delivery to settle</dt><dd>(.*?)</dd>", page).group(1)
    assert "12" in deadline and "unconfirmed" not in deadline
    assert browser_for("us-app").get("/agreements/PHJP").status_code == 404
    assert browser_for("jp-req").get("/agreements/PHUS").status_code == 404
    ja = browser_for("jp-req", lang="ja").get("/agreements/PHJP").text
    assert "燃料・油脂・潤滑油" in ja


def test_rates_are_paged_and_only_the_party_s_fixed_rates_show(browser_for: Browser):
    jp = browser_for("jp-req").get("/rates").text
    assert "JPY/PHP" in jp and "PHJP · FY2026" in jp
    ph = browser_for("ph-fin").get("/rates", params={"kind": "agreement_fy"}).text
    assert "PHJP · FY2026" in ph and "JPUS" not in ph.split("<main")[1]
    us = browser_for("us-app").get("/rates").text
    assert "PHJP · FY" not in us and "USD/PHP" in us
    usd = browser_for("ph-fin").get("/rates", params={"currency": "USD"}).text
    assert "JPY/PHP" not in usd and "USD/PHP" in usd


def test_the_books_page(browser_for: Browser):
    ph = browser_for("ph-fin")
    page = ph.get("/books").text
    balances = section(page, "h-balances")
    assert "Japan (JSDF)" in balances and "₱825,300.00" in balances
    assert "United States" in balances
    ageing = section(page, "h-ageing")
    assert "0-30 days" in ageing and "<svg" in ageing and "<title" in ageing
    statement = section(page, "h-statement")
    assert "Opening balance" in statement and "Closing balance" in statement
    support = section(page, "h-support")
    assert "provided by us" in support and "Fuel, oil and lubricants" in support
    usd = ph.get("/books", params={"currency": "USD", "statement": "PHUS",
                                   "as_of": "2026-11-29"}).text
    assert "Net owed to us, USD" in usd and "with United States" in usd
    early = ph.get("/books", params={"as_of": "2025-01-01"}).text
    assert "Nothing is owed either way." in early
    bad = ph.get("/books", params={"as_of": "not-a-date", "currency": "XXX"})
    assert bad.status_code == 200
    jp = browser_for("jp-fin").get("/books").text
    assert "United States" not in section(jp, "h-balances")  # no JP-US books in the demo
    us = browser_for("us-app").get("/books", params={"statement": "PHJP"}).text
    assert "PHJP" not in us.split("<main")[1]  # the US is no party to PH-JP


def test_audit_events_are_paged_and_the_chain_verified_by_auditors(browser_for: Browser):
    audit = browser_for("jp-audit")
    page = audit.get("/audit").text
    assert "Verify the chain now" in page
    events = section(page, "h-events")
    assert "PHJP-JP-2026-0001" in events or "Page 1 of" in page
    assert "PHUS" not in events  # Japan is no party to PH-US
    r = audit.post("/audit/verify", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "The chain is intact." in r.text
    assert audit.post("/audit/verify", data={"csrf_token": "forged"}).status_code == 403
    req = browser_for("jp-req")
    page = req.get("/audit").text
    assert "Verify the chain now" not in page
    assert req.post("/audit/verify", data={"csrf_token": csrf_of(page)}).status_code == 403
    one = audit.get("/audit", params={"subject": "PHJP-JP-2026-0001", "dir": "asc"}).text
    assert "Created" in one and "order.created" in one
    assert "PHJP-JP-2026-0002" not in section(one, "h-events")
    us = browser_for("us-app").get("/audit", params={"subject": "PHJP-JP-2026-0001"}).text
    assert "Nothing matches." in us


def test_audit_events_are_counted_up_to_a_bound(world, browser_for: Browser,
                                                monkeypatch: pytest.MonkeyPatch):
    """A long history is not counted through: "more than 10,000" (here 3); the rows are the
    same as the ones counted in full, and the same as the old rule's (own acts, or the
    subject is an order of the party)."""
    from sqlalchemy import or_, select

    from acsa.audit import service as audit
    from acsa.audit.models import Event
    from acsa.db.engine import unit_of_work
    from acsa.orders.models import Order
    from acsa.web.routes import pages

    with unit_of_work(world) as s:
        own = select(Order.number).where(or_(Order.requesting_party == "JP",
                                             Order.supplying_party == "JP"))
        rule = list(s.scalars(select(Event.seq).where(
            or_(Event.party == "JP", Event.subject.in_(own))).order_by(Event.seq.desc())))
        full, n = audit.search_events(s, viewer_party="JP", descending=True)
        assert [e.seq for e in full] == rule and n == len(rule) > 6
        some, m = audit.search_events(s, viewer_party="JP", descending=True, offset=2,
                                      limit=2, count_limit=4)
        assert [e.seq for e in some] == rule[2:4] and m == 4
    monkeypatch.setattr(pages, "EVENTS_COUNTED", 3)
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    page = browser_for("jp-audit").get("/audit").text
    assert "Rows 1–2 of more than 3" in page and 'rel="next"' in page
    assert "Page 1<" in page
    ja = browser_for("jp-audit", lang="ja").get("/audit").text
    assert "3 件超中 1–2 件目" in ja


def test_people_are_the_party_s_own_and_users_only_for_administrators(browser_for: Browser):
    ph = browser_for("ph-app").get("/people").text
    assert "ph-cruz" in ph and "₱50,000,000.00" in ph and "jp-sato" not in ph
    assert "h-users" not in ph
    admin = browser_for("ph-admin").get("/people").text
    users = section(admin, "h-users")
    assert "ph-app" in users and "ph-cruz" in users and "jp-req" not in users
    jp_admin = section(browser_for("jp-admin").get("/people").text, "h-users")
    assert "jp-req" in jp_admin and "ph-app" not in jp_admin


def test_the_new_pages_are_in_the_navigation(browser_for: Browser):
    page = browser_for("jp-req").get("/claims").text
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for path in ("/claims", "/activities", "/agreements", "/rates", "/books", "/audit",
                 "/people"):
        assert f'href="{path}"' in nav, path
    assert '<a href="/claims" aria-current="page">' in nav


def test_pages_need_sign_in(anonymous: TestClient):
    for path in PAGES:
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next="), path


# --- accessibility: a structural check of every new page ------------------------------------
class Structure(HTMLParser):
    CONTROLS = {"input", "select", "textarea"}

    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.levels: list[int] = []
        self.html_lang = ""
        self.labels: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.in_label = 0
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "html":
            self.html_lang = a.get("lang") or ""
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
            self.h1 += tag == "h1"
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.labels.add(str(a["for"]))
        if tag in self.CONTROLS and a.get("type") not in ("hidden", "submit"):
            self.controls.append((tag, {**a, "_wrapped": "1" if self.in_label else None}))
        if tag == "svg":
            self.images.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


def structure(html: str) -> Structure:
    s = Structure()
    s.feed(html)
    return s


@pytest.mark.parametrize("user,lang", [("jp-audit", "en"), ("ph-admin", "fil"),
                                       ("jp-req", "ja")])
def test_every_new_page_has_one_h1_labelled_controls_and_a_language(
        browser_for: Browser, user: str, lang: str):
    client = browser_for(user, lang=lang)
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        s = structure(r.text)
        assert s.h1 == 1, (path, s.h1)
        assert s.html_lang == lang, path
        steps = [b - a for a, b in zip(s.levels, s.levels[1:], strict=False)]
        assert s.levels[0] == 1 and all(x <= 1 for x in steps), (path, s.levels)  # in order
        for tag, a in s.controls:
            named = a.get("id") in s.labels or a.get("aria-label") or a.get("_wrapped")
            assert named, (path, tag, a)
        assert len(s.ids) == len(set(s.ids)), (path, [i for i in s.ids if s.ids.count(i) > 1])
        for svg in s.images:
            assert svg.get("role") == "img" and svg.get("aria-labelledby"), path
        if lang != "en":
            # English left inside a translated page is marked as English
            main = r.text.split("<main", 1)[1]
            assert "Reason given by the system" not in main


@pytest.mark.parametrize("lang,words", [
    ("ja", {"/claims": "請求", "/agreements": "協定", "/books": "帳簿", "/audit": "監査",
            "/people": "担当者", "/activities": "活動", "/rates": "為替", "/orders/new": "新規"}),
    ("fil", {"/claims": "Mga singil", "/agreements": "Mga kasunduan", "/books": "Mga aklat",
             "/audit": "Awdit", "/people": "Mga tao", "/activities": "Mga aktibidad",
             "/rates": "palitan", "/orders/new": "Bagong order"}),
])
def test_the_new_pages_in_japanese_and_filipino(browser_for: Browser, lang: str,
                                                 words: dict[str, str]):
    client = browser_for("jp-fin", lang=lang)
    for path, word in words.items():
        h1 = re.search(r"<h1>(.*?)</h1>", client.get(path).text, flags=re.S).group(1)
        assert word in h1, (path, h1)
