"""Applying one partner event through the same service a local user would call, so every
agreement rule holds on our side too; then checking the result against the sender's.

`apply_event` raises:
* `Waiting` when something the event builds on has not arrived yet (its order, an official,
  an activity): the event stays pending and is tried again after the next arrival;
* an `AcsaError` when the rules refuse it: the caller quarantines it (or, if it was concurrent
  with one of ours, lets `service` decide the conflict).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.orders.models import Order
from acsa.sync import capture, ownership
from acsa.sync.models import InboxEvent, PartnerProgress


class Waiting(Exception):
    """The event needs something not here yet."""


class HashMismatch(errors.IntegrityError):
    """Applied, the event gave the order another content hash than at the sender's: for an
    event concurrent with one of ours, a conflict (see `service`), else a refusal."""

    @property
    def code(self) -> str:
        return "IntegrityError"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _on(body: dict[str, Any]) -> dt.date:
    on = _date(body.get("on"))
    if on is None:
        raise errors.InvalidInput("the event has no date", field="on")
    return on


def order_of(session: Session, number: str) -> Order:
    order = session.scalar(select(Order).where(Order.number == number))
    if order is None:
        raise Waiting(f"order {number} has not arrived")
    return order


def check_owner(session: Session, ev: InboxEvent, body: dict[str, Any]) -> None:
    """The sender must own the fact: refused with `NotOwner` otherwise."""
    from acsa.agreements import service as agreements
    from acsa.settlement.models import Claim

    kind = ev.kind
    if kind in ownership.REFERENCE:
        party = body.get("party")
        if ownership.OWNER[kind] == "self" and party != ev.origin:
            raise errors.NotOwner(f"{ev.origin} cannot add {kind.split('.')[0]} "
                                  f"{body.get('code')} of {party}")
        if kind == "activity.added":
            # an activity runs under agreements: each its author's, or a third nation would
            # add activities the two parties' orders name
            for code in body.get("agreements") or []:
                if ev.origin not in agreements.get(session, str(code)).parties:
                    raise errors.NotOwner(f"{ev.origin} cannot add activity "
                                          f"{body.get('code')} under agreement {code}: it is "
                                          "not a party to it", field="agreements")
        if kind == "rate.added" and body.get("agreement"):
            # an agreement's fixed rate is for its parties to set, not a third nation's
            code = str(body["agreement"])
            if ev.origin not in agreements.get(session, code).parties:
                raise errors.NotOwner(f"{ev.origin} cannot set a rate of agreement {code}: "
                                      "it is not a party to it", field="agreement")
        return
    if kind in ownership.OFFSET:
        _check_offset_owner(session, ev, body)
        return
    if kind == "order.created":
        agreement = agreements.get(session, body["agreement"])
        requester = body["number"].split("-")[1] if body["number"].count("-") >= 3 else ""
        if requester != ev.origin or ev.origin not in agreement.parties:
            raise errors.NotOwner(f"{ev.origin} cannot create order {body['number']}: only "
                                  "its requesting party creates an order")
        return
    # the two parties only: the service loads the whole order (locked) when it applies the event
    order = session.execute(select(Order.id, Order.number, Order.requesting_party,
                                   Order.supplying_party)
                            .where(Order.number == ev.subject)).first()
    if order is None:
        raise Waiting(f"order {ev.subject} has not arrived")
    debtor = None
    if kind.startswith("claim."):
        claim = session.scalar(select(Claim).where(Claim.number == body["claim"]))
        if claim is None:
            raise Waiting(f"claim {body['claim']} does not exist yet")
        if claim.order_id != order.id:  # else the event would move the wrong order's head
            raise errors.InvalidInput(f"event {ev.event_id} is about order {ev.subject}, but "
                                      f"claim {claim.number} is not one of its claims",
                                      field="claim")
        debtor = claim.debtor_party
    allowed = ownership.owner_party(kind, requester=order.requesting_party,
                                    supplier=order.supplying_party, debtor=debtor,
                                    actor_party=ev.origin)
    if ev.origin not in allowed:
        raise errors.NotOwner(
            f"{ev.origin} cannot {kind.split('.')[1].replace('_', ' ')} order {order.number}: "
            f"that is for {' or '.join(sorted(allowed))} to do")


def _check_offset_owner(session: Session, ev: InboxEvent, body: dict[str, Any]) -> None:
    """A proposal is its proposing party's, under an agreement it is party to, with one of its
    own numbers; an approval is the party's the offset was proposed to."""
    from acsa.agreements import service as agreements
    from acsa.settlement.models import Offset

    number = str(body["number"])
    if ev.subject != f"offset:{number}":
        raise errors.InvalidInput(f"event {ev.event_id} is about {ev.subject}, its body about "
                                  f"offset {number}", field="subject")
    if ev.kind == "offset.proposed":
        agreement = agreements.get(session, body["agreement"])
        if ev.origin not in agreement.parties or \
                not number.startswith(f"{agreement.code}-{ev.origin}-OFS-"):
            raise errors.NotOwner(f"{ev.origin} cannot propose offset {number}: a party "
                                  f"proposes offsets under its own numbers only "
                                  f"({agreement.code}-{ev.origin}-OFS-n)")
        return
    offset = session.execute(select(Offset.proposing_party, Offset.approving_party)
                             .where(Offset.number == number)).first()
    if offset is None:
        raise Waiting(f"offset {number} has not arrived")
    owner = ownership.offset_owner(ev.kind, proposer=offset.proposing_party,
                                   approver=offset.approving_party)
    if ev.origin != owner:
        verb = {"offset.approved": "approve", "offset.withdrawn": "withdraw"}[ev.kind]
        raise errors.NotOwner(f"{ev.origin} cannot {verb} offset {number}: "
                              f"{offset.proposing_party} proposed it and only {owner} "
                              f"{verb}s it")


def check_author(session: Session, ev: InboxEvent, body: dict[str, Any]) -> None:
    """The sender owns the fact (`check_owner`) and the acting official is one of its own."""
    check_owner(session, ev, body)
    if ev.kind in ownership.REFERENCE:
        # reference data may be added by a user who is no official (an administrator), but
        # an event may not name another party's official as the one who added it
        from acsa.parties.models import Official

        party = session.scalar(select(Official.party_code).where(Official.code == ev.actor))
        if party is not None and party != ev.origin:
            raise errors.NotOwner(f"official {ev.actor} is not an official of {ev.origin}",
                                  field="actor")
    elif _actor_party(session, ev.actor) != ev.origin:
        raise errors.NotOwner(f"official {ev.actor} is not an official of {ev.origin}",
                              field="actor")


def _actor_party(session: Session, code: str) -> str:
    from acsa.parties import service as parties

    try:  # the same lookup the service makes next: loaded once
        official = parties.get_official(session, code)
    except errors.NotFound:
        raise Waiting(f"official {code} has not arrived") from None
    return official.party_code


def _lines(body: dict[str, Any]) -> list[Any]:
    from acsa.orders.service import LineInput

    return [LineInput(category=ln["category"], description=ln["description"],
                      quantity=Decimal(ln["quantity"]), unit=ln["unit"],
                      unit_price=money.Money.of(ln["unit_price"], body["currency"]),
                      method=ln["method"], stock_number=ln.get("stock_number", ""))
            for ln in body["lines"]]


def _created(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.orders import service as orders

    orders.create_order(
        s, agreement_code=b["agreement"], activity_code=b["activity"], by=ev.actor,
        order_on=_on({"on": b["order_on"]}), lines=_lines(b), currency=b["currency"],
        delivery_place=b["delivery_place"], delivery_on=_date(b["delivery_on"]),
        fund_citation=b["fund_citation"], billing_address=b["billing_address"],
        requester_poc=b["requester_poc"], supplier_poc=b["supplier_poc"],
        requesting_unit=b["requesting_unit"], supplying_unit=b["supplying_unit"],
        implementing_arrangement=b["implementing_arrangement"], number=b["number"])


def _edited(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.orders import service as orders

    changes = {k: b[k] for k in ("delivery_place", "fund_citation", "billing_address",
                                 "requester_poc", "supplier_poc", "implementing_arrangement")}
    changes["delivery_on"] = _date(b["delivery_on"])
    orders.edit_order(s, number=ev.subject, by=ev.actor, on=_on({"on": ev.at[:10]}),
                      changes=changes, lines=_lines(b), requesting_unit=b["requesting_unit"],
                      supplying_unit=b["supplying_unit"])


def _step(fn_name: str, *keys: str) -> Callable[[Session, InboxEvent, dict[str, Any]], None]:
    def run(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
        from acsa.orders import service as orders

        getattr(orders, fn_name)(s, number=ev.subject, by=ev.actor, on=_on(b),
                                 **{k: b[k] for k in keys})
    return run


def _accepted(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.orders import service as orders

    orders.accept_order(s, number=ev.subject, by=ev.actor, on=_on(b),
                        supplier_poc=b["supplier_poc"] or None,
                        supplying_unit=b["supplying_unit"])


def _delivered(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    import hashlib

    from acsa.orders import service as orders

    content = base64.b64decode(b["document"], validate=True)
    if hashlib.sha256(content).hexdigest() != b["document_sha256"]:
        raise errors.SignatureInvalid("the delivery's source document does not match its hash")
    orders.record_delivery(s, number=ev.subject, by=ev.actor, on=_on(b),
                           quantities={int(n): Decimal(q) for n, q in b["lines"].items()},
                           document_name=b["document_name"], document=content,
                           content_type=b["content_type"], note=b["note"])


def _received(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.orders import domain
    from acsa.orders import service as orders

    orders.record_receipt(
        s, number=ev.subject, by=ev.actor, on=_on(b), note=b["note"],
        deliveries=b["deliveries"],
        lines={int(n): domain.ReceiptLineInput(received=Decimal(x["received"]),
                                               damaged=Decimal(x["damaged"]),
                                               reason=x["reason"] or "")
               for n, x in b["lines"].items()})


def _payment(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.settlement import service as settlement

    settlement.pay(s, claim_ref=b["claim"], by=ev.actor, on=_on(b),
                   amount=money.Money.parse(b["amount"]), reference=b["reference"])


def _return(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.settlement import service as settlement

    settlement.return_in_kind(s, claim_ref=b["claim"], by=ev.actor, on=_on(b),
                              quantity=Decimal(b["quantity"]), unit=b["unit"],
                              stock_number=b["stock_number"], category=b["category"],
                              description=b["description"])


def _exchange(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.settlement import service as settlement

    settlement.exchange(s, claim_ref=b["claim"], by=ev.actor, on=_on(b),
                        value=money.Money.parse(b["value"]), category=b["category"],
                        description=b["description"])


def _minor(text: str, currency: str, what: str) -> int:
    amount = money.Money.parse(text)
    if amount.currency != currency:
        raise errors.SettlementInvalid(f"{what} is in {currency} here, and the offset names "
                                       f"{amount} of it", field="items")
    return amount.minor


def _offset_proposed(s: Session, ev: InboxEvent, b: dict[str, Any],
                     withdrawn: str | None = None) -> None:
    from acsa.settlement import service as settlement
    from acsa.settlement.models import Claim

    currencies = {n: c for n, c in s.execute(select(Claim.number, Claim.currency).where(
        Claim.number.in_([i["claim"] for i in b["items"]])))}
    lines = [settlement.OffsetLine(
        claim=i["claim"], value_minor=_minor(i["value"], b["currency"], f"offset {b['number']}"),
        applied_minor=_minor(i["applied"], currencies.get(i["claim"], b["currency"]),
                             f"claim {i['claim']}"))
        for i in b["items"]]
    offset = settlement.propose_offset(
        s, agreement_code=b["agreement"], by=ev.actor, on=_on(b), currency=b["currency"],
        note=b["note"], number=b["number"], lines=lines, withdrawn=withdrawn)
    amount = money.Money(offset.amount_minor, offset.currency)
    if amount != money.Money.parse(b["amount"]):
        raise errors.SettlementInvalid(
            f"offset {offset.number} is for {b['amount']} at {ev.origin}, and its claims net "
            f"{amount} here", field="amount")


def _offset_approved(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.settlement import service as settlement

    settlement.approve_offset(s, number=b["number"], by=ev.actor, on=_on(b))


def _offset_withdrawn(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.settlement import service as settlement

    settlement.withdraw_offset(s, number=b["number"], by=ev.actor, on=_on(b),
                               reason=b["reason"])


def _check_offset_approved(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    """After the approval, each claim has what is outstanding at the approving party's node."""
    from acsa.settlement import service as settlement
    from acsa.settlement.models import Claim

    for item in b["items"]:
        claim = s.scalar(select(Claim).where(Claim.number == item["claim"]))
        here = settlement.claim_view(claim)["outstanding"] if claim else None
        if here != item["outstanding"]:
            raise errors.IntegrityError(
                f"after {ev.event_id} (offset {b['number']}) claim {item['claim']} has {here} "
                f"outstanding here and {item['outstanding']} at {ev.origin}",
                hint="Reconcile with the partner (`acsa reconcile`) to find the difference.")


def _official(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.parties import service as parties
    from acsa.parties.models import Official, Unit

    if b["unit"] and s.scalar(select(Unit).where(Unit.code == b["unit"])) is None:
        raise Waiting(f"unit {b['unit']} has not arrived")
    if s.scalar(select(Official).where(Official.code == b["code"])) is not None:
        return  # already known (a shared database seeded alike): nothing to add
    parties.add_official(s, code=b["code"], name=b["name"], party=b["party"], role=b["role"],
                         valid_from=_on({"on": b["valid_from"]}), valid_to=_date(b["valid_to"]),
                         limit=money.Money.parse(b["limit"]) if b["limit"] else None,
                         unit=b["unit"], person=b["person"], rank_title=b["rank_title"],
                         actor=ev.actor)


def _official_changed(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    """A partner's change of one of its officials: waits for the official, and for the events
    that official signed before the change (checked against the terms they had then); refused
    if the official is not the sender's, or if our copy did not hold the terms the change
    started from (the two books disagree: reconcile)."""
    from acsa.parties import service as parties
    from acsa.parties.models import Official

    official = s.scalar(select(Official).where(Official.code == b["code"]))
    if official is None:
        raise Waiting(f"official {b['code']} has not arrived")
    if official.party_code != ev.origin:
        raise errors.NotOwner(f"{ev.origin} cannot change {official.code}, an official of "
                              f"{official.party_code}", field="code")
    progress = s.get(PartnerProgress, ev.origin)
    held = progress.received if progress is not None else 0
    if held < ev.seq - 1:
        raise Waiting(f"{ev.origin}'s events before {ev.event_id} have not all arrived (we hold "
                      f"them up to {ev.origin}:{held})")
    earlier = s.scalar(select(InboxEvent.event_id).where(
        InboxEvent.origin == ev.origin, InboxEvent.seq < ev.seq, InboxEvent.actor == b["code"],
        InboxEvent.status == "pending").order_by(InboxEvent.seq).limit(1))
    if earlier is not None:
        raise Waiting(f"{earlier}, signed by {b['code']} before the change, is still pending")
    here = parties.official_terms(s, official)
    if here != b["before"]:
        raise errors.IntegrityError(
            f"{ev.event_id} changes {official.code} from {b['before']}, and we hold {here}",
            hint="Reconcile with the partner (`acsa reconcile`) to find the difference.")
    after = b["after"]
    parties.change_official(
        s, code=official.code, by_party=ev.origin,
        limit=money.Money.parse(after["limit"]) if after["limit"] else None,
        valid_from=_on({"on": after["valid_from"]}), valid_to=_date(after["valid_to"]),
        unit=after["unit"], actor=ev.actor)
    s.info.get(_CHANGES, {}).pop(ev.event_id, None)


_CHANGES = "acsa_sync_official_changes"  # session.info: pending official.changed events


def _change_pending(s: Session, ev: InboxEvent) -> str | None:
    """The pending change of `ev`'s signing official made before `ev` at its node, if any:
    `ev` was checked there against the changed terms, so it waits for the change. The pending
    changes are read once per session (an over-estimate once one is applied elsewhere: the
    event then waits for the next pass)."""
    pending = s.info.get(_CHANGES)
    if pending is None:
        pending = s.info[_CHANGES] = {row.event_id: (row.origin, row.subject, row.seq) for row in
                                      s.execute(select(InboxEvent.event_id, InboxEvent.origin,
                                                       InboxEvent.subject, InboxEvent.seq)
                                                .where(InboxEvent.status == "pending",
                                                       InboxEvent.kind == "official.changed"))}
    subject = f"official:{ev.actor}"
    return next((i for i, (origin, subj, seq) in pending.items()
                 if origin == ev.origin and subj == subject and seq < ev.seq), None)


def _unit(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.parties import service as parties
    from acsa.parties.models import Unit

    if s.scalar(select(Unit).where(Unit.code == b["code"])) is not None:
        return
    parties.add_unit(s, code=b["code"], party=b["party"], name=b["name"],
                     address=b["address"], actor=ev.actor)


def _activity(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.activities import service as activities
    from acsa.activities.models import Activity

    if s.scalar(select(Activity).where(Activity.code == b["code"])) is not None:
        return
    activities.add_activity(s, code=b["code"], name=b["name"], type=b["type"],
                            place=b["place"], starts_on=_on({"on": b["starts_on"]}),
                            ends_on=_on({"on": b["ends_on"]}),
                            agreement_codes=list(b["agreements"]), actor=ev.actor)


def _rate(s: Session, ev: InboxEvent, b: dict[str, Any]) -> None:
    from acsa.agreements import service as agreements
    from acsa.rates import service as rates
    from acsa.rates.models import Rate

    same = s.scalar(select(Rate).where(
        Rate.base == b["base"], Rate.quote == b["quote"], Rate.kind == b["kind"],
        Rate.agreement_code == b["agreement"],
        Rate.effective_on == _on({"on": b["on"]})))
    if same is not None:
        if Decimal(same.rate) != Decimal(b["rate"]):
            raise errors.AlreadyExists(
                f"we hold {b['base']}/{b['quote']} {same.rate} for {b['on']}; {ev.origin} "
                f"sent {b['rate']}", field="rate", hint="Agree the rate with the partner.")
        return
    rates.add_rate(s, base=b["base"], quote=b["quote"], rate=b["rate"], on=_on(b),
                   source=b["source"], kind=b["kind"],
                   agreement=agreements.get(s, b["agreement"]) if b["agreement"] else None,
                   recorded_by=ev.actor)


APPLY: dict[str, Callable[[Session, InboxEvent, dict[str, Any]], None]] = {
    "order.created": _created, "order.edited": _edited,
    "order.requested": _step("request_order"), "order.accepted": _accepted,
    "order.delivered": _delivered, "order.received": _received,
    "order.cancelled": _step("cancel_order", "reason"),
    "order.disputed": _step("dispute_order", "reason"),
    "order.dispute_resolved": _step("resolve_dispute", "resolution"),
    "order.closed": _step("close_order"),
    "claim.payment": _payment, "claim.return": _return, "claim.exchange": _exchange,
    "offset.proposed": _offset_proposed, "offset.approved": _offset_approved,
    "offset.withdrawn": _offset_withdrawn,
    "official.added": _official, "official.changed": _official_changed, "unit.added": _unit,
    "activity.added": _activity,
    "rate.added": _rate,
}


def apply_event(session: Session, ev: InboxEvent, *, withdrawn: str | None = None,
                check_hash: bool = True) -> None:
    """Apply `ev` in the caller's transaction (which rolls back on any error). `withdrawn`:
    record the offset proposal `ev` as withdrawn from the start, for that reason (it lost to
    one of ours made at the same time)."""
    body = json.loads(ev.body)
    check_author(session, ev, body)
    if ev.kind not in ownership.REFERENCE and (change := _change_pending(session, ev)):
        raise Waiting(f"{ev.actor} signed it after their change {change}, still pending")
    session.info[capture.APPLYING] = True
    appended: list[Event] = []
    session.info[audit.APPENDED] = appended
    try:
        try:
            if withdrawn is not None and ev.kind == "offset.proposed":
                _offset_proposed(session, ev, body, withdrawn)
            else:
                APPLY[ev.kind](session, ev, body)
        except errors.NotFound as e:
            raise Waiting(e.message) from None
    finally:
        session.info[capture.APPLYING] = False
        session.info.pop(audit.APPENDED, None)
    if ev.kind.startswith("order.") and check_hash:
        # the order hash of our latest event of this kind on the subject: the one just
        # appended (read back from the table only if the service appended none)
        made = [e for e in appended if e.subject == ev.subject and e.action == ev.kind]
        mine = made[-1].order_hash if made else session.scalar(select(Event.order_hash).where(
            Event.subject == ev.subject, Event.action == ev.kind).order_by(Event.seq.desc())
            .limit(1))
        if mine != body.get("order_hash"):
            raise HashMismatch(
                f"applying {ev.event_id} ({ev.kind}) gave order {ev.subject} a different content "
                f"hash from the sender's ({(mine or '')[:12]} here, "
                f"{str(body.get('order_hash'))[:12]} there): the two books disagree about it",
                hint="Reconcile with the partner (`acsa reconcile`) to find the difference.")
    elif ev.kind == "offset.approved":
        _check_offset_approved(session, ev, body)
    elif ev.kind.startswith("claim.") and body.get("outstanding") is not None:
        from acsa.settlement import service as settlement
        from acsa.settlement.models import Claim

        claim = session.scalar(select(Claim).where(Claim.number == body["claim"]))
        assert claim is not None
        if settlement.claim_view(claim)["outstanding"] != body["outstanding"]:
            raise errors.IntegrityError(
                f"after {ev.event_id} claim {claim.number} has "
                f"{settlement.claim_view(claim)['outstanding']} outstanding here and "
                f"{body['outstanding']} at {ev.origin}")
