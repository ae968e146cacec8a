"""Capturing what this node's officials do as outbox events for its partners.

`audit.append` calls `on_event` for every audit event, in the same transaction. On a party's
node (`node.own_party`), an event of a synced kind authored by our own party (not the system,
not an event being applied from a partner) becomes an `OutboxEvent` whose body holds everything
another node needs to apply it through the same service: built here from the database as it
stands at that moment."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acsa import money
from acsa.audit import chain
from acsa.audit.models import Event
from acsa.sync import node
from acsa.sync.models import OutboxEvent, SubjectHead
from acsa.sync.ownership import OFFSET, REFERENCE, SYNCED

APPLYING = "acsa_sync_applying"  # session.info flag: applying a partner's event, capture nothing

# the order's fields a conflict may have to restore (see apply.revert)
REVERTIBLE = ("state", "state_before_dispute", "cancel_reason", "dispute_reason",
              "requested_by_id", "requested_at", "requested_hash", "accepted_by_id",
              "accepted_at", "accepted_hash", "closed_by_id", "closed_at", "supplier_poc",
              "supplying_unit_id", "content_hash")


def fields_json(fields: dict[str, Any]) -> str:
    return json.dumps({f: v.isoformat() if isinstance(v, dt.datetime) else v
                       for f, v in fields.items()}, sort_keys=True)


def order_fields(order: Any) -> str:
    """The revertible fields of `order` as JSON (datetimes as ISO text)."""
    return fields_json({f: getattr(order, f) for f in REVERTIBLE})


def _settled_in_dispute(session: Session, number: str) -> None:
    """A settlement recorded while its order is in dispute: the state the order goes back to
    when the dispute is resolved is the one it would have now (received or settled), so it is
    the same whether the payment or the dispute came first (two nodes see both orders)."""
    from acsa.orders.models import Order
    from acsa.settlement.service import claims_of

    order = session.scalar(select(Order).where(Order.number == number))
    if order is None or order.state != "disputed" or \
            order.state_before_dispute not in ("received", "settled"):
        return
    settled = (all(d.receipt_id is not None for d in order.deliveries)
               and all(c.state != "open" for c in claims_of(session, order)))
    order.state_before_dispute = "settled" if settled else "received"


def on_event(session: Session, event: Event) -> None:
    if event.action.startswith("claim.") and node.own_party(session) is not None:
        _settled_in_dispute(session, event.subject)
    if event.action not in SYNCED or session.info.get(APPLYING) or event.actor == "system":
        return
    party = node.own_party(session)
    if party is None or event.party not in (party, ""):
        return
    if event.party == "" and event.action not in REFERENCE:
        return
    payload = json.loads(event.payload or "{}")
    body, to_party, order = BUILDERS[event.action](session, event, payload, party)
    seq = (session.scalar(select(func.max(OutboxEvent.seq))) or 0) + 1
    event_id = f"{party}:{seq}"
    deps: list[str] = []
    after = ""
    if order is not None:
        head = session.get(SubjectHead, event.subject)
        if head is not None:
            deps = [head.event_id]
            head.event_id = event_id
        else:
            session.add(SubjectHead(subject=event.subject, event_id=event_id))
        after = order_fields(order)
    elif event.action in OFFSET:
        on, heads = offset_links(session, event.action, event.subject, body)
        # and our own last offset event under the agreement: the partner applies ours in the
        # order we made them (an approval never overtakes our proposal it superseded)
        on, heads = on + [f"{on[0]}:{party}"], heads + [f"{on[0]}:{party}"]
        deps = list(dict.fromkeys(
            h.event_id for h in (session.get(SubjectHead, s) for s in on) if h is not None))
        for subject in heads:
            head = session.get(SubjectHead, subject)
            if head is not None:
                head.event_id = event_id
            else:
                session.add(SubjectHead(subject=subject, event_id=event_id))
                session.flush()
        after = offset_after(session, event.action, heads)
    elif event.action == "official.changed":
        deps = official_deps(session, event.subject)
    session.add(OutboxEvent(
        seq=seq, event_id=event_id, kind=event.action, subject=event.subject, to_party=to_party,
        deps=json.dumps(deps), at=event.at, actor=event.actor,
        body=chain.canonical_json(body), after=after))
    session.flush()


def offset_links(session: Session, kind: str, subject: str,
                 body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(the subjects whose last event an offset event builds on, the subjects it becomes the
    last event of). Every offset event of an agreement follows the one before it (subject
    `offsets:<agreement>`, so that two proposals are concurrent exactly when neither side had
    seen the other's) and the offset's own; it builds on the last event of every order whose
    claims it names (so it waits for those claims to arrive), and an approval, which settles
    those claims, is what the next event on each of those orders builds on."""
    from acsa.orders.models import Order
    from acsa.settlement.models import Claim

    orders = list(session.scalars(
        select(Order.number).join(Claim, Claim.order_id == Order.id)
        .where(Claim.number.in_([i["claim"] for i in body["items"]]))
        .distinct().order_by(Order.number)))
    mine = [f"offsets:{body['agreement']}", subject]
    return mine + orders, mine + (orders if kind == "offset.approved" else [])


def offset_after(session: Session, kind: str, subjects: list[str]) -> str:
    """For an approval, the revertible fields of each order it settled claims of, by order
    number (what an order event that builds on it goes back to, see service._deps_after)."""
    from acsa.orders.models import Order

    if kind != "offset.approved":
        return ""
    found = session.scalars(select(Order).where(Order.number.in_(subjects)))
    return json.dumps({BY_ORDER: {o.number: json.loads(order_fields(o)) for o in found}},
                      sort_keys=True)


BY_ORDER = "by_order"


# --- the body of each kind -----------------------------------------------------------------
Built = tuple[dict[str, Any], str, Any]


def _order(session: Session, number: str) -> Any:
    from acsa.orders.models import Order

    order = session.scalar(select(Order).where(Order.number == number))
    assert order is not None
    return order


def _other(order: Any, party: str) -> str:
    return str(order.supplying_party if party == order.requesting_party
               else order.requesting_party)


def _code(session: Session, model: Any, ident: int | None) -> str | None:
    return session.get(model, ident).code if ident else None


def _order_data(session: Session, order: Any) -> dict[str, Any]:
    from acsa.activities.models import Activity
    from acsa.parties.models import Unit

    activity = session.get(Activity, order.activity_id)
    return {
        "number": order.number, "agreement": order.agreement_code,
        "activity": activity.code if activity else None, "order_on": order.order_on.isoformat(),
        "currency": order.currency, "delivery_place": order.delivery_place,
        "delivery_on": order.delivery_on.isoformat() if order.delivery_on else None,
        "fund_citation": order.fund_citation, "billing_address": order.billing_address,
        "requester_poc": order.requester_poc, "supplier_poc": order.supplier_poc,
        "implementing_arrangement": order.implementing_arrangement,
        "requesting_unit": _code(session, Unit, order.requesting_unit_id),
        "supplying_unit": _code(session, Unit, order.supplying_unit_id),
        "lines": [{"category": ln.category, "description": ln.description,
                   "stock_number": ln.stock_number, "quantity": format(ln.quantity, "f"),
                   "unit": ln.unit,
                   "unit_price": str(money.Money(ln.unit_price_minor, ln.currency).amount),
                   "method": ln.method} for ln in order.lines]}


def _created(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    order = _order(session, event.subject)
    return ({**_order_data(session, order), "order_hash": event.order_hash},
            _other(order, party), order)


def _simple(*keys: str) -> Callable[[Session, Event, dict[str, Any], str], Built]:
    def build(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
        order = _order(session, event.subject)
        body = {k: payload.get(k) for k in keys}
        return {**body, "order_hash": event.order_hash}, _other(order, party), order
    return build


def _accepted(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    from acsa.parties.models import Unit

    order = _order(session, event.subject)
    return ({"on": payload["on"], "supplier_poc": order.supplier_poc,
             "supplying_unit": _code(session, Unit, order.supplying_unit_id),
             "order_hash": event.order_hash}, _other(order, party), order)


def _delivered(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    from acsa.orders.models import Document

    order = _order(session, event.subject)
    delivery = max(order.deliveries, key=lambda d: d.id)
    doc = session.get(Document, delivery.document_sha256)
    assert doc is not None
    return ({"on": payload["on"], "lines": payload["lines"], "note": delivery.note,
             "document_name": doc.filename, "content_type": doc.content_type,
             "document_sha256": doc.sha256,
             "document": base64.b64encode(doc.content).decode("ascii"),
             "order_hash": event.order_hash}, _other(order, party), order)


def _received(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    order = _order(session, event.subject)
    receipt = max(order.receipts, key=lambda r: r.id)
    covered = [i for i, d in enumerate(sorted(order.deliveries, key=lambda d: d.id))
               if d.receipt_id == receipt.id]
    lines = {n: {"received": x["received"], "damaged": x["damaged"], "reason": x["reason"]}
             for n, x in payload["lines"].items()}
    return ({"on": payload["on"], "lines": lines, "note": receipt.note,
             "deliveries": covered, "claims": payload.get("claims", []),
             "order_hash": event.order_hash}, _other(order, party), order)


def _settlement(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    from acsa.settlement.models import Claim, SettlementRecord

    order = _order(session, event.subject)
    claim = session.scalar(select(Claim).where(Claim.number == payload["claim"]))
    assert claim is not None
    rec = session.scalar(select(SettlementRecord).where(SettlementRecord.claim_id == claim.id)
                         .order_by(SettlementRecord.id.desc()).limit(1))
    assert rec is not None
    body: dict[str, Any] = {"claim": claim.number, "on": rec.settled_on.isoformat(),
                            "outstanding": payload.get("outstanding")}
    if rec.kind == "payment":
        body.update(amount=str(money.Money(rec.tendered_minor or 0,
                                           rec.tendered_currency or claim.currency)),
                    reference=rec.reference, applied_minor=rec.applied_minor)
    elif rec.kind == "return":
        body.update(quantity=format(rec.tendered_quantity, "f"), unit=rec.tendered_unit,
                    stock_number=claim.stock_number, category=claim.category,
                    description=rec.description)
    else:
        body.update(value=str(money.Money(rec.tendered_minor or 0,
                                          rec.tendered_currency or claim.currency)),
                    category=claim.category, description=rec.description,
                    applied_minor=rec.applied_minor)
    return body, _other(order, party), order


def _offset(session: Session, subject: str) -> Any:
    from acsa.settlement.models import Offset

    offset = session.scalar(select(Offset).where(Offset.number == subject.split(":", 1)[1]))
    assert offset is not None
    return offset


def _offset_items(session: Session, offset: Any) -> list[tuple[Any, Any]]:
    from acsa.settlement.models import Claim

    items = sorted(offset.items, key=lambda i: i.id)
    claims = {c.id: c for c in session.scalars(
        select(Claim).where(Claim.id.in_([i.claim_id for i in items])))}
    return [(i, claims[i.claim_id]) for i in items]


def _offset_proposed(session: Session, event: Event, payload: dict[str, Any],
                     party: str) -> Built:
    offset = _offset(session, event.subject)
    return ({"number": offset.number, "agreement": offset.agreement_code,
             "on": offset.offset_on.isoformat(), "currency": offset.currency,
             "amount": str(money.Money(offset.amount_minor, offset.currency)),
             "note": offset.note,
             "items": [{"claim": c.number, "creditor": c.creditor_party,
                        "applied": str(money.Money(i.applied_minor, c.currency)),
                        "value": str(money.Money(i.value_minor, offset.currency)),
                        "rate": i.rate} for i, c in _offset_items(session, offset)]},
            offset.approving_party, None)


def _offset_approved(session: Session, event: Event, payload: dict[str, Any],
                     party: str) -> Built:
    from acsa.settlement.service import claim_view

    offset = _offset(session, event.subject)
    return ({"number": offset.number, "agreement": offset.agreement_code,
             "on": payload["on"],
             "amount": str(money.Money(offset.amount_minor, offset.currency)),
             "items": [{"claim": c.number, "applied": str(money.Money(i.applied_minor,
                                                                      c.currency)),
                        "outstanding": claim_view(c)["outstanding"]}
                       for i, c in _offset_items(session, offset)]},
            offset.proposing_party, None)


def _offset_withdrawn(session: Session, event: Event, payload: dict[str, Any],
                      party: str) -> Built:
    """The proposer's withdrawal: the reason and date, and the claims it names (which orders
    the event builds on, as the proposal did)."""
    offset = _offset(session, event.subject)
    return ({"number": offset.number, "agreement": offset.agreement_code,
             "on": payload["on"], "reason": payload["reason"],
             "items": [{"claim": c.number} for _, c in _offset_items(session, offset)]},
            offset.approving_party, None)


def _official(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    from acsa.parties.models import Official, Unit

    code = event.subject.split(":", 1)[1]
    o = session.scalar(select(Official).where(Official.code == code))
    assert o is not None
    limit = (str(money.Money(o.limit_minor, o.limit_currency))
             if o.limit_minor is not None and o.limit_currency else None)
    return ({"code": o.code, "name": o.name, "party": o.party_code, "role": o.role,
             "person": o.person, "valid_from": o.valid_from.isoformat(),
             "valid_to": o.valid_to.isoformat() if o.valid_to else None, "limit": limit,
             "unit": _code(session, Unit, o.unit_id), "rank_title": o.rank_title},
            "*", None)


def official_deps(session: Session, subject: str) -> list[str]:
    """A change of an official builds on our last event about them (their appointment or the
    change before), so a partner applies the changes in the order we made them, and waits
    for the official."""
    last = session.scalar(select(OutboxEvent.event_id).where(OutboxEvent.subject == subject)
                          .order_by(OutboxEvent.seq.desc()).limit(1))
    return [last] if last else []


def _official_changed(session: Session, event: Event, payload: dict[str, Any],
                      party: str) -> Built:
    """The official's terms before and after (the partner checks its copy had the same
    before), for every partner (`*`)."""
    return ({"code": event.subject.split(":", 1)[1], "party": event.party,
             "before": payload["before"], "after": payload["after"],
             "changed": payload["changed"]}, "*", None)


def _unit(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    code = event.subject.split(":", 1)[1]
    return ({"code": code, "party": party, "name": payload.get("name", ""),
             "address": payload.get("address", "")}, "*", None)


def _activity(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    code = event.subject.split(":", 1)[1]
    return ({"code": code, **{k: payload.get(k) for k in (
        "name", "type", "place", "starts_on", "ends_on", "agreements")}}, "*", None)


def _rate(session: Session, event: Event, payload: dict[str, Any], party: str) -> Built:
    return ({k: payload.get(k) for k in ("base", "quote", "rate", "on", "kind", "agreement",
                                         "source")}, "*", None)


BUILDERS: dict[str, Callable[[Session, Event, dict[str, Any], str], Built]] = {
    "order.created": _created, "order.edited": _created,
    "order.requested": _simple("on"), "order.accepted": _accepted,
    "order.delivered": _delivered, "order.received": _received,
    "order.cancelled": _simple("on", "reason"), "order.disputed": _simple("on", "reason"),
    "order.dispute_resolved": _simple("on", "resolution"), "order.closed": _simple("on"),
    "claim.payment": _settlement, "claim.return": _settlement, "claim.exchange": _settlement,
    "offset.proposed": _offset_proposed, "offset.approved": _offset_approved,
    "offset.withdrawn": _offset_withdrawn,
    "official.added": _official, "official.changed": _official_changed, "unit.added": _unit,
    "activity.added": _activity,
    "rate.added": _rate,
}
