"""Order use cases: load -> decide (domain.py, agreement rules) -> persist -> ledger + audit.

Every function takes the caller's session and flushes; the adapter commits. Each refusal is a
named error raised before anything is written, so a refused command changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.util import identity_key

from acsa import errors, money, units
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.audit import service as audit
from acsa.audit.chain import content_hash
from acsa.audit.models import Event
from acsa.db import paging
from acsa.db.base import utcnow
from acsa.ledger import domain as books
from acsa.ledger import service as ledger
from acsa.orders import domain
from acsa.orders.domain import State
from acsa.orders.models import (
    Delivery,
    DeliveryLine,
    Document,
    Order,
    OrderCounter,
    OrderLine,
    Receipt,
    ReceiptLine,
)
from acsa.parties import service as parties
from acsa.parties.domain import Role, check_authority, check_separation, check_value_limit
from acsa.parties.models import Official, Unit
from acsa.rates import service as rates
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class LineInput:
    category: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: money.Money
    method: str
    stock_number: str = ""


@dataclass
class Outcome:
    order: Order
    warnings: list[str] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------
def get_order(session: Session, number: str, *, for_update: bool = False,
              viewer_party: str | None = None) -> Order:
    """The order by number. With `viewer_party`, an order that party is not a party to is
    reported as not found, exactly like one that does not exist."""
    params = {"number": number} if viewer_party is None else {"number": number,
                                                              "viewer": viewer_party}
    order = session.scalars(_order_by_number(for_update, viewer_party is not None),
                            params).unique().first()
    if order is None:
        raise errors.NotFound(f"no order {number!r}", field="number",
                              hint="List orders with `acsa orders list`.")
    return order


@dataclass(frozen=True)
class _Dated:
    """The date (`on`) and action of the order's latest audit event among some actions."""

    on: dt.date | None = None
    action: str = ""


def _get_order_dated(session: Session, number: str, actions: tuple[str, ...]
                     ) -> tuple[Order, _Dated]:
    """`get_order(for_update=True)`, and the date its user gave to the order's latest event
    of `actions` (kept only in the event's payload), read by the same statement: no query
    more for the transition that checks its own date against it."""
    row = session.execute(_order_by_number(True, False, actions),
                          {"number": number}).unique().first()
    if row is None:
        raise errors.NotFound(f"no order {number!r}", field="number",
                              hint="List orders with `acsa orders list`.")
    order, latest = row
    if latest is None:
        return order, _Dated()
    action, _, payload = latest.partition(" ")
    try:
        on = dt.date.fromisoformat(json.loads(payload)["on"])
    except (ValueError, TypeError, KeyError):  # an event that carries no date: nothing to check
        return order, _Dated()
    return order, _Dated(on, action)


@functools.cache
def _order_by_number(for_update: bool, viewer: bool, dated: tuple[str, ...] = ()
                     ) -> Select[tuple[Order]]:
    """The statement of `get_order`, built once (building a select costs more than running
    it): the order by `:number`, with its lines in the same statement (one row per line);
    deliveries and receipts, fewer and often none, come by their own select-in loads. With
    `dated`, also "ACTION PAYLOAD" of the order's latest audit event of those actions (by the
    events' subject index; an action holds no space)."""
    stmt = select(Order).where(Order.number == bindparam("number")) \
        .options(joinedload(Order.lines))
    if dated:
        stmt = stmt.add_columns(
            select(Event.action + " " + Event.payload)
            .where(Event.subject == Order.number, Event.action.in_(dated))
            .order_by(Event.seq.desc()).limit(1).correlate(Order).scalar_subquery())
    if viewer:
        stmt = stmt.where(or_(Order.requesting_party == bindparam("viewer"),
                              Order.supplying_party == bindparam("viewer")))
    if for_update:  # the order's row only: its lines are on the outer join's nullable side
        stmt = stmt.with_for_update(of=Order)
    return stmt


def check_visible(session: Session, number: str, viewer_party: str) -> int:
    """The id of the order if `viewer_party` is a party to it; otherwise NotFound, exactly as
    `get_order` reports it (no existence leak). One indexed lookup, nothing else loaded."""
    found = session.scalar(select(Order.id).where(
        Order.number == number,
        or_(Order.requesting_party == viewer_party, Order.supplying_party == viewer_party)))
    if found is None:
        raise errors.NotFound(f"no order {number!r}", field="number",
                              hint="List orders with `acsa orders list`.")
    return found


SORTS = {"number": Order.number, "order_on": Order.order_on, "state": Order.state,
         "agreement": Order.agreement_code, "id": Order.id}


@dataclass(frozen=True)
class OrderQuery:
    """Filters of the order register; every one optional."""

    agreement: str | None = None
    state: str | None = None
    activity: str | None = None
    party: str | None = None
    overdue: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    text: str | None = None
    sort: str = "number"
    descending: bool = False


def _order_filter(session: Session, q: OrderQuery, viewer_party: str | None) -> list[Any]:
    conds: list[Any] = []
    sqlite = session.get_bind().dialect.name == "sqlite"
    if viewer_party is not None:
        if sqlite:  # `|| ''`: SQLite then walks the sort's index, not both party indexes
            # and a sort of every order of the party (most orders are the viewer's own)
            conds.append(or_(Order.requesting_party.concat("") == viewer_party,
                             Order.supplying_party.concat("") == viewer_party))
        else:
            conds.append(or_(Order.requesting_party == viewer_party,
                             Order.supplying_party == viewer_party))

    def equal(column: Any, value: Any) -> Any:
        """`column = value`; on SQLite, when more than 10,000 orders have that value, in a
        form no index serves: the sort's index is walked instead (a page soon fills) rather
        than every such order read and sorted."""
        if sqlite and session.scalar(select(func.count()).select_from(
                select(column).where(column == value).limit(10_001).subquery())) > 10_000:
            return (column + 0 if isinstance(value, int) else column.concat("")) == value
        return column == value

    if q.agreement:
        conds.append(equal(Order.agreement_code, q.agreement.upper()))
    if q.state:
        conds.append(equal(Order.state, q.state))
    if q.activity:
        conds.append(equal(Order.activity_id, activities.get_activity(session, q.activity).id))
    if q.party:
        p = q.party.upper()
        conds.append(or_(Order.requesting_party == p, Order.supplying_party == p))
    if q.overdue is not None:
        conds.append(Order.overdue.is_(q.overdue))
    if q.date_from:
        conds.append(Order.order_on >= q.date_from)
    if q.date_to:
        conds.append(Order.order_on <= q.date_to)
    if q.text and q.text.strip():
        # the number or a line's description contains the text, case folded. Indexed
        # (migration 0010): on SQLite the FTS5 trigram table `order_search` (any substring of
        # three characters or more), on PostgreSQL GIN trigram indexes under this same LIKE.
        # Text of fewer than three characters, or holding LIKE's `%` or `_` or a line break,
        # is matched with LIKE on SQLite too: the orders found are always those LIKE finds.
        from sqlalchemy import literal_column, table
        from sqlalchemy import text as sql_text

        text = q.text.strip()
        like = f"%{text.lower()}%"
        if sqlite and len(text) >= 3 and not any(c in text for c in "%_\n\r"):
            phrase = '"' + text.replace('"', '""') + '"'
            found = (select(literal_column("rowid")).select_from(table("order_search"))
                     .where(sql_text("order_search MATCH :order_search_phrase")
                            .bindparams(order_search_phrase=phrase)))
            # up to 10,000 matches: read them and sort them; more (a word most orders hold):
            # walk the sort's index and test each order as it comes, which soon fills a page
            dense = 10_000
            many = session.scalar(select(func.count()).select_from(
                found.limit(dense + 1).subquery())) or 0
            if many <= dense:
                conds.append(Order.id.in_(found))
            else:
                conds.append(or_(func.lower(Order.number).like(like), select(OrderLine.id).where(
                    OrderLine.order_id == Order.id,
                    func.lower(OrderLine.description).like(like)).exists()))
        elif sqlite:  # short text, or LIKE's wildcards: as typed, over every order
            conds.append(or_(func.lower(Order.number).like(like), Order.id.in_(
                select(OrderLine.order_id).where(
                    func.lower(OrderLine.description).like(like)))))
        else:
            # PostgreSQL: the same LIKE, served by the trigram indexes. Few matches (up to
            # 10,000 in lines and in numbers): their ids, then those orders by key. More (a
            # word most orders hold): each order met in the sort's index is tested by its own
            # lines (`OFFSET 0` keeps the planner from hashing every matching line first).
            from sqlalchemy import BigInteger, any_, literal
            from sqlalchemy.dialects.postgresql import ARRAY

            ids: set[int] = set()
            for part in (select(OrderLine.order_id).where(
                             func.lower(OrderLine.description).like(like)),
                         select(Order.id).where(func.lower(Order.number).like(like))):
                found_ids = list(session.scalars(part.limit(10_001)))
                if len(found_ids) > 10_000:
                    conds.append(or_(func.lower(Order.number).like(like), select(
                        OrderLine.id).where(OrderLine.order_id == Order.id,
                                            func.lower(OrderLine.description).like(like))
                        .offset(0).exists()))
                    break
                ids.update(found_ids)
            else:
                conds.append(Order.id == any_(literal(sorted(ids), ARRAY(BigInteger))))
    return conds


def search_orders(session: Session, q: OrderQuery, *, viewer_party: str | None = None,
                  offset: int = 0, limit: int | None = None,
                  count_limit: int | None = None) -> tuple[list[Order], int]:
    """A page of the register and the number of orders matching in all; with `count_limit`,
    counted only up to that number (a count of `count_limit` means "at least that many"), so
    a page of a long history does not count it all."""
    if q.sort not in SORTS:
        raise errors.InvalidInput(f"cannot sort by {q.sort!r}", field="sort",
                                  hint=f"Sort by one of: {', '.join(SORTS)}.")
    conds = _order_filter(session, q, viewer_party)
    key = SORTS[q.sort].desc() if q.descending else SORTS[q.sort]
    # a register shows lines (for the total), not deliveries or receipts: those load if touched
    options = (lazyload(Order.deliveries), lazyload(Order.receipts))
    if count_limit is None:
        return paging.page(session, Order, conds, (key, Order.id), offset=offset, limit=limit,
                           options=options)
    from sqlalchemy import literal

    stmt = select(Order).where(*conds).order_by(key, Order.id).offset(offset).options(*options)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list(session.scalars(stmt))
    if limit is not None and offset == 0 and len(rows) < limit:
        return rows, len(rows)  # the whole result is on this page
    bounded = select(literal(1)).select_from(Order).where(*conds).limit(count_limit).subquery()
    return rows, session.scalar(select(func.count()).select_from(bounded)) or 0


def list_orders(session: Session, *, agreement: str | None = None, state: str | None = None,
                activity: str | None = None, party: str | None = None,
                overdue: bool | None = None, limit: int | None = None,
                viewer_party: str | None = None) -> list[Order]:
    rows, _ = search_orders(session, OrderQuery(agreement=agreement, state=state,
                                                activity=activity, party=party,
                                                overdue=overdue),
                            viewer_party=viewer_party, limit=limit)
    return rows


def total(order: Order) -> money.Money:
    return money.total([money.Money(ln.unit_price_minor, ln.currency).times(ln.quantity)
                        for ln in order.lines], order.currency)


def snapshot(session: Session, order: Order) -> dict[str, Any]:
    """Every data element of the order as plain values: what is hashed, signed and shown."""
    # the codes of the officials, units and activity named below, in at most one query
    officials = _Codes.of(session)
    officials.want(Official, order.requested_by_id, order.accepted_by_id,
                   *(d.delivered_by_id for d in order.deliveries),
                   *(r.received_by_id for r in order.receipts))
    officials.want(Unit, order.requesting_unit_id, order.supplying_unit_id)
    officials.want(activities.Activity, order.activity_id)
    officials.fetch()

    def code(model: type, ident: int | None) -> str | None:
        return officials.code(model, ident) if ident else None

    data = {
        "number": order.number, "agreement": order.agreement_code,
        "agreement_version": order.agreement_version,
        "implementing_arrangement": order.implementing_arrangement,
        "activity": code(activities.Activity, order.activity_id),
        "fiscal_year": order.fiscal_year,
        "order_on": order.order_on.isoformat(), "state": order.state,
        "requesting_party": order.requesting_party, "supplying_party": order.supplying_party,
        "requesting_unit": code(Unit, order.requesting_unit_id),
        "supplying_unit": code(Unit, order.supplying_unit_id),
        "currency": order.currency, "delivery_place": order.delivery_place,
        "delivery_on": order.delivery_on.isoformat() if order.delivery_on else None,
        "fund_citation": order.fund_citation, "billing_address": order.billing_address,
        "requester_poc": order.requester_poc, "supplier_poc": order.supplier_poc,
        "requested_by": code(Official, order.requested_by_id),
        "accepted_by": code(Official, order.accepted_by_id),
        "total_minor": total(order).minor if order.lines else None,
        "lines": [{
            "line_no": ln.line_no, "category": ln.category, "kind": ln.kind,
            "description": ln.description, "stock_number": ln.stock_number,
            "quantity": format(ln.quantity, "f"), "unit": ln.unit,
            "unit_price": str(money.Money(ln.unit_price_minor, ln.currency).amount),
            "unit_price_minor": ln.unit_price_minor,
            "currency": ln.currency, "method": ln.method} for ln in order.lines],
        "deliveries": [{
            "delivered_on": d.delivered_on.isoformat(),
            "delivered_by": code(Official, d.delivered_by_id), "document": d.document_sha256,
            "lines": {str(_line_no(order, x.line_id)): format(x.quantity, "f") for x in d.lines},
            "received": d.receipt_id is not None}
            for d in order.deliveries],
        "receipts": [{
            "received_on": r.received_on.isoformat(),
            "received_by": code(Official, r.received_by_id),
            "lines": [{"line_no": _line_no(order, x.line_id), "delivered": format(x.delivered, "f"),
                       "received": format(x.received, "f"), "damaged": format(x.damaged, "f"),
                       "discrepancy": x.discrepancy, "reason": x.reason} for x in r.lines]}
            for r in order.receipts],
        "dispute_reason": order.dispute_reason, "cancel_reason": order.cancel_reason,
    }
    return data


_CODES = "acsa_snapshot_codes"  # session.info: (transaction, {(model, id): code})


class _Codes:
    """The codes of officials, units and activities by id, as a snapshot names them. Found in
    the session's identity map when loaded there, else read as plain (id, code) rows with one
    query for every table at once (no ORM objects made). Codes never change once written, so
    what was read is kept for the rest of the session's innermost transaction; a savepoint
    begun or rolled back (which may free an id a row inserted in it had) starts afresh."""

    def __init__(self, session: Session, known: dict[tuple[type, int], str]) -> None:
        self.session, self.known = session, known
        self.missing: dict[type, set[int]] = {}

    @classmethod
    def of(cls, session: Session) -> _Codes:
        transaction = session.get_nested_transaction() or session.get_transaction()
        kept = session.info.get(_CODES)
        if kept is None or kept[0] is not transaction:
            kept = session.info[_CODES] = (transaction, {})
        return cls(session, kept[1])

    def want(self, model: type, *ids: int | None) -> None:
        present = self.session.identity_map
        for i in ids:
            if i is None or (model, i) in self.known:
                continue
            row = present.get(identity_key(model, i))
            if row is not None:
                self.known[(model, i)] = row.code
            else:
                self.missing.setdefault(model, set()).add(i)

    def fetch(self) -> None:
        if not self.missing:
            return
        models = tuple(self.missing)
        stmt = _codes_statement(models)
        params = {f"ids{n}": sorted(self.missing[m]) for n, m in enumerate(models)}
        # only a pending official, unit or activity could be missed by this read: flush just
        # then, so the caller's own pending changes go out with its next write instead
        if self.session.autoflush and any(isinstance(o, tuple(models)) for o in self.session.new):
            self.session.flush()
        for n, ident, code in self.session.execute(
                stmt, params, execution_options={"autoflush": False}):
            self.known[(models[n], ident)] = code
        self.missing = {}

    def code(self, model: type, ident: int) -> str:
        return self.known[(model, ident)]


@functools.cache
def _codes_statement(models: tuple[type, ...]) -> Any:
    """(n, id, code) of the rows of `models[n]` with ids in `:ids<n>`, one UNION ALL."""
    parts = [select(literal_column(str(n)), model.id, model.code)  # type: ignore[attr-defined]
             .where(model.id.in_(bindparam(f"ids{n}", expanding=True)))  # type: ignore[attr-defined]
             for n, model in enumerate(models)]
    return parts[0] if len(parts) == 1 else union_all(*parts)


INTERNAL_FIELDS = ("fund_citation", "notes")  # the requesting party's own, never the partner's


def order_view(session: Session, order: Order, *,
               viewer_party: str | None = None) -> dict[str, Any]:
    """The order as shown to a user: its snapshot, version, total and claims. A viewer of the
    supplying party does not see the requester's internal fields."""
    data = snapshot(session, order)
    data["notes"] = order.notes
    data["version"] = order.version
    data["overdue"] = order.overdue
    data["content_hash"] = order.content_hash
    data["total"] = str(total(order))
    data["claims"] = [settlement.claim_view(c) for c in settlement.claims_of(session, order)]
    if viewer_party is not None and viewer_party != order.requesting_party:
        for key in INTERNAL_FIELDS:
            data[key] = None
    return data


def _line_no(order: Order, line_id: int) -> int:
    return next(ln.line_no for ln in order.lines if ln.id == line_id)


def _rehash(session: Session, order: Order, snap: dict[str, Any] | None = None) -> str:
    """Hash the order as it now stands. Deliveries and receipts are appended through the
    order's relationships and the snapshot holds no generated ids, so the loaded order is
    current without a reload or a flush. `snap`: its snapshot, if the caller just took it."""
    order.content_hash = content_hash(snap if snap is not None else snapshot(session, order))
    return order.content_hash


def _event(session: Session, order: Order, *, actor: Official | None, action: str,
           payload: dict[str, Any], snap: dict[str, Any] | None = None) -> None:
    h = _rehash(session, order, snap)
    audit.append(session, party=actor.party_code if actor else "", action=f"order.{action}",
                 actor=actor.code if actor else "system", subject=order.number, order_hash=h,
                 payload=payload)


def _actor(session: Session, code: str, roles: AbstractSet[Role], party: str, on: dt.date,
           action: str) -> Official:
    official = parties.get_official(session, code)
    check_authority(official_code=official.code, official_role=official.role,
                    official_party=official.party_code, valid_from=official.valid_from,
                    valid_to=official.valid_to, roles=roles, party=party, on=on, action=action)
    return official


def _check_limit(session: Session, agreement: Agreement, official: Official, order: Order,
                 on: dt.date) -> None:
    if official.limit_minor is None or official.limit_currency is None:
        return
    limit = money.Money(official.limit_minor, official.limit_currency)
    value, note = total(order), ""
    if value.currency != limit.currency:
        conv = rates.conversion(session, agreement, value.currency, limit.currency, order.order_on)
        note = f" = {conv.apply(value, limit.currency)} at {conv.note}"
        value = conv.apply(value, limit.currency)
    check_value_limit(official_code=official.code, limit=limit, value=value, rate_note=note)


def _check_lengths(model: type, values: dict[str, Any]) -> None:
    """Text no longer than its column: refused by name on every backend (PostgreSQL would
    fail the write, SQLite would keep it)."""
    columns = model.__table__.c  # type: ignore[attr-defined]
    for name, value in values.items():
        limit = getattr(columns[name].type, "length", None)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise errors.InvalidInput(
                f"{name.replace('_', ' ')} is {len(value)} characters; at most "
                f"{limit} are kept", field=name)


def _check_version(order: Order, expected: int | None) -> None:
    if expected is not None and expected != order.version:
        raise errors.StaleVersion(
            f"order {order.number} is at version {order.version}, not {expected}",
            number=order.number, version=order.version)


# --- creating and editing ------------------------------------------------------------------
def _at_line(i: int, e: errors.AcsaError) -> errors.AcsaError:
    """The error of line `i` (1-based), with the line named in its message and field."""
    e.message = f"line {i}: {e.message}"
    e.args = (e.message,)
    e.field = f"lines[{i}].{e.field or 'line'}"
    return e


def _build_lines(agreement: Agreement, activity_type: str, currency: str,
                 lines: list[LineInput]) -> list[OrderLine]:
    if not lines:
        raise errors.InvalidInput("an order needs at least one line", field="lines",
                                  hint="Add a line with --line.")
    built = []
    for i, ln in enumerate(lines, start=1):
        try:
            kind = agreement.check_category(ln.category, activity_type)
            method = agreement.check_method(kind, ln.method)
            units.check_unit(ln.unit)
            qty = units.parse_quantity(ln.quantity)
        except errors.AcsaError as e:
            raise _at_line(i, e) from None
        if ln.unit_price.currency != currency:
            raise errors.CurrencyMismatch(ln.unit_price.currency, currency)
        try:
            domain.check_line_values(ln.unit_price.minor, ln.description)
            _check_lengths(OrderLine, {"description": ln.description.strip(),
                                       "stock_number": ln.stock_number.strip()})
        except errors.AcsaError as e:
            raise _at_line(i, e) from None
        built.append(OrderLine(line_no=i, category=ln.category, kind=kind.value,
                               description=ln.description.strip(),
                               stock_number=ln.stock_number.strip(), quantity=qty, unit=ln.unit,
                               unit_price_minor=ln.unit_price.minor, currency=currency,
                               method=method.value))
    return built


@functools.cache
def _counter_statements(postgresql: bool) -> tuple[Any, Select[tuple[OrderCounter]]]:
    """(create the counter of :agreement, :party, :fy at 0 unless it exists; select it
    locked, reloaded from the row), built once."""
    # the PostgreSQL dialect is imported only on PostgreSQL: it costs every SQLite command
    # a few hundredths of a second
    if postgresql:
        from sqlalchemy.dialects.postgresql import insert as pg_insert
    dialect_insert = pg_insert if postgresql else sqlite_insert
    create = dialect_insert(OrderCounter).values(
        agreement_code=bindparam("agreement"), party_code=bindparam("party"),
        fiscal_year=bindparam("fy"), last=0).on_conflict_do_nothing()
    lock = (select(OrderCounter).where(
        OrderCounter.agreement_code == bindparam("agreement"),
        OrderCounter.party_code == bindparam("party"),
        OrderCounter.fiscal_year == bindparam("fy")).with_for_update()
        .execution_options(populate_existing=True))
    return create, lock


def _next_number(session: Session, agreement: Agreement, party: str, fy: int) -> str:
    # create the year's counter if missing without racing another creator, then lock it
    create, lock = _counter_statements(session.get_bind().dialect.name == "postgresql")
    key = {"agreement": agreement.code, "party": party, "fy": fy}
    session.execute(create, key)
    counter = session.scalar(lock, key)
    assert counter is not None
    counter.last += 1
    session.flush()
    return domain.order_number(agreement.code, party, fy, counter.last)


def _take_number(session: Session, agreement: Agreement, party: str, fy: int,
                 number: str) -> str:
    """Use the number the requesting party's node gave its order, moving our copy of its
    counter on to it; a number of another party, agreement or year is refused."""
    prefix = domain.order_number(agreement.code, party, fy, 0)[:-4]
    tail = number[len(prefix):]
    if (not number.startswith(prefix) or not (tail.isascii() and tail.isdigit())
            or int(tail) < 1 or number != domain.order_number(agreement.code, party, fy,
                                                              int(tail))):
        raise errors.InvalidInput(f"order number {number} is not one of {party}'s numbers "
                                  f"under {agreement.code} for {fy}", field="number")
    if session.scalar(select(Order.id).where(Order.number == number)) is not None:
        raise errors.AlreadyExists(f"order {number} already exists", field="number")
    _next_number(session, agreement, party, fy)  # creates and locks the counter
    counter = session.get(OrderCounter, (agreement.code, party, fy))  # just loaded: no query
    assert counter is not None
    counter.last = max(counter.last - 1, int(tail))
    session.flush()
    return number


def create_order(session: Session, *, agreement_code: str, activity_code: str, by: str,
                 order_on: dt.date, lines: list[LineInput], currency: str | None = None,
                 delivery_place: str = "", delivery_on: dt.date | None = None,
                 fund_citation: str = "", billing_address: str | None = None,
                 requester_poc: str = "", supplier_poc: str = "",
                 requesting_unit: str | None = None, supplying_unit: str | None = None,
                 implementing_arrangement: str = "", notes: str = "",
                 number: str | None = None) -> Order:
    """Create a draft order. `number` is given only when applying the requesting party's own
    order from its node (sync): it must be that party's next free number or later."""
    agreement = agreements.get(session, agreement_code)
    activity = activities.get_activity(session, activity_code)
    creator = parties.get_official(session, by)
    requesting = creator.party_code
    supplying = agreement.other_party(requesting)
    _actor(session, by, domain.roles_for("create"), requesting, order_on, "create an order")
    agreement.check_in_force(order_on)
    domain.check_activity_covered(agreement.code, activity.code,
                                  {a.code for a in activity.agreements})
    agreement.check_activity_type(activity.type)
    currency = money.check_currency((currency or parties.get_party(session, supplying).currency)
                                    .upper())
    built = _build_lines(agreement, activity.type, currency, lines)
    r_unit = parties.get_unit(session, requesting_unit) if requesting_unit else None
    s_unit = parties.get_unit(session, supplying_unit) if supplying_unit else None
    if r_unit and r_unit.party_code != requesting:
        raise errors.WrongParty(f"unit {r_unit.code} belongs to {r_unit.party_code}, not "
                                f"{requesting}", field="requesting_unit", unit=r_unit.code,
                                belongs_to=r_unit.party_code, party=requesting)
    if s_unit and s_unit.party_code != supplying:
        raise errors.WrongParty(f"unit {s_unit.code} belongs to {s_unit.party_code}, not "
                                f"{supplying}", field="supplying_unit", unit=s_unit.code,
                                belongs_to=s_unit.party_code, party=supplying)
    if billing_address is None:
        billing_address = (r_unit.address if r_unit and r_unit.address
                           else parties.get_party(session, requesting).billing_address)
    _check_lengths(Order, {"delivery_place": delivery_place, "fund_citation": fund_citation,
                           "billing_address": billing_address, "requester_poc": requester_poc,
                           "supplier_poc": supplier_poc,
                           "implementing_arrangement": implementing_arrangement})
    fy = agreement.fiscal_year(requesting, order_on)
    order = Order(
        number=(_take_number(session, agreement, requesting, fy, number) if number
                else _next_number(session, agreement, requesting, fy)),
        agreement_code=agreement.code,
        agreement_version=agreement.version, implementing_arrangement=implementing_arrangement,
        activity_id=activity.id, fiscal_year=fy, requesting_party=requesting,
        supplying_party=supplying, requesting_unit_id=r_unit.id if r_unit else None,
        supplying_unit_id=s_unit.id if s_unit else None, order_on=order_on, currency=currency,
        delivery_place=delivery_place, delivery_on=delivery_on, fund_citation=fund_citation,
        billing_address=billing_address, requester_poc=requester_poc, supplier_poc=supplier_poc,
        notes=notes, state=State.DRAFT.value, created_by_id=creator.id, lines=built,
        deliveries=[], receipts=[])  # a new order has none: no query to find that out
    session.add(order)
    session.flush()
    _event(session, order, actor=creator, action="created",
           payload={"lines": len(built), "total": str(total(order))})
    return order


EDITABLE = {"delivery_place", "delivery_on", "fund_citation", "billing_address",
            "requester_poc", "supplier_poc", "implementing_arrangement", "notes"}


def edit_order(session: Session, *, number: str, by: str, on: dt.date,
               changes: dict[str, Any], lines: list[LineInput] | None = None,
               requesting_unit: str | None = None, supplying_unit: str | None = None,
               expected_version: int | None = None) -> Order:
    order = get_order(session, number, for_update=True)
    _check_version(order, expected_version)
    domain.check_transition(order.state, "edit", number)
    official = _actor(session, by, domain.roles_for("edit"), order.requesting_party, on,
                      "edit an order")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise errors.InvalidInput(f"cannot edit {', '.join(sorted(unknown))}", field=min(unknown))
    _check_lengths(Order, changes)
    for key, value in changes.items():
        setattr(order, key, value)
    if requesting_unit:
        unit = parties.get_unit(session, requesting_unit)
        if unit.party_code != order.requesting_party:
            raise errors.WrongParty(f"unit {unit.code} is not a unit of {order.requesting_party}",
                                    field="requesting_unit", unit=unit.code,
                                    belongs_to=unit.party_code, party=order.requesting_party)
        order.requesting_unit_id = unit.id
    if supplying_unit:
        unit = parties.get_unit(session, supplying_unit)
        if unit.party_code != order.supplying_party:
            raise errors.WrongParty(f"unit {unit.code} is not a unit of {order.supplying_party}",
                                    field="supplying_unit", unit=unit.code,
                                    belongs_to=unit.party_code, party=order.supplying_party)
        order.supplying_unit_id = unit.id
    if lines is not None:
        agreement = agreements.get(session, order.agreement_code)
        activity = session.get(activities.Activity, order.activity_id)
        assert activity is not None
        new = _build_lines(agreement, activity.type, order.currency, lines)
        for old in list(order.lines):
            session.delete(old)
        session.flush()
        order.lines = new
    _event(session, order, actor=official, action="edited",
           payload={"fields": sorted(changes), "lines_replaced": lines is not None})
    return order


# --- the signatures ------------------------------------------------------------------------
def _not_before_order(order: Order, on: dt.date, act: str) -> None:
    """A signature cannot be dated before the order it signs (as a delivery cannot)."""
    if on < order.order_on:
        raise errors.InvalidInput(f"order {order.number} is dated {order.order_on}; it cannot "
                                  f"be {act} on {on}, before it exists", field="on",
                                  hint=f"Give a date on or after {order.order_on}.")


_DONE = {"order.requested": "requested", "order.accepted": "accepted",
         "order.disputed": "disputed", "order.dispute_resolved": "resolved from its dispute"}
# the acts a cancellation or a dispute follows, and so may not be dated before
SIGNED = ("order.requested", "order.accepted", "order.dispute_resolved")


def _not_before(order: Order, on: dt.date, last: _Dated, act: str) -> None:
    """An act cannot be dated before the order, nor before the act it follows, `last` (whose
    date is kept only in its audit event: see `_get_order_dated`)."""
    _not_before_order(order, on, act)
    if last.on is not None and on < last.on:
        raise errors.InvalidInput(f"order {order.number} was {_DONE[last.action]} on "
                                  f"{last.on}; it cannot be {act} on {on}, before that",
                                  field="on", hint=f"Give a date on or after {last.on}.")


def request_order(session: Session, *, number: str, by: str, on: dt.date,
                  expected_version: int | None = None) -> Order:
    order = get_order(session, number, for_update=True)
    _check_version(order, expected_version)
    domain.check_transition(order.state, "request", number)
    _not_before_order(order, on, "requested")
    agreement = agreements.get(session, order.agreement_code)
    official = _actor(session, by, domain.roles_for("request"), order.requesting_party, on,
                      "request an order")
    agreement.check_in_force(on)
    _check_limit(session, agreement, official, order, on)
    snap = snapshot(session, order)
    domain.check_complete(snap, "request")
    order.state = State.REQUESTED.value
    order.requested_by_id, order.requested_at = official.id, utcnow()
    order.requested_hash = content_hash({k: v for k, v in snap.items() if k != "state"})
    _event(session, order, actor=official, action="requested",
           payload={"on": on, "signed_hash": order.requested_hash})
    return order


def accept_order(session: Session, *, number: str, by: str, on: dt.date,
                 supplier_poc: str | None = None, supplying_unit: str | None = None,
                 expected_version: int | None = None) -> Outcome:
    order, requested = _get_order_dated(session, number, ("order.requested",))
    _check_version(order, expected_version)
    domain.check_transition(order.state, "accept", number)
    _not_before(order, on, requested, "accepted")
    agreement = agreements.get(session, order.agreement_code)
    official = _actor(session, by, domain.roles_for("accept"), order.supplying_party, on,
                      "accept an order")
    requester = session.get(Official, order.requested_by_id)
    check_separation(first_person=requester.person if requester else None,
                     second_person=official.person, first_act="requested",
                     second_act="accept", number=number)
    agreement.check_in_force(on)
    _check_limit(session, agreement, official, order, on)
    _check_lengths(Order, {"supplier_poc": supplier_poc})
    if supplying_unit:
        unit = parties.get_unit(session, supplying_unit)
        if unit.party_code != order.supplying_party:
            raise errors.WrongParty(f"unit {unit.code} is not a unit of {order.supplying_party}",
                                    field="supplying_unit", unit=unit.code,
                                    belongs_to=unit.party_code, party=order.supplying_party)
        order.supplying_unit_id = unit.id
    if supplier_poc:  # set after the unit's lookup, so both go out in one write
        order.supplier_poc = supplier_poc
    order.accepted_by_id = official.id
    try:
        domain.check_complete(snapshot(session, order), "accept")
        warnings = settlement.check_ceilings(session, agreement, order, on)
    except errors.AcsaError:
        order.accepted_by_id = None
        raise
    order.state = State.ACCEPTED.value
    order.accepted_at = utcnow()
    snap = snapshot(session, order)  # the accepted order: signed without its state, then hashed
    order.accepted_hash = content_hash({k: v for k, v in snap.items() if k != "state"})
    _event(session, order, actor=official, action="accepted",
           payload={"on": on, "signed_hash": order.accepted_hash, "warnings": warnings},
           snap=snap)
    return Outcome(order, warnings)


# --- delivery and receipt ------------------------------------------------------------------
def store_document(session: Session, *, filename: str, content: bytes,
                   content_type: str = "application/octet-stream") -> Document:
    if not content:
        raise errors.InvalidInput(f"source document {filename!r} is empty", field="document")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise errors.InvalidInput(
            f"source document {filename!r} is {len(content):,} bytes; the limit is "
            f"{MAX_DOCUMENT_BYTES:,}", field="document")
    sha = hashlib.sha256(content).hexdigest()
    doc = session.get(Document, sha)
    if doc is None:
        doc = Document(sha256=sha, filename=filename, content_type=content_type,
                       size=len(content), content=content, stored_at=utcnow())
        session.add(doc)
        session.flush()
    return doc


def line_progress(order: Order) -> dict[int, domain.LineProgress]:
    by_id = {ln.id: domain.LineProgress(ordered=ln.quantity) for ln in order.lines}
    for d in order.deliveries:
        for x in d.lines:
            by_id[x.line_id].delivered += x.quantity
            by_id[x.line_id].documents += 1
    for r in order.receipts:
        for x in r.lines:
            by_id[x.line_id].received += x.received
    return {ln.line_no: by_id[ln.id] for ln in order.lines}


def record_delivery(session: Session, *, number: str, by: str, on: dt.date,
                    quantities: dict[int, Decimal], document_name: str, document: bytes,
                    content_type: str = "application/octet-stream", note: str = "",
                    expected_version: int | None = None) -> Delivery:
    order, accepted = _get_order_dated(session, number, ("order.accepted",))
    _check_version(order, expected_version)
    domain.check_transition(order.state, "deliver", number)
    official = _actor(session, by, domain.roles_for("deliver"), order.supplying_party, on,
                      "record a delivery")
    _not_before(order, on, accepted, "delivered")  # nor before the order itself
    quantities = {n: units.parse_quantity(q, field=f"line {n} quantity")
                  for n, q in quantities.items()}
    domain.check_delivery(number, line_progress(order), quantities, over_allowed=False)
    doc = store_document(session, filename=document_name, content=document,
                         content_type=content_type)
    line_by_no = {ln.line_no: ln for ln in order.lines}
    delivery = Delivery(order_id=order.id, delivered_on=on, delivered_by_id=official.id,
                        document_sha256=doc.sha256, note=note,
                        lines=[DeliveryLine(line_id=line_by_no[n].id, quantity=q)
                               for n, q in sorted(quantities.items())])
    order.deliveries.append(delivery)
    order.state = State.DELIVERED.value
    session.flush()
    agreement = agreements.get(session, order.agreement_code)
    activity_id = order.activity_id
    for n, q in sorted(quantities.items()):
        ln = line_by_no[n]
        value = money.Money(ln.unit_price_minor, ln.currency).times(q)
        ledger.post(session, agreement=agreement, kind="delivery", posted_on=on,
                    postings=books.transfer(order.supplying_party, order.requesting_party,
                                            books.UNRECEIPTED, books.PROVIDED,
                                            (value.currency, value.minor)),
                    memo=f"{number} line {n}: delivered {q} {ln.unit}", order_id=order.id,
                    activity_id=activity_id, category=ln.category, line_kind=ln.kind)
    _event(session, order, actor=official, action="delivered",
           payload={"on": on, "lines": {str(n): format(q, "f") for n, q in quantities.items()},
                    "document": doc.sha256, "document_name": document_name})
    return delivery


def record_receipt(session: Session, *, number: str, by: str, on: dt.date,
                   lines: dict[int, domain.ReceiptLineInput], note: str = "",
                   expected_version: int | None = None,
                   deliveries: list[int] | None = None) -> Receipt:
    """Receive every delivery not yet received (or, applying a partner's receipt, the
    deliveries it named by position); the claims exist from this moment."""
    order = get_order(session, number, for_update=True)
    _check_version(order, expected_version)
    domain.check_transition(order.state, "receive", number)
    official = _actor(session, by, domain.roles_for("receive"), order.requesting_party, on,
                      "receive a delivery")
    # the quantities are checked as a delivery's are: finite, not negative, at most 3 decimals
    lines = {n: domain.ReceiptLineInput(
        received=units.parse_quantity(g.received, field=f"line {n} received", allow_zero=True),
        damaged=units.parse_quantity(g.damaged, field=f"line {n} damaged", allow_zero=True),
        reason=g.reason) for n, g in lines.items()}
    pending = [d for d in order.deliveries if d.receipt_id is None]
    if deliveries is not None:
        if not deliveries:
            raise errors.InvalidInput(f"order {number}: the receipt names no delivery",
                                      field="deliveries", number=number)
        ordered = sorted(order.deliveries, key=lambda d: d.id)
        if len(set(deliveries)) != len(deliveries) or any(
                not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(ordered)
                or ordered[i].receipt_id is not None for i in deliveries):
            raise errors.InvalidTransition(
                f"order {number}: the receipt names a delivery that is missing, already "
                "received or named twice", field="deliveries", number=number)
        pending = [ordered[i] for i in deliveries]
    if not pending:
        raise errors.InvalidTransition(f"order {number}: every delivery is already received",
                                       field="deliveries", number=number)
    delivered_last = max(d.delivered_on for d in pending)
    if on < delivered_last:
        raise errors.InvalidInput(f"a receipt cannot be dated before the delivery it receives: "
                                  f"dated {on}, it receives a delivery made on {delivered_last}",
                                  field="on", hint=f"Give a date on or after {delivered_last}.")
    line_by_no = {ln.line_no: ln for ln in order.lines}
    delivered: dict[int, Decimal] = {}
    for d in pending:
        for x in d.lines:
            n = _line_no(order, x.line_id)
            delivered[n] = delivered.get(n, Decimal(0)) + x.quantity
    decisions = domain.decide_receipt(delivered, lines)
    receipt = Receipt(order_id=order.id, received_on=on, received_by_id=official.id, note=note,
                      lines=[ReceiptLine(line_id=line_by_no[n].id, delivered=d.delivered,
                                         received=d.received, damaged=d.damaged,
                                         discrepancy=d.discrepancy, reason=d.reason)
                             for n, d in sorted(decisions.items())])
    order.receipts.append(receipt)
    session.flush()
    for d in pending:
        d.receipt_id = receipt.id
    # a partner's receipt names the deliveries it received: one made meanwhile on this side
    # (the two crossed) still awaits its receipt, and the order stays delivered, as it does
    # on the partner's node once that delivery arrives there
    order.state = (State.DELIVERED if any(d.receipt_id is None for d in order.deliveries)
                   else State.RECEIVED).value
    session.flush()
    agreement = agreements.get(session, order.agreement_code)
    claims = settlement.create_claims(
        session, agreement=agreement, order=order, receipt=receipt,
        delivered_on=min(d.delivered_on for d in pending),
        billable={line_by_no[n]: (d.delivered, d.billable) for n, d in decisions.items()})
    _event(session, order, actor=official, action="received",
           payload={"on": on, "claims": [c.number for c in claims],
                    "lines": {str(n): {"delivered": format(d.delivered, "f"),
                                       "received": format(d.received, "f"),
                                       "damaged": format(d.damaged, "f"),
                                       "discrepancy": d.discrepancy, "reason": d.reason}
                              for n, d in decisions.items()}})
    settlement.refresh_order_state(session, order)
    return receipt


# --- the other ends ------------------------------------------------------------------------
def cancel_order(session: Session, *, number: str, by: str, on: dt.date, reason: str,
                 expected_version: int | None = None) -> Order:
    order, signed = _get_order_dated(session, number, SIGNED)
    _check_version(order, expected_version)
    domain.check_transition(order.state, "cancel", number)
    _not_before(order, on, signed, "cancelled")
    if order.deliveries:
        raise errors.InvalidTransition(f"order {number} has deliveries and cannot be cancelled",
                                       hint="Dispute it instead.", number=number,
                                       action="cancel")
    official = parties.get_official(session, by)
    party = order.requesting_party if official.party_code == order.requesting_party \
        else order.supplying_party
    _actor(session, by, domain.roles_for("cancel"), party, on, "cancel an order")
    if not reason.strip():
        raise errors.InvalidInput("a cancellation needs a reason", field="reason")
    order.state, order.cancel_reason = State.CANCELLED.value, reason.strip()
    _event(session, order, actor=official, action="cancelled", payload={"on": on,
                                                                         "reason": reason})
    return order


def dispute_order(session: Session, *, number: str, by: str, on: dt.date, reason: str,
                  expected_version: int | None = None) -> Order:
    order, signed = _get_order_dated(session, number, SIGNED)
    _check_version(order, expected_version)
    domain.check_transition(order.state, "dispute", number)
    _not_before(order, on, signed, "disputed")
    official = parties.get_official(session, by)
    party = official.party_code
    if party not in (order.requesting_party, order.supplying_party):
        raise errors.WrongParty(f"{official.code} is not an official of either party to {number}",
                                field="by")
    _actor(session, by, domain.roles_for("dispute"), party, on, "dispute an order")
    if not reason.strip():
        raise errors.InvalidInput("a dispute needs a reason", field="reason")
    order.state_before_dispute, order.state = order.state, State.DISPUTED.value
    order.dispute_reason = reason.strip()
    _event(session, order, actor=official, action="disputed", payload={"on": on,
                                                                        "reason": reason})
    return order


def resolve_dispute(session: Session, *, number: str, by: str, on: dt.date, resolution: str,
                    expected_version: int | None = None) -> Order:
    order, disputed = _get_order_dated(session, number, ("order.disputed",))
    _check_version(order, expected_version)
    domain.check_transition(order.state, "resolve", number)
    _not_before(order, on, disputed, "resolved")
    official = parties.get_official(session, by)
    party = official.party_code
    if party not in (order.requesting_party, order.supplying_party):
        raise errors.WrongParty(f"{official.code} is not an official of either party", field="by")
    _actor(session, by, domain.roles_for("resolve"), party, on, "resolve a dispute")
    if not resolution.strip():
        raise errors.InvalidInput("a resolution needs its terms", field="resolution")
    order.state = order.state_before_dispute or State.REQUESTED.value
    order.state_before_dispute = None
    _event(session, order, actor=official, action="dispute_resolved",
           payload={"on": on, "resolution": resolution, "dispute": order.dispute_reason})
    settlement.refresh_order_state(session, order)
    return order


def close_order(session: Session, *, number: str, by: str, on: dt.date,
                expected_version: int | None = None) -> Order:
    order = get_order(session, number, for_update=True)
    _check_version(order, expected_version)
    official = parties.get_official(session, by)
    party = order.supplying_party if official.party_code == order.supplying_party \
        else order.requesting_party
    if order.state == State.CLOSED.value:
        domain.check_transition(order.state, "close", number)
    _actor(session, by, domain.roles_for("close"), party, on, "close an order")
    # the order's claims: those still open, and the date of each settled one, in one read
    claims = session.execute(_claims_statement(), {"order_id": order.id}).all()
    open_claims = [n for n, state, _ in claims if state == "open"]
    unreceived = sum(1 for d in order.deliveries if d.receipt_id is None)
    domain.check_close(number, line_progress(order), unreceived, open_claims)
    domain.check_transition(order.state, "close", number)
    last = max([(r.received_on, "received") for r in order.receipts]
               + [(d, "settled") for _, _, d in claims if d is not None], default=None)
    if last is not None and on < last[0]:
        raise errors.InvalidInput(f"order {number} was last {last[1]} on {last[0]}; it cannot "
                                  f"be closed on {on}, before that", field="on",
                                  hint=f"Give a date on or after {last[0]}.")
    order.state, order.closed_by_id, order.closed_at = State.CLOSED.value, official.id, utcnow()
    _event(session, order, actor=official, action="closed", payload={"on": on})
    return order


@functools.cache
def _claims_statement() -> Select[tuple[str, str, dt.date | None]]:
    """(number, state, settled_on) of the claims of :order_id, built once."""
    return (select(Claim.number, Claim.state, Claim.settled_on)
            .where(Claim.order_id == bindparam("order_id")).order_by(Claim.id))
