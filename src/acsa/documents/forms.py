"""The bilingual ACSA order and receipt form, and the public entry points of every form.

`order_form_pdf` lays out one order: every data element (`orders.domain.DATA_ELEMENTS`), its
lines with their settlement method and due date, the deliveries and receipts with their
discrepancies, the claims, and the signature blocks with the hash each official signed. Its
QR code carries `ACSA1:ORDER:<number>:<content hash>` (see `forms_data`), which
`acsa verify-doc` checks against the books. A viewer of the supplying party gets the form
without the requester's internal fields, exactly as `orders.service.order_view` hides them.

The claim notice, payment receipt and offset document live in `forms_settlement` and are
exported from here, so callers import every form from one module.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from reportlab.platypus import Flowable, Spacer
from sqlalchemy.orm import Session

from acsa import money
from acsa.activities.models import Activity
from acsa.audit import service as audit
from acsa.documents import labels
from acsa.documents.forms_data import find_order, order_payload
from acsa.documents.forms_layout import Sheet, amount, date, instant, keep, quantity
from acsa.documents.forms_settlement import (
    claim_notice_pdf,
    official_rows,
    offset_pdf,
    party_name,
    payment_receipt_pdf,
    unit_text,
)
from acsa.orders import service as orders
from acsa.orders.models import Order, OrderLine
from acsa.parties.models import Official
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim

__all__ = ["order_form_pdf", "claim_notice_pdf", "payment_receipt_pdf", "offset_pdf"]


def order_form_pdf(session: Session, number: str, *, lang: str = "ja",
                   viewer_party: str | None = None) -> bytes:
    """The order and receipt form of order `number` in English and `lang` ('ja' or 'fil').
    With `viewer_party`, an order of other parties is `NotFound` and a viewer of the supplying
    party does not see the requester's internal fields."""
    sheet = Sheet(lang=lang, title_key="order_form", number=number, payload="", author="acsa")
    order = find_order(session, number, viewer_party)
    view = orders.order_view(session, order, viewer_party=viewer_party)
    sheet.payload = str(order_payload(order))
    sheet.author = f"acsa: {order.requesting_party} / {order.supplying_party}"
    state = sheet.both(view["state"], labels.STATES)
    story: list[Flowable] = [*sheet.header(state)]
    story += _details(session, sheet, order, view)
    claims = settlement.claims_of(session, order)
    story += _lines(sheet, order, claims)
    story += _deliveries(session, sheet, order)
    story += _receipts(session, sheet, order)
    if claims:
        story += _claims(sheet, claims)
    story += _signatures(session, sheet, order)
    return sheet.build(story)


def _details(session: Session, sheet: Sheet, order: Order,
             view: dict[str, Any]) -> list[Flowable]:
    activity = session.get(Activity, order.activity_id)
    total = orders.total(order)
    head = [
        ("order_number", order.number), ("state", sheet.both(order.state, labels.STATES)),
        ("agreement", f"{order.agreement_code} (version {order.agreement_version})"),
        ("implementing_arrangement", order.implementing_arrangement),
        ("activity", f"{activity.code} — {activity.name}" if activity else ""),
        ("fiscal_year", str(order.fiscal_year)),
        ("order_date", date(order.order_on)), ("currency", order.currency),
        ("total", amount(total) if order.lines else ""),
    ]
    parties = [
        ("requesting_party", party_name(session, sheet, order.requesting_party)),
        ("supplying_party", party_name(session, sheet, order.supplying_party)),
        ("military_unit", unit_text(session, order.requesting_unit_id)),
        ("military_unit", unit_text(session, order.supplying_unit_id)),
        ("point_of_contact", view["requester_poc"]),
        ("point_of_contact", view["supplier_poc"]),
    ]
    delivery = [("delivery_place", view["delivery_place"]),
                ("delivery_date", date(view["delivery_on"])),
                ("billing_address", view["billing_address"])]
    if view["fund_citation"] is not None:  # internal: the requester's own
        delivery.append(("fund_citation", view["fund_citation"]))
    out: list[Flowable] = [sheet.section("order_details"), sheet.fields(head),
                           sheet.section("parties"), sheet.fields(parties),
                           sheet.section("delivery"), sheet.fields(delivery)]
    extra = []
    if view.get("notes"):
        extra.append(("internal_notes", view["notes"]))
    if order.dispute_reason:
        extra.append(("dispute_reason", order.dispute_reason))
    if order.cancel_reason:
        extra.append(("cancel_reason", order.cancel_reason))
    if extra:
        out += [Spacer(1, 3), sheet.fields(extra, columns=1)]
    return out


def _line_claims(order: Order, claims: list[Claim]) -> dict[int, list[Claim]]:
    """The claims that bill each line: an in-kind claim names its line; a cash bill covers
    the cash lines of the receipt it was issued for."""
    received: dict[int, set[int]] = defaultdict(set)
    for r in order.receipts:
        for x in r.lines:
            received[r.id].add(x.line_id)
    by_line: dict[int, list[Claim]] = defaultdict(list)
    for c in claims:
        if c.line_id is not None:
            by_line[c.line_id].append(c)
        elif c.receipt_id is not None:
            for line in order.lines:
                if line.method == "cash" and line.id in received[c.receipt_id]:
                    by_line[line.id].append(c)
    return by_line


def _lines(sheet: Sheet, order: Order, claims: list[Claim]) -> list[Flowable]:
    by_line = _line_claims(order, claims)
    rows = []
    for ln in order.lines:
        price = money.Money(ln.unit_price_minor, ln.currency)
        desc = ln.description + (f"\n{sheet.both('stock_number')}: {ln.stock_number}"
                                 if ln.stock_number else "")
        due = "\n".join(f"{date(c.due_on)}\n({c.number})" for c in by_line.get(ln.id, [])) or "—"
        rows.append([str(ln.line_no), sheet.both(ln.category, labels.CATEGORIES), desc,
                     f"{quantity(ln.quantity)} {ln.unit}", amount(price),
                     amount(price.times(ln.quantity)), sheet.both(ln.method, labels.METHODS),
                     due])
    totals = ["", sheet.both("total"), "", "", "", amount(orders.total(order)), "", ""]
    return [sheet.section("lines"),
            sheet.grid(["line_no", "category", "description", "quantity", "unit_price",
                        "line_total", "method", "due_date"], rows,
                       widths=[20, 62, 92, 56, 62, 76, 66, 76], numeric=(0, 3, 4, 5),
                       totals=totals)]


def _line_no(order: Order, line_id: int) -> int:
    return next(ln.line_no for ln in order.lines if ln.id == line_id)


def _line(order: Order, line_id: int) -> OrderLine:
    return next(ln for ln in order.lines if ln.id == line_id)


def _who(session: Session, official_id: int | None) -> str:
    official = session.get(Official, official_id) if official_id else None
    if official is None:
        return "—"
    return f"{official.name} ({official.code})"


def _deliveries(session: Session, sheet: Sheet, order: Order) -> list[Flowable]:
    if not order.deliveries:
        return [sheet.section("deliveries"), sheet.para(sheet.both("none"))]
    rows = []
    for d in order.deliveries:
        status = sheet.both("received", labels.STATES) if d.receipt_id \
            else sheet.both("receipt_pending")
        # one row per line delivered, so a delivery of many lines can run across pages
        for i, x in enumerate(d.lines):
            first = i == 0
            rows.append([f"{date(d.delivered_on)}\n{status}" if first else "",
                         _who(session, d.delivered_by_id) if first else "",
                         str(_line_no(order, x.line_id)),
                         f"{quantity(x.quantity)} {_line(order, x.line_id).unit}",
                         sheet.para(d.document_sha256, "mono") if first else "",
                         d.note if first and d.note else ""])
    return [sheet.section("deliveries"),
            sheet.grid(["delivery_date", "delivered_by", "line_no", "quantity",
                        "source_document", "note"], rows,
                       widths=[60, 84, 20, 60, 236, 50], numeric=(2, 3))]


def discrepancy_text(sheet: Sheet, value: str) -> str:
    if not value:
        return "—"
    return " + ".join(sheet.both(f"discrepancy_{part}") for part in value.split("+"))


def _receipts(session: Session, sheet: Sheet, order: Order) -> list[Flowable]:
    if not order.receipts:
        return [sheet.section("receipts"), sheet.para(sheet.both("none"))]
    rows = []
    for r in order.receipts:
        for x in r.lines:
            unit = _line(order, x.line_id).unit
            rows.append([date(r.received_on), _who(session, r.received_by_id),
                         str(_line_no(order, x.line_id)), f"{quantity(x.delivered)} {unit}",
                         f"{quantity(x.received)} {unit}", f"{quantity(x.damaged)} {unit}",
                         discrepancy_text(sheet, x.discrepancy), x.reason or "—"])
    return [sheet.section("receipts"),
            sheet.grid(["received_on", "received_by", "line_no", "delivered_qty",
                        "received_qty", "damaged_qty", "discrepancy", "reason"], rows,
                       widths=[52, 80, 18, 56, 56, 50, 64, 134], numeric=(2, 3, 4, 5))]


def _claims(sheet: Sheet, claims: list[Claim]) -> list[Flowable]:
    rows = []
    for c in claims:
        what = amount(money.Money(c.amount_minor, c.currency))
        if c.method == "rik":
            what = f"{quantity(c.quantity)} {c.unit}\n({what})"
        rows.append([c.number, sheet.both(c.method, labels.METHODS), what, date(c.issued_on),
                     date(c.due_on)])
    return [sheet.section("claims"),
            sheet.grid(["claim_number", "method", "amount", "issued_on", "due_date"], rows,
                       widths=[120, 120, 110, 80, 80], numeric=())]


def _signatures(session: Session, sheet: Sheet, order: Order) -> list[Flowable]:
    received = [e for e in audit.history(session, order.number) if e.action == "order.received"]
    blocks = [
        sheet.signature("request_signature",
                        [*official_rows(session, sheet, order.requested_by_id),
                         ("signed_on", instant(order.requested_at))], order.requested_hash),
        sheet.signature("accept_signature",
                        [*official_rows(session, sheet, order.accepted_by_id),
                         ("signed_on", instant(order.accepted_at))], order.accepted_hash),
    ]
    for r, event in zip(order.receipts, received, strict=False):
        blocks.append(sheet.signature(
            "receipt_signature", [*official_rows(session, sheet, r.received_by_id),
                                  ("received_on", date(r.received_on))], event.order_hash))
    return [keep(sheet.section("signatures"), sheet.signatures(blocks[:2])),
            *([sheet.signatures(blocks[2:])] if blocks[2:] else [])]
