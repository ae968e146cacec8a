"""Withdrawing an offset on its web page: the Withdraw form (with its reason) is shown only to a
finance official of the proposing party while the offset awaits approval; the withdrawal
signs as that official and is on the timeline with its reason; refusals (no reason, the other
party, a withdrawn offset, a forged CSRF token) are shown with nothing written; paying a bill
a proposed offset names is refused on the order page naming the offset; the words in Japanese
and Filipino. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.integration.helpers import snapshot
from tests.web.conftest import csrf_of
from tests.web.test_offsets import (  # noqa: F401 - the fixture
    NUMBER,
    OLDEST_JP_BILL,
    both_ways,
    forms,
    main,
    offset_state,
    outstanding,
    propose,
)
from tests.web.test_orders import post

Browser = Callable[..., TestClient]
WITHDRAW = f"/offsets/{NUMBER}/withdraw"
JP_ORDER = OLDEST_JP_BILL.rsplit("-", 1)[0]


def withdraw(client: TestClient, **data: str):
    page = client.get(f"/offsets/{NUMBER}").text
    body = {"csrf_token": csrf_of(page), "on": "2026-11-26",
            "reason": "Japan pays the bill in cash", **data}
    return client.post(WITHDRAW, data=body, follow_redirects=False)


@pytest.fixture
def proposed(browser_for: Browser, both_ways: str) -> str:  # noqa: F811
    """Japan's finance official proposed netting (Japan owes the Philippines PHP bills, the
    Philippines owes Japan 270,000 JPY)."""
    assert propose(browser_for("jp-fin"), currency="JPY").status_code == 303
    return both_ways


def test_the_proposer_sees_the_form_and_withdraws(world: Engine, browser_for: Browser,
                                                  proposed: str):
    jp = browser_for("jp-fin")
    page = main(jp.get(f"/offsets/{NUMBER}").text)
    assert forms(page) == {WITHDRAW}
    form = page.split(f'action="{WITHDRAW}"', 1)[1].split("</form>", 1)[0]
    for field in ("csrf_token", "reason", "on"):
        assert f'name="{field}"' in form, field
    assert '<textarea id="withdraw-reason" name="reason"' in form and "required" in form
    before = {n: outstanding(world, n) for n in (proposed, OLDEST_JP_BILL)}

    r = withdraw(jp)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/offsets/{NUMBER}?done=withdraw"
    assert offset_state(world) == "withdrawn"
    assert {n: outstanding(world, n) for n in before} == before  # nothing netted
    done = jp.get(r.headers["location"]).text
    assert "The offset was withdrawn." in done
    assert forms(main(done)) == set()  # no form once withdrawn
    timeline = done.split('id="h-timeline"', 1)[1]
    assert "Offset withdrawn" in timeline and "jp-abe" in timeline
    assert "Japan pays the bill in cash" in timeline
    assert "Withdrawn: Japan pays the bill in cash" in done
    # the other party sees it withdrawn, with no form either
    theirs = browser_for("ph-fin").get(f"/offsets/{NUMBER}").text
    assert forms(main(theirs)) == set() and "Japan pays the bill in cash" in theirs


@pytest.mark.parametrize("user", ["ph-fin", "jp-req", "jp-audit", "ph-admin"])
def test_nobody_else_sees_the_form_and_a_post_is_refused(world: Engine, browser_for: Browser,
                                                        proposed: str, user: str):
    client = browser_for(user)
    page = main(client.get(f"/offsets/{NUMBER}").text)
    assert WITHDRAW not in forms(page) and "Withdraw this offset" not in page
    before = snapshot(world)
    assert withdraw(client).status_code == 403
    assert snapshot(world) == before and offset_state(world) == "proposed"


def test_the_other_party_is_told_the_claims_are_held(browser_for: Browser, proposed: str):
    page = main(browser_for("ph-fin").get(f"/offsets/{NUMBER}").text)
    assert forms(page) == {f"/offsets/{NUMBER}/approve"}
    assert "the claims it names cannot be paid or settled another way" in page


def test_refusals_are_shown_and_change_nothing(world: Engine, browser_for: Browser,
                                              proposed: str):
    jp = browser_for("jp-fin")
    before = snapshot(world)
    r = withdraw(jp, reason="   ")
    assert r.status_code == 422 and "Reason" in r.text
    for token in ("", "forged-token"):
        forged = jp.post(WITHDRAW, data={"csrf_token": token, "reason": "x"},
                         follow_redirects=False)
        assert forged.status_code == 403 and "security token" in forged.text
    assert snapshot(world) == before and offset_state(world) == "proposed"
    assert withdraw(jp).status_code == 303
    before = snapshot(world)
    page = jp.get(f"/offsets/{NUMBER}").text
    again = jp.post(WITHDRAW, data={"csrf_token": csrf_of(page), "reason": "twice"},
                    follow_redirects=False)
    assert again.status_code == 409
    assert "only an offset awaiting approval can be withdrawn" in unescape(again.text)
    assert snapshot(world) == before
    us = browser_for("us-fin")  # a finance official of a third nation: not found
    assert us.post(WITHDRAW, data={"csrf_token": csrf_of(us.get("/").text), "reason": "x"},
                   follow_redirects=False).status_code == 404


def test_a_bill_in_a_proposed_offset_cannot_be_paid_until_it_is_withdrawn(
        world: Engine, browser_for: Browser, proposed: str):
    jp = browser_for("jp-fin")
    pay = {"claim": OLDEST_JP_BILL, "amount": "1000.00", "currency": "PHP", "on": "2026-11-26"}
    before = snapshot(world)
    r = post(jp, JP_ORDER, "pay", pay)
    assert r.status_code == 409, r.text
    text = unescape(r.text)
    assert f"Claim {OLDEST_JP_BILL} is named in offset {NUMBER}" in text
    assert f"may withdraw offset {NUMBER}" in text
    assert snapshot(world) == before
    assert withdraw(jp).status_code == 303
    assert post(jp, JP_ORDER, "pay", pay).status_code == 303
    assert outstanding(world, OLDEST_JP_BILL) == ("open", 19_530_000 - 100_000)


@pytest.mark.parametrize("lang,words,english", [
    ("ja", ["この相殺を取り下げる", "相殺を取り下げる", "理由"], ["Withdraw this offset",
                                                          "Withdraw the offset"]),
    ("fil", ["Bawiin ang offset na ito", "Bawiin ang offset", "Dahilan"],
     ["Withdraw this offset", "Withdraw the offset"]),
])
def test_the_form_and_the_refusal_in_japanese_and_filipino(
        world: Engine, browser_for: Browser, proposed: str, lang: str, words: list[str],
        english: list[str]):
    jp = browser_for("jp-fin", lang=lang)
    page = main(jp.get(f"/offsets/{NUMBER}").text)
    for word in words:
        assert word in page, word
    for word in english:
        assert word not in page, word
    r = post(jp, JP_ORDER, "pay", {"claim": OLDEST_JP_BILL, "amount": "1000.00",
                                   "currency": "PHP", "on": "2026-11-26"})
    said = {"ja": f"請求 {OLDEST_JP_BILL} は", "fil": f"Kasama ang singil na {OLDEST_JP_BILL}"}
    assert r.status_code == 409 and said[lang] in unescape(r.text)
    assert withdraw(jp).status_code == 303
    done = jp.get(f"/offsets/{NUMBER}?done=withdraw").text
    assert {"ja": "相殺を取り下げました", "fil": "Binawi ang offset."}[lang] in done
