"""Checking one imported order against the ACSA rules, as `orders.service.create_order` and
`request_order` check it, without a database round trip per row.

The rules are the existing ones, called, not rewritten: the official's authority and value
limit (`parties.domain`), the agreement in force, its activity types, categories, ammunition
and settlement methods (`agreements.domain.Agreement`), units and quantities (`units`), money
(`money`), required data elements (`orders.domain.check_complete`). What makes them fast is
that the reference data (agreements, activities, officials, units, parties) is read once per
import, and a rule whose answer depends only on a few codes (a category and method under an
agreement and activity type; a unit of measure) is asked once per distinct question.

The order's own checks (the activity runs under the agreement, a line's price and
description) are `orders.domain` functions that `orders.service` calls too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors, money, units
from acsa.activities.models import Activity, activity_agreements
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.audit.chain import content_hash
from acsa.orders import domain
from acsa.orders.domain import State
from acsa.parties.domain import Role, check_authority, check_value_limit
from acsa.parties.models import Official, Party, Unit
from acsa.rates import service as rates

BULK_STATES = (State.DRAFT.value, State.REQUESTED.value)
SERVICE_STATES = (State.ACCEPTED.value, State.DELIVERED.value, State.RECEIVED.value)
STATES = BULK_STATES + SERVICE_STATES

# the required data element a request misses -> the column that gives it
ELEMENT_COLUMNS = {
    "order number": "order_ref", "agreement reference": "agreement", "order date": "order_on",
    "activity": "activity", "requesting party": "requesting_party",
    "supplying party": "supplying_party", "requesting unit": "requesting_unit",
    "requester point of contact": "requester_poc", "place of delivery": "delivery_place",
    "delivery or service date": "delivery_on", "fund citation": "fund_citation",
    "billing address": "billing_address", "currency": "currency", "at least one line": "category",
    "line category": "category", "line description": "description",
    "line stock number (supplies)": "stock_number", "line quantity": "quantity",
    "line unit of measure": "unit", "line unit price": "unit_price",
    "line settlement method": "method",
}


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    reason: str
    error: str = "InvalidInput"
    order_ref: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason,
                "error": self.error, "order_ref": self.order_ref}


@dataclass(frozen=True)
class OfficialInfo:
    id: int
    code: str
    party: str
    role: str
    valid_from: dt.date
    valid_to: dt.date | None
    limit: money.Money | None


@dataclass(frozen=True)
class ActivityInfo:
    id: int
    code: str
    type: str
    agreements: frozenset[str]


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    party: str
    address: str


@dataclass
class LinePlan:
    row: int
    line_no: int
    category: str
    kind: str
    description: str
    stock_number: str
    quantity: Decimal
    unit: str
    unit_price_minor: int
    method: str
    # as given in the file, for the services (states past requested)
    quantity_text: str = ""


@dataclass
class Plan:
    """An order that passed every check: what the writer needs, nothing looked up again."""

    ref: str
    rows: list[int]
    state: str
    agreement: Agreement
    activity: ActivityInfo
    creator: OfficialInfo
    requesting: str
    supplying: str
    requesting_unit: UnitInfo | None
    supplying_unit: UnitInfo | None
    order_on: dt.date
    currency: str
    fiscal_year: int
    fields: dict[str, Any]  # delivery_place, delivery_on, fund_citation, billing_address, ...
    lines: list[LinePlan]
    total_minor: int
    requester: OfficialInfo | None = None  # who signed the request (requested and later)
    requested_on: dt.date | None = None
    cells: dict[str, str] = field(default_factory=dict)  # as read: later steps' officials

    def snapshot(self, number: str, state: str, requested_by: str | None) -> dict[str, Any]:
        """The order as `orders.service.snapshot` shows a new order: what is hashed and signed
        (tests compare the two on every imported order)."""
        cur = self.currency
        return {
            "number": number, "agreement": self.agreement.code,
            "agreement_version": self.agreement.version,
            "implementing_arrangement": self.fields["implementing_arrangement"],
            "activity": self.activity.code, "fiscal_year": self.fiscal_year,
            "order_on": self.order_on.isoformat(), "state": state,
            "requesting_party": self.requesting, "supplying_party": self.supplying,
            "requesting_unit": self.requesting_unit.code if self.requesting_unit else None,
            "supplying_unit": self.supplying_unit.code if self.supplying_unit else None,
            "currency": cur, "delivery_place": self.fields["delivery_place"],
            "delivery_on": (self.fields["delivery_on"].isoformat()
                            if self.fields["delivery_on"] else None),
            "fund_citation": self.fields["fund_citation"],
            "billing_address": self.fields["billing_address"],
            "requester_poc": self.fields["requester_poc"],
            "supplier_poc": self.fields["supplier_poc"],
            "requested_by": requested_by, "accepted_by": None,
            "total_minor": self.total_minor if self.lines else None,
            "lines": [{
                "line_no": ln.line_no, "category": ln.category, "kind": ln.kind,
                "description": ln.description, "stock_number": ln.stock_number,
                "quantity": format(ln.quantity, "f"), "unit": ln.unit,
                "unit_price": price_text(ln.unit_price_minor, cur),
                "unit_price_minor": ln.unit_price_minor, "currency": cur, "method": ln.method}
                for ln in self.lines],
            "deliveries": [], "receipts": [], "dispute_reason": "", "cancel_reason": "",
        }

    def hashes(self, number: str) -> dict[str, str]:
        """content hash when created; for a requested order also the signed hash and the
        content hash after the request, exactly as the services compute them."""
        snap = self.snapshot(number, State.DRAFT.value, None)
        out = {"created": content_hash(snap)}
        if self.state == State.REQUESTED.value:
            assert self.requester is not None
            out["signed"] = content_hash({k: v for k, v in snap.items() if k != "state"})
            snap["state"], snap["requested_by"] = State.REQUESTED.value, self.requester.code
            out["requested"] = content_hash(snap)
        return out


@lru_cache(maxsize=4096)
def price_text(minor: int, currency: str) -> str:
    """A unit price as the snapshot writes it (prices repeat: asked once each)."""
    return str(money.Money(minor, currency).amount)


@dataclass(frozen=True)
class Acting:
    """Who imports over the API: rows of another party are refused, the order is created and
    requested in the signed-in official's own name, and no further than requested (the partner
    signs its acceptance itself)."""

    party: str
    official: str


class Rules:
    """The reference data of one import, read once, and the rules asked through it."""

    def __init__(self, session: Session, acting: Acting | None = None) -> None:
        self.acting = acting
        self.agreements = {r.code: a for r, a in agreements.list_agreements(session)}
        links: dict[int, set[str]] = {}
        for activity_id, code in session.execute(
                select(activity_agreements.c.activity_id, activity_agreements.c.agreement_code)):
            links.setdefault(activity_id, set()).add(code)
        self.activities = {a.code: ActivityInfo(a.id, a.code, a.type,
                                                frozenset(links.get(a.id, ())))
                           for a in session.scalars(select(Activity))}
        self.officials = {o.code: OfficialInfo(
            o.id, o.code, o.party_code, o.role, o.valid_from, o.valid_to,
            money.Money(o.limit_minor, o.limit_currency)
            if o.limit_minor is not None and o.limit_currency else None)
            for o in session.scalars(select(Official))}
        self.units = {u.code: UnitInfo(u.id, u.code, u.party_code, u.address)
                      for u in session.scalars(select(Unit))}
        self.parties = {p.code: (p.currency, p.billing_address)
                        for p in session.scalars(select(Party))}
        self._line_rules: dict[tuple[str, int, str, str, str],
                               tuple[str, str] | errors.AcsaError] = {}
        self._units: dict[str, errors.AcsaError | None] = {}
        self._rates: dict[tuple[str, str, str, dt.date], rates.Conversion] = {}

    # --- lookups, each answered like the service's own get_* ---------------------------------
    def official(self, code: str, column: str) -> OfficialInfo:
        found = self.officials.get(code)
        if found is None:
            raise errors.NotFound(f"no official {code!r}", field=column,
                                  hint="List officials with `acsa officials list`.")
        return found

    def agreement(self, code: str) -> Agreement:
        found = self.agreements.get(code.upper())
        if found is None:
            raise errors.NotFound(f"no agreement {code!r}", field="agreement",
                                  hint=f"Agreements: {', '.join(sorted(self.agreements))}.")
        return found

    def activity(self, code: str) -> ActivityInfo:
        found = self.activities.get(code)
        if found is None:
            raise errors.NotFound(f"no activity {code!r}", field="activity",
                                  hint="List activities with `acsa activities list`.")
        return found

    def unit(self, code: str, column: str) -> UnitInfo:
        found = self.units.get(code)
        if found is None:
            raise errors.NotFound(f"no unit {code!r}", field=column,
                                  hint="List units with `acsa units list`.")
        return found

    # --- rules asked once per distinct question ----------------------------------------------
    def line_rule(self, agreement: Agreement, activity_type: str, category: str,
                  method: str) -> tuple[str, str]:
        """(kind, method) as `Agreement.check_category` and `check_method` answer."""
        key = (agreement.code, agreement.version, activity_type, category, method)
        answer = self._line_rules.get(key)
        if answer is None:
            try:
                kind = agreement.check_category(category, activity_type)
                answer = (kind.value, agreement.check_method(kind, method).value)
            except errors.AcsaError as e:
                answer = e
            self._line_rules[key] = answer
        if isinstance(answer, errors.AcsaError):
            raise answer
        return answer

    def check_unit(self, unit: str) -> None:
        if unit not in self._units:
            try:
                units.check_unit(unit)
                self._units[unit] = None
            except errors.AcsaError as e:
                self._units[unit] = e
        found = self._units[unit]
        if found is not None:
            raise found

    def check_limit(self, session: Session, agreement: Agreement, official: OfficialInfo,
                    total: money.Money, order_on: dt.date) -> None:
        """`orders.service._check_limit`: the order's value against the official's limit, in
        the limit's currency at the rate the agreement prescribes for the order date."""
        limit = official.limit
        if limit is None:
            return
        value, note = total, ""
        if value.currency != limit.currency:
            key = (agreement.code, value.currency, limit.currency, order_on)
            conv = self._rates.get(key)
            if conv is None:
                conv = self._rates[key] = rates.conversion(session, agreement, value.currency,
                                                           limit.currency, order_on)
            value = conv.apply(total, limit.currency)
            note = f" = {value} at {conv.note}"
        check_value_limit(official_code=official.code, limit=limit, value=value, rate_note=note)


def authority(rules: Rules, official: OfficialInfo, role: Role, party: str, on: dt.date,
              action: str) -> None:
    check_authority(official_code=official.code, official_role=official.role,
                    official_party=official.party, valid_from=official.valid_from,
                    valid_to=official.valid_to, roles={role}, party=party, on=on, action=action)


def parse_date(text: str, column: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"{text!r} is not a date", field=column,
                                  hint="Write dates as YYYY-MM-DD.") from None


def check_lines(rules: Rules, agreement: Agreement, activity_type: str, currency: str,
                lines: list[tuple[int, dict[str, str]]]) -> tuple[list[LinePlan], list[Problem]]:
    """Each line as `orders.service._build_lines` checks it; every bad cell is reported."""
    plans: list[LinePlan] = []
    problems: list[Problem] = []
    for line_no, (row, cells) in enumerate(lines, start=1):
        bad = len(problems)

        def fail(column: str, e: errors.AcsaError, row: int = row) -> None:
            problems.append(Problem(row, column, e.message, e.code))
        try:
            kind, method = rules.line_rule(agreement, activity_type, cells["category"],
                                           cells["method"])
        except errors.AcsaError as e:
            fail("method" if e.field == "method" else "category", e)
            kind = method = ""
        try:
            rules.check_unit(cells["unit"])
        except errors.AcsaError as e:
            fail("unit", e)
        try:
            quantity = units.parse_quantity(cells["quantity"])
        except errors.AcsaError as e:
            fail("quantity", e)
            quantity = Decimal(0)
        try:
            price = money.Money.of(cells["unit_price"], currency)
            domain.check_line_values(price.minor, "-")
        except errors.AcsaError as e:
            fail("unit_price", e)
            price = money.Money(0, currency)
        try:
            domain.check_line_values(0, cells["description"])
        except errors.AcsaError as e:
            fail("description", e)
        if len(problems) == bad:
            plans.append(LinePlan(row, line_no, cells["category"], kind, cells["description"],
                                  cells["stock_number"], quantity, cells["unit"], price.minor,
                                  method, cells["quantity"]))
    return plans, problems


def check_order(session: Session, rules: Rules, ref: str, rows: list[int],
                cells: dict[str, str],
                lines: list[tuple[int, dict[str, str]]]) -> Plan | list[Problem]:
    """The order of one group of rows, checked in the order `create_order` (and, for a
    requested order, `request_order`) checks it; or every problem found."""
    first = rows[0]
    problems: list[Problem] = []

    def problem(e: errors.AcsaError, column: str, row: int = first) -> list[Problem]:
        problems.append(Problem(row, column, e.message, e.code, ref))
        return problems
    try:
        state = cells["state"].lower() or State.DRAFT.value
        if state not in STATES:
            raise errors.InvalidInput(f"unknown state {state!r}", field="state",
                                      hint=f"Use one of: {', '.join(STATES)}.")
        dates = {c: parse_date(cells[c], c) for c in ("order_on", "delivery_on", "requested_on",
                                                      "accepted_on", "delivered_on",
                                                      "received_on")}
    except errors.AcsaError as e:
        return problem(e, e.field or "state")
    order_on = dates["order_on"]
    assert order_on is not None  # a required column, checked when the rows were grouped
    acting = rules.acting
    created_by = cells["created_by"]
    if acting is not None:
        if cells["requesting_party"].upper() != acting.party:
            return problem(errors.WrongParty(
                f"you import for {acting.party}; this order's requesting party is "
                f"{cells['requesting_party']!r}"), "requesting_party")
        for column in ("created_by", "requested_by"):
            if cells[column] and cells[column] != acting.official:
                return problem(errors.WrongParty(
                    f"{column} is {cells[column]!r}, but an order is imported in the name of "
                    f"the signed-in official ({acting.official})"), column)
        if state in SERVICE_STATES:
            return problem(errors.InvalidTransition(
                f"an import over the API brings an order at most to requested, not {state}: "
                "the supplying party accepts it itself"), "state")
        created_by = created_by or acting.official
    try:
        creator = rules.official(created_by, "created_by")
        requesting = creator.party
        if cells["requesting_party"].upper() != requesting:
            raise errors.WrongParty(
                f"{creator.code} acts for {requesting}, not {cells['requesting_party']!r}",
                field="requesting_party")
        agreement = rules.agreement(cells["agreement"])
        activity = rules.activity(cells["activity"])
        supplying = agreement.other_party(requesting)
        if cells["supplying_party"] and cells["supplying_party"].upper() != supplying:
            raise errors.WrongParty(f"under {agreement.code} the supplier of an order of "
                                    f"{requesting} is {supplying}, not "
                                    f"{cells['supplying_party']!r}", field="supplying_party")
        authority(rules, creator, Role.REQUESTING, requesting, order_on, "create an order")
        agreement.check_in_force(order_on)
        domain.check_activity_covered(agreement.code, activity.code, activity.agreements)
        agreement.check_activity_type(activity.type)
        currency = money.check_currency(
            (cells["currency"] or rules.parties[supplying][0]).upper())
    except errors.AcsaError as e:
        column = {"by": "created_by", "party": "requesting_party"}.get(e.field or "", e.field)
        return problem(e, column if column in cells else "created_by")
    line_plans, line_problems = check_lines(rules, agreement, activity.type, currency, lines)
    for p in line_problems:
        problems.append(Problem(p.row, p.column, p.reason, p.error, ref))
    try:
        r_unit = rules.unit(cells["requesting_unit"], "requesting_unit") \
            if cells["requesting_unit"] else None
        s_unit = rules.unit(cells["supplying_unit"], "supplying_unit") \
            if cells["supplying_unit"] else None
        if r_unit and r_unit.party != requesting:
            raise errors.WrongParty(f"unit {r_unit.code} belongs to {r_unit.party}, not "
                                    f"{requesting}", field="requesting_unit")
        if s_unit and s_unit.party != supplying:
            raise errors.WrongParty(f"unit {s_unit.code} belongs to {s_unit.party}, not "
                                    f"{supplying}", field="supplying_unit")
    except errors.AcsaError as e:
        problem(e, e.field or "requesting_unit")
    if problems:
        return problems
    billing = cells["billing_address"] or (
        r_unit.address if r_unit and r_unit.address else rules.parties[requesting][1])
    total = sum(money.Money(ln.unit_price_minor, currency).times(ln.quantity).minor
                for ln in line_plans)
    plan = Plan(
        ref=ref, rows=rows, state=state, agreement=agreement, activity=activity,
        creator=creator, requesting=requesting, supplying=supplying, requesting_unit=r_unit,
        supplying_unit=s_unit, order_on=order_on, currency=currency,
        fiscal_year=agreement.fiscal_year(requesting, order_on),
        fields={"delivery_place": cells["delivery_place"], "delivery_on": dates["delivery_on"],
                "fund_citation": cells["fund_citation"], "billing_address": billing,
                "requester_poc": cells["requester_poc"], "supplier_poc": cells["supplier_poc"],
                "implementing_arrangement": cells["implementing_arrangement"],
                "notes": cells["notes"]},
        lines=line_plans, total_minor=total, cells=cells)
    if state == State.DRAFT.value:
        return plan
    return _check_request(session, rules, plan, cells, dates["requested_on"] or order_on,
                          acting)


def _check_request(session: Session, rules: Rules, plan: Plan, cells: dict[str, str],
                   on: dt.date, acting: Acting | None) -> Plan | list[Problem]:
    """`orders.service.request_order` on the new order."""
    first = plan.rows[0]
    code = cells["requested_by"] or (acting.official if acting else plan.creator.code)
    try:
        official = rules.official(code, "requested_by")
        authority(rules, official, Role.REQUESTING, plan.requesting, on, "request an order")
        plan.agreement.check_in_force(on)
        rules.check_limit(session, plan.agreement, official,
                          money.Money(plan.total_minor, plan.currency), plan.order_on)
    except errors.AcsaError as e:
        column = "requested_on" if e.field in ("order_on", "agreement") else "requested_by"
        return [Problem(first, column, e.message, e.code, plan.ref)]
    snap = plan.snapshot("(to be numbered)", State.DRAFT.value, None)
    missing = domain.missing_elements(snap, "request")
    if missing:
        out = []
        for name in missing:
            column = ELEMENT_COLUMNS.get(name, "state")
            rows = [first]
            if name.startswith("line "):  # the rows of the lines that miss it
                rows = [ln.row for ln, x in zip(plan.lines, snap["lines"], strict=True)
                        if name in domain.missing_elements({**snap, "lines": [x]}, "request")
                        ] or [first]
            out.extend(Problem(row, column, f"a requested order needs the {name}",
                               "MissingDataElements", plan.ref) for row in rows)
        return out
    plan.requester, plan.requested_on = official, on
    return plan
