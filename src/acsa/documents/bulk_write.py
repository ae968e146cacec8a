"""Writing checked imported orders: drafts and requested orders in bulk, later states through
the services.

Bulk path (draft, requested): one multi-row INSERT (executemany) per table for a batch of
orders, in the caller's transaction: the number counters (one read and one write per agreement,
party and fiscal year), the orders (their ids come back by RETURNING), their lines, their audit
events (chained from the head read under the same lock `audit.service.append` takes) and the
webhook outbox rows of those events. Every value is what the services would have written for
the same order: the same numbering, the same snapshot hashed the same way (`Plan.snapshot`), the
same events with the same payloads, and the version the ORM leaves (2 after creation and its
event, 3 after the request and its event).

Service path (accepted, delivered, received): each order goes through `orders.service`
(create, request, accept, deliver, receive) inside a SAVEPOINT, so a refusal at any step takes
back the whole order and nothing else. These carry signatures of the other party and ledger
postings; they are rarer in a spreadsheet and not worth a second implementation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.audit import chain
from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.documents.bulk_check import ELEMENT_COLUMNS, Plan, Problem
from acsa.orders import domain
from acsa.orders import service as orders
from acsa.orders.domain import State
from acsa.orders.models import Order, OrderCounter, OrderLine
from acsa.webhooks.models import PENDING, WebhookDelivery, WebhookSubscription

AUDIT_LOCK = 7_341_926  # the advisory lock audit.service.append takes on PostgreSQL
VERSION_AFTER = {State.DRAFT.value: 2, State.REQUESTED.value: 3}


def _numbers(session: Session, plans: Sequence[Plan]) -> list[str]:
    """The next numbers of each agreement, party and fiscal year, in file order, with the
    counters moved on by as many: `orders.service._next_number` once per counter."""
    wanted: dict[tuple[str, str, int], int] = {}
    for p in plans:
        key = (p.agreement.code, p.requesting, p.fiscal_year)
        wanted[key] = wanted.get(key, 0) + 1
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    counters = OrderCounter.__table__
    start: dict[tuple[str, str, int], int] = {}
    for (code, party, fy), n in sorted(wanted.items()):
        session.execute(dialect_insert(counters).values(
            agreement_code=code, party_code=party, fiscal_year=fy, last=0)
            .on_conflict_do_nothing())
        where = (counters.c.agreement_code == code, counters.c.party_code == party,
                 counters.c.fiscal_year == fy)
        last = session.execute(select(counters.c.last).where(*where).with_for_update()
                               ).scalar_one()
        session.execute(update(counters).where(*where).values(last=last + n))
        start[(code, party, fy)] = last
    out = []
    for p in plans:
        key = (p.agreement.code, p.requesting, p.fiscal_year)
        start[key] += 1
        out.append(domain.order_number(p.agreement.code, p.requesting, p.fiscal_year,
                                       start[key]))
    return out


def _event(seq: int, prev: str, *, party: str, actor: str, action: str, subject: str,
           order_hash: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One audit event row, made as `audit.service.append` makes it."""
    at = utcnow().isoformat(timespec="microseconds")
    text = chain.canonical_json(payload)
    body = chain.body(seq, at, party, actor, action, subject, order_hash, text)
    return {"seq": seq, "at": at, "party": party, "actor": actor, "action": action,
            "subject": subject, "order_hash": order_hash, "payload": text, "prev_hash": prev,
            "hash": chain.link(prev, body)}


def write_bulk(session: Session, plans: Sequence[Plan]) -> list[str]:
    """Write draft and requested orders; their numbers, in the order of `plans`."""
    if not plans:
        return []
    numbers = _numbers(session, plans)
    now = utcnow()
    order_rows, hashes = [], []
    for p, number in zip(plans, numbers, strict=True):
        h = p.hashes(number)
        hashes.append(h)
        requested = p.state == State.REQUESTED.value
        order_rows.append({
            "number": number, "agreement_code": p.agreement.code,
            "agreement_version": p.agreement.version,
            "implementing_arrangement": p.fields["implementing_arrangement"],
            "activity_id": p.activity.id, "fiscal_year": p.fiscal_year,
            "requesting_party": p.requesting, "supplying_party": p.supplying,
            "requesting_unit_id": p.requesting_unit.id if p.requesting_unit else None,
            "supplying_unit_id": p.supplying_unit.id if p.supplying_unit else None,
            "order_on": p.order_on, "currency": p.currency,
            "delivery_place": p.fields["delivery_place"], "delivery_on": p.fields["delivery_on"],
            "fund_citation": p.fields["fund_citation"],
            "billing_address": p.fields["billing_address"],
            "requester_poc": p.fields["requester_poc"], "supplier_poc": p.fields["supplier_poc"],
            "notes": p.fields["notes"], "state": p.state, "state_before_dispute": None,
            "dispute_reason": "", "cancel_reason": "", "overdue": False,
            "created_by_id": p.creator.id,
            "requested_by_id": p.requester.id if requested and p.requester else None,
            "requested_at": now if requested else None,
            "requested_hash": h.get("signed"), "accepted_by_id": None, "accepted_at": None,
            "accepted_hash": None, "closed_by_id": None, "closed_at": None,
            "content_hash": h["requested"] if requested else h["created"],
            "ceiling_currency": None, "ceiling_supplies_minor": None,
            "ceiling_services_minor": None, "version": VERSION_AFTER[p.state],
            "external_ref": p.ref})
    table = Order.__table__
    ids = {number: ident for number, ident in session.execute(
        insert(table).returning(table.c.number, table.c.id), order_rows)}
    session.execute(insert(OrderLine.__table__), [
        {"order_id": ids[number], "line_no": ln.line_no, "category": ln.category,
         "kind": ln.kind, "description": ln.description, "stock_number": ln.stock_number,
         "quantity": ln.quantity, "unit": ln.unit, "unit_price_minor": ln.unit_price_minor,
         "currency": p.currency, "method": ln.method}
        for p, number in zip(plans, numbers, strict=True) for ln in p.lines])
    _write_events(session, plans, numbers, hashes)
    return numbers


def _write_events(session: Session, plans: Sequence[Plan], numbers: Sequence[str],
                  hashes: Sequence[dict[str, str]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK)))
    head = session.execute(select(Event.seq, Event.hash).order_by(Event.seq.desc())
                           .limit(1)).first()
    seq, prev = (head[0], head[1]) if head else (0, chain.GENESIS)
    events, parties_of = [], []
    for p, number, h in zip(plans, numbers, hashes, strict=True):
        total = str(money.Money(p.total_minor, p.currency))
        seq += 1
        row = _event(seq, prev, party=p.creator.party, actor=p.creator.code,
                     action="order.created", subject=number, order_hash=h["created"],
                     payload={"lines": len(p.lines), "total": total})
        events.append(row)
        parties_of.append((p.requesting, p.supplying))
        prev = row["hash"]
        if p.state == State.REQUESTED.value:
            assert p.requester is not None and p.requested_on is not None
            seq += 1
            row = _event(seq, prev, party=p.requester.party, actor=p.requester.code,
                         action="order.requested", subject=number, order_hash=h["requested"],
                         payload={"on": p.requested_on, "signed_hash": h["signed"]})
            events.append(row)
            parties_of.append((p.requesting, p.supplying))
            prev = row["hash"]
    session.execute(insert(Event.__table__), events)
    # the outbox, as webhooks.outbox.enqueue_for_event queues each order event
    subscribers: dict[str, list[int]] = {}
    for sid, party in session.execute(
            select(WebhookSubscription.id, WebhookSubscription.party_code)
            .where(WebhookSubscription.active).order_by(WebhookSubscription.id)):
        subscribers.setdefault(party, []).append(sid)
    if not subscribers:
        return
    now = utcnow()
    queued = [{"subscription_id": sid, "event_seq": e["seq"], "status": PENDING, "attempts": 0,
               "next_attempt_at": now, "last_error": "", "created_at": now}
              for e, (a, b) in zip(events, parties_of, strict=True)
              for sid in sorted(set(subscribers.get(a, [])) | set(subscribers.get(b, [])))]
    if queued:
        session.execute(insert(WebhookDelivery.__table__), queued)


# --- later states, through the services ----------------------------------------------------
STEP_COLUMNS = {  # service step -> (its official's column, its date's column)
    "create": ("created_by", "order_on"), "request": ("requested_by", "requested_on"),
    "accept": ("accepted_by", "accepted_on"), "deliver": ("delivered_by", "delivered_on"),
    "receive": ("received_by", "received_on"),
}
ACCEPT_ELEMENTS = {"requesting official's signature": "requested_by",
                   "supplying unit": "supplying_unit", "supplier point of contact": "supplier_poc",
                   "total value": "unit_price"}


def _problems_of(plan: Plan, step: str, e: errors.AcsaError) -> list[Problem]:
    """Where a service's refusal points in the file: the row of the line it names, the column
    of the field it names (the step's official or date for `by` and `on`)."""
    by, on = STEP_COLUMNS[step]
    missing = e.details.get("missing") if isinstance(e, errors.MissingDataElements) else None
    if missing:
        return [Problem(plan.rows[0], ACCEPT_ELEMENTS.get(m, ELEMENT_COLUMNS.get(m, by)),
                        f"{e.message.split(':')[0]}: missing the {m}", e.code, plan.ref)
                for m in missing]
    field = e.field or ""
    row, column = plan.rows[0], by
    if field.startswith("lines["):
        index = int(field[6:field.index("]")])
        row = plan.lines[index - 1].row if 0 < index <= len(plan.lines) else row
        column = field.rsplit(".", 1)[-1]
    elif field in ("on", "order_on"):
        column = on
    elif field == "document":
        column = "delivery_document"
    elif field in plan.cells:
        column = field
    return [Problem(row, column, e.message, e.code, plan.ref)]


def _step_cells(plan: Plan) -> tuple[dict[str, str], dict[str, dt.date], list[Problem]]:
    """The officials and dates of the steps past `requested`, dates defaulting to the step
    before; a step the target state needs without its official is a problem."""
    cells = plan.cells
    needed = {"accepted": ["accepted_by"],
              "delivered": ["accepted_by", "delivered_by", "delivery_document"],
              "received": ["accepted_by", "delivered_by", "delivery_document", "received_by"]}
    problems = [Problem(plan.rows[0], c, f"an order brought to {plan.state} needs {c}",
                        "InvalidInput", plan.ref)
                for c in needed[plan.state] if not cells.get(c)]
    on: dict[str, dt.date] = {}
    last = plan.requested_on or plan.order_on
    for column in ("accepted_on", "delivered_on", "received_on"):
        given = cells.get(column)
        on[column] = last = dt.date.fromisoformat(given) if given else last
    return cells, on, problems


def write_through_services(session: Session, plan: Plan, *, source: str
                           ) -> tuple[str | None, list[Problem]]:
    """Create the order and bring it to its state with the services, in a savepoint; its
    number, or the problems that refused it (and nothing of it written)."""
    cells, on, problems = _step_cells(plan)
    if problems:
        return None, problems
    assert plan.requester is not None and plan.requested_on is not None
    lines = [orders.LineInput(category=ln.category, description=ln.description,
                              quantity=Decimal(ln.quantity_text), unit=ln.unit,
                              unit_price=money.Money(ln.unit_price_minor, plan.currency),
                              method=ln.method, stock_number=ln.stock_number)
             for ln in plan.lines]
    step = "create"
    steps: list[tuple[str, Callable[[str], object]]] = [
        ("request", lambda n: orders.request_order(
            session, number=n, by=plan.requester.code, on=plan.requested_on)),  # type: ignore[union-attr]
        ("accept", lambda n: orders.accept_order(
            session, number=n, by=cells["accepted_by"], on=on["accepted_on"],
            supplier_poc=cells["supplier_poc"] or None,
            supplying_unit=cells["supplying_unit"] or None))]
    if plan.state in (State.DELIVERED.value, State.RECEIVED.value):
        document = (f"acsa import: source document {cells['delivery_document']}\n"
                    f"order {plan.ref} of {plan.requesting}, imported from {source}\n").encode()
        steps.append(("deliver", lambda n: orders.record_delivery(
            session, number=n, by=cells["delivered_by"], on=on["delivered_on"],
            quantities={ln.line_no: ln.quantity for ln in plan.lines},
            document_name=cells["delivery_document"], document=document,
            content_type="text/plain")))
    if plan.state == State.RECEIVED.value:
        steps.append(("receive", lambda n: orders.record_receipt(
            session, number=n, by=cells["received_by"], on=on["received_on"], lines={})))
    try:
        with session.begin_nested():
            order = orders.create_order(
                session, agreement_code=plan.agreement.code, activity_code=plan.activity.code,
                by=plan.creator.code, order_on=plan.order_on, lines=lines,
                currency=plan.currency, delivery_place=plan.fields["delivery_place"],
                delivery_on=plan.fields["delivery_on"],
                fund_citation=plan.fields["fund_citation"],
                billing_address=plan.fields["billing_address"],
                requester_poc=plan.fields["requester_poc"],
                supplier_poc=plan.fields["supplier_poc"],
                requesting_unit=plan.requesting_unit.code if plan.requesting_unit else None,
                supplying_unit=plan.supplying_unit.code if plan.supplying_unit else None,
                implementing_arrangement=plan.fields["implementing_arrangement"],
                notes=plan.fields["notes"])
            number, order_id = order.number, order.id
            for step, act in steps:  # noqa: B007 - `step` names the one that refused
                act(number)
            # a plain UPDATE: the reference is not part of the order's snapshot or version
            session.execute(update(Order.__table__).where(Order.__table__.c.id == order_id)
                            .values(external_ref=plan.ref))
    except errors.AcsaError as e:
        return None, _problems_of(plan, step, e)
    return number, []
