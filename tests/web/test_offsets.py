"""Offsets in the web application: the register scoped to the party, the proposal form for a
finance official (beside the open cash claims it would net), an offset's page and its approval
by the other party's finance official; CSRF on both forms, refusals shown with nothing written,
a third nation's user kept out, and the pages in Japanese and Filipino.

The demo world has open cash claims one way only under PHJP (Japan owes the Philippines three
PHP bills); `both_ways` adds a Philippine bill the other way (PHJP-PH-2026-0004-C1, billeting,
270,000 JPY), through the services."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from acsa.db.engine import unit_of_work
from acsa.settlement import service as settlement
from acsa.web.routes import offsets as offsets_routes
from tests.api.helpers import PH_REQUESTS, line, received_order
from tests.integration.helpers import snapshot
from tests.web.conftest import csrf_of

Browser = Callable[..., TestClient]
NUMBER = "PHJP-OFS-0001"
OLDEST_JP_BILL = "PHJP-JP-2026-0002-C1"  # Japan owes 195,300.00 PHP (medical care)
ON = "2026-11-25"  # inside the officials' authority and the PH-JP FY2026 rate


@pytest.fixture
def both_ways(world: Engine) -> str:
    """The Philippines owes Japan 270,000 JPY for aircrew billeting (a cash bill)."""
    [bill] = received_order(world, [line("billeting", "Aircrew billeting, person-nights", "30",
                                         "person_day", "9000", "JPY", "cash")], who=PH_REQUESTS)
    return bill


def outstanding(world: Engine, number: str) -> tuple[str, int]:
    with unit_of_work(world, read_only=True) as s:
        claim = settlement.find_claim(s, number)
        return claim.state, settlement.outstanding(claim).minor


def offset_state(world: Engine, number: str = NUMBER) -> str | None:
    with unit_of_work(world, read_only=True) as s:
        found, _ = settlement.search_offsets(s)
        return next((o.state for o in found if o.number == number), None)


def propose(client: TestClient, **data: str):
    page = client.get("/offsets").text
    body = {"csrf_token": csrf_of(page), "agreement": "PHJP", "on": ON, **data}
    return client.post("/offsets", data=body, follow_redirects=False)


def approve(client: TestClient, number: str = NUMBER, **data: str):
    page = client.get(f"/offsets/{number}").text
    body = {"csrf_token": csrf_of(page), "on": "2026-11-26", **data}
    return client.post(f"/offsets/{number}/approve", data=body, follow_redirects=False)


def forms(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="(/offsets[^"]*)"', html))


def main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


# --- the register and the proposal form ----------------------------------------------------
def test_a_finance_official_gets_the_form_beside_the_claims_it_would_net(
        browser_for: Browser, both_ways: str):
    page = browser_for("jp-fin").get("/offsets")
    assert page.status_code == 200
    html = main(page.text)
    assert forms(html) == {"/offsets"}
    form = html.split('<form method="post" action="/offsets"', 1)[1].split("</form>", 1)[0]
    for field in ("csrf_token", "agreement", "currency", "on", "note"):
        assert f'name="{field}"' in form, field
    for label in re.findall(r'<label for="([^"]+)"', form):  # every field has its label
        assert f'id="{label}"' in form, label
    # the agreement with claims both ways is chosen; JPY (Japan's currency) comes first
    assert re.search(r'<option value="PHJP" selected>', form)
    assert re.search(r'<select id="propose-currency" name="currency">\s*<option value="JPY"',
                     form)
    preview = html.split('id="h-preview-PHJP"', 1)[1].split("</article>", 1)[0]
    owed_to_us, we_owe = preview.split("We owe", 1)
    assert both_ways in owed_to_us and "¥270,000" in owed_to_us
    for bill in (OLDEST_JP_BILL, "PHJP-JP-2026-0003-C1", "PHJP-JP-2026-0004-C1"):
        assert bill in we_owe, bill
    assert "₱825,300.00" in we_owe  # the total Japan owes in PHP bills
    jpus = html.split('id="h-preview-JPUS"', 1)[1].split("</article>", 1)[0]
    assert "Nothing to offset" in jpus
    assert "Nothing matches." in html  # no offset yet


def test_proposal_creates_the_offset_and_reduces_nothing_until_approval(
        world: Engine, browser_for: Browser, both_ways: str):
    jp, ph = browser_for("jp-fin"), browser_for("ph-fin")
    before = {n: outstanding(world, n) for n in (both_ways, OLDEST_JP_BILL)}
    r = propose(jp, currency="JPY", note="Q3 netting")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/offsets/{NUMBER}?done=propose"
    assert offset_state(world) == "proposed"
    assert {n: outstanding(world, n) for n in before} == before  # nothing netted yet

    mine = jp.get(r.headers["location"]).text
    assert "The offset was proposed." in mine and "Q3 netting" in mine
    # the proposer's party has no approve button, only its withdrawal
    assert forms(main(mine)) == {f"/offsets/{NUMBER}/withdraw"}
    items = main(mine).split('id="h-items"', 1)[1].split("</section>", 1)[0]
    assert both_ways in items and OLDEST_JP_BILL in items
    assert "₱101,088.00" in items  # 270,000 JPY at the FY2026 rate of 0.3744 PHP per JPY
    assert "1 JPY = 0.3744 PHP" in items
    assert "Ms Abe Naoko (jp-abe)" in mine
    # both parties list it; the other party's finance official may approve it
    for client in (jp, ph):
        listed = client.get("/offsets").text
        assert f'<a href="/offsets/{NUMBER}">{NUMBER}</a>' in listed
    theirs = ph.get(f"/offsets/{NUMBER}").text
    assert forms(main(theirs)) == {f"/offsets/{NUMBER}/approve"}
    assert "Awaiting approval" not in theirs
    # a second proposal under the agreement is refused while this one is pending
    before_second = snapshot(world)
    again = propose(ph)
    assert again.status_code == 409
    assert f"offset {NUMBER} is still awaiting approval" in again.text
    assert snapshot(world) == before_second


def test_approval_by_the_other_partys_finance_official_reduces_both_claims(
        world: Engine, browser_for: Browser, both_ways: str):
    jp, ph = browser_for("jp-fin"), browser_for("ph-fin")
    assert propose(jp, currency="JPY").status_code == 303
    jp_bill_before = outstanding(world, OLDEST_JP_BILL)
    assert jp_bill_before == ("open", 19_530_000)
    r = approve(ph)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/offsets/{NUMBER}?done=approve"
    assert offset_state(world) == "approved"
    assert outstanding(world, both_ways) == ("settled", 0)  # 270,000 JPY netted in full
    assert outstanding(world, OLDEST_JP_BILL) == ("open", 19_530_000 - 10_108_800)

    page = ph.get(r.headers["location"]).text
    assert "The offset was approved" in page
    assert "Ms Liza Santos (ph-santos)" in page and "Nov 26, 2026" in page
    assert "Offset approved" in page and "Offset proposed" in page  # the timeline
    assert forms(main(page)) == set()  # approved: no button any more
    # the claims register shows the reduced balances to both parties
    for client in (jp, ph):
        claims = client.get("/claims", params={"agreement": "PHJP", "state": "open"}).text
        row = claims.split(f"<td>{OLDEST_JP_BILL}</td>", 1)[1].split("</tr>", 1)[0]
        assert "₱94,212.00" in row  # 195,300.00 - 101,088.00
        assert both_ways not in claims  # settled by the offset
    register = jp.get("/offsets", params={"state": "approved"}).text
    assert NUMBER in register and "Nov 26, 2026" in register
    assert NUMBER not in jp.get("/offsets", params={"state": "proposed"}).text
    # approving again is refused, with the reason
    before = snapshot(world)
    twice = ph.post(f"/offsets/{NUMBER}/approve", data={
        "csrf_token": csrf_of(page), "on": "2026-11-26"}, follow_redirects=False)
    assert twice.status_code == 409 and f"offset {NUMBER} is approved" in twice.text
    assert snapshot(world) == before


def test_the_proposers_party_cannot_approve(world: Engine, browser_for: Browser,
                                           both_ways: str):
    jp = browser_for("jp-fin")
    assert propose(jp).status_code == 303
    before = snapshot(world)
    r = approve(jp)
    assert r.status_code == 403
    assert "You are not authorised to do this." in r.text
    assert "jp-abe acts for JP" in unescape(r.text)  # the service's reason, on the offset's page
    assert f"Offset {NUMBER}" in r.text
    assert snapshot(world) == before
    assert offset_state(world) == "proposed"


@pytest.mark.parametrize("user", ["jp-req", "ph-app", "jp-audit", "ph-admin"])
def test_a_user_who_is_not_a_finance_official_sees_no_form_and_is_refused(
        world: Engine, browser_for: Browser, both_ways: str, user: str):
    assert propose(browser_for("jp-fin")).status_code == 303
    client = browser_for(user)
    register = client.get("/offsets")
    assert register.status_code == 200 and NUMBER in register.text
    assert forms(main(register.text)) == set() and "Propose an offset" not in register.text
    page = client.get(f"/offsets/{NUMBER}")
    assert page.status_code == 200 and forms(main(page.text)) == set()
    before = snapshot(world)
    assert propose(client).status_code == 403
    assert approve(client).status_code == 403
    assert snapshot(world) == before


def test_a_third_nations_user_gets_404(world: Engine, browser_for: Browser, both_ways: str):
    assert propose(browser_for("jp-fin")).status_code == 303
    us = browser_for("us-fin")  # a finance official, of the United States
    register = us.get("/offsets").text
    assert NUMBER not in register and "PHJP" not in register
    assert 'id="h-preview-PHUS"' in register  # its own agreement only
    page = us.get(f"/offsets/{NUMBER}")
    assert page.status_code == 404 and "Not found." in page.text
    assert "Ms Abe Naoko" not in page.text
    before = snapshot(world)
    assert approve(us).status_code == 404
    refused = propose(us)  # under an agreement the US is no party to
    assert refused.status_code == 404 and "no agreement 'PHJP'" in unescape(refused.text)
    assert snapshot(world) == before


def test_a_bad_csrf_token_changes_nothing(world: Engine, browser_for: Browser, both_ways: str):
    jp, ph = browser_for("jp-fin"), browser_for("ph-fin")
    before = snapshot(world)
    for token in ("", "forged-token"):
        r = jp.post("/offsets", data={"csrf_token": token, "agreement": "PHJP", "on": ON},
                    follow_redirects=False)
        assert r.status_code == 403 and "security token" in r.text
    assert snapshot(world) == before
    assert propose(jp).status_code == 303
    before = snapshot(world)
    r = ph.post(f"/offsets/{NUMBER}/approve", data={"csrf_token": csrf_of(jp.get("/").text),
                                                    "on": ON}, follow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text  # another session's token
    assert snapshot(world) == before and offset_state(world) == "proposed"


def test_a_refused_proposal_is_shown_with_its_reason(world: Engine, browser_for: Browser):
    jp = browser_for("jp-fin")
    before = snapshot(world)
    r = propose(jp)  # the demo world: open cash claims one way only
    assert r.status_code == 409
    assert "An ACSA rule does not allow this." in r.text
    assert "nothing to offset under PHJP" in r.text
    assert "An offset needs open cash claims in both directions." in r.text
    assert 'id="propose-agreement"' in r.text  # the form again, to correct and resend
    bad = propose(jp, on="25/11/2026")
    assert bad.status_code == 422 and "is not a date" in bad.text
    assert snapshot(world) == before


def test_signed_out_the_pages_and_forms_ask_to_sign_in(anonymous: TestClient):
    for r in (anonymous.get("/offsets", follow_redirects=False),
              anonymous.get(f"/offsets/{NUMBER}", follow_redirects=False),
              anonymous.post("/offsets", data={"agreement": "PHJP"}, follow_redirects=False)):
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")


def test_the_register_pages_and_sorts(world: Engine, browser_for: Browser, both_ways: str,
                                      monkeypatch: pytest.MonkeyPatch):
    jp, ph = browser_for("jp-fin"), browser_for("ph-fin")
    assert propose(jp).status_code == 303 and approve(ph).status_code == 303
    received_order(world, [line("billeting", "Aircrew billeting, person-nights", "10",
                                "person_day", "9000", "JPY", "cash")], who=PH_REQUESTS)
    assert propose(ph, currency="PHP").status_code == 303
    monkeypatch.setattr(offsets_routes, "PAGE_SIZE", 1)

    def listed(**params: str) -> list[str]:
        return re.findall(r'<td><a href="/offsets/([A-Z0-9-]+)">', jp.get(
            "/offsets", params=params).text)
    assert listed() == ["PHJP-OFS-0002"]  # newest first
    first = jp.get("/offsets").text
    assert "Rows 1–1 of 2" in first and 'rel="next"' in first
    assert listed(page="2") == [NUMBER]
    assert listed(dir="asc") == [NUMBER]
    assert listed(state="proposed", page="1") == ["PHJP-OFS-0002"]
    assert listed(agreement="JPUS") == []
    assert listed(agreement="PHJP", page="2") == [NUMBER]


@pytest.mark.parametrize("lang,register_words,page_words,english", [
    ("ja", ["相殺を提案する", "相殺の対象となる未決済の現金請求", "提案中", "提案国 → 承認国",
            "￥270,000"],
     ["相殺 PHJP-OFS-0001", "この相殺を承認する", "相殺される請求", "2026/11/25",
      "1 JPY = 0.3744 PHP", "相殺の提案"],
     ["Propose an offset", "Approve this offset", "Claims netted", ">proposed<"]),
    ("fil", ["Magmungkahi ng offset", "Mga bukas na singil na salapi na maibabawas ng offset",
             "iminungkahi", "Nagmungkahi → Mag-aapruba"],
     ["Offset PHJP-OFS-0001", "Aprubahan ang offset na ito", "Mga singil na ibinawas",
      "Halagang ibinawas", "Iminungkahi ang offset"],
     ["Propose an offset", "Approve this offset", "Claims netted", ">proposed<"]),
])
def test_the_pages_in_japanese_and_filipino(browser_for: Browser, both_ways: str, lang: str,
                                            register_words: list[str], page_words: list[str],
                                            english: list[str]):
    assert propose(browser_for("jp-fin"), currency="JPY").status_code == 303
    register = browser_for("jp-fin", lang=lang).get("/offsets")
    assert register.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in register.text
    page = browser_for("ph-fin", lang=lang).get(f"/offsets/{NUMBER}").text
    for word in register_words:
        assert word in register.text, word
    for word in page_words:
        assert word in page, word
    for word in english:  # nothing left in English
        assert word not in main(register.text) + main(page), word
