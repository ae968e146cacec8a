"""The order's rules, pure: its states and transitions, its required data elements, the
checks on deliveries and receipts, and its numbering. No database, no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from acsa import errors
from acsa.parties.domain import Role


class State(enum.StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    RECEIVED = "received"
    SETTLED = "settled"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"


# action -> the roles that may take it, and the side of the order the official acts for
# ("requesting", "supplying" or "either"); the services check these, pages show buttons by them
ACTION_ROLES: dict[str, tuple[frozenset[Role], str]] = {
    "create": (frozenset({Role.REQUESTING}), "requesting"),
    "edit": (frozenset({Role.REQUESTING}), "requesting"),
    "request": (frozenset({Role.REQUESTING}), "requesting"),
    "accept": (frozenset({Role.APPROVING}), "supplying"),
    "deliver": (frozenset({Role.SUPPLYING}), "supplying"),
    "receive": (frozenset({Role.RECEIVING}), "requesting"),
    "cancel": (frozenset({Role.REQUESTING, Role.APPROVING}), "either"),
    "dispute": (frozenset({Role.REQUESTING, Role.APPROVING, Role.SUPPLYING, Role.RECEIVING,
                           Role.FINANCE}), "either"),
    "resolve": (frozenset({Role.APPROVING, Role.FINANCE}), "either"),
    "close": (frozenset({Role.FINANCE}), "either"),
}


def roles_for(action: str) -> frozenset[Role]:
    return ACTION_ROLES[action][0]


# action -> states it may be taken from
ALLOWED_FROM: dict[str, set[State]] = {
    "edit": {State.DRAFT},
    "request": {State.DRAFT},
    "accept": {State.REQUESTED},
    "deliver": {State.ACCEPTED, State.DELIVERED, State.RECEIVED, State.SETTLED},
    "receive": {State.DELIVERED},
    "settle": {State.RECEIVED, State.SETTLED, State.DELIVERED},
    "close": {State.SETTLED},
    "cancel": {State.DRAFT, State.REQUESTED, State.ACCEPTED},
    "dispute": {State.REQUESTED, State.ACCEPTED, State.DELIVERED, State.RECEIVED, State.SETTLED},
    "resolve": {State.DISPUTED},
}

HOW_TO_GET_THERE = {
    "request": "only a draft can be requested",
    "accept": "an order must be requested before it is accepted",
    "deliver": "an order must be accepted before anything is delivered against it",
    "receive": "record a delivery first; only delivered quantities can be received",
    "settle": "a claim exists only once a receipt is recorded",
    "close": "settle every claim first (acsa settle ...); closing needs a settled order",
    "cancel": "an order can be cancelled only before anything is delivered",
    "dispute": "a draft, closed or cancelled order cannot be disputed",
    "resolve": "only a disputed order can be resolved",
    "edit": "only a draft can be changed; after it is requested, changes need a new order",
}


def check_transition(state: str, action: str, number: str) -> None:
    current = State(state)
    if current is State.CLOSED:
        raise errors.OrderClosed(f"order {number} is closed; it can no longer be changed",
                                 number=number)
    if current not in ALLOWED_FROM[action]:
        raise errors.InvalidTransition(
            f"cannot {action} order {number}: it is {current.value}",
            hint=HOW_TO_GET_THERE[action][0].upper() + HOW_TO_GET_THERE[action][1:] + ".",
            action=action, number=number, state=current.value)


# --- required data elements ----------------------------------------------------------------
@dataclass(frozen=True)
class DataElement:
    name: str
    stage: str  # request: the requester must give it; accept: needed to bind the order
    present: Callable[[Mapping[str, Any]], bool]


def _has(key: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda o: bool(o.get(key))


def _all_lines(pred: Callable[[Mapping[str, Any]], bool]) -> Callable[[Mapping[str, Any]], bool]:
    return lambda o: bool(o.get("lines")) and all(pred(line) for line in o["lines"])


# The minimum data elements of an order (after the US 25, of which the list was not read;
# these are those confirmed or certain, see docs/domain-decisions.md). Deliveries, receipts and
# source documents are checked at their own steps.
DATA_ELEMENTS: list[DataElement] = [
    DataElement("order number", "request", _has("number")),
    DataElement("agreement reference", "request", _has("agreement")),
    DataElement("order date", "request", _has("order_on")),
    DataElement("activity", "request", _has("activity")),
    DataElement("requesting party", "request", _has("requesting_party")),
    DataElement("supplying party", "request", _has("supplying_party")),
    DataElement("requesting unit", "request", _has("requesting_unit")),
    DataElement("requester point of contact", "request", _has("requester_poc")),
    DataElement("place of delivery", "request", _has("delivery_place")),
    DataElement("delivery or service date", "request", _has("delivery_on")),
    DataElement("fund citation", "request", _has("fund_citation")),
    DataElement("billing address", "request", _has("billing_address")),
    DataElement("currency", "request", _has("currency")),
    DataElement("at least one line", "request", _has("lines")),
    DataElement("line category", "request", _all_lines(_has("category"))),
    DataElement("line description", "request", _all_lines(_has("description"))),
    DataElement("line stock number (supplies)", "request",
                _all_lines(lambda x: x.get("kind") != "supply" or bool(x.get("stock_number")))),
    DataElement("line quantity", "request", _all_lines(lambda x: Decimal(x["quantity"]) > 0)),
    DataElement("line unit of measure", "request", _all_lines(_has("unit"))),
    DataElement("line unit price", "request",
                _all_lines(lambda x: x.get("unit_price") is not None)),
    DataElement("line settlement method", "request", _all_lines(_has("method"))),
    DataElement("requesting official's signature", "accept", _has("requested_by")),
    DataElement("supplying unit", "accept", _has("supplying_unit")),
    DataElement("supplier point of contact", "accept", _has("supplier_poc")),
    DataElement("total value", "accept", lambda o: o.get("total_minor") is not None),
]


def missing_elements(order: Mapping[str, Any], stage: str) -> list[str]:
    stages = {"request": {"request"}, "accept": {"request", "accept"}}[stage]
    return [e.name for e in DATA_ELEMENTS if e.stage in stages and not e.present(order)]


def check_complete(order: Mapping[str, Any], stage: str) -> None:
    missing = missing_elements(order, stage)
    if missing:
        raise errors.MissingDataElements(
            f"order {order.get('number')} cannot be {stage}ed: missing "
            f"{len(missing)} required data element(s): {', '.join(missing)}",
            hint="Fill them in with `acsa orders edit` while it is a draft"
            + (", or give them with `acsa orders accept --supplier-poc/--supplying-unit`"
               if stage == "accept" else "") + ".",
            missing=missing, number=order.get("number"), stage=stage)


# --- deliveries and receipts ---------------------------------------------------------------
@dataclass
class LineProgress:
    """One order line's quantities so far."""

    ordered: Decimal
    delivered: Decimal = Decimal(0)
    received: Decimal = Decimal(0)
    documents: int = 0


def check_delivery(number: str, progress: Mapping[int, LineProgress],
                   quantities: Mapping[int, Decimal], over_allowed: bool) -> None:
    if not quantities:
        raise errors.InvalidInput("a delivery needs at least one line and quantity",
                                  field="line", hint="Give `--line N=QTY` for each line delivered.")
    for line_no, qty in quantities.items():
        if line_no not in progress:
            raise errors.InvalidInput(f"order {number} has no line {line_no}", field="line")
        p = progress[line_no]
        if p.delivered + qty > p.ordered and not over_allowed:
            raise errors.DeliveryExceedsOrder(
                f"line {line_no}: delivering {qty} would bring the total delivered to "
                f"{p.delivered + qty}, above the {p.ordered} ordered", field="line",
                hint="Deliver at most the ordered quantity, or amend the order.",
                line=line_no, quantity=format(qty, "f"), total=format(p.delivered + qty, "f"),
                ordered=format(p.ordered, "f"))


@dataclass(frozen=True)
class ReceiptLineInput:
    received: Decimal
    damaged: Decimal = Decimal(0)
    reason: str = ""


@dataclass(frozen=True)
class ReceiptLineDecision:
    delivered: Decimal
    received: Decimal
    damaged: Decimal
    billable: Decimal
    discrepancy: str
    reason: str


def decide_receipt(delivered: Mapping[int, Decimal], given: Mapping[int, ReceiptLineInput]
                   ) -> dict[int, ReceiptLineDecision]:
    """What was received per line against what was delivered. A line not mentioned counts as
    received in full. Over and short quantities and damage need a reason; the billable quantity
    is what arrived in good condition."""
    unknown = set(given) - set(delivered)
    if unknown:
        raise errors.InvalidInput(
            f"line(s) {', '.join(map(str, sorted(unknown)))} were not in the delivery being "
            "received", field="line")
    out: dict[int, ReceiptLineDecision] = {}
    for line_no, dq in delivered.items():
        g = given.get(line_no, ReceiptLineInput(received=dq))
        if g.damaged > g.received:
            raise errors.InvalidQuantity(
                f"line {line_no}: damaged {g.damaged} is more than received {g.received}",
                field="damaged")
        if g.received > dq and not g.reason.strip():
            raise errors.OverReceiptWithoutReason(
                f"line {line_no}: received {g.received} is above the {dq} delivered and no "
                "'over' reason was given", field="received", line=line_no,
                received=format(g.received, "f"), delivered=format(dq, "f"))
        if (g.received < dq or g.damaged > 0) and not g.reason.strip():
            what = "short" if g.received < dq else "damaged"
            raise errors.InvalidInput(
                f"line {line_no}: a {what} quantity needs a reason", field="reason",
                hint="Give the reason: `--reason LINE=WHY` on the command line, `reason` of "
                "the line over HTTP.")
        kind = ("over" if g.received > dq else "short" if g.received < dq
                else "damaged" if g.damaged > 0 else "")
        if kind != "damaged" and g.damaged > 0:
            kind = f"{kind}+damaged"
        out[line_no] = ReceiptLineDecision(dq, g.received, g.damaged, g.received - g.damaged,
                                           kind, g.reason.strip())
    return out


def check_close(number: str, progress: Mapping[int, LineProgress], unreceived_deliveries: int,
                open_claims: Sequence[str]) -> None:
    undocumented = [n for n, p in progress.items() if p.documents == 0]
    if undocumented:
        raise errors.SourceDocumentMissing(
            f"order {number} cannot be closed: line(s) {', '.join(map(str, undocumented))} "
            "have no source document",
            hint="Record the delivery of each line with its source document (`--document`).",
            number=number, lines=undocumented)
    problems = []
    if unreceived_deliveries:
        problems.append(f"{unreceived_deliveries} delivery(ies) not yet received")
    if open_claims:
        problems.append(f"claim(s) not settled: {', '.join(open_claims)}")
    if problems:
        raise errors.NotTiedOut(f"order {number} does not tie out: {'; '.join(problems)}",
                                hint="Receive every delivery and settle every claim first.",
                                number=number, unreceived=unreceived_deliveries,
                                open_claims=list(open_claims))


# --- what an order and its lines must be ----------------------------------------------------
def check_activity_covered(agreement: str, activity: str, runs_under: Collection[str]) -> None:
    """An order names an activity that runs under the order's agreement."""
    if agreement not in runs_under:
        raise errors.ActivityNotCovered(
            f"activity {activity} does not run under {agreement}", field="activity",
            hint=f"It runs under {', '.join(sorted(runs_under))}.", activity=activity,
            agreement=agreement, agreements=sorted(runs_under))


def check_line_values(unit_price_minor: int, description: str) -> None:
    """A line's price is not negative and the line says what it is."""
    if unit_price_minor < 0:
        raise errors.InvalidAmount("a unit price cannot be negative", field="unit_price")
    if not description.strip():
        raise errors.InvalidInput("a line needs a description", field="description")


# --- numbering -----------------------------------------------------------------------------
def order_number(agreement: str, party: str, fiscal_year: int, seq: int) -> str:
    return f"{agreement}-{party}-{fiscal_year}-{seq:04d}"


def add_months(on: dt.date, months: int) -> dt.date:
    month0 = on.month - 1 + months
    year, month = on.year + month0 // 12, month0 % 12 + 1
    for day in (on.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
