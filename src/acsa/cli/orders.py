"""`acsa orders ...`: the order's whole life from the command line."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy.orm import Session

from acsa import errors
from acsa.agreements import service as agreements
from acsa.cli.common import (
    JsonOpt,
    emit,
    out,
    parse_date,
    parse_decimal,
    parse_line_no,
    parse_money,
    parse_pairs,
    run,
    table,
)
from acsa.orders.domain import ReceiptLineInput
from acsa.orders.models import Order
from acsa.parties import service as parties

if TYPE_CHECKING:
    from acsa.orders import service

# `acsa.orders.service` (and the settlement, ledger and rate services under it) is imported
# inside each command: every `acsa` command loads this module to list its commands.

app = typer.Typer(help="Create orders and take them through request, acceptance, delivery, "
                  "receipt, settlement and closing.", no_args_is_help=True)

LINE_HELP = ("An order line as 'category=fuel;description=Diesel F-76;stock=9140-00-273-2377;"
             "qty=50000;unit=L;price=95.50;method=cash' (repeatable). price may carry a "
             "currency ('95.50 PHP'); it defaults to the order currency.")
LINE_KEYS = {"category", "description", "stock", "qty", "unit", "price", "method"}

By = typer.Option(..., "--by", help="Code of the official acting (until sign-in arrives).")
On = typer.Option(None, "--on", help="Date of the act, YYYY-MM-DD (default: today).")
Version = typer.Option(None, "--expect-version",
                       help="Refuse if the order is no longer at this version.")


def parse_line(spec: str, currency: str | None, index: int) -> service.LineInput:
    from acsa.orders import service

    parts: dict[str, str] = {}
    for chunk in spec.split(";"):
        if not chunk.strip():
            continue
        if "=" not in chunk:
            raise errors.InvalidInput(f"--line {index}: {chunk!r} should be key=value",
                                      field=f"lines[{index}]", hint=LINE_HELP)
        k, _, v = chunk.partition("=")
        parts[k.strip().lower()] = v.strip()
    unknown = set(parts) - LINE_KEYS
    if unknown:
        raise errors.InvalidInput(f"--line {index}: unknown key(s) {', '.join(sorted(unknown))}",
                                  field=f"lines[{index}]", hint=LINE_HELP)
    missing = [k for k in ("category", "description", "qty", "unit", "price", "method")
               if not parts.get(k)]
    if missing:
        raise errors.InvalidInput(f"--line {index}: missing {', '.join(missing)}",
                                  field=f"lines[{index}].{missing[0]}", hint=LINE_HELP)
    return service.LineInput(
        category=parts["category"].lower(), description=parts["description"],
        quantity=parse_decimal(parts["qty"], f"lines[{index}].qty"), unit=parts["unit"],
        unit_price=parse_money(parts["price"], f"lines[{index}].price", currency),
        method=parts["method"].lower(), stock_number=parts.get("stock", ""))


def default_currency(session: Session, agreement: str, by: str) -> str:
    """The supplier's currency: what a price without a currency is read in."""
    requesting = parties.get_official(session, by).party_code
    supplier = agreements.get(session, agreement).other_party(requesting)
    return parties.get_party(session, supplier).currency


def _show(data: dict[str, Any]) -> None:
    out.print(f"[bold]{data['number']}[/]  {data['state'].upper()}"
              f"{'  [red]OVERDUE[/]' if data['overdue'] else ''}  "
              f"{data['agreement']} v{data['agreement_version']}  activity {data['activity']}")
    out.print(f"  {data['requesting_party']} ({data['requesting_unit'] or '-'}) requests from "
              f"{data['supplying_party']} ({data['supplying_unit'] or '-'}), ordered "
              f"{data['order_on']}, FY{data['fiscal_year']}")
    out.print(f"  deliver to {data['delivery_place'] or '-'} on {data['delivery_on'] or '-'};"
              f" fund citation {data['fund_citation'] or '-'}")
    out.print(f"  requester POC {data['requester_poc'] or '-'}; supplier POC "
              f"{data['supplier_poc'] or '-'}; requested by {data['requested_by'] or '-'}, "
              f"accepted by {data['accepted_by'] or '-'}")
    table(None, ["#", "category", "description", "stock no.", "qty", "unit", "unit price",
                 "method"],
          [[ln["line_no"], ln["category"], ln["description"], ln["stock_number"],
            ln["quantity"], ln["unit"], f"{ln['unit_price']} {ln['currency']}", ln["method"]]
           for ln in data["lines"]])
    out.print(f"  total {data['total']}")
    for d in data["deliveries"]:
        lines = ", ".join(f"line {k}: {v}" for k, v in d["lines"].items())
        out.print(f"  delivered {d['delivered_on']} by {d['delivered_by']}: {lines} "
                  f"(document sha256 {d['document'][:16]}…)")
    for r in data["receipts"]:
        for x in r["lines"]:
            note = f" — {x['discrepancy']}: {x['reason']}" if x["discrepancy"] else ""
            out.print(f"  received {r['received_on']} by {r['received_by']}: line "
                      f"{x['line_no']} {x['received']} of {x['delivered']}"
                      f"{', damaged ' + x['damaged'] if x['damaged'] != '0' else ''}{note}")
    if data["claims"]:
        table("claims", ["claim", "method", "debtor", "amount", "outstanding", "due", "state"],
              [[c["number"], c["method"], c["debtor"],
                f"{c['quantity']} {c['unit']}" if c["method"] == "rik" else c["amount"],
                f"{c['outstanding_quantity']} {c['unit']}" if c["method"] == "rik"
                else c["outstanding"], c["due_on"],
                c["state"] + (" OVERDUE" if c["overdue"] else "")] for c in data["claims"]])
    if data["dispute_reason"]:
        out.print(f"  dispute: {data['dispute_reason']}")


def _done(session: Session, order: Order, as_json: bool, verb: str,
          warnings: list[str] | None = None) -> None:
    from acsa.orders import service

    data = service.order_view(session, order)
    if warnings:
        data["warnings"] = warnings
    emit(data, as_json, lambda: (out.print(f"{data['number']} {verb}: now {data['state']} "
                                           f"(version {data['version']})"),
                                 [out.print(f"[yellow]warning[/]: {w}") for w in warnings or []]))


@app.command("create")
def create(
    agreement: str = typer.Option(..., "--agreement", help="Agreement code, e.g. PHJP."),
    activity: str = typer.Option(..., "--activity", help="Activity code."),
    by: str = By,
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    from_json: Path | None = typer.Option(None, "--from-json", exists=True, dir_okay=False,
                                          help="Read lines (a list of line objects) from JSON."),
    currency: str | None = typer.Option(None, help="Order currency (default: supplier's)."),
    on: str | None = On,
    delivery_place: str = typer.Option("", help="Place of delivery."),
    delivery_on: str | None = typer.Option(None, help="Delivery or service date."),
    fund_citation: str = typer.Option("", help="The requester's fund citation."),
    billing_address: str | None = typer.Option(None, help="Default: the requesting unit's."),
    requester_poc: str = typer.Option("", help="Requester's point of contact."),
    supplier_poc: str = typer.Option("", help="Supplier's point of contact, if known."),
    requesting_unit: str | None = typer.Option(None, help="Requesting unit code."),
    supplying_unit: str | None = typer.Option(None, help="Supplying unit code, if known."),
    implementing_arrangement: str = typer.Option("", help="Implementing arrangement ref."),
    notes: str = typer.Option("", help="Internal notes of the requesting party."),
    as_json: bool = JsonOpt,
) -> None:
    """Create a draft order (numbered at once, gap-free per agreement, party and FY)."""
    from acsa.orders import service

    def go(s: Session) -> None:
        order_currency = currency or default_currency(s, agreement, by)
        specs: list[service.LineInput] = [parse_line(x, order_currency, i)
                                          for i, x in enumerate(line, 1)]
        if from_json:
            try:
                items = json.loads(from_json.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise errors.InvalidInput(f"--from-json: not valid JSON ({e})",
                                          field="from_json") from None
            if not isinstance(items, list):
                raise errors.InvalidInput("--from-json: expected a list of lines",
                                          field="from_json")
            for i, item in enumerate(items, len(specs) + 1):
                if not isinstance(item, dict):
                    raise errors.InvalidInput(f"--from-json: line {i} is not an object",
                                              field=f"lines[{i}]")
                specs.append(parse_line(";".join(f"{k}={v}" for k, v in item.items()),
                                        order_currency, i))
        order = service.create_order(
            s, agreement_code=agreement, activity_code=activity, by=by,
            order_on=parse_date(on, "on"), lines=specs, currency=currency,
            delivery_place=delivery_place,
            delivery_on=parse_date(delivery_on, "delivery_on") if delivery_on else None,
            fund_citation=fund_citation, billing_address=billing_address,
            requester_poc=requester_poc, supplier_poc=supplier_poc,
            requesting_unit=requesting_unit, supplying_unit=supplying_unit,
            implementing_arrangement=implementing_arrangement, notes=notes)
        _done(s, order, as_json, "created")
    run(go, as_json=as_json)


@app.command("edit")
def edit(
    number: str, by: str = By, on: str | None = On,
    line: list[str] = typer.Option([], "--line", help="Replace all lines. " + LINE_HELP),
    set_: list[str] = typer.Option([], "--set", help="FIELD=VALUE: delivery_place, "
                                   "delivery_on, fund_citation, billing_address, requester_poc, "
                                   "supplier_poc, implementing_arrangement, notes."),
    requesting_unit: str | None = typer.Option(None), supplying_unit: str | None = None,
    expect_version: int | None = Version, as_json: bool = JsonOpt,
) -> None:
    """Change a draft order."""
    from acsa.orders import service

    def go(s: Session) -> None:
        changes: dict[str, Any] = parse_pairs(set_, "set")
        if "delivery_on" in changes:
            changes["delivery_on"] = parse_date(changes["delivery_on"], "delivery_on")
        order = service.get_order(s, number)
        lines = [parse_line(x, order.currency, i) for i, x in enumerate(line, 1)] or None
        order = service.edit_order(s, number=number, by=by, on=parse_date(on, "on"),
                                   changes=changes, lines=lines, requesting_unit=requesting_unit,
                                   supplying_unit=supplying_unit,
                                   expected_version=expect_version)
        _done(s, order, as_json, "edited")
    run(go, as_json=as_json)


@app.command("request")
def request(number: str, by: str = By, on: str | None = On,
            expect_version: int | None = Version, as_json: bool = JsonOpt) -> None:
    """Sign the request (requesting official): checks every data element the requester owes."""
    from acsa.orders import service

    run(lambda s: _done(s, service.request_order(s, number=number, by=by, on=parse_date(on, "on"),
                                                 expected_version=expect_version),
                        as_json, "requested"), as_json=as_json)


@app.command("accept")
def accept(number: str, by: str = By, on: str | None = On,
           supplier_poc: str | None = typer.Option(None, help="Supplier's point of contact."),
           supplying_unit: str | None = typer.Option(None, help="Supplying unit code."),
           expect_version: int | None = Version, as_json: bool = JsonOpt) -> None:
    """Accept (supplier's approving official): the order becomes a binding commitment."""
    from acsa.orders import service

    def go(s: Session) -> None:
        result = service.accept_order(s, number=number, by=by, on=parse_date(on, "on"),
                                      supplier_poc=supplier_poc, supplying_unit=supplying_unit,
                                      expected_version=expect_version)
        _done(s, result.order, as_json, "accepted", result.warnings)
    run(go, as_json=as_json)


@app.command("deliver")
def deliver(number: str, by: str = By, on: str | None = On,
            line: list[str] = typer.Option([], "--line", help="LINE=QTY delivered (repeatable;"
                                           " default: everything still to deliver)."),
            document: Path = typer.Option(..., "--document", exists=True, dir_okay=False,
                                          help="The source document (issue slip, fuel ticket)."),
            note: str = "", expect_version: int | None = Version,
            as_json: bool = JsonOpt) -> None:
    """Record a delivery (supplying official) with its source document (stored with SHA-256)."""
    from acsa.orders import service

    def go(s: Session) -> None:
        order = service.get_order(s, number)
        if line:
            qty = {parse_line_no(k, "line"): parse_decimal(v, f"line {k}")
                   for k, v in parse_pairs(line, "line").items()}
        else:
            progress = service.line_progress(order)
            qty = {n: p.ordered - p.delivered for n, p in progress.items()
                   if p.ordered > p.delivered}
        ctype = mimetypes.guess_type(document.name)[0] or "application/octet-stream"
        delivery = service.record_delivery(
            s, number=number, by=by, on=parse_date(on, "on"), quantities=qty,
            document_name=document.name, document=document.read_bytes(), content_type=ctype,
            note=note, expected_version=expect_version)
        _done(s, service.get_order(s, number), as_json,
              f"delivery recorded (document sha256 {delivery.document_sha256})")
    run(go, as_json=as_json)


@app.command("receive")
def receive(number: str, by: str = By, on: str | None = On,
            line: list[str] = typer.Option([], "--line", help="LINE=RECEIVED[:DAMAGED] "
                                           "(default: received as delivered)."),
            reason: list[str] = typer.Option([], "--reason", help="LINE=why short, over or "
                                             "damaged."),
            note: str = "", expect_version: int | None = Version,
            as_json: bool = JsonOpt) -> None:
    """Receive what was delivered (receiving official); the bill or claim exists from now."""
    from acsa.orders import service

    def go(s: Session) -> None:
        reasons = {parse_line_no(k, "reason"): v for k, v in parse_pairs(reason, "reason").items()}
        given: dict[int, ReceiptLineInput] = {}
        for k, v in parse_pairs(line, "line").items():
            n = parse_line_no(k, "line")
            got, _, damaged = v.partition(":")
            given[n] = ReceiptLineInput(
                received=parse_decimal(got, f"line {n} received"),
                damaged=parse_decimal(damaged, f"line {n} damaged") if damaged else
                parse_decimal("0", "damaged"), reason=reasons.pop(n, ""))
        if reasons:
            raise errors.InvalidInput("--reason given for a line without --line",
                                      field="reason")
        service.record_receipt(s, number=number, by=by, on=parse_date(on, "on"), lines=given,
                               note=note, expected_version=expect_version)
        _done(s, service.get_order(s, number), as_json, "received")
    run(go, as_json=as_json)


@app.command("cancel")
def cancel(number: str, by: str = By, reason: str = typer.Option(..., help="Why."),
           on: str | None = On, expect_version: int | None = Version,
           as_json: bool = JsonOpt) -> None:
    """Cancel an order before anything is delivered."""
    from acsa.orders import service

    run(lambda s: _done(s, service.cancel_order(s, number=number, by=by, reason=reason,
                                                on=parse_date(on, "on"),
                                                expected_version=expect_version),
                        as_json, "cancelled"), as_json=as_json)


@app.command("dispute")
def dispute(number: str, by: str = By,
            reason: str | None = typer.Option(None, help="The discrepancy in dispute."),
            resolve: str | None = typer.Option(None, help="Resolve the dispute with these "
                                               "agreed terms instead."),
            on: str | None = On, expect_version: int | None = Version,
            as_json: bool = JsonOpt) -> None:
    """Open a dispute on an order (--reason), or resolve it (--resolve)."""
    from acsa.orders import service

    def go(s: Session) -> None:
        if resolve is not None:
            order = service.resolve_dispute(s, number=number, by=by, on=parse_date(on, "on"),
                                            resolution=resolve, expected_version=expect_version)
            _done(s, order, as_json, "dispute resolved")
            return
        order = service.dispute_order(s, number=number, by=by, on=parse_date(on, "on"),
                                      reason=reason or "", expected_version=expect_version)
        _done(s, order, as_json, "disputed")
    run(go, as_json=as_json)


@app.command("close")
def close(number: str, by: str = By, on: str | None = On,
          expect_version: int | None = Version, as_json: bool = JsonOpt) -> None:
    """Close a settled order once it ties out (finance official)."""
    from acsa.orders import service

    run(lambda s: _done(s, service.close_order(s, number=number, by=by, on=parse_date(on, "on"),
                                               expected_version=expect_version),
                        as_json, "closed"), as_json=as_json)


@app.command("show")
def show(number: str, as_json: bool = JsonOpt) -> None:
    """Every data element of one order, its deliveries, receipts and claims."""
    from acsa.orders import service

    def go(s: Session) -> None:
        data = service.order_view(s, service.get_order(s, number))
        emit(data, as_json, lambda: _show(data))
    run(go, as_json=as_json)


def register_data(s: Session, *, agreement: str | None = None, state: str | None = None,
                  activity: str | None = None, party: str | None = None,
                  overdue: bool | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    from acsa.orders import service

    rows = service.list_orders(s, agreement=agreement, state=state, activity=activity,
                               party=party, overdue=overdue, limit=limit)
    acts = {a.id: a.code for a in service.activities.list_activities(s)}
    return [{"number": o.number, "agreement": o.agreement_code,
             "activity": acts.get(o.activity_id), "requesting_party": o.requesting_party,
             "supplying_party": o.supplying_party, "order_on": o.order_on.isoformat(),
             "state": o.state, "overdue": o.overdue, "total": str(service.total(o)),
             "total_minor": service.total(o).minor, "currency": o.currency,
             "lines": len(o.lines), "version": o.version} for o in rows]


def render_register(data: list[dict[str, Any]]) -> None:
    table(f"Order register ({len(data)})",
          ["number", "activity", "from", "to", "ordered", "state", "total"],
          [[d["number"], d["activity"], d["requesting_party"], d["supplying_party"],
            d["order_on"], d["state"] + (" OVERDUE" if d["overdue"] else ""), d["total"]]
           for d in data])


@app.command("list")
def list_(agreement: str | None = None, state: str | None = None,
          activity: str | None = None, party: str | None = None,
          overdue: bool = typer.Option(False, "--overdue", help="Only overdue orders."),
          limit: int | None = typer.Option(None, min=1), as_json: bool = JsonOpt) -> None:
    """The order register."""
    def go(s: Session) -> None:
        data = register_data(s, agreement=agreement, state=state, activity=activity,
                             party=party, overdue=True if overdue else None, limit=limit)
        emit(data, as_json, lambda: render_register(data))
    run(go, as_json=as_json)


__all__ = ["app"]
