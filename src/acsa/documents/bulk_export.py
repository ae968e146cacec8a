"""`acsa export orders|lines|settlements|ledger`: the registers as CSV or xlsx.

Owns the exported layouts and how values are written: CSV in UTF-8 with a header, amounts as
exact decimal text in major units beside a currency column; xlsx with real numbers and dates,
each amount formatted with its currency's decimals (JPY 0, PHP and USD 2). Rows are streamed
from one query (`yield_per`, a server-side cursor on PostgreSQL) and written as they come
(openpyxl's write-only mode for xlsx), so memory does not grow with the register.

Scope: with a party (the CLI's --party, the API's viewer) only orders, claims and book lines of
that party are written, and the requester's internal fields (fund citation, notes) are blank on
the orders of its partners. The ledger is always one party's own book.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from typing import IO, Any, Literal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from acsa import errors, money
from acsa.activities.models import Activity
from acsa.ledger import domain as books
from acsa.ledger.models import Entry, LedgerLine
from acsa.orders.models import Order, OrderLine
from acsa.orders.service import INTERNAL_FIELDS
from acsa.parties.models import Official, Unit
from acsa.settlement.models import Claim, Offset, SettlementRecord

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
KINDS = ("orders", "lines", "settlements", "ledger")
BATCH = 5_000


@dataclass(frozen=True)
class ExportQuery:
    party: str | None = None
    agreement: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Amount:
    """Money in major units, written with its currency's decimals."""

    minor: int
    currency: str

    @property
    def value(self) -> Decimal:
        return money.Money(self.minor, self.currency).amount


# --- the registers -------------------------------------------------------------------------
ORDER_HEADER = (
    "number", "order_ref", "agreement", "activity", "fiscal_year", "order_on", "state",
    "requesting_party", "supplying_party", "requesting_unit", "supplying_unit", "lines",
    "total", "currency", "delivery_place", "delivery_on", "billing_address", "requester_poc",
    "supplier_poc", "requested_by", "requested_at", "accepted_by", "accepted_at", "overdue",
    "content_hash", "fund_citation", "notes")
LINE_HEADER = (
    "number", "order_ref", "agreement", "activity", "order_on", "state", "requesting_party",
    "supplying_party", "line_no", "category", "kind", "description", "stock_number",
    "quantity", "unit", "unit_price", "line_total", "currency", "method")
SETTLEMENT_HEADER = (
    "claim", "order", "agreement", "kind", "settled_on", "creditor", "debtor", "method",
    "applied", "currency", "applied_quantity", "unit", "tendered", "tendered_currency",
    "tendered_quantity", "tendered_unit", "rate", "reference", "offset", "recorded_by",
    "recorded_at", "description")
LEDGER_HEADER = (
    "entry_id", "posted_on", "entry_kind", "agreement", "book", "account", "counterparty",
    "commodity", "amount", "currency", "quantity", "claim", "category", "line_kind", "memo")


def _codes(session: Session) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Activity, unit and official codes by id: small tables, read once."""
    return ({i: c for i, c in session.execute(select(Activity.id, Activity.code))},
            {i: c for i, c in session.execute(select(Unit.id, Unit.code))},
            {i: c for i, c in session.execute(select(Official.id, Official.code))})


def _order_conds(q: ExportQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if q.party:
        conds.append(or_(Order.requesting_party == q.party, Order.supplying_party == q.party))
    if q.agreement:
        conds.append(Order.agreement_code == q.agreement)
    if q.date_from:
        conds.append(Order.order_on >= q.date_from)
    if q.date_to:
        conds.append(Order.order_on <= q.date_to)
    return conds


def _stream(session: Session, stmt: Any) -> Iterator[Any]:
    result = session.execute(stmt.execution_options(yield_per=BATCH))
    for part in result.partitions():
        yield from part


_ORDER_COLS = (Order.id, Order.number, Order.external_ref, Order.agreement_code,
               Order.activity_id, Order.fiscal_year, Order.order_on, Order.state,
               Order.requesting_party, Order.supplying_party, Order.requesting_unit_id,
               Order.supplying_unit_id, Order.currency, Order.delivery_place, Order.delivery_on,
               Order.billing_address, Order.requester_poc, Order.supplier_poc,
               Order.requested_by_id, Order.requested_at, Order.accepted_by_id,
               Order.accepted_at, Order.overdue, Order.content_hash, Order.fund_citation,
               Order.notes)
_LINE_COLS = (OrderLine.line_no, OrderLine.category, OrderLine.kind, OrderLine.description,
              OrderLine.stock_number, OrderLine.quantity, OrderLine.unit,
              OrderLine.unit_price_minor, OrderLine.method)


def _order_lines(session: Session, q: ExportQuery) -> Iterator[Any]:
    stmt = (select(*_ORDER_COLS, *_LINE_COLS).join(OrderLine, OrderLine.order_id == Order.id)
            .where(*_order_conds(q)).order_by(Order.id, OrderLine.line_no))
    return _stream(session, stmt)


def _internal(q: ExportQuery, o: Any, key: str) -> str:
    return "" if q.party and q.party != o.requesting_party else getattr(o, key)


def order_rows(session: Session, q: ExportQuery) -> Iterator[list[Any]]:
    acts, unit_codes, officials = _codes(session)
    for _, lines in groupby(_order_lines(session, q), key=lambda r: r.id):
        items = list(lines)
        o = items[0]
        total = sum(money.Money(r.unit_price_minor, o.currency).times(r.quantity).minor
                    for r in items)
        yield [o.number, o.external_ref or "", o.agreement_code, acts.get(o.activity_id),
               o.fiscal_year, o.order_on, o.state, o.requesting_party, o.supplying_party,
               unit_codes.get(o.requesting_unit_id), unit_codes.get(o.supplying_unit_id),
               len(items), Amount(total, o.currency), o.currency, o.delivery_place,
               o.delivery_on, o.billing_address, o.requester_poc, o.supplier_poc,
               officials.get(o.requested_by_id), o.requested_at,
               officials.get(o.accepted_by_id), o.accepted_at, o.overdue, o.content_hash,
               *(_internal(q, o, k) for k in INTERNAL_FIELDS)]


def line_rows(session: Session, q: ExportQuery) -> Iterator[list[Any]]:
    acts, _, _ = _codes(session)
    for r in _order_lines(session, q):
        total = money.Money(r.unit_price_minor, r.currency).times(r.quantity).minor
        yield [r.number, r.external_ref or "", r.agreement_code, acts.get(r.activity_id),
               r.order_on, r.state, r.requesting_party, r.supplying_party, r.line_no,
               r.category, r.kind, r.description, r.stock_number, r.quantity, r.unit,
               Amount(r.unit_price_minor, r.currency), Amount(total, r.currency), r.currency,
               r.method]


def settlement_rows(session: Session, q: ExportQuery) -> Iterator[list[Any]]:
    _, _, officials = _codes(session)
    conds: list[ColumnElement[bool]] = []
    if q.party:
        conds.append(or_(Claim.creditor_party == q.party, Claim.debtor_party == q.party))
    if q.agreement:
        conds.append(Claim.agreement_code == q.agreement)
    if q.date_from:
        conds.append(SettlementRecord.settled_on >= q.date_from)
    if q.date_to:
        conds.append(SettlementRecord.settled_on <= q.date_to)
    stmt = (select(SettlementRecord, Claim.number, Order.number.label("order_number"),
                   Claim.agreement_code, Claim.creditor_party, Claim.debtor_party, Claim.method,
                   Claim.currency, Claim.unit, Offset.number.label("offset_number"))
            .join(Claim, Claim.id == SettlementRecord.claim_id)
            .join(Order, Order.id == Claim.order_id)
            .outerjoin(Offset, Offset.id == SettlementRecord.offset_id)
            .where(*conds).order_by(SettlementRecord.id))
    for r in _stream(session, stmt):
        s: SettlementRecord = r[0]
        tendered = (Amount(s.tendered_minor, s.tendered_currency)
                    if s.tendered_minor is not None and s.tendered_currency else None)
        yield [r.number, r.order_number, r.agreement_code, s.kind, s.settled_on,
               r.creditor_party, r.debtor_party, r.method, Amount(s.applied_minor, r.currency),
               r.currency, s.applied_quantity, r.unit if s.applied_quantity is not None else "",
               tendered, s.tendered_currency or "", s.tendered_quantity, s.tendered_unit or "",
               s.rate or "", s.reference, r.offset_number or "",
               officials.get(s.recorded_by_id) if s.recorded_by_id else "", s.recorded_at,
               s.description]


def ledger_rows(session: Session, q: ExportQuery) -> Iterator[list[Any]]:
    if not q.party:
        raise errors.InvalidInput("the ledger is kept per party: name the book", field="party",
                                  hint="Give --party PH (or JP, US): that party's own book.")
    claim = aliased(Claim)
    conds: list[ColumnElement[bool]] = [LedgerLine.book == q.party]
    if q.agreement:
        conds.append(LedgerLine.agreement_code == q.agreement)
    if q.date_from:
        conds.append(LedgerLine.posted_on >= q.date_from)
    if q.date_to:
        conds.append(LedgerLine.posted_on <= q.date_to)
    stmt = (select(LedgerLine.entry_id, LedgerLine.posted_on, Entry.kind,
                   LedgerLine.agreement_code, LedgerLine.book, LedgerLine.account,
                   LedgerLine.counterparty, LedgerLine.commodity, LedgerLine.amount,
                   claim.number, LedgerLine.category, LedgerLine.kind.label("line_kind"),
                   Entry.memo)
            .join(Entry, Entry.id == LedgerLine.entry_id)
            .outerjoin(claim, claim.id == LedgerLine.claim_id)
            .where(*conds).order_by(LedgerLine.entry_id, LedgerLine.id))
    for r in _stream(session, stmt):
        if books.is_currency(r.commodity):
            amount, currency, quantity = Amount(r.amount, r.commodity), r.commodity, None
        else:  # an in-kind item, counted in thousandths of its unit
            amount, currency = None, ""
            quantity = Decimal(r.amount).scaleb(-books.KIND_SCALE)
        yield [r.entry_id, r.posted_on, r.kind, r.agreement_code, r.book, r.account,
               r.counterparty, r.commodity, amount, currency, quantity, r.number or "",
               r.category or "", r.line_kind or "", r.memo]


REGISTERS: dict[str, tuple[tuple[str, ...], Callable[[Session, ExportQuery],
                                                      Iterator[list[Any]]]]] = {
    "orders": (ORDER_HEADER, order_rows), "lines": (LINE_HEADER, line_rows),
    "settlements": (SETTLEMENT_HEADER, settlement_rows), "ledger": (LEDGER_HEADER, ledger_rows),
}


def count(session: Session, what: str, q: ExportQuery) -> int:
    """How many rows an export will write (for the progress bar)."""
    if what == "orders":
        stmt = select(func.count()).select_from(Order).where(*_order_conds(q))
    elif what == "lines":
        stmt = (select(func.count()).select_from(OrderLine)
                .join(Order, Order.id == OrderLine.order_id).where(*_order_conds(q)))
    elif what == "settlements":
        stmt = select(func.count()).select_from(SettlementRecord)
    else:
        stmt = select(func.count()).select_from(LedgerLine).where(
            LedgerLine.book == (q.party or ""))
    return session.scalar(stmt) or 0


# --- writing -------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Amount):
        return format(value.value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def amount_format(currency: str) -> str:
    """The xlsx number format of an amount in `currency`: its own number of decimals."""
    places = money.exponent(currency)
    return "#,##0" + ("." + "0" * places if places else "")


def _write_csv(out: IO[bytes], header: tuple[str, ...], rows: Iterator[list[Any]],
               tick: Callable[[int], None]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow([_text(v) for v in row])
        n += 1
        tick(n)
    text.flush()
    text.detach()
    return n


def _write_xlsx(out: IO[bytes], what: str, header: tuple[str, ...], rows: Iterator[list[Any]],
                tick: Callable[[int], None]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(what)
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    sheet.freeze_panes = "A2"
    formats: dict[str, str] = {}
    n = 0
    for row in rows:
        cells: list[Any] = []
        for value in row:
            if isinstance(value, Amount):
                fmt = formats.get(value.currency)
                if fmt is None:
                    fmt = formats[value.currency] = amount_format(value.currency)
                cell = WriteOnlyCell(sheet, value=value.value)
                cell.number_format = fmt
            elif isinstance(value, dt.datetime):
                cell = WriteOnlyCell(sheet, value=value.astimezone(dt.UTC).replace(tzinfo=None))
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
            else:
                cells.append(value)
                continue
            cells.append(cell)
        sheet.append(cells)
        n += 1
        tick(n)
    book.save(out)
    return n


def export(session: Session, what: str, fmt: Format, out: IO[bytes], query: ExportQuery, *,
           progress: Callable[[float], None] | None = None) -> int:
    """Write one register to `out`; the number of rows written."""
    if what not in REGISTERS:
        raise errors.InvalidInput(f"cannot export {what!r}", field="what",
                                  hint=f"Export one of: {', '.join(KINDS)}.")
    if fmt not in FORMATS:
        raise errors.InvalidInput(f"unknown export format {fmt!r}", field="format",
                                  hint="Use csv or xlsx.")
    header, producer = REGISTERS[what]
    rows = producer(session, query)
    tick: Callable[[int], None] = lambda n: None  # noqa: E731
    if progress is not None:
        total = count(session, what, query) or 1

        def tick(n: int) -> None:
            if n % 1000 == 0:
                progress(min(n / total, 1.0))
    if fmt == "xlsx":
        return _write_xlsx(out, what, header, rows, tick)
    return _write_csv(out, header, rows, tick)
