"""The settlement forms: the claim notice (the bill the supplier sends once the receipt is
recorded), the payment receipt, and the offset (netting) document both parties approve.

Each carries a QR code with its verification payload (`forms_data`). A viewer of a party that
is neither side of the claim or offset gets `NotFound`, exactly as the settlement service's
`find_claim` and `find_offset` answer it.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable, Spacer
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import money
from acsa.activities.models import Activity
from acsa.agreements import service as agreements
from acsa.documents import labels
from acsa.documents.forms_data import (
    claim_payload,
    find_claim,
    find_offset,
    find_receipt,
    offset_hashes,
    offset_payload,
    outstanding_after,
    receipt_payload,
)
from acsa.documents.forms_layout import Sheet, amount, date, instant, keep, quantity
from acsa.documents.labels import TEXT
from acsa.orders.domain import add_months
from acsa.orders.models import Order, OrderLine, Receipt
from acsa.parties.models import Official, Party, Unit
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim, SettlementRecord


# --- shared by every form ------------------------------------------------------------------
def party_name(session: Session, sheet: Sheet, code: str) -> str:
    if code in labels.PARTIES:
        return f"{code} — {sheet.both(code, labels.PARTIES)}"
    party = session.get(Party, code)
    return f"{code} — {party.name}" if party else code


def unit_text(session: Session, unit_id: int | None, *, address: bool = False) -> str:
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        return "—"
    text = f"{unit.code} — {unit.name}"
    return f"{text}\n{unit.address}" if address and unit.address else text


def official_rows(session: Session, sheet: Sheet,
                  official_id: int | None) -> list[tuple[str, str]]:
    """Who signed: the official (name, rank, code, party) and the person behind the role."""
    official = session.get(Official, official_id) if official_id else None
    if official is None:
        return [("official", sheet.both("not_signed"))]
    name = f"{official.rank_title} {official.name}".strip()
    return [("official", f"{name} ({official.code}, {official.party_code}, {official.role})"),
            ("person", official.person)]


def _state(sheet: Sheet, prefix: str, state: str) -> str:
    key = f"{prefix}_{state}"
    return sheet.both(key) if key in TEXT else state


def _kind(sheet: Sheet, kind: str) -> str:
    return _state(sheet, "kind", kind)


def _settlements(session: Session, sheet: Sheet, claim: Claim,
                 records: Sequence[SettlementRecord]) -> list[Flowable]:
    if not records:
        return [sheet.section("settlements"), sheet.para(sheet.both("none"))]
    rows = []
    for r in records:
        applied = amount(money.Money(r.applied_minor, claim.currency))
        if r.applied_quantity is not None:
            applied = f"{quantity(r.applied_quantity)} {claim.unit or ''}\n({applied})"
        rows.append([date(r.settled_on), _kind(sheet, r.kind), applied,
                     _tendered(r) + (f"\n@ {r.rate}" if r.rate and r.rate != "1" else ""),
                     r.reference or r.description or "—",
                     _official_code(session, r.recorded_by_id)])
    return [sheet.section("settlements"),
            sheet.grid(["date", "kind", "applied", "amount_received", "reference",
                        "recorded_by"], rows, widths=[56, 74, 96, 96, 120, 68], numeric=())]


def _tendered(r: SettlementRecord) -> str:
    if r.tendered_minor is not None and r.tendered_currency:
        return amount(money.Money(r.tendered_minor, r.tendered_currency))
    if r.tendered_quantity is not None:
        return f"{quantity(r.tendered_quantity)} {r.tendered_unit or ''}".strip()
    return "—"


def _official_code(session: Session, official_id: int | None) -> str:
    official = session.get(Official, official_id) if official_id else None
    return official.code if official else "acsa (system)"


def _left_text(claim: Claim, left: settlement.Outstanding) -> str:
    value = amount(money.Money(left.minor, claim.currency))
    if claim.method == "rik":
        return f"{quantity(left.quantity)} {claim.unit} ({value})"
    return value


# --- the claim notice ----------------------------------------------------------------------
def claim_notice_pdf(session: Session, claim_number: str, *, lang: str = "ja",
                     viewer_party: str | None = None) -> bytes:
    """The bill (cash) or notice of an in-kind obligation (RIK, EVE) for one claim: creditor
    and debtor, the order, the lines billed, amount, method, due date and the agreement's
    terms, what has been settled and what is outstanding, and how to pay."""
    sheet = Sheet(lang=lang, title_key="claim_notice", number=claim_number, payload="",
                  author="acsa")
    claim = find_claim(session, claim_number, viewer_party)
    order = session.get(Order, claim.order_id)
    assert order is not None
    terms = agreements.get(session, claim.agreement_code).settlement
    sheet.payload = str(claim_payload(session, claim))
    sheet.author = f"acsa: {claim.creditor_party} to {claim.debtor_party}"
    records = list(claim.settlements)
    left = settlement.outstanding(claim)
    billed = amount(money.Money(claim.amount_minor, claim.currency))
    if claim.method == "rik":
        billed = f"{quantity(claim.quantity)} {claim.unit} ({billed})"
    activity = session.get(Activity, order.activity_id)
    deadline = add_months(claim.delivered_on, terms.deadline_months)
    story: list[Flowable] = [*sheet.header(_state(sheet, "claim_state", claim.state))]
    story += [sheet.section("claim_notice"), sheet.fields([
        ("claim_number", claim.number), ("order_number", order.number),
        ("agreement", claim.agreement_code),
        ("activity", f"{activity.code} — {activity.name}" if activity else ""),
        ("method", sheet.both(claim.method, labels.METHODS)),
        ("category", sheet.both(claim.category, labels.CATEGORIES)),
        ("delivery_date", date(claim.delivered_on)), ("issued_on", date(claim.issued_on)),
        ("due_date", date(claim.due_on)), ("deadline", date(deadline)),
        ("amount_billed", billed), ("settled_to_date", _settled_text(claim, records)),
        ("outstanding", _left_text(claim, left)), ("state", _state(sheet, "claim_state",
                                                                    claim.state)),
    ])]
    internal = viewer_party is None or viewer_party == order.requesting_party
    debtor = [("billing_address", order.billing_address)]
    if internal:
        debtor.append(("fund_citation", order.fund_citation))
    story += [sheet.section("parties"), sheet.fields([
        ("creditor", party_name(session, sheet, claim.creditor_party)),
        ("debtor", party_name(session, sheet, claim.debtor_party)),
        ("pay_to", unit_text(session, order.supplying_unit_id, address=True)),
        ("bill_to", unit_text(session, order.requesting_unit_id, address=True)),
        ("point_of_contact", order.supplier_poc), ("point_of_contact", order.requester_poc),
    ]), Spacer(1, 3), sheet.fields(debtor, columns=1)]
    story += _billed_lines(session, sheet, claim, order)
    story += _settlements(session, sheet, claim, records)
    story.append(sheet.section("payment_instructions"))
    values = {"amount": amount(money.Money(left.minor, claim.currency)), "due": date(claim.due_on),
              "days": terms.days_to_pay, "months": terms.deadline_months,
              "deadline": date(deadline), "number": claim.number,
              "quantity": f"{quantity(left.quantity)} {claim.unit}"}
    story += sheet.sentence(f"terms_{claim.method}" if claim.method in ("cash", "rik", "eve")
                            else "terms_cash", **values)
    receipt = session.get(Receipt, claim.receipt_id) if claim.receipt_id else None
    rows = [("issued_on", date(claim.issued_on))]
    if receipt is not None:
        rows += [("received_on", date(receipt.received_on)),
                 ("received_by", _official_code(session, receipt.received_by_id))]
    story += [Spacer(1, 4), keep(sheet.para(sheet.both("issued_by_system"), "caption"),
                                 sheet.fields(rows, columns=3))]
    return sheet.build(story)


def _settled_text(claim: Claim, records: Sequence[SettlementRecord]) -> str:
    value = amount(money.Money(sum(r.applied_minor for r in records), claim.currency))
    if claim.method == "rik":
        q = sum((r.applied_quantity or 0) for r in records)
        return f"{quantity(q)} {claim.unit} ({value})"  # type: ignore[arg-type]
    return value


def _billed_lines(session: Session, sheet: Sheet, claim: Claim, order: Order) -> list[Flowable]:
    """The receipt's lines this claim bills, at the order's prices: what arrived in good
    condition (received less damaged) is what is billed."""
    if claim.converted_from_id is not None:
        origin = session.get(Claim, claim.converted_from_id)
        return [sheet.section("lines_billed"), sheet.fields([
            ("converted_from", origin.number if origin else "—"),
            ("amount_billed", amount(money.Money(claim.amount_minor, claim.currency)))],
            columns=1)]
    receipt = session.get(Receipt, claim.receipt_id) if claim.receipt_id else None
    lines = {ln.id: ln for ln in order.lines}
    rows = []
    for x in receipt.lines if receipt else []:
        line: OrderLine = lines[x.line_id]
        if (claim.line_id is not None and x.line_id != claim.line_id) or \
                (claim.line_id is None and line.method != "cash"):
            continue
        good = x.received - x.damaged
        price = money.Money(line.unit_price_minor, line.currency)
        desc = line.description + (f"\n{sheet.both('stock_number')}: {line.stock_number}"
                                   if line.stock_number else "")
        rows.append([str(line.line_no), sheet.both(line.category, labels.CATEGORIES), desc,
                     f"{quantity(x.delivered)} {line.unit}", f"{quantity(good)} {line.unit}",
                     amount(price), amount(price.times(good))])
    totals = ["", sheet.both("total"), "", "", "", "",
              amount(money.Money(claim.amount_minor, claim.currency))]
    return [sheet.section("lines_billed"),
            sheet.grid(["line_no", "category", "description", "delivered_qty", "billable_qty",
                        "unit_price", "amount"], rows, widths=[16, 70, 120, 64, 64, 70, 80],
                       numeric=(0, 3, 4, 5, 6), totals=totals)]


# --- the payment receipt -------------------------------------------------------------------
def payment_receipt_pdf(session: Session, settlement_id: int | str, *, lang: str = "ja",
                        viewer_party: str | None = None) -> bytes:
    """The receipt of one settlement of a claim (a payment, a return in kind or an
    equal-value exchange), identified by its settlement id: what was tendered, what was
    applied to the claim (at which rate), and what the claim still has outstanding after it."""
    sheet = Sheet(lang=lang, title_key="payment_receipt", number=str(settlement_id),
                  payload="", author="acsa")
    claim, record = find_receipt(session, settlement_id, viewer_party)
    order = session.get(Order, claim.order_id)
    assert order is not None
    sheet.number = f"{record.id} — {claim.number}"
    sheet.payload = str(receipt_payload(session, claim, record))
    sheet.author = f"acsa: {claim.debtor_party} to {claim.creditor_party}"
    before = [r for r in claim.settlements if r.id <= record.id]
    left = outstanding_after(claim, before)
    applied = amount(money.Money(record.applied_minor, claim.currency))
    if record.applied_quantity is not None:
        applied = f"{quantity(record.applied_quantity)} {claim.unit} ({applied})"
    billed = amount(money.Money(claim.amount_minor, claim.currency))
    if claim.method == "rik":
        billed = f"{quantity(claim.quantity)} {claim.unit} ({billed})"
    story: list[Flowable] = [*sheet.header(_kind(sheet, record.kind))]
    story += [sheet.section("payment_receipt"), sheet.fields([
        ("receipt_number", str(record.id)), ("kind", _kind(sheet, record.kind)),
        ("date", date(record.settled_on)), ("claim_number", claim.number),
        ("order_number", order.number), ("agreement", claim.agreement_code),
        ("received_from", party_name(session, sheet, claim.debtor_party)),
        ("creditor", party_name(session, sheet, claim.creditor_party)),
        ("amount_received", _tendered(record)), ("rate", record.rate or "—"),
        ("applied_to_claim", applied), ("amount_billed", billed),
        ("outstanding_after", _left_text(claim, left)),
        ("reference", record.reference or "—"),
    ])]
    if record.description:
        story += [Spacer(1, 3), sheet.fields([("note", record.description)], columns=1)]
    recorded = session.get(Official, record.recorded_by_id) if record.recorded_by_id else None
    story += [sheet.section("signatures"), sheet.signatures([sheet.signature(
        "recorded_by", [*official_rows(session, sheet, recorded.id if recorded else None),
                        ("signed_on", instant(record.recorded_at))],
        sheet.payload.rsplit(":", 1)[1])])]
    return sheet.build(story)


# --- the offset document -------------------------------------------------------------------
def offset_pdf(session: Session, offset_number: str, *, lang: str = "ja",
               viewer_party: str | None = None) -> bytes:
    """Both sides' open cash claims netted against each other: for each side the claims and
    the part of each applied (in the claim's currency, and valued in the offset currency at
    the recorded rate), the amount offset, and the proposal and approval blocks."""
    sheet = Sheet(lang=lang, title_key="offset", number=offset_number, payload="",
                  author="acsa")
    offset = find_offset(session, offset_number, viewer_party)
    sheet.payload = str(offset_payload(session, offset))
    sheet.author = f"acsa: {offset.proposing_party} / {offset.approving_party}"
    state = _state(sheet, "offset_state", offset.state)
    story: list[Flowable] = [*sheet.header(state)]
    story += [sheet.section("offset"), sheet.fields([
        ("offset_number", offset.number), ("agreement", offset.agreement_code),
        ("offset_date", date(offset.offset_on)), ("currency", offset.currency),
        ("amount_offset", amount(money.Money(offset.amount_minor, offset.currency))),
        ("state", state), ("note", offset.note or "—"),
    ])]
    claims = {c.id: c for c in session.scalars(
        select(Claim).where(Claim.id.in_([i.claim_id for i in offset.items])))}
    numbers = {o.id: o.number for o in session.scalars(
        select(Order).where(Order.id.in_({c.order_id for c in claims.values()})))}
    for side in (offset.proposing_party, offset.approving_party):
        items = [i for i in offset.items if claims[i.claim_id].creditor_party == side]
        rows = [[claims[i.claim_id].number, numbers[claims[i.claim_id].order_id],
                 claims[i.claim_id].debtor_party,
                 amount(money.Money(i.applied_minor, claims[i.claim_id].currency)), i.rate,
                 amount(money.Money(i.value_minor, offset.currency))] for i in items]
        total = amount(money.Money(sum(i.value_minor for i in items), offset.currency))
        heading = " / ".join(TEXT["owed_to"][lg].format(party=side) for lg in ("en", sheet.lang))
        story += [sheet.para(heading, "section"),
                  sheet.grid(["claim_number", "order_number", "debtor", "applied", "rate",
                              "offset_value"], rows, widths=[118, 104, 40, 86, 56, 96],
                             numeric=(3, 4, 5), totals=["", "", "", "", sheet.both("total"),
                                                        total])]
    hashes = offset_hashes(session, offset)
    approved_on = session.scalar(select(SettlementRecord.settled_on).where(
        SettlementRecord.offset_id == offset.id).limit(1))
    approval_rows = official_rows(session, sheet, offset.approved_by_id) \
        if offset.approved_by_id else [("official", sheet.both("awaiting_approval"))]
    blocks = [
        sheet.signature("proposal_signature",
                        [*official_rows(session, sheet, offset.proposed_by_id),
                         ("signed_on", date(offset.offset_on))], hashes[0][0]),
        sheet.signature("approval_signature",
                        [*approval_rows, ("signed_on", date(approved_on))],
                        hashes[-1][0] if offset.approved_by_id else None),
    ]
    story += [Spacer(1, 4), keep(sheet.section("signatures"), sheet.signatures(blocks))]
    return sheet.build(story)
