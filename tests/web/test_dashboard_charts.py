"""The dashboard's charts on the demo story, SQLite and PostgreSQL: the net balance with each
partner at each month end (checked against `reports.balances` as of each date, converted with
`rates.conversion`), moved by a payment by exactly the amount converted, reused until the next
ledger entry, scoped to the viewer's party; the ageing buckets and support by category and by
activity (checked against `reports.ageing` and `reports.totals`); each chart titled and with
its figures in a table, in English, Japanese and Filipino; in a real browser, axe finds no
violation and a tablet does not scroll sideways."""

from __future__ import annotations

import calendar
import datetime as dt
import html
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from acsa import money
from acsa.activities.models import Activity
from acsa.agreements import service as agreements
from acsa.api.routes.orders import today
from acsa.db.engine import unit_of_work
from acsa.documents import labels
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.rates import service as rates
from acsa.web import charts, i18n
from acsa.web import labels as web_labels
from tests.web.conftest import csrf_of
from tests.web.test_dashboard_i18n import section

Browser = Callable[..., TestClient]
CHROMIUM = Path("/usr/bin/chromium")
PH = "Republic of the Philippines (AFP)"


def month_ends(on: dt.date) -> list[dt.date]:
    """The ends of the 12 months before `on`'s month, then `on`: written out here, not taken
    from the code under test."""
    out = []
    year, month = on.year, on.month
    for _ in range(12):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
    return out[::-1] + [on]


def expected_net(engine: Engine, party: str, partner: str, currency: str, on: dt.date) -> int:
    """What the party's book says the partner owes it, net, as of `on`, in `currency`: the
    money balances of `reports.balances` plus the items owed in kind at their order value
    (`reports.ageing`), converted per agreement and currency at the rate of that day."""
    total = 0
    with unit_of_work(engine) as s:
        for _, a in agreements.list_for_party(s, party):
            if a.other_party(party) != partner:
                continue
            native: dict[str, int] = defaultdict(int)
            for r in reports.balances(s, as_of=on, agreement=a.code):
                if not books.is_currency(r.commodity):
                    continue
                if (r.creditor, r.debtor) == (party, partner):
                    native[r.commodity] += r.creditor_book
                elif (r.creditor, r.debtor) == (partner, party):
                    native[r.commodity] -= r.debtor_book
            for g in reports.ageing(s, as_of=on, agreement=a.code):
                if books.is_currency(g.commodity):
                    continue
                native[g.currency] += g.value_minor if g.creditor == party else -g.value_minor
            for cur, minor in native.items():
                if minor:
                    conv = rates.conversion(s, a, cur, currency, on)
                    total += conv.apply(money.Money(minor, cur), currency).minor
    return total


def trend_table(page: str) -> dict[str, list[str]]:
    """The balance chart's figures as the page shows them: partner -> one cell per date."""
    part = section(page, "h-trend")
    table = part.split('<table>', 1)[1].split("</table>", 1)[0]
    heads = [html.unescape(h) for h in re.findall(r'<th scope="col" class="num">([^<]+)</th>',
                                                  table)]
    rows = re.findall(r"<tr><th scope=\"row\">[^<]+</th>(.*?)</tr>", table)
    cells = [re.findall(r'<td class="num">([^<]*)</td>', r) for r in rows]
    return {h: [html.unescape(c[i]) for c in cells] for i, h in enumerate(heads)}


def chart_rows(page: str, heading_id: str, nth: int = 0) -> dict[str, tuple[str, str]]:
    """A bar chart's figures table: row label -> (ours, theirs)."""
    part = section(page, heading_id)
    table = part.split('<details class="chart-data">')[nth + 1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">([^<]+)</td>'
                      r'<td class="num">([^<]+)</td></tr>', table)
    return {html.unescape(k): (html.unescape(a), html.unescape(b)) for k, a, b in rows}


def test_each_month_end_is_the_balance_the_reports_give_for_that_date(world: Engine,
                                                                      browser_for: Browser):
    on = today()
    page = browser_for("ph-fin").get("/").text
    shown = trend_table(page)
    assert set(shown) == {"Japan (JSDF)", "United States of America"}
    assert charts.points(on) == month_ends(on)
    for partner, name in (("JP", "Japan (JSDF)"), ("US", "United States of America")):
        want = [i18n.fmt_money(expected_net(world, "PH", partner, "PHP", d), "PHP", "en")
                for d in month_ends(on)]
        assert shown[name] == want, partner
    # the line moves: the fuel bill to Japan in May, and three USD/PHP rates for the US debt
    assert len(set(shown["Japan (JSDF)"])) > 3 and len(set(shown["United States of America"])) == 3
    # today's point is the net the table above the charts shows
    assert shown["Japan (JSDF)"][-1] == "₱825,300.00"
    svg = section(page, "h-trend").split("</svg>", 1)[0]
    assert '<title id="trend-title">Net balance with each partner in PHP' in svg
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 2 * 13


def test_a_payment_moves_todays_point_by_the_amount_converted_and_renews_the_cache(
        world: Engine, browser_for: Browser, monkeypatch: pytest.MonkeyPatch):
    computed: list[str] = []
    compute = charts._compute_history
    monkeypatch.setattr(charts, "_compute_history",
                        lambda s, party, *a: computed.append(party) or compute(s, party, *a))
    ph = browser_for("ph-fin")
    before = trend_table(ph.get("/").text)["United States of America"]
    assert trend_table(ph.get("/").text)["United States of America"] == before
    assert computed == ["PH"]  # the second page reused the figures: nothing has changed
    page = ph.get("/orders/PHUS-PH-2025-0001").text
    r = ph.post("/orders/PHUS-PH-2025-0001/pay", data={
        "csrf_token": csrf_of(page), "claim": "PHUS-PH-2025-0001-C2", "amount": "10000.00",
        "currency": "USD"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = trend_table(ph.get("/").text)["United States of America"]
    assert computed == ["PH", "PH"]  # a new ledger entry: computed again
    with unit_of_work(world) as s:
        phus = agreements.get(s, "PHUS")
        paid = rates.conversion(s, phus, "USD", "PHP", today()).apply(
            money.Money.of("10000.00", "USD"), "PHP").minor
    assert paid == 58650000  # 10,000 USD at 58.65

    def minor(text: str) -> int:
        return money.Money.of(text.replace("₱", "").replace(",", ""), "PHP").minor
    assert minor(after[-1]) - minor(before[-1]) == paid  # we owe the US that much less
    assert after[:-1] == before[:-1]  # the month ends are history


def test_a_partys_chart_names_only_its_own_partners(browser_for: Browser):
    us = browser_for("us-fin").get("/").text
    assert set(trend_table(us)) == {PH}
    for heading in ("h-trend", "h-ageing-chart", "h-support-chart"):
        assert "Japan" not in section(us, heading) and "PHJP" not in section(us, heading)
    jp = browser_for("jp-fin").get("/").text
    assert set(trend_table(jp)) == {PH}
    assert "United States" not in section(jp, "h-trend")
    # the fuel of Balikatan 2025: the Philippines owes it to the US all year
    assert set(trend_table(us)[PH]) == {"$55,200.00"}


def test_the_ageing_buckets_add_up_to_the_open_claims(world: Engine, browser_for: Browser):
    page = browser_for("ph-fin").get("/").text
    rows = chart_rows(page, "h-ageing-chart")
    on = today()
    want = {name: [0, 0] for name, _, _ in books.AGEING_BUCKETS}  # every bucket is shown
    with unit_of_work(world) as s:
        for _, a in agreements.list_for_party(s, "PH"):
            for g in reports.ageing(s, as_of=on, agreement=a.code):
                sums, _ = reports.in_currency(s, {a.code: a}, [g], "PHP", on)
                want[g.bucket][0 if g.creditor == "PH" else 1] += sum(sums.values())
    assert rows == {web_labels.BUCKET[name]: tuple(i18n.fmt_money(v, "PHP", "en") for v in pair)
                    for name, pair in want.items()}
    assert rows["91-180 days"] == ("₱825,300.00", "₱0.00")  # Japan's open bills
    assert rows["over 18 months"] == ("₱0.00", "₱3,237,480.00")  # 55,200 USD at 58.65


def test_support_by_category_and_by_activity_in_the_last_12_months(world: Engine,
                                                                   browser_for: Browser):
    page = browser_for("ph-fin").get("/").text
    by_category, by_activity = (chart_rows(page, "h-support-chart", n) for n in (0, 1))
    on = today()
    pts = month_ends(on)
    cats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    acts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    with unit_of_work(world) as s:
        for _, a in agreements.list_for_party(s, "PH"):
            # each month's support: the totals at its end less those at the month before
            for start, end in zip(pts, pts[1:], strict=False):
                moved: dict[tuple, int] = defaultdict(int)
                for sign, when in ((1, end), (-1, start)):
                    for t in reports.totals(s, agreement=a.code, as_of=when):
                        if "PH" in (t.supplier, t.recipient):
                            way = 0 if t.supplier == "PH" else 1
                            moved[(way, t.category, t.activity_id, t.commodity)] += sign * t.amount
                for (way, cat, act, cur), value in moved.items():
                    if value:
                        conv = rates.conversion(s, a, cur, "PHP", end)
                        value = conv.apply(money.Money(value, cur), "PHP").minor
                        cats[cat][way] += value
                        acts[act][way] += value
        codes = {x.id: x.code for x in s.scalars(select(Activity))}

    def php(pair: list[int]) -> tuple[str, ...]:
        return tuple(i18n.fmt_money(v, "PHP", "en") for v in pair)
    assert by_category == {labels.label(labels.CATEGORIES, c, "en"): php(pair)
                           for c, pair in cats.items() if any(pair)}
    assert by_activity == {codes[a]: php(pair) for a, pair in acts.items() if any(pair)}
    assert by_category["Fuel, oil and lubricants"][0] == "₱8,117,250.00"  # 118,500 L x 68.50
    assert "Balikatan" not in section(page, "h-support-chart")  # April 2025: before the window


@pytest.mark.parametrize("lang,words", [
    ("ja", ["各相手国との差引残高の推移（PHP）",
            '<title id="trend-title">各相手国との差引残高（PHP）',
            "経過期間別の未決済の請求", "過去12か月の支援（PHP）",
            "この図の数値", "区分別", "活動別", "日本国（自衛隊）"]),
    ("fil", ["Netong balanse sa bawat katuwang", "Mga bukas na singil ayon sa edad",
             "Suportang ibinigay at tinanggap sa PHP, ayon sa kategorya",
             "Ang mga bilang ng tsart na ito", "Hapon (JSDF)"]),
])
def test_the_charts_in_japanese_and_filipino(browser_for: Browser, lang: str,
                                            words: list[str]):
    page = browser_for("ph-fin", lang=lang).get("/").text
    charts_part = "".join(section(page, h) for h in ("h-trend", "h-ageing-chart",
                                                      "h-support-chart"))
    for word in words:
        assert word in charts_part, word
    titles = re.findall(r"<title[^>]*>([^<]+)</title>", charts_part)
    assert titles and not any(t.startswith(("Net balance", "Open claims", "Support"))
                              for t in titles)
    assert i18n.fmt_money(811725000, "PHP", lang) in charts_part  # the locale's money
    if lang == "ja":
        assert re.search(r"<th scope=\"row\">\d{4}/\d{2}/\d{2}</th>", section(page, "h-trend"))


def test_the_points_and_the_axis():
    assert charts.points(dt.date(2028, 3, 31)) == month_ends(dt.date(2028, 3, 31))
    assert dt.date(2028, 2, 29) in charts.points(dt.date(2028, 3, 31))  # a leap year
    assert charts.points(dt.date(2027, 1, 1))[:2] == [dt.date(2026, 1, 31),
                                                       dt.date(2026, 2, 28)]
    # round steps in whole major units, zero always on the axis
    ticks = charts.axis([-55_000, 123_400], 2)  # -550.00 to 1,234.00
    assert ticks == [-100_000, -50_000, 0, 50_000, 100_000, 150_000]
    assert charts.axis([], 0) == [0, 1]  # nothing owed: a flat line on zero
    assert charts.axis([1_380_000], 0) == [0, 500_000, 1_000_000, 1_500_000]


# --- in a real browser -----------------------------------------------------------------------
if CHROMIUM.exists():
    from playwright.sync_api import Browser as Chromium  # noqa: E402
    from playwright.sync_api import expect  # noqa: E402

    from tests.web.test_browser import (  # noqa: F401, E402 - fixtures
        SHOTS,
        WORDS,
        browser,
        server,
        shoot,
        sign_in,
    )
    from tests.web.test_browser_pages import axe_violations  # noqa: E402

    def test_the_charts_pass_axe_and_fit_a_tablet(server, browser: Chromium,  # noqa: F811
                                                  db_url: str):
        save = db_url.startswith("sqlite")
        for lang, viewport in (("en", {"width": 1280, "height": 900}),
                               ("ja", {"width": 820, "height": 1180}),
                               ("fil", {"width": 820, "height": 1180})):
            context = browser.new_context(viewport=viewport, bypass_csp=True)  # axe injected
            page = context.new_page()
            sign_in(page, server.base, "ph-fin", WORDS["en"])
            page.goto(f"{server.base}/language?lang={lang}&next=/")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            assert page.locator("#h-trend ~ figure svg polyline").count() == 2
            assert axe_violations(page) == [], lang
            for charts_part in ("section:has(#h-trend)", ".chart-grid"):
                box = page.locator(charts_part).bounding_box()
                assert box and box["x"] + box["width"] <= viewport["width"], (lang, charts_part)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{lang}: the dashboard scrolls sideways"
            page.locator("section:has(#h-trend) summary").click()
            assert page.locator("section:has(#h-trend) table").is_visible()
            if lang in ("en", "ja"):
                page.locator("section:has(#h-trend)").scroll_into_view_if_needed()
                shoot(page, f"dashboard-charts{'' if lang == 'en' else '-ja'}.png", save)
            context.close()
else:  # pragma: no cover - without Chromium
    def test_the_charts_pass_axe_and_fit_a_tablet():
        pytest.skip(f"{CHROMIUM} is not installed")
