"""The statements and reports as xlsx workbooks (openpyxl, write-only: rows are streamed, so
a statement of tens of thousands of movements stays quick and small in memory).

Every amount is a number with its currency's format (`"PHP" #,##0.00`, `"JPY" #,##0`; in-kind
quantities `#,##0.###` with the unit in the header), every date a date, never text; each data
sheet has its header row frozen and its columns sized; totals are numbers, not formulas, so a
reader without a calculation engine sees them. Charts are placed as PNG images.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from acsa import money
from acsa.documents import reports_data as data
from acsa.documents import reports_pdf
from acsa.documents.reports_labels import both, category, kind, movement, state
from acsa.documents.reports_labels import text as caption
from acsa.ledger import domain as books

DATE = "yyyy-mm-dd"
KIND_FORMAT = "#,##0.###"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
WRAP = Alignment(wrap_text=True, vertical="top")


def number_format(commodity: str) -> str:
    """The cell format of an amount: the currency's own decimals, its code shown."""
    if not books.is_currency(commodity):
        return KIND_FORMAT
    exp = money.exponent(commodity)
    return f'"{commodity}" #,##0' + ("." + "0" * exp if exp else "")


def value(commodity: str, units: int) -> Decimal | int:
    """An amount as the number a spreadsheet holds (JPY: an integer)."""
    if books.is_currency(commodity) and money.exponent(commodity) == 0:
        return units
    return data.major(commodity, units)


class Sheet:
    """One write-only sheet: a title and facts, then a frozen header row and data rows."""

    def __init__(self, book: Book, title: str, columns: Sequence[tuple[str, float]],
                 heading: str, facts: Sequence[tuple[str, Any]] = ()) -> None:
        self.lang = book.lang
        self.ws: WriteOnlyWorksheet = book.wb.create_sheet(_sheet_title(title, book.titles))
        for i, (_, width) in enumerate(columns, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.ws.freeze_panes = f"A{3 + len(facts) + 1}"
        self.row(heading or None, style=TITLE)
        for key, v in facts:
            self.row(both(key, self.lang), v, bold_first=True)
        self.row()
        self.row(*[h[1:] if h.startswith("=") else both(h, self.lang) if h else ""
                   for h, _ in columns], style=BOLD, fill=HEAD_FILL)

    def row(self, *values: Any, style: Font | None = None, fill: PatternFill | None = None,
            bold_first: bool = False) -> None:
        """Cells from values: a plain value, or (value, number format)."""
        cells = []
        for i, v in enumerate(values):
            fmt = None
            if isinstance(v, tuple):
                v, fmt = v
            cell = WriteOnlyCell(self.ws, v)
            if isinstance(v, dt.date):
                cell.number_format = DATE
            elif fmt:
                cell.number_format = fmt
            if style or (bold_first and i == 0):
                cell.font = style or BOLD
            if fill:
                cell.fill = fill
            cells.append(cell)
        self.ws.append(cells)

    def image(self, png: bytes, anchor: str) -> None:
        img = Image(io.BytesIO(png))
        img.width, img.height = img.width * 0.8, img.height * 0.8
        self.ws.add_image(img, anchor)


class Book:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.wb = Workbook(write_only=True)
        self.titles: set[str] = set()

    def sheet(self, title: str, columns: Sequence[tuple[str, float]], heading: str = "",
              facts: Sequence[tuple[str, Any]] = ()) -> Sheet:
        return Sheet(self, title, columns, heading, facts)

    def bytes(self) -> bytes:
        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str, taken: set[str]) -> str:
    base = _BAD.sub("-", title)[:28] or "Sheet"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base[:25]} {n}"
    taken.add(name)
    return name


def _money(cur: str, units: int | None) -> Any:
    return (value(cur, units), number_format(cur)) if units is not None else None


# --- statement -------------------------------------------------------------------------------
def statement(st: data.Statement, lang: str) -> bytes:
    book = Book(lang)
    cur = st.currency
    summary = book.sheet("Summary", [("commodity", 44), ("opening_balance", 20), ("debit", 20),
                                     ("credit", 20), ("closing_balance", 20), ("currency", 12),
                                     ("value", 20), ("converted", 22), ("rate", 12)],
                         both("statement", lang), [
        ("agreement", f"{st.agreement.code}: {st.agreement.title}"), ("party", st.party),
        ("partner", st.partner), ("period", f"{st.from_on.isoformat()} – "
                                            f"{st.as_of.isoformat()}"),
        ("as_of", st.as_of), ("reporting_currency", cur)])
    for s, t in zip(st.sections, st.translations, strict=True):
        c = s.commodity
        summary.row(c, _money(c, s.opening), _money(c, s.debits), _money(c, s.credits),
                    _money(c, s.closing), t.value_currency, _money(t.value_currency,
                                                                   t.closing_value),
                    _money(cur, t.closing) if t.closing is not None
                    else caption("no_rate", lang),
                    (t.rate, "0.######") if t.rate is not None else None)
    if st.sections:
        total = st.closing_total
        summary.row(both("total", lang), None, None, None, None, None, None,
                    _money(cur, total) if total is not None else caption("no_rate", lang),
                    style=BOLD)
    summary.row()
    summary.row(caption("sign_note", lang).format(party=st.party, partner=st.partner))
    summary.row(caption("translation_note", lang))
    for t in st.translations:
        if t.missing:
            summary.row(f"{t.commodity}: {t.missing}")
    if st.rates:
        summary.row()
        summary.row(both("rates_used", lang), style=BOLD)
        summary.row(*[both(k, lang) for k in ("agreement", "currency", "rate", "kind_of_rate",
                                              "effective_on", "source")], style=BOLD,
                    fill=HEAD_FILL)
        for r in st.rates:
            summary.row(r.agreement, f"{r.base}/{r.quote}", (Decimal(r.rate), "0.######"),
                        r.kind, r.effective_on, r.source)
    series = [(s.commodity, [(st.from_on, data.major(s.commodity, s.opening))]
               + [(m.on, data.major(s.commodity, m.balance)) for m in s.movements])
              for s in st.sections if s.is_currency and s.movements][:4]
    if series:
        from acsa.documents import charts

        summary.image(charts.balance_over_time(series, both("balance_chart", lang), lang),
                      "K2")
    for n, s in enumerate(st.sections, start=1):
        c = s.commodity
        fmt = number_format(c)
        unit = "" if s.is_currency else f" ({data.unit_of(c)})"
        ws = book.sheet(c if s.is_currency else f"Kind {n}{unit}",
                        [("date", 12), ("entry_kind", 22), ("order", 22), ("claim", 25),
                         ("description", 48), (f"=Debit{unit}", 20),
                         (f"=Credit{unit}", 20), (f"=Balance{unit}", 22)],
                        f"{both('movements', lang)}: {c}")
        ws.row(st.from_on, both("opening_balance", lang), None, None, None, None, None,
               (value(c, s.opening), fmt))
        for m in s.movements:
            ws.row(m.on, movement(m.kind, lang), m.order, m.claim, m.memo,
                   (value(c, m.debit), fmt) if m.debit else None,
                   (value(c, m.credit), fmt) if m.credit else None, (value(c, m.balance), fmt))
        ws.row(st.as_of, both("closing_balance", lang), None, None, None,
               (value(c, s.debits), fmt), (value(c, s.credits), fmt),
               (value(c, s.closing), fmt), style=BOLD)
    return book.bytes()


# --- ageing ----------------------------------------------------------------------------------
def ageing(ag: data.Ageing, lang: str) -> bytes:
    book = Book(lang)
    names = ag.bucket_names
    scope = ag.agreement or caption("all_agreements", lang)
    buckets = book.sheet("Buckets", [("creditor", 12), ("debtor", 12), ("currency", 10),
                                     *[(f"={n}", 18) for n in names], ("total", 20)],
                         both("ageing", lang),
                         [("as_of", ag.as_of), ("agreement", scope),
                          ("for_party", ag.party or "-")])
    for (c, d, cur), v in ag.buckets.items():
        buckets.row(c, d, cur, *[_money(cur, v[n]) for n in names],
                    _money(cur, sum(v.values())))
    if ag.lines:
        buckets.image(reports_pdf._ageing_chart(ag, lang), "B12")
    claims = book.sheet("Claims", [("claim", 26), ("order", 22), ("agreement", 10),
                                   ("creditor", 10), ("debtor", 10), ("method", 10),
                                   ("commodity", 30), ("outstanding", 18), ("currency", 10),
                                   ("value", 20), ("delivered_on", 12), ("due_date", 12),
                                   ("overdue", 10), ("mark_12", 14), ("past_12", 12),
                                   ("mark_18", 14), ("past_18", 12), ("age_days", 10),
                                   ("bucket", 16)], both("ageing", lang))
    for ln in ag.lines:
        r = ln.row
        claims.row(r.claim, ln.order, r.agreement, r.creditor, r.debtor, r.method, r.commodity,
                   _money(r.commodity, r.outstanding), r.currency,
                   _money(r.currency, r.value_minor), r.delivered_on, r.due_on, r.overdue,
                   ln.mark_12, ln.past_12, ln.mark_18, ln.past_18, (r.age_days, "0"),
                   r.bucket)
    return book.bytes()


# --- activity register -----------------------------------------------------------------------
def register(reg: data.Register, lang: str) -> bytes:
    book = Book(lang)
    orders = book.sheet("Orders", [("order_number", 24), ("agreement", 10), ("order_date", 12),
                                   ("requester", 10), ("supplier", 10), ("state", 22),
                                   ("currency", 10), ("supplies", 20), ("services", 20),
                                   ("total", 22)],
                        both("activity_register", lang), [
        ("activity", f"{reg.code}: {reg.name} ({reg.type})"),
        ("period", f"{reg.starts_on.isoformat()} – {reg.ends_on.isoformat()}"),
        ("delivery_place", reg.place), ("agreement", ", ".join(reg.agreements))])
    for o in reg.orders:
        cur = o.currency
        orders.row(o.number, o.agreement, o.order_on, o.requester, o.supplier,
                   state(o.state, lang), cur, _money(cur, o.by_kind.get("supply", 0)),
                   _money(cur, o.by_kind.get("service", 0)), _money(cur, o.value))
    for cur, v in reg.totals.items():
        orders.row(both("total", lang), None, None, None, None, None, cur, None, None,
                   _money(cur, v), style=BOLD)
    orders.row(caption("not_totalled", lang))
    _totals_sheets(book, reg.by_category, reg.by_kind)
    return book.bytes()


def _totals_sheets(book: Book, by_category: dict[tuple[str, str], int],
                   by_kind: dict[tuple[str, str], int]) -> None:
    lang = book.lang
    cats = book.sheet("By category", [("category", 44), ("currency", 10), ("amount", 22)],
                      both("by_category", lang))
    for (c, cur), v in by_category.items():
        cats.row(category(c, lang), cur, _money(cur, v))
    if by_category:
        cats.image(reports_pdf.category_chart(by_category, lang), "E2")
    kinds = book.sheet("By kind", [("kind", 30), ("currency", 10), ("amount", 22)],
                       both("by_kind", lang))
    for (k, cur), v in by_kind.items():
        kinds.row(kind(k, lang), cur, _money(cur, v))


# --- annual report ---------------------------------------------------------------------------
def annual(an: data.Annual, lang: str) -> bytes:
    book = Book(lang)
    facts = [("party", an.party), ("fiscal_year", an.fiscal_year),
             ("period", f"{an.first.isoformat()} – {an.last.isoformat()}"),
             ("agreement", ", ".join(an.agreements))]
    direction = {"provided": both("provided", lang), "received": both("received", lang)}
    rows = book.sheet("Support", [("agreement", 10), ("direction", 24), ("partner", 10),
                                  ("activity", 20), ("category", 36), ("kind", 16),
                                  ("currency", 10), ("amount", 22)],
                      both("annual_report", lang), facts)
    for r in an.rows:
        rows.row(r.agreement, direction[r.direction], r.partner, r.activity or None,
                 category(r.category, lang), kind(r.kind, lang), r.currency,
                 _money(r.currency, r.amount))
    for (d, cur), v in an.by("direction", "currency").items():
        rows.row(both("total", lang), direction[d], None, None, None, None, cur,
                 _money(cur, v), style=BOLD)
    for key, keys, label in (("by_partner", ("direction", "partner", "currency"), None),
                             ("by_category", ("direction", "category", "currency"), category),
                             ("by_activity", ("direction", "activity", "currency"), None),
                             ("by_kind", ("direction", "kind", "currency"), kind)):
        col = key.removeprefix("by_")
        ws = book.sheet(caption(key, "en"), [("direction", 24), (col, 36), ("currency", 10),
                                             ("amount", 22)], both(key, lang))
        for (d, x, cur), v in an.by(*keys).items():
            ws.row(direction[d], label(x, lang) if label else (x or "-"), cur, _money(cur, v))
        if key == "by_category":
            provided = {(c, cur): v for (d, c, cur), v in an.by(*keys).items()
                        if d == "provided"}
            if provided:
                ws.image(reports_pdf.category_chart(provided, lang), "F2")
    ceilings = book.sheet("Ceilings", [("agreement", 10), ("party", 10), ("fiscal_year", 12),
                                       ("part", 14), ("currency", 10), ("ceiling", 22),
                                       ("used", 22), ("headroom", 22), ("use_percent", 10)],
                          both("ceilings", lang))
    for c in an.ceilings:
        cur = c.limit.currency
        ceilings.row(c.agreement, c.party, (c.fiscal_year, "0"), c.part, cur,
                     _money(cur, c.limit.minor), _money(cur, c.used.minor),
                     _money(cur, c.headroom.minor),
                     (Decimal(c.used.minor) / Decimal(c.limit.minor), "0.0%"))
    return book.bytes()
