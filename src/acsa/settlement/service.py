"""Claims and their settlement: bills and in-kind obligations created at receipt, payments,
returns in kind, equal-value exchanges, offsets, deadlines and the conversion of an overdue
return into a cash debt. Each posts to both parties' books and appends an audit event.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from acsa import errors, money, units
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.agreements.models import AgreementRecord
from acsa.audit import service as audit
from acsa.audit.chain import content_hash
from acsa.db import paging
from acsa.db.base import utcnow
from acsa.ledger import domain as books
from acsa.ledger import service as ledger
from acsa.orders.domain import State, add_months
from acsa.orders.models import Order, OrderLine, Receipt
from acsa.parties import service as parties
from acsa.parties.domain import Role, check_authority, check_separation
from acsa.parties.models import Official
from acsa.rates import service as rates
from acsa.settlement.models import Claim, Offset, OffsetItem, SettlementRecord


# --- claims --------------------------------------------------------------------------------
def kind_commodity(line: OrderLine) -> str:
    ident = line.stock_number or line.description
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ident).strip("-").upper()[:40]
    return f"RIK:{line.category.upper()}:{slug}[{line.unit}]"


def create_claims(session: Session, *, agreement: Agreement, order: Order, receipt: Receipt,
                  delivered_on: dt.date,
                  billable: dict[OrderLine, tuple[Decimal, Decimal]]) -> list[Claim]:
    """The claims of one receipt: one cash bill for the cash lines, one RIK or EVE obligation
    per in-kind line. Posts the receipt to both books: the supplier's delivered value moves to
    a receivable, the requester records the support received and the payable."""
    creditor, debtor = order.supplying_party, order.requesting_party
    existing = session.scalar(select(func.count()).select_from(Claim)
                              .where(Claim.order_id == order.id)) or 0
    claims: list[Claim] = []
    cash_total = money.Money.zero(order.currency)
    cash_lines: list[tuple[OrderLine, Decimal, Decimal]] = []
    s = agreement.settlement
    for line, (delivered, good) in sorted(billable.items(), key=lambda kv: kv[0].line_no):
        price = money.Money(line.unit_price_minor, line.currency)
        for q in (delivered, good):  # an over-receipt can be worth more than was ordered
            _line_value(line, q, field=f"lines[{line.line_no}].received")
        if line.method == "cash":
            cash_total = money.storable(cash_total + price.times(good), field="lines",
                                        what=f"the cash bill of {order.number}")
            cash_lines.append((line, delivered, good))
            continue
        if good <= 0 or (line.method == "eve" and price.times(good).minor <= 0):
            # nothing billable arrived, or a service worth nothing: as for cash, no claim
            # that nothing could settle (an in-kind return is counted in its quantity)
            _post_unbilled(session, agreement, order, line, delivered, good, receipt.received_on)
            continue
        existing += 1
        claim = Claim(
            number=f"{order.number}-C{existing}", order_id=order.id, receipt_id=receipt.id,
            line_id=line.id, agreement_code=agreement.code, method=line.method,
            creditor_party=creditor, debtor_party=debtor, currency=order.currency,
            amount_minor=price.times(good).minor,
            quantity=good if line.method == "rik" else None,
            unit=line.unit if line.method == "rik" else None, item=line.description,
            category=line.category, stock_number=line.stock_number,
            commodity=kind_commodity(line) if line.method == "rik" else order.currency,
            delivered_on=delivered_on, issued_on=receipt.received_on,
            due_on=add_months(delivered_on, s.deadline_months), state="open")
        session.add(claim)
        session.flush()
        _post_claim(session, agreement, order, claim, [(line, delivered, good)],
                    receipt.received_on)
        claims.append(claim)
    if cash_lines:
        if cash_total.minor > 0:
            existing += 1
            claim = Claim(
                number=f"{order.number}-C{existing}", order_id=order.id, receipt_id=receipt.id,
                line_id=None, agreement_code=agreement.code, method="cash",
                creditor_party=creditor, debtor_party=debtor, currency=order.currency,
                amount_minor=cash_total.minor, item="cash bill",
                category=cash_lines[0][0].category, commodity=order.currency,
                delivered_on=delivered_on, issued_on=receipt.received_on,
                due_on=min(receipt.received_on + dt.timedelta(days=s.days_to_pay),
                           add_months(delivered_on, s.deadline_months)),
                state="open")
            session.add(claim)
            session.flush()
            _post_claim(session, agreement, order, claim, cash_lines, receipt.received_on)
            claims.append(claim)
        else:
            for line, delivered, good in cash_lines:
                _post_unbilled(session, agreement, order, line, delivered, good,
                               receipt.received_on)
    for claim in claims:
        audit.append(session, party=creditor, actor="system", action="claim.issued",
                     subject=order.number, order_hash=order.content_hash,
                     payload=claim_view(claim))
    return claims


def _line_value(line: OrderLine, quantity: Decimal, *, field: str) -> money.Money:
    """The value of `quantity` of a line at its unit price, refused (naming `field`) if it is
    too large to store."""
    price = money.Money(line.unit_price_minor, line.currency)
    return money.storable(price.times(quantity), field=field,
                          what=f"line {line.line_no}: {format(quantity, 'f')} {line.unit} "
                          f"at {price}")


def _claim_leg(claim: Claim, amount_minor: int | None = None,
               quantity: Decimal | None = None) -> tuple[str, int]:
    if claim.method == "rik":
        return claim.commodity, books.kind_units(quantity if quantity is not None
                                                 else claim.quantity)
    return claim.currency, amount_minor if amount_minor is not None else claim.amount_minor


def _post_claim(session: Session, agreement: Agreement, order: Order, claim: Claim,
                lines: list[tuple[OrderLine, Decimal, Decimal]], on: dt.date) -> None:
    postings: list[books.Posting] = []
    c, d = claim.creditor_party, claim.debtor_party
    for line, delivered, good in lines:
        price = money.Money(line.unit_price_minor, line.currency)
        shipped, billed = price.times(delivered), price.times(good)
        # supplier: what was delivered leaves "unreceipted"; the good part becomes receivable
        own = books.transfer(c, d, books.PROVIDED, books.UNRECEIPTED,
                             (shipped.currency, shipped.minor))
        if claim.method != "rik":
            own += books.transfer(c, d, books.receivable(claim.method), books.PROVIDED,
                                  (billed.currency, billed.minor))
            own += books.transfer(d, c, books.RECEIVED, books.payable(claim.method),
                                  (billed.currency, billed.minor))
        postings += [replace(p, category=line.category, kind=line.kind) for p in own]
    if claim.method == "rik":
        value = (claim.currency, claim.amount_minor)
        leg = _claim_leg(claim)
        postings += books.transfer(c, d, books.receivable("rik"), books.PROVIDED, leg, value)
        postings += books.transfer(d, c, books.RECEIVED, books.payable("rik"), value, leg)
    line0 = lines[0][0]
    ledger.post(session, agreement=agreement, kind="claim", posted_on=on, postings=postings,
                memo=f"{claim.number}: {claim.method} claim of {claim_amount_text(claim)}",
                order_id=order.id, claim_id=claim.id, activity_id=order.activity_id,
                category=line0.category, line_kind=line0.kind)


def _post_unbilled(session: Session, agreement: Agreement, order: Order, line: OrderLine,
                   delivered: Decimal, good: Decimal, on: dt.date) -> None:
    """Nothing billable arrived (all short or damaged): clear the delivered value."""
    shipped = money.Money(line.unit_price_minor, line.currency).times(delivered)
    if shipped.minor == 0:
        return
    ledger.post(session, agreement=agreement, kind="receipt-nil", posted_on=on,
                postings=books.transfer(order.supplying_party, order.requesting_party,
                                        books.PROVIDED, books.UNRECEIPTED,
                                        (shipped.currency, shipped.minor)),
                memo=f"{order.number} line {line.line_no}: nothing billable received",
                order_id=order.id, activity_id=order.activity_id, category=line.category,
                line_kind=line.kind)


def claim_amount_text(claim: Claim) -> str:
    if claim.method == "rik":
        return f"{format(claim.quantity, 'f')} {claim.unit} {claim.item}"
    return str(money.Money(claim.amount_minor, claim.currency))


@dataclass(frozen=True)
class Outstanding:
    minor: int  # in the claim currency (cash, eve); value at order price for rik
    quantity: Decimal | None  # rik only


def outstanding(claim: Claim) -> Outstanding:
    applied = sum(s.applied_minor for s in claim.settlements)
    if claim.method == "rik":
        q = claim.quantity - sum((s.applied_quantity or Decimal(0)) for s in claim.settlements)
        value = money.Money(claim.amount_minor, claim.currency)
        remaining_value = value.times(q / claim.quantity) if claim.quantity else value
        return Outstanding(remaining_value.minor, q)
    return Outstanding(claim.amount_minor - applied, None)


def claim_view(claim: Claim) -> dict[str, object]:
    o = outstanding(claim)
    return {
        "number": claim.number, "method": claim.method, "creditor": claim.creditor_party,
        "debtor": claim.debtor_party, "amount": str(money.Money(claim.amount_minor,
                                                                claim.currency)),
        "quantity": format(claim.quantity, "f") if claim.quantity is not None else None,
        "unit": claim.unit, "item": claim.item, "stock_number": claim.stock_number,
        "delivered_on": claim.delivered_on.isoformat(), "issued_on": claim.issued_on.isoformat(),
        "due_on": claim.due_on.isoformat(), "state": claim.state, "overdue": claim.overdue,
        "outstanding": str(money.Money(o.minor, claim.currency)),
        "outstanding_quantity": format(o.quantity, "f") if o.quantity is not None else None,
    }


@functools.cache
def _of_order() -> tuple[Select[tuple[Claim]], Select[tuple[str]]]:
    """(the claims of :order_id reloaded, the numbers of its open claims): statements built
    once, each run often."""
    of = Claim.order_id == bindparam("order_id")
    return (select(Claim).where(of).order_by(Claim.id)
            .execution_options(populate_existing=True),
            select(Claim.number).where(of, Claim.state == "open").order_by(Claim.id))


def claims_of(session: Session, order: Order) -> list[Claim]:
    return list(session.scalars(_of_order()[0], {"order_id": order.id}))


def open_claim_numbers(session: Session, order: Order) -> list[str]:
    return list(session.scalars(_of_order()[1], {"order_id": order.id}))


def get_claim(session: Session, ref: str, method: str | None = None) -> Claim:
    """A claim by its number, or the one open claim of an order (of `method`, if given),
    locked for settlement: its order first, then the claim, always in that order, so that two
    settlements of one order's claims queue and the second sees the first's result."""
    found = session.execute(select(Claim.id, Claim.order_id).where(Claim.number == ref)).first()
    claim_id, order_id = found if found is not None else (None, None)
    if claim_id is None:
        order_id = session.scalar(select(Order.id).where(Order.number == ref))
    if order_id is None:
        raise errors.NotFound(f"no claim or order {ref!r}", field="claim")
    session.execute(select(Order.id).where(Order.id == order_id).with_for_update())
    if claim_id is None:
        candidates = list(session.scalars(
            select(Claim).where(Claim.order_id == order_id, Claim.state == "open")
            .order_by(Claim.id).execution_options(populate_existing=True)))
        candidates = [c for c in candidates if method is None or c.method == method]
        if len(candidates) != 1:
            listed = ", ".join(c.number for c in candidates) or "none"
            raise errors.InvalidInput(
                f"order {ref} has {len(candidates)} open {method or ''} claim(s) ({listed})",
                field="claim", hint="Name the claim by its number (see `acsa orders show`).")
        claim_id = candidates[0].id
    claim = session.scalar(select(Claim).where(Claim.id == claim_id).with_for_update()
                           .execution_options(populate_existing=True))
    assert claim is not None
    return claim


def lock_orders(session: Session, order_ids: set[int]) -> None:
    """Lock several orders at once, always in ascending id, so that two commands that each
    touch many orders (an offset, a deadline run) queue instead of deadlocking."""
    if order_ids:
        session.execute(select(Order.id).where(Order.id.in_(sorted(order_ids)))
                        .order_by(Order.id).with_for_update())


def refresh_order_state(session: Session, order: Order) -> None:
    """An order is settled when everything delivered is received and every claim settled."""
    if order.state not in (State.RECEIVED.value, State.SETTLED.value):
        return
    unreceived = any(d.receipt_id is None for d in order.deliveries)
    claims = claims_of(session, order)  # reloaded: callers show them as stored
    settled = not unreceived and all(c.state != "open" for c in claims)
    new = State.SETTLED.value if settled else State.RECEIVED.value
    if new != order.state:
        order.state = new
        order.overdue = False if settled else order.overdue
        session.flush()
        from acsa.orders.service import snapshot  # late: orders.service imports this module
        order.content_hash = content_hash(snapshot(session, order))
        audit.append(session, party="", actor="system", action=f"order.{new}",
                     subject=order.number, order_hash=order.content_hash, payload={})


# --- acting on a claim ---------------------------------------------------------------------
def _finance(session: Session, by: str, party: str, on: dt.date, action: str) -> Official:
    official = parties.get_official(session, by)
    check_authority(official_code=official.code, official_role=official.role,
                    official_party=official.party_code, valid_from=official.valid_from,
                    valid_to=official.valid_to, roles={Role.FINANCE}, party=party, on=on,
                    action=action)
    return official


def _check_not_receiver(session: Session, claim: Claim, official: Official, act: str) -> None:
    receipt = session.get(Receipt, claim.receipt_id) if claim.receipt_id else None
    receiver = session.get(Official, receipt.received_by_id) if receipt else None
    order = session.get(Order, claim.order_id)
    check_separation(first_person=receiver.person if receiver else None,
                     second_person=official.person, first_act="signed the receipt of",
                     second_act=act, number=order.number if order else claim.number)


def _open(claim: Claim, method: str | set[str]) -> None:
    methods = {method} if isinstance(method, str) else method
    if claim.state != "open":
        raise errors.SettlementInvalid(f"claim {claim.number} is {claim.state}",
                                       hint="Only an open claim can be settled.",
                                       claim=claim.number, claim_state=claim.state)
    if claim.method not in methods:
        raise errors.SettlementInvalid(
            f"claim {claim.number} is a {claim.method} claim, not {' or '.join(sorted(methods))}",
            hint={"cash": "Pay it with `acsa settle pay`.",
                  "rik": "Return the items with `acsa settle return`.",
                  "eve": "Provide the equal-value service with `acsa settle exchange`."
                  }[claim.method], claim=claim.number, method=claim.method)


def _refresh_overdue(session: Session, order: Order) -> None:
    """An order is overdue while one of its open claims is."""
    if order.overdue:
        session.flush()
        order.overdue = session.scalar(select(Claim.id).where(
            Claim.order_id == order.id, Claim.state == "open", Claim.overdue.is_(True))
            .limit(1)) is not None


def _record(session: Session, claim: Claim, agreement: Agreement, *, kind: str, on: dt.date,
            official: Official | None, postings: list[books.Posting], memo: str,
            **fields: object) -> SettlementRecord:
    order = session.get(Order, claim.order_id)
    assert order is not None
    if on < claim.issued_on:
        raise errors.InvalidInput(f"{kind} dated {on} is before the claim was issued "
                                  f"({claim.issued_on})", field="on")
    record = SettlementRecord(claim_id=claim.id, kind=kind, settled_on=on,
                              recorded_by_id=official.id if official else None,
                              recorded_at=utcnow(), **fields)
    session.add(record)
    session.flush()
    # the settlements as stored (the new one too, with its values as the database gives them
    # back); the claim's own columns were loaded locked and flushed, so they are current
    session.refresh(claim, ["settlements"])
    left = outstanding(claim)
    if left.minor == 0 and (left.quantity is None or left.quantity == 0) and kind != "conversion":
        claim.state, claim.settled_on, claim.overdue = "settled", on, False
    if kind != "conversion":  # a conversion keeps it: the overdue obligation is now cash
        _refresh_overdue(session, order)
    line = session.get(OrderLine, claim.line_id) if claim.line_id else None
    ledger.post(session, agreement=agreement, kind=kind, posted_on=on, postings=postings,
                memo=memo, order_id=order.id, claim_id=claim.id, activity_id=order.activity_id,
                category=claim.category, line_kind=line.kind if line else None)
    audit.append(session, party=official.party_code if official else "",
                 actor=official.code if official else "system", action=f"claim.{kind}",
                 subject=order.number, order_hash=order.content_hash,
                 payload={"claim": claim.number, "on": on, "memo": memo,
                          "outstanding": claim_view(claim)["outstanding"],
                          **{k: str(v) for k, v in fields.items() if v is not None}})
    refresh_order_state(session, order)
    return record


def pay(session: Session, *, claim_ref: str, by: str, on: dt.date, amount: money.Money,
        reference: str = "") -> SettlementRecord:
    claim = get_claim(session, claim_ref, "cash")
    _open(claim, "cash")
    _check_not_in_proposed_offset(session, claim, "paid")
    official = _finance(session, by, claim.debtor_party, on, "pay a bill")
    _check_not_receiver(session, claim, official, "pay")
    agreement = agreements.get(session, claim.agreement_code)
    if amount.minor <= 0:
        raise errors.InvalidAmount("a payment must be positive", field="amount")
    money.storable(amount, field="amount", what="the payment")
    longest = SettlementRecord.__table__.c.reference.type.length  # type: ignore[attr-defined]
    if len(reference) > longest:
        raise errors.InvalidInput(
            f"reference: {len(reference)} characters, at most {longest}", field="reference",
            hint="Give the transfer's number, not its whole advice.")
    conv = rates.conversion(session, agreement, amount.currency, claim.currency, on)
    applied = conv.apply(amount, claim.currency)
    if applied.minor <= 0:
        raise errors.InvalidAmount(
            f"a payment of {amount} is worth {applied} at {format(conv.rate, 'f')}: less than "
            f"one minor unit of {claim.currency}, so it would settle nothing of {claim.number}",
            field="amount", hint=f"Pay at least {money.Money(1, claim.currency)} worth "
            f"(or pay in {claim.currency}).")
    left = outstanding(claim).minor
    if applied.minor > left:
        raise errors.SettlementInvalid(
            f"payment of {amount}{' = ' + str(applied) if conv.rate_id else ''} is more than the "
            f"{money.Money(left, claim.currency)} outstanding on {claim.number}", field="amount",
            hint="Pay at most the amount outstanding.", claim=claim.number,
            outstanding=str(money.Money(left, claim.currency)))
    c, d = claim.creditor_party, claim.debtor_party
    tendered = (amount.currency, amount.minor)
    owed = (claim.currency, applied.minor)
    postings = (books.transfer(c, d, books.CASH, books.receivable("cash"), tendered, owed)
                + books.transfer(d, c, books.payable("cash"), books.CASH, owed, tendered))
    return _record(session, claim, agreement, kind="payment", on=on, official=official,
                   postings=postings, memo=f"{claim.number}: paid {amount}",
                   applied_minor=applied.minor, tendered_minor=amount.minor,
                   tendered_currency=amount.currency, rate_id=conv.rate_id,
                   rate=format(conv.rate, "f") if conv.rate_id else None, reference=reference)


def return_in_kind(session: Session, *, claim_ref: str, by: str, on: dt.date,
                   quantity: Decimal, unit: str, stock_number: str = "", category: str = "",
                   description: str = "") -> SettlementRecord:
    claim = get_claim(session, claim_ref, "rik")
    _open(claim, "rik")
    _check_not_in_proposed_offset(session, claim, "returned in kind")
    official = parties.get_official(session, by)
    check_authority(official_code=official.code, official_role=official.role,
                    official_party=official.party_code, valid_from=official.valid_from,
                    valid_to=official.valid_to, roles={Role.FINANCE, Role.SUPPLYING},
                    party=claim.debtor_party, on=on, action="return items in kind")
    _check_not_receiver(session, claim, official, "settle")
    agreement = agreements.get(session, claim.agreement_code)
    _check_in_time(claim, agreement, on, "returned in kind")
    if claim.stock_number and stock_number != claim.stock_number:
        raise errors.SettlementInvalid(
            f"claim {claim.number} is for stock number {claim.stock_number}; a return in kind "
            f"must be the same item or type ({stock_number or 'none given'})",
            field="stock_number", hint=f"Give --stock-number {claim.stock_number}.",
            claim=claim.number)
    if not claim.stock_number and category and category != claim.category:
        raise errors.SettlementInvalid(f"claim {claim.number} is for {claim.category}, "
                                       f"not {category}", field="category", claim=claim.number)
    qty = units.parse_quantity(quantity)
    in_claim_unit = units.convert(qty, unit, claim.unit or unit)
    if in_claim_unit <= 0:
        raise errors.InvalidAmount(
            f"returning {qty} {unit} is {in_claim_unit} {claim.unit}: less than the "
            f"thousandth of a {claim.unit} in which {claim.number} is counted, so it would "
            "return nothing", field="quantity",
            hint=f"Return at least 0.001 {claim.unit} (or give the quantity in {claim.unit}).")
    before = outstanding(claim)
    left = before.quantity or Decimal(0)
    if in_claim_unit > left:
        raise errors.SettlementInvalid(
            f"returning {qty} {unit} = {in_claim_unit} {claim.unit} is more than the {left} "
            f"{claim.unit} outstanding on {claim.number}", field="quantity",
            claim=claim.number, outstanding_quantity=f"{left} {claim.unit}")
    c, d = claim.creditor_party, claim.debtor_party
    leg = _claim_leg(claim, quantity=in_claim_unit)
    postings = (books.transfer(c, d, books.SETTLED_IN_KIND_IN, books.receivable("rik"), leg)
                + books.transfer(d, c, books.payable("rik"), books.SETTLED_IN_KIND_OUT, leg))
    # the value this return settles: the value outstanding before it less the value
    # outstanding after it, so that the parts of a claim always sum to its value
    value_after = money.Money(claim.amount_minor, claim.currency).times(
        (left - in_claim_unit) / claim.quantity) if claim.quantity else \
        money.Money.zero(claim.currency)
    value_part = money.Money(before.minor - value_after.minor, claim.currency)
    return _record(session, claim, agreement, kind="return", on=on, official=official,
                   postings=postings,
                   memo=f"{claim.number}: returned {qty} {unit} ({in_claim_unit} {claim.unit})",
                   applied_minor=value_part.minor, applied_quantity=in_claim_unit,
                   tendered_quantity=qty, tendered_unit=unit, description=description)


def exchange(session: Session, *, claim_ref: str, by: str, on: dt.date, value: money.Money,
             category: str, description: str) -> SettlementRecord:
    claim = get_claim(session, claim_ref, "eve")
    _open(claim, "eve")
    _check_not_in_proposed_offset(session, claim, "exchanged")
    official = parties.get_official(session, by)
    check_authority(official_code=official.code, official_role=official.role,
                    official_party=official.party_code, valid_from=official.valid_from,
                    valid_to=official.valid_to, roles={Role.FINANCE, Role.SUPPLYING},
                    party=claim.debtor_party, on=on, action="provide an equal-value exchange")
    _check_not_receiver(session, claim, official, "settle")
    agreement = agreements.get(session, claim.agreement_code)
    _check_in_time(claim, agreement, on, "settled by an exchange")
    if category != claim.category:
        raise errors.SettlementInvalid(
            f"claim {claim.number} is for {claim.category} services; an equal-value exchange "
            f"must be a service of the same type, not {category}", field="category",
            claim=claim.number)
    if not description.strip():
        raise errors.InvalidInput("describe the service provided in exchange",
                                  field="description")
    if value.minor <= 0:
        raise errors.InvalidAmount("an exchange must have a positive value", field="value")
    money.storable(value, field="value", what="the exchange's value")
    conv = rates.conversion(session, agreement, value.currency, claim.currency, on)
    applied = conv.apply(value, claim.currency)
    if applied.minor <= 0:
        raise errors.InvalidAmount(
            f"an exchange valued {value} is worth {applied} at {format(conv.rate, 'f')}: less "
            f"than one minor unit of {claim.currency}, so it would settle nothing of "
            f"{claim.number}", field="value", hint=f"Give the service's value (at least "
            f"{money.Money(1, claim.currency)} worth, or in {claim.currency}).")
    left = outstanding(claim).minor
    if applied.minor > left:
        raise errors.SettlementInvalid(
            f"exchange worth {applied} is more than the {money.Money(left, claim.currency)} "
            f"outstanding on {claim.number}", field="value", claim=claim.number,
            outstanding=str(money.Money(left, claim.currency)))
    c, d = claim.creditor_party, claim.debtor_party
    leg = (claim.currency, applied.minor)
    postings = (books.transfer(c, d, books.SETTLED_IN_KIND_IN, books.receivable("eve"), leg)
                + books.transfer(d, c, books.payable("eve"), books.SETTLED_IN_KIND_OUT, leg))
    return _record(session, claim, agreement, kind="exchange", on=on, official=official,
                   postings=postings, memo=f"{claim.number}: exchanged {description} ({value})",
                   applied_minor=applied.minor, tendered_minor=value.minor,
                   tendered_currency=value.currency, rate_id=conv.rate_id,
                   rate=format(conv.rate, "f") if conv.rate_id else None,
                   description=description)


# --- overdue and conversion ----------------------------------------------------------------
def _check_in_time(claim: Claim, agreement: Agreement, on: dt.date, act: str) -> None:
    """Where an overdue in-kind obligation becomes a cash debt, it is one from its conversion
    date, whether or not a deadline run has recorded the conversion yet: a return or exchange
    dated then or later is refused, so that every node converts the same amount on the same
    day (docs/domain-decisions.md, "Overdue in kind")."""
    if agreement.settlement.overdue_in_kind != "convert_to_cash":
        return
    converts_on = conversion_date(claim)
    if on >= converts_on:
        raise errors.SettlementInvalid(
            f"claim {claim.number} was due by {claim.due_on}; under {agreement.code} what is "
            f"left of it becomes a cash debt on {converts_on}, so it cannot be {act} on {on}",
            field="on", hint="Run `acsa deadlines` to convert it into a cash claim, then pay "
            "that claim (`acsa settle pay`).", claim=claim.number,
            due_on=claim.due_on.isoformat(), converts_on=converts_on.isoformat())


def conversion_date(claim: Claim) -> dt.date:
    """The day an in-kind obligation not met in time becomes a cash debt: the day after its
    deadline (or its issue, if it was issued later). A fact of the claim, not of the day a node
    happens to run its deadlines, so every node derives the same conversion (docs/sync.md)."""
    return max(claim.due_on + dt.timedelta(days=1), claim.issued_on)


def convert_overdue_return_to_cash(session: Session, *, claim: Claim,
                                   on: dt.date | None = None) -> Claim | None:
    """An in-kind (RIK or EVE) obligation not met by its deadline becomes a cash debt for what
    is left, valued at the order's unit price; recorded with its own date (the day after the
    deadline, `conversion_date`, whatever the day of the run `on`) and rate. What is left may
    be worth less than one minor unit at the order price (a few thousandths of a unit left of a
    return in kind): the obligation is then settled by the conversion and no cash claim of 0,
    which nothing could pay, is made (None is returned)."""
    _check_not_in_proposed_offset(session, claim, "converted to cash")
    agreement = agreements.get(session, claim.agreement_code)
    on = conversion_date(claim)
    left = outstanding(claim)
    order = session.get(Order, claim.order_id)
    assert order is not None
    c, d = claim.creditor_party, claim.debtor_party
    old_com, old_amt = _claim_leg(claim, amount_minor=left.minor, quantity=left.quantity)
    if left.minor <= 0:
        # nothing of value left: the residue leaves the in-kind claim through the conversion
        # account, and no cash debt is made
        postings = (books.transfer(c, d, books.CONVERSION, books.receivable(claim.method),
                                   (old_com, old_amt))
                    + books.transfer(d, c, books.payable(claim.method), books.CONVERSION,
                                     (old_com, old_amt)))
        _record(session, claim, agreement, kind="conversion", on=on, official=None,
                postings=postings, memo=f"{claim.number}: overdue {claim.method} converted to "
                f"cash: what is left is worth less than {money.Money(1, claim.currency)}, "
                "nothing to pay", applied_minor=0, applied_quantity=left.quantity, rate="1",
                description=f"valued at the order unit price in {claim.currency}: worth less "
                "than one minor unit; settled, no cash claim")
        claim.state, claim.settled_on, claim.overdue = "settled", on, False
        _refresh_overdue(session, order)
        refresh_order_state(session, order)
        return None
    cash = session.scalar(select(func.count()).select_from(Claim)
                          .where(Claim.order_id == claim.order_id)) or 0
    new = Claim(number=f"{order.number}-C{cash + 1}", order_id=claim.order_id,
                receipt_id=claim.receipt_id, line_id=claim.line_id, converted_from_id=claim.id,
                agreement_code=claim.agreement_code, method="cash",
                creditor_party=claim.creditor_party, debtor_party=claim.debtor_party,
                currency=claim.currency, amount_minor=left.minor,
                item=f"cash for overdue {claim.method} {claim.number}", category=claim.category,
                stock_number=claim.stock_number, commodity=claim.currency,
                delivered_on=claim.delivered_on, issued_on=on,
                due_on=on + dt.timedelta(days=agreement.settlement.days_to_pay), state="open")
    session.add(new)
    session.flush()
    cur, amt = claim.currency, left.minor
    P = books.Posting
    # both books move the debt from the in-kind claim to the new cash claim, through the
    # conversion account; the cash postings belong to the new claim
    postings = [
        P(c, books.receivable("cash"), d, cur, amt, claim_id=new.id),
        P(c, books.CONVERSION, d, cur, -amt),
        P(c, books.CONVERSION, d, old_com, old_amt),
        P(c, books.receivable(claim.method), d, old_com, -old_amt),
        P(d, books.payable(claim.method), c, old_com, old_amt),
        P(d, books.CONVERSION, c, old_com, -old_amt),
        P(d, books.CONVERSION, c, cur, amt),
        P(d, books.payable("cash"), c, cur, -amt, claim_id=new.id),
    ]
    _record(session, claim, agreement, kind="conversion", on=on, official=None,
            postings=postings, memo=f"{claim.number}: overdue {claim.method} converted to cash "
            f"claim {new.number} of {money.Money(left.minor, claim.currency)}",
            applied_minor=left.minor, applied_quantity=left.quantity, rate="1",
            description=f"valued at the order unit price in {claim.currency}; became {new.number}")
    claim.state, claim.settled_on = "converted", on
    return new


@dataclass
class DeadlineRun:
    newly_overdue: list[str]
    converted: list[tuple[str, str]]
    due_soon: list[tuple[str, dt.date]]
    offset_eligible: list[str]


def _flag_overdue(session: Session, claim: Claim, as_of: dt.date, run: DeadlineRun) -> None:
    if claim.overdue:
        return
    order = session.get(Order, claim.order_id)
    assert order is not None
    claim.overdue = True
    order.overdue = True
    run.newly_overdue.append(claim.number)
    audit.append(session, party="", actor="system", action="claim.overdue",
                 subject=order.number, order_hash=order.content_hash,
                 payload={"claim": claim.number, "due_on": claim.due_on, "as_of": as_of})


def run_deadlines(session: Session, *, as_of: dt.date, soon_days: int = 30,
                  party: str | None = None) -> DeadlineRun:
    """Mark open claims past their deadline overdue and apply each agreement's rule for an
    overdue return in kind. With `party`, only the claims that party is creditor or debtor of
    (a party's own run never touches claims between two other parties). A conversion is dated
    by the claim (`conversion_date`), not by `as_of`, which only decides whether it is due."""
    run = DeadlineRun([], [], [], [])
    stmt = select(Claim).where(Claim.state == "open")
    if party is not None:
        stmt = stmt.where(_claims_of_party(party))
    open_claims = list(session.scalars(stmt.order_by(Claim.due_on, Claim.id)))
    lock_orders(session, {c.order_id for c in open_claims})
    for listed in open_claims:
        claim = get_claim(session, listed.number)  # lock it, and see a settlement just made
        if claim.state != "open":
            continue
        agreement = agreements.get(session, claim.agreement_code)
        s = agreement.settlement
        debt: Claim | None = claim  # the open claim carrying the debt after this run
        if claim.due_on < as_of:
            _flag_overdue(session, claim, as_of, run)
            if claim.method in ("rik", "eve") and s.overdue_in_kind == "convert_to_cash" \
                    and conversion_date(claim) <= as_of:
                debt = convert_overdue_return_to_cash(session, claim=claim, on=as_of)
                if debt is not None:
                    run.converted.append((claim.number, debt.number))
                    if debt.due_on < as_of:  # as a run on each day since would have found
                        _flag_overdue(session, debt, as_of, run)
        elif claim.due_on <= as_of + dt.timedelta(days=soon_days):
            run.due_soon.append((claim.number, claim.due_on))
        # offsets net open cash claims: list the one carrying the debt (a converted claim's
        # new cash claim), whatever its own due date
        if debt is not None and debt.method == "cash" and debt.state == "open" and \
                s.offset == "after_months" and s.offset_after_months and \
                add_months(debt.delivered_on, s.offset_after_months) < as_of:
            run.offset_eligible.append(debt.number)
    session.flush()
    return run


# --- offsets -------------------------------------------------------------------------------
def propose_offset(session: Session, *, agreement_code: str, by: str, on: dt.date,
                   currency: str | None = None, note: str = "", number: str | None = None,
                   lines: Sequence[OffsetLine] | None = None,
                   withdrawn: str | None = None) -> Offset:
    """Net the open cash claims the two parties hold against each other, oldest first, up to
    the smaller of the two totals (converted at the agreement's rate policy).

    `number` and `lines` are given only when applying the proposing party's own proposal from
    its node (sync, docs/sync.md): its number, and the claims and amounts it named, each
    checked against our book. `withdrawn` records such a proposal as withdrawn from the start,
    for that reason: it lost to a proposal made at the same time by the other party."""
    agreement = agreements.get(session, agreement_code)
    official = parties.get_official(session, by)
    if official.party_code not in agreement.parties:
        raise errors.WrongParty(f"{official.code} is not an official of a party to "
                                f"{agreement.code}", field="by")
    _finance(session, by, official.party_code, on, "propose an offset")
    me, other = official.party_code, agreement.other_party(official.party_code)
    currency = money.check_currency((currency or parties.get_party(session, me).currency).upper())
    # one proposal at a time per agreement: queue on the agreement's row
    session.execute(select(AgreementRecord.code).where(AgreementRecord.code == agreement.code)
                    .with_for_update())
    pending = session.scalar(select(Offset).where(Offset.agreement_code == agreement.code,
                                                  Offset.state == "proposed"))
    if pending and withdrawn is None:
        raise errors.AlreadyExists(f"offset {pending.number} is still awaiting approval",
                                   hint="Approve or withdraw it first.")
    number = _offset_number(session, agreement, me, number)
    if lines is None:
        amount, items = _oldest_first(session, agreement, me, other, currency, on)
    else:
        amount, items = _named_items(session, agreement, number, me, other, currency, on,
                                     lines)
    offset = Offset(number=number, agreement_code=agreement.code,
                    proposing_party=me, approving_party=other, currency=currency,
                    amount_minor=amount, offset_on=on,
                    state="proposed" if withdrawn is None else "withdrawn",
                    proposed_by_id=official.id, note=note, items=items)
    session.add(offset)
    session.flush()
    audit.append(session, party=me, actor=official.code, action="offset.proposed",
                 subject=f"offset:{offset.number}",
                 payload={"amount": str(money.Money(amount, currency)), "on": on,
                          "items": [{"claim_id": i.claim_id, "applied_minor": i.applied_minor}
                                    for i in offset.items]})
    if withdrawn is not None:
        _withdrawn(session, offset, withdrawn)
    return offset


@dataclass(frozen=True)
class OffsetLine:
    """One claim of an offset as the proposing party's node names it (claims are numbered
    alike on both nodes): the amount applied in the claim's currency, and its value in the
    offset's currency."""

    claim: str
    applied_minor: int
    value_minor: int


def _offset_number(session: Session, agreement: Agreement, party: str,
                   number: str | None) -> str:
    """`<agreement>-<proposing party>-OFS-<n>` on a party's node, so that the two nodes'
    proposals never take the same number (`n` counts the party's own proposals); a partner's
    proposal keeps the number its node gave it. A shared book keeps `<agreement>-OFS-<n>`."""
    from acsa.sync import node  # late: sync imports the services

    prefix = f"{agreement.code}-{party}-OFS-"
    if number is not None:
        tail = number[len(prefix):]
        if not number.startswith(prefix) or not tail.isdigit():
            raise errors.InvalidInput(f"offset number {number} is not one of {party}'s numbers "
                                      f"under {agreement.code}", field="number")
        if session.scalar(select(Offset.id).where(Offset.number == number)) is not None:
            raise errors.AlreadyExists(f"offset {number} already exists", field="number")
        return number
    if node.own_party(session) is None:
        prefix = f"{agreement.code}-OFS-"
        mine = Offset.agreement_code == agreement.code
    else:
        mine = Offset.number.startswith(prefix, autoescape=True)
    count = session.scalar(select(func.count()).select_from(Offset).where(mine)) or 0
    return f"{prefix}{count + 1:04d}"


Sides = dict[str, list[tuple[Claim, int, int, rates.Conversion]]]


def _open_cash(session: Session, agreement: Agreement, currency: str, on: dt.date,
               parties_: tuple[str, str]) -> Sides:
    """Per creditor, the open cash claims under the agreement issued by `on`, oldest first:
    (claim, outstanding in its currency, its value in `currency`, the conversion)."""
    sides: Sides = {p: [] for p in parties_}
    for claim in session.scalars(select(Claim).where(
            Claim.agreement_code == agreement.code, Claim.state == "open",
            Claim.method == "cash").order_by(Claim.delivered_on, Claim.id)):
        if claim.issued_on > on:
            continue
        left = outstanding(claim).minor
        conv = rates.conversion(session, agreement, claim.currency, currency, on)
        value = money.storable(conv.apply(money.Money(left, claim.currency), currency),
                               field="currency",
                               what=f"claim {claim.number} in {currency}").minor
        sides[claim.creditor_party].append((claim, left, value, conv))
    return sides


def _take(left: int, value: int, take_value: int, conv: rates.Conversion, currency: str,
          claim_currency: str) -> int:
    """What netting `take_value` (in the offset currency) of a claim worth `value` with `left`
    outstanding applies to it, in its own currency."""
    take = left if take_value == value else conv.back(money.Money(take_value, currency),
                                                      claim_currency).minor
    return min(take, left)


def _oldest_first(session: Session, agreement: Agreement, me: str, other: str, currency: str,
                  on: dt.date) -> tuple[int, list[OffsetItem]]:
    sides = _open_cash(session, agreement, currency, on, (me, other))
    owed_to_me = sum(v for _, _, v, _ in sides[me])
    owed_to_other = sum(v for _, _, v, _ in sides[other])
    amount = min(owed_to_me, owed_to_other)
    while amount > 0:
        items, short = _net(sides, (me, other), amount, currency)
        if not short:
            return amount, items
        # a part of a claim worth less than half its minor unit would net that value
        # against nothing of it: net that much less on both sides
        amount -= short
    raise errors.SettlementInvalid(
        f"nothing to offset under {agreement.code}: open cash claims are "
        f"{money.Money(owed_to_me, currency)} owed to {me} and "
        f"{money.Money(owed_to_other, currency)} owed to {other}",
        hint="An offset needs open cash claims in both directions. Each must be worth at "
             "least one minor unit of its currency.")


def _net(sides: Sides, parties_: tuple[str, str], amount: int,
         currency: str) -> tuple[list[OffsetItem], int]:
    """The items netting `amount` (in the offset currency) of each side's claims, oldest
    first, and how much of it could not be netted because the part of a claim it came to
    applies nothing to the claim in the claim's currency (0: all of it was netted)."""
    items: list[OffsetItem] = []
    short = 0
    for side in parties_:
        remaining = amount
        for claim, left, value, conv in sides[side]:
            if remaining <= 0:
                break
            if value <= 0:  # worth nothing in the offset currency: nothing to net against it
                continue
            take_value = min(value, remaining)
            applied = _take(left, value, take_value, conv, currency, claim.currency)
            if applied <= 0:
                short = max(short, take_value)
                break
            items.append(OffsetItem(
                claim_id=claim.id, value_minor=take_value, rate=format(conv.rate, "f"),
                applied_minor=applied, rate_id=conv.rate_id))
            remaining -= take_value
    return items, short


def _named_items(session: Session, agreement: Agreement, number: str, me: str, other: str,
                 currency: str, on: dt.date,
                 lines: Sequence[OffsetLine]) -> tuple[int, list[OffsetItem]]:
    """The items of a proposal as its proposer named them, each claim checked against our
    book: open, cash, under the agreement, issued by the offset's date, and the amounts those
    our book and rates give; the two sides' values must be equal."""
    sides = _open_cash(session, agreement, currency, on, (me, other))
    held = {c.number: (c, left, value, conv) for side in sides.values()
            for c, left, value, conv in side}
    totals = {me: 0, other: 0}
    items: list[OffsetItem] = []
    named: set[str] = set()
    for line in lines:
        if line.claim not in held:
            found = session.scalar(select(Claim).where(Claim.number == line.claim))
            what = ("is not in our book" if found is None else "it names twice"
                    if line.claim in named else
                    f"is not an open cash claim under {agreement.code} issued by {on} here "
                    f"({found.state} {found.method} claim under {found.agreement_code}, "
                    f"issued {found.issued_on})")
            raise errors.SettlementInvalid(
                f"offset {number} names claim {line.claim}, which {what}", field="items",
                hint="Reconcile with the partner (`acsa reconcile`) to find the difference.")
        claim, left, value, conv = held.pop(line.claim)
        named.add(claim.number)
        applied = _take(left, value, line.value_minor, conv, currency, claim.currency)
        if not 0 < line.value_minor <= value or line.applied_minor != applied or applied <= 0:
            raise errors.SettlementInvalid(
                f"offset {number} nets {money.Money(line.applied_minor, claim.currency)} of "
                f"claim {claim.number} worth {money.Money(line.value_minor, currency)}; our "
                f"book has {money.Money(left, claim.currency)} outstanding on it, worth "
                f"{money.Money(value, currency)} at {format(conv.rate, 'f')}, so that value "
                f"nets {money.Money(applied, claim.currency)}", field="items",
                hint="Reconcile with the partner (`acsa reconcile`) to find the difference.")
        totals[claim.creditor_party] += line.value_minor
        items.append(OffsetItem(claim_id=claim.id, applied_minor=applied,
                                value_minor=line.value_minor, rate=format(conv.rate, "f"),
                                rate_id=conv.rate_id))
    if totals[me] != totals[other] or totals[me] <= 0:
        raise errors.SettlementInvalid(
            f"offset {number} does not balance: it nets {money.Money(totals[me], currency)} "
            f"owed to {me} against {money.Money(totals[other], currency)} owed to {other}",
            field="items")
    return totals[me], items


def withdraw_offset(session: Session, *, number: str, reason: str, by: str | None = None,
                    on: dt.date | None = None) -> Offset:
    """Withdraw a proposed offset: nothing was netted, so nothing is posted, and the claims it
    names may be settled again. `by`: a finance official of the proposing party withdraws it
    on `on`, for `reason` (required); the event travels to the partner (docs/sync.md). Without
    `by`, sync withdraws our proposal when the other party's, made at the same time, stands
    instead."""
    reason = reason.strip()
    if by is not None and (not reason or on is None):
        raise errors.InvalidInput(f"withdrawing offset {number} needs a reason and a date",
                                  field="reason" if not reason else "on",
                                  hint="Say why the offset is withdrawn (--reason TEXT).")
    offset = session.scalar(select(Offset).where(Offset.number == number).with_for_update())
    if offset is None:
        raise errors.NotFound(f"no offset {number!r}", field="offset")
    if offset.state != "proposed":
        raise errors.OffsetNotProposed(
            f"offset {number} is {offset.state}; only an offset awaiting approval can be "
            "withdrawn", field="offset", offset=number, offset_state=offset.state)
    official = None
    if by is not None:
        assert on is not None
        _not_before_proposal(offset, on, "withdrawn")
        official = _finance(session, by, offset.proposing_party, on, "withdraw an offset")
    offset.state = "withdrawn"
    session.flush()
    _withdrawn(session, offset, reason, official, on)
    return offset


def _not_before_proposal(offset: Offset, on: dt.date, act: str) -> None:
    if on < offset.offset_on:
        raise errors.InvalidInput(
            f"offset {offset.number} was proposed on {offset.offset_on}; it cannot be {act} "
            f"on {on}, before it existed", field="on",
            hint=f"Give a date on or after {offset.offset_on}.")


def _withdrawn(session: Session, offset: Offset, reason: str, official: Official | None = None,
               on: dt.date | None = None) -> None:
    if official is None:
        audit.append(session, party="", actor="system", action="offset.withdrawn",
                     subject=f"offset:{offset.number}", payload={"reason": reason})
        return
    audit.append(session, party=official.party_code, actor=official.code,
                 action="offset.withdrawn", subject=f"offset:{offset.number}",
                 payload={"reason": reason, "on": on})


def _check_not_in_proposed_offset(session: Session, claim: Claim, act: str) -> None:
    """A claim named by an offset awaiting approval stays as the offset found it until the
    offset is approved or withdrawn; settling it another way meanwhile would only make the
    offset stale at approval. A partner's settlement applied by sync is not refused: made on
    its node before it heard of our proposal, it moved money there (docs/sync.md)."""
    from acsa.sync.capture import APPLYING  # late: sync imports the services

    if session.info.get(APPLYING):
        return
    offset = session.scalar(select(Offset).join(OffsetItem, OffsetItem.offset_id == Offset.id)
                            .where(Offset.agreement_code == claim.agreement_code,
                                   Offset.state == "proposed", OffsetItem.claim_id == claim.id)
                            .limit(1))
    if offset is not None:
        raise errors.ClaimInProposedOffset(
            f"claim {claim.number} is named in offset {offset.number}, which awaits approval "
            f"by {offset.approving_party}; it cannot be {act} meanwhile", field="claim",
            hint=f"Withdraw offset {offset.number} first (a finance official of "
            f"{offset.proposing_party}: `acsa settle offset --withdraw {offset.number} --by "
            f"OFFICIAL --reason TEXT`), or wait for {offset.approving_party} to approve it.",
            claim=claim.number, offset=offset.number, proposing_party=offset.proposing_party,
            approving_party=offset.approving_party)


def approve_offset(session: Session, *, number: str, by: str, on: dt.date) -> Offset:
    offset = session.scalar(select(Offset).where(Offset.number == number).with_for_update())
    if offset is None:
        raise errors.NotFound(f"no offset {number!r}", field="offset")
    if offset.state != "proposed":
        raise errors.SettlementInvalid(f"offset {number} is {offset.state}")
    _not_before_proposal(offset, on, "approved")
    official = _finance(session, by, offset.approving_party, on, "approve an offset")
    proposer = session.get(Official, offset.proposed_by_id)
    check_separation(first_person=proposer.person if proposer else None,
                     second_person=official.person, first_act="proposed",
                     second_act="approve", number=number)
    agreement = agreements.get(session, offset.agreement_code)
    lock_orders(session, set(session.scalars(
        select(Claim.order_id).where(Claim.id.in_([i.claim_id for i in offset.items])))))
    for item in offset.items:
        listed = session.get(Claim, item.claim_id)
        assert listed is not None
        claim = get_claim(session, listed.number)  # lock the order, then the claim
        if claim.state != "open" or outstanding(claim).minor < item.applied_minor:
            raise errors.StaleVersion(
                f"claim {claim.number} changed since offset {number} was proposed",
                hint="Propose a new offset.")
        c, d = claim.creditor_party, claim.debtor_party
        leg = (claim.currency, item.applied_minor)
        # each book nets its payable to, and receivable from, the other party
        value = (offset.currency, item.value_minor)
        postings = (books.transfer(c, d, books.OFFSET, books.receivable("cash"), value, leg)
                    + books.transfer(d, c, books.payable("cash"), books.OFFSET, leg, value))
        _record(session, claim, agreement, kind="offset", on=on, official=official,
                postings=postings, memo=f"{claim.number}: offset by {number}",
                applied_minor=item.applied_minor, offset_id=offset.id, rate=item.rate,
                rate_id=item.rate_id, reference=number)
    offset.state, offset.approved_by_id = "approved", official.id
    session.flush()
    audit.append(session, party=official.party_code, actor=official.code,
                 action="offset.approved", subject=f"offset:{number}",
                 payload={"on": on, "amount": str(money.Money(offset.amount_minor,
                                                              offset.currency))})
    return offset


# --- ceilings ------------------------------------------------------------------------------
def check_ceilings(session: Session, agreement: Agreement, order: Order,
                   on: dt.date) -> list[str]:
    """Refuse an acceptance that would breach a ceiling on the requesting party's acquisitions,
    or whose lines are worth more than an amount can be (money.MAX_MINOR); warn once use
    passes the ceiling's warning threshold."""
    from acsa.ledger.reports import ceiling_use  # late: reports imports orders

    # the values acceptance binds both sides to, and the claims and books will store: each
    # line's and the order's must fit, refused here before anyone is bound
    order_total = money.Money.zero(order.currency)
    for line in sorted(order.lines, key=lambda ln: ln.line_no):
        order_total = order_total + _line_value(line, line.quantity,
                                                field=f"lines[{line.line_no}].quantity")
    money.storable(order_total, field="lines", what=f"the total of {order.number}")
    warnings: list[str] = []
    if any(c.party == order.requesting_party for c in agreement.ceilings):
        # acceptances under one agreement's ceilings queue, so two cannot breach it together
        session.execute(select(AgreementRecord.code)
                        .where(AgreementRecord.code == agreement.code).with_for_update())
    for ceiling, use in ceiling_use(session, agreement, party=order.requesting_party,
                                    fiscal_year=agreement.fiscal_year(order.requesting_party,
                                                                      order.order_on),
                                    extra=order):
        for part in ("supplies", "services", "total"):
            cap = getattr(ceiling, part)
            if cap is None:
                continue
            limit = money.Money.of(cap, ceiling.currency)
            used = use[part]
            if used > limit:
                raise errors.CeilingExceeded(
                    f"accepting {order.number} would bring {order.requesting_party}'s FY "
                    f"{part} acquisitions under {agreement.code} to {used}, above the ceiling "
                    f"of {limit}", hint="Settle or cancel other orders, or split the support "
                    "across fiscal years.", field="order", order=order.number,
                    party=order.requesting_party, part=part, agreement=agreement.code,
                    used=str(used), ceiling=str(limit))
            if used.minor * 100 >= limit.minor * ceiling.warn_at_percent:
                warnings.append(f"{part} ceiling {limit}: {used} used "
                                f"({used.minor * 100 // limit.minor}%) after {order.number}")
    return warnings


# --- reading, scoped to a party ------------------------------------------------------------
CLAIM_SORTS = {"number": Claim.number, "due_on": Claim.due_on, "issued_on": Claim.issued_on,
               "delivered_on": Claim.delivered_on, "state": Claim.state}


@dataclass(frozen=True)
class ClaimQuery:
    """Filters of the claims register; every one optional."""

    state: str | None = None
    agreement: str | None = None
    debtor: str | None = None
    creditor: str | None = None
    overdue: bool | None = None
    method: str | None = None
    order: str | None = None
    sort: str = "due_on"
    descending: bool = False


def _claims_of_party(party: str) -> ColumnElement[bool]:
    return or_(Claim.creditor_party == party, Claim.debtor_party == party)


def search_claims(session: Session, q: ClaimQuery, *, viewer_party: str | None = None,
                  offset: int = 0, limit: int | None = None) -> tuple[list[Claim], int]:
    """A page of claims and the number matching in all. With `viewer_party`, only claims that
    party is creditor or debtor of."""
    if q.sort not in CLAIM_SORTS:
        raise errors.InvalidInput(f"cannot sort claims by {q.sort!r}", field="sort",
                                  hint=f"Sort by one of: {', '.join(CLAIM_SORTS)}.")
    conds: list[ColumnElement[bool]] = []
    if viewer_party is not None:
        conds.append(_claims_of_party(viewer_party))
    if q.state:
        conds.append(Claim.state == q.state)
    if q.agreement:
        conds.append(Claim.agreement_code == q.agreement.upper())
    if q.debtor:
        conds.append(Claim.debtor_party == q.debtor.upper())
    if q.creditor:
        conds.append(Claim.creditor_party == q.creditor.upper())
    if q.overdue is not None:
        conds.append(Claim.overdue.is_(q.overdue))
    if q.method:
        conds.append(Claim.method == q.method)
    if q.order:
        conds.append(Claim.order_id.in_(select(Order.id).where(Order.number == q.order)))
    key = CLAIM_SORTS[q.sort].desc() if q.descending else CLAIM_SORTS[q.sort]
    return paging.page(session, Claim, conds, (key, Claim.id), offset=offset, limit=limit)


def find_claim(session: Session, number: str, *, viewer_party: str | None = None) -> Claim:
    """The claim with exactly this number. With `viewer_party`, a claim that party is neither
    creditor nor debtor of is reported as not found, exactly like one that does not exist."""
    stmt = select(Claim).where(Claim.number == number)
    if viewer_party is not None:
        stmt = stmt.where(_claims_of_party(viewer_party))
    claim = session.scalar(stmt)
    if claim is None:
        raise errors.NotFound(f"no claim {number!r}", field="number")
    return claim


def _offsets_of_party(party: str) -> ColumnElement[bool]:
    return or_(Offset.proposing_party == party, Offset.approving_party == party)


def search_offsets(session: Session, *, viewer_party: str | None = None,
                   agreement: str | None = None, state: str | None = None,
                   descending: bool = False, offset: int = 0,
                   limit: int | None = None) -> tuple[list[Offset], int]:
    """A page of offsets (by number) and the number matching in all. With `viewer_party`,
    only offsets that party proposed or must approve."""
    conds: list[ColumnElement[bool]] = []
    if viewer_party is not None:
        conds.append(_offsets_of_party(viewer_party))
    if agreement:
        conds.append(Offset.agreement_code == agreement.upper())
    if state:
        conds.append(Offset.state == state)
    key = Offset.number.desc() if descending else Offset.number
    return paging.page(session, Offset, conds, (key, Offset.id), offset=offset, limit=limit)


def find_offset(session: Session, number: str, *, viewer_party: str | None = None) -> Offset:
    """The offset by number; with `viewer_party`, one of other parties is not found."""
    stmt = select(Offset).where(Offset.number == number)
    if viewer_party is not None:
        stmt = stmt.where(_offsets_of_party(viewer_party))
    found = session.scalar(stmt)
    if found is None:
        raise errors.NotFound(f"no offset {number!r}", field="number")
    return found
