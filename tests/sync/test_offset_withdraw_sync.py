"""An offset withdrawn by its proposer, between two nodes: the withdrawal is authored on the
proposer's node, travels as `offset.withdrawn` and withdraws the same offset on the partner's
node (which may then propose, and pay the claims the offset held); only the proposer may send
it (`NotOwner` otherwise); it waits for the proposal it withdraws. A withdrawal that crosses
the partner's approval resolves alike on both nodes whatever the order the bundles arrive
in: the approval stands (money was netted), the withdrawal is undone on the proposer's node
and superseded on the approver's, and both keep the same conflict. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from acsa import errors
from acsa.audit.models import Event
from acsa.money import Money
from acsa.settlement import service as settlement
from acsa.sync import reconcile as rc
from acsa.sync.models import InboxEvent, OutboxEvent
from tests.sync import _nodes
from tests.sync._nodes import Node, assert_same_books, crafted
from tests.sync.test_offsets_sync import (
    ON,
    approve,
    both_ways,
    conflicts,
    fetcher,
    last_event,
    offsets,
    propose,
    refused,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template

REASON = "paying the bill in cash instead"


def withdraw(n: Node, number: str, reason: str = REASON) -> None:
    with n.session() as s:
        settlement.withdraw_offset(s, number=number, by=f"{n.party.lower()}-finance", on=ON,
                                   reason=reason)


def audit_of(n: Node, number: str) -> list[tuple[str, str, str]]:
    with n.session() as s:
        return [(e.action, e.actor, json.loads(e.payload).get("reason", ""))
                for e in s.scalars(select(Event).where(Event.subject == f"offset:{number}")
                                   .order_by(Event.seq))]


def test_the_proposers_withdrawal_travels_and_withdraws_the_offset_there(cluster):
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    a, b = both_ways(jp, ph)
    number = propose(jp)
    jp.send(ph)
    # while it awaits approval, PH cannot pay its bill the offset names
    with ph.session() as s:
        with pytest.raises(errors.ClaimInProposedOffset, match=number):
            settlement.pay(s, claim_ref=f"{b}-C1", by="ph-finance", on=ON,
                           amount=Money.parse("1000 JPY"))
    withdraw(jp, number)
    ev = last_event(jp)
    assert (ev["kind"], ev["subject"]) == ("offset.withdrawn", f"offset:{number}")
    assert (ev["body"]["reason"], ev["body"]["on"]) == (REASON, ON.isoformat())
    r = jp.send(ph)
    assert r.applied == [ev["id"]] and not r.quarantined and not r.pending
    held = offsets(ph)
    assert held == offsets(jp) and held[number][0] == "withdrawn"
    assert audit_of(ph, number)[-1] == ("offset.withdrawn", "jp-finance", REASON)
    # the withdrawn offset cannot be approved there; PH pays its bill and may propose
    with ph.session() as s:
        with pytest.raises(errors.SettlementInvalid, match="withdrawn"):
            settlement.approve_offset(s, number=number, by="ph-finance", on=ON)
    with ph.session() as s:
        settlement.pay(s, claim_ref=f"{b}-C1", by="ph-finance", on=ON,
                       amount=Money.parse("1000 JPY"))
    ph_no = propose(ph, currency="PHP")
    r = ph.send(jp)
    assert len(r.applied) == 2 and not r.quarantined and not r.pending
    assert offsets(jp) == offsets(ph) and offsets(jp)[ph_no][0] == "proposed"
    approve(jp, ph_no)
    assert not jp.send(ph).quarantined
    assert offsets(jp) == offsets(ph)
    assert_same_books(jp, ph)
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees
    assert not conflicts(jp) and not conflicts(ph)


def test_a_withdrawal_waits_for_the_proposal_it_withdraws(cluster):
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    both_ways(jp, ph)
    number = propose(jp)
    proposal = last_event(jp)
    withdraw(jp, number)
    withdrawal = last_event(jp)
    assert proposal["id"] in withdrawal["deps"]
    with jp.session() as s:
        seq = s.scalar(select(OutboxEvent.seq).where(OutboxEvent.event_id == proposal["id"]))
    r = ph.import_(jp.export(ph, since=seq))  # the withdrawal alone
    assert r.pending == [withdrawal["id"]] and not r.applied and not r.quarantined
    r = ph.import_(jp.export(ph))
    assert r.applied == [proposal["id"], withdrawal["id"]] and not r.pending
    assert offsets(ph) == offsets(jp) and offsets(ph)[number][0] == "withdrawn"


def test_only_the_proposer_withdraws(cluster):
    """JP proposed: a withdrawal sent by PH's node (by PH's official or naming JP's) is not
    PH's to send. Quarantined, nothing changed; JP's offset still awaits PH's approval."""
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    a, b = both_ways(jp, ph)
    number = propose(jp)
    proposal = last_event(jp)
    jp.send(ph)
    body = {"number": number, "agreement": "PHJP", "on": ON.isoformat(), "reason": "forged",
            "items": [{"claim": f"{b}-C1"}, {"claim": f"{a}-C1"}]}
    for seq, actor in ((900, "ph-finance"), (901, "jp-finance")):
        forged = _nodes.event("PH", seq, "offset.withdrawn", f"offset:{number}", "JP", body,
                              actor=actor, deps=[proposal["id"]])
        with refused(jp, "NotOwner", f"PH:{seq}"):
            r = jp.import_(crafted(ph, "JP", [forged]))
        assert [q["error"] for q in r.quarantined] == ["NotOwner"]
    assert "cannot withdraw offset" in jp.quarantined()[-1].reason
    assert offsets(jp)[number][0] == "proposed"
    approve(ph, number)
    assert not ph.send(jp).quarantined
    assert offsets(jp) == offsets(ph) and offsets(jp)[number][0] == "approved"


@pytest.mark.parametrize("first", ["JP", "PH"])
def test_a_withdrawal_crossing_the_approval_resolves_alike_on_both_nodes(cluster, first):
    """JP proposed; JP withdraws on its node while PH approves on its own; the bundles cross,
    and either arrives first. The approval stands on both nodes: JP's withdrawal is undone
    there (audited) and superseded at PH; both keep the same conflict; the books agree."""
    c = cluster(("JP", "PH"))
    jp, ph = c["JP"], c["PH"]
    a, b = both_ways(jp, ph)
    number = propose(jp)
    jp.send(ph)
    withdraw(jp, number)
    approve(ph, number)
    w_id, a_id = last_event(jp)["id"], last_event(ph)["id"]
    to_ph, to_jp = jp.export(ph), ph.export(jp)
    if first == "JP":
        r_ph, r_jp = ph.import_(to_ph), jp.import_(to_jp)
    else:
        r_jp, r_ph = jp.import_(to_jp), ph.import_(to_ph)
    assert r_jp.applied == [a_id] and not r_jp.superseded and not r_jp.quarantined
    assert r_ph.superseded == [w_id] and not r_ph.applied and not r_ph.quarantined
    held = offsets(jp)
    assert held == offsets(ph) and held[number][0] == "approved"
    rows = conflicts(jp)
    assert rows == conflicts(ph)
    assert [r[:3] for r in rows] == [(f"offset:{number}", a_id, w_id)]
    assert "the approval stands" in rows[0][3] and number in rows[0][3]
    with ph.session() as s:
        assert s.get(InboxEvent, w_id).status == "superseded"
    assert [x[0] for x in audit_of(jp, number)] == [
        "offset.proposed", "offset.withdrawn", "offset.withdrawal_undone", "offset.approved"]
    book = assert_same_books(jp, ph)
    assert book["claims"][f"{b}-C1"] == ("settled", "0 JPY")
    assert rc.reconcile(fetcher(ph), fetcher(jp)).agrees
    # nothing is left pending, and the next exchange changes nothing more
    assert not jp.send(ph).quarantined and not ph.send(jp).quarantined
    assert offsets(jp) == offsets(ph)
    assert_same_books(jp, ph)
