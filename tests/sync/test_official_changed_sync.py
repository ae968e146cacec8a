"""`official.changed` between two nodes (JP and PH), on SQLite and PostgreSQL: a party's change
of one of its officials reaches the partner, which applies it through the same service so both
books agree on who may sign what; it waits for the official, for the changes before it and for
the acts the official signed before it; acts signed after it wait for it; a partner cannot
change our officials."""

from __future__ import annotations

import datetime as dt

from acsa.money import Money
from acsa.parties import service as parties
from acsa.sync import service as sync
from tests.sync import _nodes
from tests.sync._nodes import (
    SUP_UNIT,
    D,
    assert_same_books,
    crafted,
    create,
    event,
    orders,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template


def terms(n, code="ph-approving"):
    with n.session() as s:
        return parties.official_terms(s, parties.get_official(s, code))


def change(n, code="ph-approving", **kw):
    with n.session() as s:
        parties.change_official(s, code=code, by_party=n.party, actor="ph-admin", **kw)


def accept(n, number):
    with n.session() as s:
        orders.accept_order(s, number=number, by="ph-approving", on=D,
                            supplying_unit=SUP_UNIT["PH"], supplier_poc="Lt Reyes")


def last_seq(n):
    return n.export("JP" if n.party != "JP" else "PH")["range"][1]


def test_a_change_reaches_the_partner_and_both_books_agree(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    change(ph, limit=Money.of(2_000_000, "PHP"), valid_to=dt.date(2027, 3, 31))
    data = ph.export(jp)
    [ev] = data["events"]
    assert (ev["kind"], ev["to"], ev["subject"], ev["deps"]) == (
        "official.changed", "*", "official:ph-approving", [])
    assert ev["body"]["before"]["limit"] == "50,000,000.00 PHP"
    r = jp.import_(data)
    assert r.applied == ["PH:1"] and not r.quarantined
    assert terms(jp) == terms(ph) == {"limit": "2,000,000.00 PHP", "valid_from": "2026-01-01",
                                      "valid_to": "2027-03-31", "unit": SUP_UNIT["PH"]}
    # every partner gets it (reference data), and a change on the partner's node is not sent on
    assert [e["kind"] for e in ph.export("US")["events"]] == ["official.changed"]
    assert jp.export(ph)["events"] == []


def test_a_change_waits_for_the_official_it_changes(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    with ph.session() as s:
        parties.add_official(s, code="ph-approving-2", name="PH approving two", party="PH",
                             role="approving", valid_from=dt.date(2026, 1, 1),
                             limit=Money.of(5_000_000, "PHP"), unit="PN-NFSL")
    appointed = ph.export(jp)
    change(ph, code="ph-approving-2", limit=Money.of(9_000_000, "PHP"))
    changed = ph.export(jp, since=appointed["range"][1])
    assert [(e["kind"], e["deps"]) for e in changed["events"]] == [
        ("official.changed", ["PH:1"])]
    r = jp.import_(changed)
    assert r.pending == ["PH:2"] and not r.applied
    with jp.session() as s:
        assert "PH:1" in sync.status(s)["pending"][0]["waiting_for"]
    r = jp.import_(appointed)
    assert r.applied == ["PH:1", "PH:2"]
    assert terms(jp, "ph-approving-2")["limit"] == "9,000,000.00 PHP"
    assert terms(jp, "ph-approving-2") == terms(ph, "ph-approving-2")


def test_changes_apply_in_the_order_they_were_made(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    change(ph, limit=Money.of(1_000_000, "PHP"))
    first = ph.export(jp)
    change(ph, limit=Money.of(3_000_000, "PHP"))
    second = ph.export(jp, since=first["range"][1])
    assert second["events"][0]["deps"] == ["PH:1"]
    assert jp.import_(second).pending == ["PH:2"]
    assert terms(jp)["limit"] == "50,000,000.00 PHP"  # nothing applied out of order
    assert jp.import_(first).applied == ["PH:1", "PH:2"]
    assert terms(jp) == terms(ph) and terms(jp)["limit"] == "3,000,000.00 PHP"


def test_an_act_signed_before_a_narrowing_change_is_checked_against_the_terms_then(cluster):
    """PH accepts JP's order (955,000 PHP) under a 50,000,000 PHP limit, then lowers the limit
    to 1,000 PHP. The change reaching JP first waits for the acceptance, which JP then checks
    against the limit it was signed under."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    jp.send(ph)
    accept(ph, number)
    accepted = ph.export(jp)
    change(ph, limit=Money.of(1_000, "PHP"))
    changed = ph.export(jp, since=accepted["range"][1])
    r = jp.import_(changed)
    assert r.pending == ["PH:2"] and not r.applied
    with jp.session() as s:
        assert "not all arrived" in sync.status(s)["pending"][0]["waiting_for"]
    r = jp.import_(accepted)
    assert r.applied == ["PH:1", "PH:2"] and not r.quarantined
    assert jp.order(number).state == "accepted"
    assert terms(jp) == terms(ph)
    assert_same_books(jp, ph)


def test_an_act_signed_after_a_widening_change_waits_for_it(cluster):
    """JP holds PH's 1,000 PHP limit; PH raises it again and accepts a 955,000 PHP order. With
    an earlier PH event still missing, the raise waits, and so does the acceptance: checked
    against the old limit it would be refused."""
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    jp.send(ph)
    change(ph, limit=Money.of(1_000, "PHP"))
    ph.send(jp)  # PH:1
    with ph.session() as s:
        parties.add_unit(s, code="PN-3", party="PH", name="third unit", actor="ph-admin")
    change(ph, limit=Money.of(50_000_000, "PHP"))  # PH:3
    accept(ph, number)  # PH:4
    r = jp.import_(ph.export(jp, since=2))
    assert r.pending == ["PH:3", "PH:4"] and not r.applied and not r.quarantined
    with jp.session() as s:
        waits = {p["event"]: p["waiting_for"] for p in sync.status(s)["pending"]}
    assert "PH:3" in waits["PH:4"]
    r = jp.import_(ph.export(jp, since=1))
    assert r.applied == ["PH:2", "PH:3", "PH:4"] and not r.quarantined
    assert jp.order(number).state == "accepted"
    assert terms(jp) == terms(ph)
    assert_same_books(jp, ph)


def _changed_by_jp(jp, ph, party):
    body = {"code": "ph-approving", "party": party, "before": terms(ph),
            "after": {**terms(ph), "limit": "1.00 PHP"}, "changed": ["limit"]}
    return crafted(jp, "PH", [event("JP", 40, "official.changed", "official:ph-approving", "*",
                                    body, actor="jp-admin")])


def test_a_partner_cannot_change_our_official(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    book = lambda: {k: v for k, v in ph.counts().items() if k != "progress"}  # noqa: E731
    before, counts = terms(ph), book()
    for party in ("PH", "JP"):  # in our name, or claiming our official as its own
        r = ph.import_(_changed_by_jp(jp, ph, party))
        assert [q["error"] for q in r.quarantined] == ["NotOwner"] and not r.applied
    assert terms(ph) == before and book() == counts
    assert [q.error for q in ph.quarantined()] == ["NotOwner", "NotOwner"]


def test_a_change_from_terms_we_do_not_hold_is_refused(cluster):
    c = cluster()
    jp, ph = c["JP"], c["PH"]
    change(ph, limit=Money.of(2_000_000, "PHP"))
    data = ph.export(jp)
    with jp.session() as s:  # JP's copy differs (a local edit in a shared test database)
        parties.change_official(s, code="ph-approving", by_party=None,
                                limit=Money.of(7, "PHP"))
    r = jp.import_(data)
    assert [q["error"] for q in r.quarantined] == ["IntegrityError"] and not r.applied
    assert terms(jp)["limit"] == "7.00 PHP"
