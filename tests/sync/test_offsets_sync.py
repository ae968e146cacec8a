"""Offsets between two sovereign nodes (issue #6): one party's finance official proposes on its
node netting the open cash claims both ways, the proposal travels as `offset.proposed`, the
other party's finance official approves it on its own node, `offset.approved` travels back, and
both books then net the same claims by the same amounts (reconciliation agrees). Refusals
(not the owner, unknown claim, amounts that do not match the claims) change nothing and are
quarantined; a replayed bundle changes nothing; two proposals made at once resolve the same
way on both nodes. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from acsa import errors
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim, Offset
from acsa.sync import reconcile as rc
from acsa.sync.models import Conflict, InboxEvent, OutboxEvent
from tests import factories as f
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    Node,
    accept,
    assert_same_books,
    crafted,
    create,
    deliver,
    receive,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template

ON = dt.date(2026, 6, 1)
AS_OF = dt.date(2026, 12, 31)


# --- helpers ---------------------------------------------------------------------------------
def both_ways(jp: Node, ph: Node) -> tuple[str, str]:
    """JP owes PH 955,000.00 PHP (order a, JP's to PH); PH owes JP 1,500,000 JPY (order b,
    PH's to JP): each step taken on its owner's node and synced both ways."""
    a, b = create(jp), create(ph)
    jp.send(ph)
    ph.send(jp)
    accept(ph, a)
    deliver(ph, a)
    accept(jp, b)
    deliver(jp, b)
    ph.send(jp)
    jp.send(ph)
    receive(jp, a)
    receive(ph, b)
    jp.send(ph)
    ph.send(jp)
    assert_same_books(jp, ph)
    return a, b


def propose(n: Node, currency: str | None = None) -> str:
    with n.session() as s:
        return settlement.propose_offset(s, agreement_code="PHJP", by=f.official(n.party,
                                                                                 "finance"),
                                         on=ON, currency=currency).number


def approve(n: Node, number: str) -> None:
    with n.session() as s:
        settlement.approve_offset(s, number=number, by=f.official(n.party, "finance"), on=ON)


def offsets(n: Node) -> dict[str, tuple[Any, ...]]:
    """Every offset as both nodes must hold it: by number, its state, parties, currency,
    amount, date and items (claim number, applied, value, rate)."""
    with n.session() as s:
        out = {}
        for o in s.scalars(select(Offset)):
            items = sorted((s.get(Claim, i.claim_id).number, i.applied_minor, i.value_minor,
                            i.rate) for i in o.items)
            out[o.number] = (o.state, o.proposing_party, o.approving_party, o.currency,
                             o.amount_minor, o.offset_on, tuple(items))
        return out


def last_event(n: Node) -> dict[str, Any]:
    with n.session() as s:
        row = s.scalar(select(OutboxEvent).order_by(OutboxEvent.seq.desc()).limit(1))
        return {"id": row.event_id, "kind": row.kind, "subject": row.subject,
                "deps": json.loads(row.deps), "body": json.loads(row.body)}


def fetcher(n: Node) -> rc.Fetch:
    def fetch(months: list[str] | None) -> dict[str, Any]:
        with n.session() as s:
            rc.repeatable_read(s)
            return rc.summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("PH", "JP"),
                              months=months)
    return fetch


def conflicts(n: Node) -> list[tuple[str, str, str, str]]:
    with n.session() as s:
        return [(c.subject, c.winner, c.loser, c.rule) for c in s.scalars(select(Conflict))]


@contextmanager
def refused(n: Node, error: str, event_id: str) -> Iterator[None]:
    """Nothing of `n`'s book changes inside, and exactly one refusal of `event_id` with the
    error `error` is added to its quarantine."""
    before, held = n.counts(), offsets(n)
    seen = len(n.quarantined())
    yield
    assert n.counts() == before, "a refusal changed the book"
    assert offsets(n) == held
    added = n.quarantined()[seen:]
    assert [(q.error, q.event_id) for q in added] == [(error, event_id)], added
    assert added[0].reason


# --- the lifecycle ---------------------------------------------------------------------------
def test_offset_proposed_on_one_node_approved_on_the_other(cluster):
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    a, b = both_ways(jp, ph)
    number = propose(jp)  # in JPY, JP's currency: the PH side (1,500,000 JPY) is the smaller
    assert number == "PHJP-JP-OFS-0001"
    ev = last_event(jp)
    assert (ev["kind"], ev["subject"]) == ("offset.proposed", f"offset:{number}")
    assert [i["claim"] for i in ev["body"]["items"]] == [f"{b}-C1", f"{a}-C1"]
    r = jp.send(ph)
    assert r.applied == [ev["id"]] and not r.quarantined and not r.pending
    held = offsets(ph)
    assert held == offsets(jp)
    assert held[number][:5] == ("proposed", "JP", "PH", "JPY", 1_500_000)
    # 1,500,000 JPY x 0.3744 = 561,600.00 PHP of JP's debt to PH; all of PH's debt to JP
    # (the rate kept is the PHP claim's into the offset's JPY: 1 / 0.3744)
    assert held[number][6] == ((f"{a}-C1", 56_160_000, 1_500_000,
                                format(1 / Decimal("0.3744"), "f")),
                               (f"{b}-C1", 1_500_000, 1_500_000, "1"))
    # a proposal binds nothing: no claim changed on either node
    assert_same_books(jp, ph)
    with ph.session() as s:  # PH cannot propose while JP's awaits its approval
        with pytest.raises(errors.AlreadyExists):
            settlement.propose_offset(s, agreement_code="PHJP", by="ph-finance", on=ON)
    with jp.session() as s:  # and JP's official cannot approve it, on any node
        with pytest.raises(errors.OfficialNotAuthorized):
            settlement.approve_offset(s, number=number, by="jp-finance", on=ON)
    approve(ph, number)
    r = ph.send(jp)
    assert [e for e in r.applied] == [last_event(ph)["id"]] and not r.quarantined
    assert offsets(jp) == offsets(ph)
    assert offsets(jp)[number][0] == "approved"
    book = assert_same_books(jp, ph)
    assert book["claims"][f"{b}-C1"] == ("settled", "0 JPY")
    assert book["claims"][f"{a}-C1"] == ("open", "393,400.00 PHP")
    assert book["orders"][b][0] == "settled" and book["orders"][a][0] == "received"
    report = rc.reconcile(fetcher(ph), fetcher(jp))
    assert report.agrees, report.differences
    assert (report.matched_orders, report.orders) == (2, 2)
    assert (report.matched_claims, report.claims) == (2, 2)
    # acknowledgements go through; nothing is left to send either way
    jp.send(ph)
    assert jp.export(ph)["count"] == 0 and ph.export(jp)["count"] == 0
    # the next offset takes JP's next number; its approval settles what is left
    with jp.session() as s:  # JP pays the rest of its debt: the orders are settled
        settlement.pay(s, claim_ref=f"{a}-C1", by="jp-finance", on=ON,
                       amount=Money.parse("393,400.00 PHP"))
    r = jp.send(ph)
    assert r.applied and not r.quarantined
    book = assert_same_books(jp, ph)
    assert book["orders"][a][0] == "settled"
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees


def test_an_order_step_after_the_approval_waits_for_it(cluster):
    """A step on an order whose claim an offset settled builds on the approval: it is applied
    after it on the other node, whatever the bundles' order."""
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    _, b = both_ways(jp, ph)
    number = propose(ph, currency="PHP")
    ph.send(jp)
    approve(jp, number)  # settles PH's debt on order b in full: b is settled
    approval = last_event(jp)
    with jp.session() as s:
        orders.close_order(s, number=b, by="jp-finance", on=ON)
    closing = last_event(jp)
    assert approval["id"] in closing["deps"]
    with jp.session() as s:
        seq = s.scalar(select(OutboxEvent.seq).where(OutboxEvent.event_id == approval["id"]))
    # the closure travels alone first: it waits for the approval
    r = ph.import_(jp.export(ph, since=seq))
    assert r.pending == [closing["id"]] and not r.applied and not r.quarantined
    r = ph.import_(jp.export(ph))
    assert r.applied == [approval["id"], closing["id"]]
    assert not r.pending and not r.quarantined
    assert ph.order(b).state == "closed"
    assert offsets(ph) == offsets(jp)
    assert_same_books(jp, ph)
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees


# --- refusals --------------------------------------------------------------------------------
def test_a_forged_approval_is_refused(cluster):
    """JP proposed; only PH approves. An approval from JP's node (by JP's official or naming
    PH's) is not JP's to send: quarantined, nothing changed."""
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    a, b = both_ways(jp, ph)
    number = propose(jp)
    proposal = last_event(jp)
    jp.send(ph)
    body = {"number": number, "agreement": "PHJP", "on": ON.isoformat(),
            "amount": "1,500,000 JPY",
            "items": [{"claim": f"{a}-C1", "applied": "561,600.00 PHP",
                       "outstanding": "393,400.00 PHP"},
                      {"claim": f"{b}-C1", "applied": "1,500,000 JPY",
                       "outstanding": "0 JPY"}]}
    for seq, actor in ((900, "jp-finance"), (901, "ph-finance")):
        forged = _nodes.event("JP", seq, "offset.approved", f"offset:{number}", "PH", body,
                              actor=actor, deps=[proposal["id"]])
        with refused(ph, "NotOwner", f"JP:{seq}"):
            r = ph.import_(crafted(jp, "PH", [forged]))
        assert r.quarantined and r.quarantined[0]["error"] == "NotOwner"
    assert offsets(ph)[number][0] == "proposed"
    # and PH's genuine approval still goes through
    approve(ph, number)
    r = ph.send(jp)
    assert not r.quarantined
    assert offsets(jp) == offsets(ph)
    assert_same_books(jp, ph)


def _mutate(event: dict[str, Any], change: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    change(event)
    return event


def test_a_proposal_that_does_not_match_our_book_is_refused(cluster):
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    a, b = both_ways(jp, ph)
    propose(jp)
    genuine = jp.export(ph)
    [proposal] = genuine["events"]
    eid = proposal["id"]

    def unknown_claim(e: dict[str, Any]) -> None:
        e["body"]["items"][0]["claim"] = f"{b}-C9"

    def applied_wrong(e: dict[str, Any]) -> None:
        e["body"]["items"][0]["applied"] = "1,400,000 JPY"

    def value_wrong(e: dict[str, Any]) -> None:  # the PHP claim's value at another rate
        e["body"]["items"][1]["value"] = "1,499,000 JPY"

    def amount_wrong(e: dict[str, Any]) -> None:
        e["body"]["amount"] = "1,600,000 JPY"

    def unbalanced(e: dict[str, Any]) -> None:  # one side only
        e["body"]["items"] = e["body"]["items"][:1]

    def claim_twice(e: dict[str, Any]) -> None:
        e["body"]["items"][1]["claim"] = e["body"]["items"][0]["claim"]

    def not_jps_number(e: dict[str, Any]) -> None:
        e["body"]["number"] = "PHJP-PH-OFS-0001"
        e["subject"] = "offset:PHJP-PH-OFS-0001"

    def ph_official(e: dict[str, Any]) -> None:
        e["actor"] = "ph-finance"

    cases = [(unknown_claim, "SettlementInvalid"), (applied_wrong, "SettlementInvalid"),
             (value_wrong, "SettlementInvalid"), (amount_wrong, "SettlementInvalid"),
             (unbalanced, "SettlementInvalid"), (claim_twice, "SettlementInvalid"),
             (not_jps_number, "NotOwner"), (ph_official, "NotOwner")]
    for change, error in cases:
        with refused(ph, error, eid):
            r = ph.import_(crafted(jp, "PH", [_mutate(proposal, change)]))
        assert [q["error"] for q in r.quarantined] == [error], change.__name__
    # the genuine one still applies (a refused event may come again with its id)
    r = ph.import_(genuine)
    assert r.applied == [eid] and not r.quarantined
    assert offsets(ph) == offsets(jp)


def test_a_replayed_proposal_changes_nothing(cluster):
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    both_ways(jp, ph)
    number = propose(jp)
    data = jp.export(ph)
    assert ph.import_(data).applied
    before, held = ph.counts(), offsets(ph)
    with pytest.raises(errors.BundleReplayed):
        ph.import_(data)
    again = jp.export(ph, since=0)  # a new bundle holding the same events
    r = ph.import_(again)
    assert r.duplicates == again["count"] and not r.applied and not r.quarantined
    assert ph.counts() == before and offsets(ph) == held
    assert list(held) == [number]


# --- two proposals at once -------------------------------------------------------------------
@pytest.mark.parametrize("first", ["JP", "PH"])
def test_concurrent_proposals_resolve_alike_on_both_nodes(cluster, first):
    """JP and PH each propose before seeing the other's proposal; the bundles cross. The one
    signed first stands on both nodes, the other is withdrawn on both; each node keeps the
    conflict; the winner is then approved and both books agree."""
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    both_ways(jp, ph)
    early, late = (jp, ph) if first == "JP" else (ph, jp)
    early_no, late_no = propose(early), propose(late)
    early_id, late_id = last_event(early)["id"], last_event(late)["id"]
    to_ph, to_jp = jp.export(ph), ph.export(jp)
    r_ph, r_jp = ph.import_(to_ph), jp.import_(to_jp)
    winner_node, loser_node = early, late
    # on the early node the late proposal is superseded, on the late node it is withdrawn
    r_early, r_late = (r_jp, r_ph) if first == "JP" else (r_ph, r_jp)
    assert r_early.superseded == [late_id] and not r_early.applied
    assert r_late.applied == [early_id] and not r_late.superseded
    assert not r_early.quarantined and not r_late.quarantined
    held = offsets(jp)
    assert held == offsets(ph)
    assert {n: v[0] for n, v in held.items()} == {early_no: "proposed", late_no: "withdrawn"}
    rows = conflicts(jp)
    assert [r[:3] for r in rows] == [("offsets:PHJP", early_id, late_id)]
    assert rows == conflicts(ph)
    assert early_no in rows[0][3] and late_no in rows[0][3]
    with early.session() as s:
        assert s.get(InboxEvent, late_id).status == "superseded"
    # nothing was netted; the winner is approved by its counterparty and both books agree
    assert_same_books(jp, ph)
    approve(loser_node, early_no)
    r = loser_node.send(winner_node)
    assert not r.quarantined and not r.pending
    assert offsets(jp) == offsets(ph)
    assert offsets(jp)[early_no][0] == "approved"
    assert_same_books(jp, ph)
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees


def test_the_losers_node_approves_the_winner_before_sending_its_own(cluster):
    """PH proposes, then JP; JP's node hears of PH's proposal first, withdraws its own and
    approves PH's at once; its bundle then holds its losing proposal and the approval, in that
    order: PH keeps its own proposal, records JP's as withdrawn, and applies the approval."""
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    both_ways(jp, ph)
    ph_no = propose(ph)
    jp_no = propose(jp)
    jp_id = last_event(jp)["id"]
    r = jp.import_(ph.export(jp))
    assert r.applied and r.conflicts
    assert offsets(jp)[jp_no][0] == "withdrawn"
    approve(jp, ph_no)
    r = ph.import_(jp.export(ph))
    assert r.superseded == [jp_id] and len(r.applied) == 1 and not r.quarantined
    held = offsets(ph)
    assert held == offsets(jp)
    assert {n: v[0] for n, v in held.items()} == {ph_no: "approved", jp_no: "withdrawn"}
    assert [x[:3] for x in conflicts(ph)] == [x[:3] for x in conflicts(jp)]
    assert_same_books(jp, ph)
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees


# --- as a user runs it -----------------------------------------------------------------------
def test_offset_between_nodes_with_the_cli(world_template, tmp_path, request):
    """`acsa settle offset`, `acsa sync export/import` and `acsa reconcile` in separate
    processes on two SQLite field nodes, a bundle file each way."""
    c = _nodes.make_cluster("sqlite", world_template("sqlite", request), tmp_path)
    try:
        jp, ph = c["JP"], c["PH"]
        a, b = both_ways(jp, ph)
        home = tmp_path / "home"
        home.mkdir()
        env = dict(os.environ, ACSA_HOME=str(home), COLUMNS="200",
                   ACSA_KEY_PASSPHRASE=_nodes.PASS)
        env.pop("ACSA_DATABASE_URL", None)

        def acsa(n: Node, *args: str) -> subprocess.CompletedProcess[str]:
            r = subprocess.run([sys.executable, "-m", "acsa.cli.main", "--db", n.url, *args],
                               capture_output=True, text=True, timeout=120, env=env)
            assert r.returncode == 0, (args, r.stdout, r.stderr)
            return r

        r = acsa(jp, "settle", "offset", "--agreement", "PHJP", "--by", "jp-finance",
                 "--on", "2026-06-01")
        assert "offset PHJP-JP-OFS-0001 proposed" in r.stdout
        acsa(jp, "sync", "export", "--to", "PH", "-o", str(tmp_path / "to-ph.acsa"))
        r = acsa(ph, "sync", "import", str(tmp_path / "to-ph.acsa"))
        assert "1 applied" in r.stdout
        acsa(ph, "settle", "offset", "--approve", "PHJP-JP-OFS-0001", "--by", "ph-finance",
             "--on", "2026-06-01")
        acsa(ph, "sync", "export", "--to", "JP", "-o", str(tmp_path / "to-jp.acsa"))
        r = acsa(jp, "sync", "import", str(tmp_path / "to-jp.acsa"))
        assert "1 applied" in r.stdout
        assert offsets(jp) == offsets(ph)
        assert offsets(jp)["PHJP-JP-OFS-0001"][0] == "approved"
        summary = tmp_path / "ph-summary.json"
        acsa(ph, "reconcile", "--export-summary", str(summary), "--for", "JP", "--as-of",
             "2026-12-31")
        r = acsa(jp, "reconcile", "--with", "PH", "--from", str(summary))
        assert "the books agree" in r.stdout
    finally:
        c.close()
