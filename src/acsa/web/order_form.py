"""The order form: what a person typed, read back as an order, and checked as they type.

`read(form)` turns the submitted fields into a `Draft` (nothing is refused while reading: a
value that cannot be read is kept as typed and reported by the check). `check(s, viewer,
draft)` runs the rules the services run, in the same order and with the same domain
functions, and reports each one: the official's authority to create an order for the party
(`parties.domain.check_authority`), the agreement (the viewer's party's own) in force on the
order date (`Agreement.check_in_force`), the activity running under it and its type eligible
(`orders.domain.check_activity_covered`, `Agreement.check_activity_type`), per line the
category for the activity (`Agreement.check_category`: weapons, ammunition rules) and the
settlement method for a supply or a service (`Agreement.check_method`), the unit, quantity and
price, the value against the official's delegated limit at the agreement's rate
(`check_value_limit`, as `orders.service` does when the order is requested), and every
required data element still missing (`orders.domain.missing_elements`, stage "request").
Nothing is written: the check is a read-only transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from acsa import errors, money, units
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement, Kind
from acsa.orders import domain
from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.parties.domain import check_authority, check_value_limit
from acsa.parties.models import Official, Unit
from acsa.rates import service as rates
from acsa.users.service import Viewer
from acsa.web import error_text

MAX_LINES = 20
HEADER = ("agreement", "activity", "order_on", "currency", "requesting_unit",
          "requester_poc", "delivery_place", "delivery_on", "fund_citation", "billing_address",
          "implementing_arrangement", "notes")
LINE = ("category", "description", "stock_number", "quantity", "unit", "unit_price",
        "method")
LIMITS = {"notes": 2000, "billing_address": 500, "delivery_place": 300, "requester_poc": 300,
          "fund_citation": 300, "implementing_arrangement": 100, "description": 300,
          "stock_number": 40}


@dataclass
class Draft:
    values: dict[str, str]
    lines: list[dict[str, str]]  # as typed, blank rows included (the form shows them)
    version: str = ""

    def filled(self) -> list[tuple[int, dict[str, str]]]:
        """The lines with anything typed in them, numbered as the order will number them."""
        rows = [ln for ln in self.lines if any(ln.get(k, "").strip() for k in (
            "description", "stock_number", "quantity", "unit_price"))]
        return list(enumerate(rows, start=1))


def _clean(raw: object, limit: int) -> str:
    text = str(raw or "").replace("\x00", "")
    return text[:limit]


def read(form: FormData) -> Draft:
    values = {k: _clean(form.get(k), LIMITS.get(k, 100)).strip() for k in HEADER}
    try:
        count = int(str(form.get("line_count") or "3"))
    except ValueError:
        count = 3
    count = max(1, min(count, MAX_LINES))
    lines = [{k: _clean(form.get(f"line_{i}_{k}"), LIMITS.get(k, 40)).strip() for k in LINE}
             for i in range(1, count + 1)]
    return Draft(values, lines, str(form.get("version") or "")[:12])


def blank(viewer: Viewer, official: Official | None, unit: Unit | None,
          today: dt.date) -> Draft:
    values = dict.fromkeys(HEADER, "")
    values["order_on"] = today.isoformat()
    values["requesting_unit"] = unit.code if unit else ""
    values["requester_poc"] = official.name if official else ""
    return Draft(values, [blank_line() for _ in range(3)])


def blank_line() -> dict[str, str]:
    return {**dict.fromkeys(LINE, ""), "method": "cash"}


def of_order(s: Session, order: Order) -> Draft:
    """A draft order as the edit form shows it (the requesting party's view: its own)."""
    snap = orders.snapshot(s, order)
    values = {k: str(snap.get(k) or "") for k in HEADER}
    values["notes"] = order.notes or ""
    values["currency"] = order.currency
    lines = [{"category": ln["category"], "description": ln["description"],
              "stock_number": ln["stock_number"], "quantity": ln["quantity"],
              "unit": ln["unit"], "unit_price": ln["unit_price"], "method": ln["method"]}
             for ln in snap["lines"]]
    return Draft(values, lines + [blank_line()], str(order.version))


# --- reading values --------------------------------------------------------------------------
def parse_date(text: str, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"{name}: {text!r} is not a date (YYYY-MM-DD)",
                                  field=name) from None


def _price(text: str, currency: str, n: int) -> money.Money:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise errors.InvalidAmount(f"line {n}: unit price {text!r} is not a number",
                                   field=f"lines[{n}].unit_price") from None
    if not value.is_finite():
        raise errors.InvalidAmount(f"line {n}: unit price {text!r} is not a number",
                                   field=f"lines[{n}].unit_price")
    try:
        return money.Money.of(value, currency)
    except errors.AcsaError as e:
        e.field = f"lines[{n}].unit_price"
        raise


def line_inputs(draft: Draft, currency: str) -> list[orders.LineInput]:
    """The order's lines for `orders.service`; a value that cannot be read is refused with the
    line's field named."""
    out = []
    for n, ln in draft.filled():
        try:
            qty = units.parse_quantity(ln["quantity"].replace(",", ""),
                                       field=f"line {n} quantity")
        except errors.AcsaError as e:
            e.field = f"lines[{n}].quantity"
            raise
        out.append(orders.LineInput(
            category=ln["category"], description=ln["description"], quantity=qty,
            unit=ln["unit"], unit_price=_price(ln["unit_price"], currency, n),
            method=ln["method"], stock_number=ln["stock_number"]))
    return out


# --- the check -----------------------------------------------------------------------------
@dataclass
class Finding:
    rule: str  # a key of web.labels.RULE
    ok: bool
    field: str = ""  # the form control it is about (its id)
    line: int | None = None
    detail: str = ""  # the service's own words (English) when refused, or a figure
    hint: str = ""
    said: dict[str, dict[str, str]] | None = None  # the refusal in each language (error_text)


@dataclass
class Check:
    findings: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # names of required data elements
    value: money.Money | None = None
    limit: money.Money | None = None
    currency: str = ""

    @property
    def refused(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def ready(self) -> bool:
        return not self.refused and not self.missing


def field_id(name: str | None) -> str:
    """The form control a service's `field` names: 'lines[2].category' -> 'line-2-category'."""
    if not name:
        return ""
    m = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", name)
    if m:
        sub = m.group(2) if m.group(2) in LINE else "description"
        return f"line-{m.group(1)}-{sub}"
    if name == "order_on" or name in HEADER:
        return f"f-{name}"
    return ""


def _try(out: Check, rule: str, fid: str, call: Any, line: int | None = None) -> Any:
    try:
        result = call()
    except errors.AcsaError as e:
        out.findings.append(Finding(rule, False, fid, line, e.message, e.hint or "",
                                    error_text.said(e)))
        return None
    out.findings.append(Finding(rule, True, fid, line))
    return result if result is not None else True


def check(s: Session, viewer: Viewer, draft: Draft, *, on: dt.date,
          order: Order | None = None) -> Check:
    out = Check()
    v = draft.values
    official = parties.get_official(s, viewer.official) if viewer.official else None
    order_on = None
    try:
        order_on = parse_date(v["order_on"], "order_on")
    except errors.AcsaError as e:
        out.findings.append(Finding("order_on", False, "f-order_on", None, e.message,
                                    said=error_text.said(e)))
    try:
        parse_date(v["delivery_on"], "delivery_on")
    except errors.AcsaError as e:
        out.findings.append(Finding("delivery_on", False, "f-delivery_on", None, e.message,
                                    said=error_text.said(e)))
    if official is None:
        out.findings.append(Finding("authority", False, "", None,
                                    f"user {viewer.username} is not linked to an official"))
    else:
        _try(out, "authority", "", lambda: check_authority(
            official_code=official.code, official_role=official.role,
            official_party=official.party_code, valid_from=official.valid_from,
            valid_to=official.valid_to, roles=domain.roles_for("create"), party=viewer.party,
            on=order_on or on, action="create an order"))
    agreement: Agreement | None = None
    if v["agreement"]:
        agreement = _try(out, "agreement", "f-agreement",
                         lambda: agreements.get_for_party(s, v["agreement"], viewer.party))
        if agreement is True:
            agreement = None
    if agreement is not None and order_on is not None and order is None:
        _try(out, "in_force", "f-order_on", lambda: agreement.check_in_force(order_on))
    activity = None
    if v["activity"]:
        try:
            activity = activities.get_activity(s, v["activity"])
        except errors.NotFound as e:
            out.findings.append(Finding("activity_covered", False, "f-activity", None,
                                        e.message, said=error_text.said(e)))
    if activity is not None and agreement is not None:
        covered = _try(out, "activity_covered", "f-activity",
                       lambda: domain.check_activity_covered(
                           agreement.code, activity.code, {a.code for a in activity.agreements}))
        if covered:
            _try(out, "activity_type", "f-activity",
                 lambda: agreement.check_activity_type(activity.type))
    supplying = None
    if agreement is not None and viewer.party in agreement.parties:
        supplying = agreement.other_party(viewer.party)
    currency = (v["currency"] or (parties.get_party(s, supplying).currency if supplying
                                  else "")).upper()
    out.currency = currency
    if currency and currency not in money.EXPONENTS:
        out.findings.append(Finding("currency", False, "f-currency", None,
                                    f"unknown currency {currency!r}"))
        currency = ""
    snap_lines: list[dict[str, Any]] = []
    values: list[money.Money] = []
    for n, ln in draft.filled():
        kind = None
        if agreement is not None and activity is not None and ln["category"]:
            kind = _try(out, "line_category", f"line-{n}-category",
                        lambda c=ln["category"], t=activity.type:
                        agreement.check_category(c, t), line=n)
            if isinstance(kind, Kind) and ln["method"]:
                _try(out, "line_method", f"line-{n}-method",
                     lambda k=kind, m=ln["method"]: agreement.check_method(k, m), line=n)
        qty = price = None
        if ln["unit"]:
            _try(out, "line_unit", f"line-{n}-unit", lambda u=ln["unit"]: units.check_unit(u),
                 line=n)
        if ln["quantity"]:
            qty = _try(out, "line_quantity", f"line-{n}-quantity",
                       lambda q=ln["quantity"], i=n: units.parse_quantity(
                           q.replace(",", ""), field=f"line {i} quantity"), line=n)
        if ln["unit_price"] and currency:
            price = _try(out, "line_price", f"line-{n}-unit_price",
                         lambda t=ln["unit_price"], i=n: _checked_price(t, currency, i), line=n)
        if isinstance(qty, Decimal) and isinstance(price, money.Money):
            values.append(price.times(qty))
        snap_lines.append({
            "category": ln["category"], "description": ln["description"],
            "kind": kind.value if isinstance(kind, Kind) else "",
            "stock_number": ln["stock_number"],
            "quantity": format(qty, "f") if isinstance(qty, Decimal) else "0",
            "unit": ln["unit"], "unit_price": ln["unit_price"] or None,
            "method": ln["method"]})
    if values and currency:
        out.value = money.total(values, currency)
    if official is not None and official.limit_minor is not None and official.limit_currency \
            and out.value is not None:
        out.limit = money.Money(official.limit_minor, official.limit_currency)
        _try(out, "limit", "", lambda: _check_limit(s, agreement, official, out.value,
                                                    order_on or on))
    out.missing = domain.missing_elements(_snapshot(s, viewer, draft, supplying, currency,
                                                    snap_lines, order), "request")
    return out


def _checked_price(text: str, currency: str, n: int) -> money.Money:
    price = _price(text, currency, n)
    domain.check_line_values(price.minor, "-")
    return price


def _check_limit(s: Session, agreement: Agreement | None, official: Official,
                 value: money.Money, on: dt.date) -> None:
    assert official.limit_minor is not None and official.limit_currency is not None
    limit = money.Money(official.limit_minor, official.limit_currency)
    note = ""
    if value.currency != limit.currency:
        if agreement is None:
            raise errors.RateMissing("choose the agreement first: its rate policy converts "
                                     f"{value.currency} into {limit.currency}")
        conv = rates.conversion(s, agreement, value.currency, limit.currency, on)
        note = f" = {conv.apply(value, limit.currency)} at {conv.note}"
        value = conv.apply(value, limit.currency)
    check_value_limit(official_code=official.code, limit=limit, value=value, rate_note=note)


def _snapshot(s: Session, viewer: Viewer, draft: Draft, supplying: str | None, currency: str,
              lines: list[dict[str, Any]], order: Order | None) -> dict[str, Any]:
    """The order as `orders.service.snapshot` would describe it once created (billing address
    defaulted as `create_order` defaults it), for `domain.missing_elements`."""
    v = draft.values
    billing = v["billing_address"]
    if not billing:
        unit = None
        if v["requesting_unit"]:
            try:
                unit = parties.get_unit(s, v["requesting_unit"])
            except errors.NotFound:
                unit = None
        billing = (unit.address if unit and unit.address
                   else parties.get_party(s, viewer.party).billing_address)
    return {
        "number": order.number if order else "(new)", "agreement": v["agreement"],
        "order_on": v["order_on"], "activity": v["activity"],
        "requesting_party": viewer.party, "supplying_party": supplying,
        "requesting_unit": v["requesting_unit"], "requester_poc": v["requester_poc"],
        "delivery_place": v["delivery_place"], "delivery_on": v["delivery_on"],
        "fund_citation": v["fund_citation"], "billing_address": billing,
        "currency": currency, "lines": lines,
    }
