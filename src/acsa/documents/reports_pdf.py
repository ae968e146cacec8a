"""The statements and reports as PDF (ReportLab platypus).

Layout only: every figure comes from a `reports_data` object. Amounts are written with their
currency code first ("PHP 1,234.50": IPAexGothic has no peso sign); captions are English, or
English with Japanese or Filipino (`reports_labels.both`), in the font `fonts.font_for(lang)`
gives. Long tables (a statement may hold tens of thousands of movements) are cut into
fixed-size blocks with fixed column widths and row heights, so ReportLab never measures or
re-splits one huge table.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from acsa.documents import charts, fonts
from acsa.documents import reports_data as data
from acsa.documents.reports_labels import both, category, kind, movement, state
from acsa.documents.reports_labels import text as caption

BLOCK = 45  # rows per table block
ROW = 10.5  # points per table row
HEADER_BG = colors.HexColor("#dce6f1")
RULE = colors.HexColor("#8ea9c8")


class Pdf:
    """A report document being assembled: captions, tables, charts, page footer."""

    def __init__(self, lang: str, title_key: str, subtitle: str, wide: bool = False) -> None:
        self.lang = lang
        self.font = fonts.font_for(lang)
        self.bold = fonts.LATIN_BOLD if self.font == fonts.LATIN else self.font
        self.pagesize = landscape(A4) if wide else A4
        self.width = self.pagesize[0] - 30 * mm
        self.title = both(title_key, lang)
        self.subtitle = subtitle
        self.story: list[Any] = []
        self.h1 = ParagraphStyle("h1", fontName=self.bold, fontSize=15, leading=19,
                                 spaceAfter=3)
        self.h2 = ParagraphStyle("h2", fontName=self.bold, fontSize=10.5, leading=14,
                                 spaceBefore=8, spaceAfter=3, keepWithNext=1)
        self.body = ParagraphStyle("body", fontName=self.font, fontSize=8, leading=10.5)
        self.head = ParagraphStyle("head", fontName=self.bold, fontSize=7, leading=8.5)
        self.head_right = ParagraphStyle("head_right", parent=self.head, alignment=TA_RIGHT)
        self._fitted: dict[tuple[str, float], str] = {}
        self.story.append(Paragraph(escape(self.title), self.h1))

    def heading(self, key: str, extra: str = "") -> None:
        self.story.append(Paragraph(escape(both(key, self.lang) + extra), self.h2))

    def para(self, text: str) -> None:
        self.story.append(Paragraph(escape(text), self.body))

    def facts(self, pairs: Sequence[tuple[str, str]]) -> None:
        rows = [[both(k, self.lang), v] for k, v in pairs]
        t = Table(rows, colWidths=[55 * mm, self.width - 55 * mm], hAlign="LEFT")
        t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), self.font, 8),
                               ("FONT", (0, 0), (0, -1), self.bold, 8),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5)]))
        self.story.append(t)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float], numeric: Sequence[int] = (),
              bold_last: bool = False) -> None:
        """Rows in blocks of BLOCK, each under the (wrapped) header, at fixed widths given in
        mm (scaled down to the page if wider); a cell too long for its column is cut."""
        cols = [w * mm for w in widths]
        scale = self.width / sum(cols)
        cols = [c * scale for c in cols] if scale < 1 else cols
        if not rows:
            self.para(caption("nothing", self.lang))
            return
        # a caption key, or "=text" for a heading used as it is
        head = [Paragraph(escape(h[1:] if h.startswith("=") else both(h, self.lang)
                                 if h else ""), self.head_right if i in numeric
                          else self.head) for i, h in enumerate(header)]
        room = [c - 4 for c in cols]
        fitted = [[self.fit(str(v), room[i]) for i, v in enumerate(r)] for r in rows]
        for start in range(0, len(fitted), BLOCK):
            block = [head, *fitted[start:start + BLOCK]]
            t = Table(block, colWidths=cols, rowHeights=[None] + [ROW] * (len(block) - 1),
                      repeatRows=1, hAlign="LEFT")
            style = [("FONT", (0, 0), (-1, -1), self.font, 7),
                     ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
                     ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
                     ("LINEBELOW", (0, 1), (-1, -1), 0.2, colors.HexColor("#d9d9d9")),
                     ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                     ("TOPPADDING", (0, 0), (-1, -1), 1),
                     ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                     ("LEFTPADDING", (0, 0), (-1, -1), 2),
                     ("RIGHTPADDING", (0, 0), (-1, -1), 2)]
            style += [("ALIGN", (c, 1), (c, -1), "RIGHT") for c in numeric]
            if bold_last and start + BLOCK >= len(fitted):
                style += [("FONT", (0, -1), (-1, -1), self.bold, 7),
                          ("LINEABOVE", (0, -1), (-1, -1), 0.6, RULE)]
            t.setStyle(TableStyle(style))
            self.story.append(t)

    def fit(self, text: str, width: float) -> str:
        """`text`, cut with an ellipsis to fit `width` points at the table's font size."""
        key = (text, width)
        found = self._fitted.get(key)
        if found is not None:
            return found
        out = text
        if stringWidth(text, self.font, 7) > width:
            low, high = 0, len(text)
            while low < high:  # the longest prefix that fits with the ellipsis
                mid = (low + high + 1) // 2
                if stringWidth(text[:mid] + "…", self.font, 7) <= width:
                    low = mid
                else:
                    high = mid - 1
            out = text[:low] + "…"
        if len(self._fitted) < 4096:
            self._fitted[key] = out
        return out

    def chart(self, png: bytes, width_mm: float = 170) -> None:
        img = Image(io.BytesIO(png))
        ratio = img.imageHeight / img.imageWidth
        width = min(width_mm * mm, self.width)
        img.drawWidth, img.drawHeight = width, width * ratio
        img.hAlign = "LEFT"
        self.story.append(KeepTogether([Spacer(1, 4), img]))

    def build(self) -> bytes:
        buf = io.BytesIO()
        doc = SimpleDocTemplate(buf, pagesize=self.pagesize, leftMargin=15 * mm,
                                rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
                                title=self.title, subject=self.subtitle, author="acsa",
                                creator="acsa")
        doc.build(self.story, onFirstPage=self._footer, onLaterPages=self._footer)
        return buf.getvalue()

    def _footer(self, canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(self.font, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(15 * mm, 8 * mm, f"{self.title} · {self.subtitle}")
        canvas.drawRightString(self.pagesize[0] - 15 * mm, 8 * mm,
                               f"{both('page', self.lang)} {doc.page}")
        canvas.restoreState()


def _generated() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- statement -------------------------------------------------------------------------------
def statement(st: data.Statement, lang: str) -> bytes:
    pdf = Pdf(lang, "statement", f"{st.agreement.code} {st.party}-{st.partner} "
              f"{st.as_of.isoformat()}", wide=True)
    pdf.facts([("agreement", f"{st.agreement.code}: {st.agreement.title}"),
               ("party", st.party), ("partner", st.partner),
               ("period", f"{st.from_on.isoformat()} – {st.as_of.isoformat()}"),
               ("as_of", st.as_of.isoformat()), ("reporting_currency", st.currency),
               ("generated", _generated())])
    pdf.para(caption("sign_note", lang).format(party=st.party, partner=st.partner))
    _summary(pdf, st)
    series = [(s.commodity, [(st.from_on, data.major(s.commodity, s.opening))]
               + [(m.on, data.major(s.commodity, m.balance)) for m in s.movements])
              for s in st.sections if s.is_currency and s.movements][:4]
    if series:
        pdf.chart(charts.balance_over_time(series, both("balance_chart", lang), lang), 200)
    for s in st.sections:
        c = s.commodity
        pdf.heading("movements", f": {c}")
        rows = [["", both("opening_balance", lang), "", "", "", "", "",
                 data.amount_text(c, s.opening)]]
        rows += [[m.on.isoformat(), movement(m.kind, lang), m.order or "",
                  m.claim or "", m.memo,
                  data.amount_text(c, m.debit) if m.debit else "",
                  data.amount_text(c, m.credit) if m.credit else "",
                  data.amount_text(c, m.balance)] for m in s.movements]
        rows.append(["", both("closing_balance", lang), "", "", "",
                     data.amount_text(c, s.debits), data.amount_text(c, s.credits),
                     data.amount_text(c, s.closing)])
        pdf.table(["date", "entry_kind", "order", "claim", "description", "debit", "credit",
                   "balance"], rows, [17, 46 if lang == "ja" else 30, 31, 35, 60, 27, 27, 29],
                  numeric=(5, 6, 7),
                  bold_last=True)
    return pdf.build()


def _summary(pdf: Pdf, st: data.Statement) -> None:
    lang, cur = pdf.lang, st.currency
    pdf.heading("summary")
    rows = []
    for s, t in zip(st.sections, st.translations, strict=True):
        rows.append([s.commodity, data.amount_text(s.commodity, s.opening),
                     data.amount_text(s.commodity, s.debits),
                     data.amount_text(s.commodity, s.credits),
                     data.amount_text(s.commodity, s.closing),
                     data.amount_text(cur, t.closing) if t.closing is not None
                     else caption("no_rate", lang),
                     f"{t.rate:f}" if t.rate is not None else "-"])
    if st.sections:
        closing = st.closing_total
        rows.append([both("total", lang), "", "", "", "",
                     data.amount_text(cur, closing) if closing is not None
                     else caption("no_rate", lang), ""])
    pdf.table(["commodity", "opening_balance", "debit", "credit", "closing_balance",
               "converted", "rate"], rows, [70, 32, 32, 32, 32, 40, 24],
              numeric=(1, 2, 3, 4, 5, 6), bold_last=bool(st.sections))
    pdf.para(caption("translation_note", lang) + f" ({both('reporting_currency', lang)}: "
             f"{cur}, {both('as_of', lang)}: {st.as_of.isoformat()})")
    for t in st.translations:
        if t.missing:
            pdf.para(f"{t.commodity}: {t.missing}")
    if st.rates:
        pdf.heading("rates_used")
        pdf.table(["agreement", "currency", "rate", "kind_of_rate", "effective_on", "source"],
                  [[r.agreement, f"{r.base}/{r.quote}", r.rate, r.kind,
                    r.effective_on.isoformat(), r.source] for r in st.rates],
                  [24, 24, 24, 28, 24, 90], numeric=(2,))


# --- ageing ----------------------------------------------------------------------------------
def ageing(ag: data.Ageing, lang: str) -> bytes:
    scope = ag.agreement or caption("all_agreements", lang)
    pdf = Pdf(lang, "ageing", f"{scope} {ag.as_of.isoformat()}", wide=True)
    pdf.facts([("as_of", ag.as_of.isoformat()), ("agreement", scope),
               ("for_party", ag.party or "-"), ("generated", _generated())])
    pdf.heading("buckets")
    buckets = ag.buckets
    rows = [[c, d, *[data.amount_text(cur, v[n]) for n in ag.bucket_names],
             data.amount_text(cur, sum(v.values()))] for (c, d, cur), v in buckets.items()]
    # the bucket names are the ledger's own (reports.ageing), shown as they are
    pdf.table(["creditor", "debtor", *[f"={n}" for n in ag.bucket_names], "total"], rows,
              [18, 18, *[30] * len(ag.bucket_names), 32],
              numeric=tuple(range(2, 3 + len(ag.bucket_names))))
    if buckets:
        pdf.chart(_ageing_chart(ag, lang), 190)
    pdf.heading("ageing")
    pdf.table(["claim", "order", "creditor", "debtor", "method", "outstanding", "value",
               "delivered_on", "due_date", "mark_12", "mark_18", "age_days", "bucket"],
              [[ln.row.claim, ln.order, ln.row.creditor, ln.row.debtor, ln.row.method,
                data.amount_text(ln.row.commodity, ln.row.outstanding),
                data.amount_text(ln.row.currency, ln.row.value_minor),
                ln.row.delivered_on.isoformat(),
                ln.row.due_on.isoformat() + (" !" if ln.row.overdue else ""),
                ln.mark_12.isoformat() + (" ●" if ln.past_12 else ""),
                ln.mark_18.isoformat() + (" ●" if ln.past_18 else ""),
                str(ln.row.age_days), ln.row.bucket] for ln in ag.lines],
              [34, 30, 12, 12, 10, 28, 28, 18, 20, 20, 20, 12, 22],
              numeric=(5, 6, 11))
    pdf.para(f"! {both('overdue', lang)}   ● {caption('past_12', lang)} / "
             f"{caption('past_18', lang)}")
    return pdf.build()


def _ageing_chart(ag: data.Ageing, lang: str) -> bytes:
    per_currency: dict[str, list[tuple[str, list[Decimal]]]] = {}
    for (c, d, cur), v in ag.buckets.items():
        per_currency.setdefault(cur, []).append(
            (f"{d} → {c}", [data.major(cur, v[n]) for n in ag.bucket_names]))
    panels = [(cur, ag.bucket_names, ser) for cur, ser in sorted(per_currency.items())]
    return charts.bars(panels, both("ageing_chart", lang), lang, horizontal=False)


# --- activity register -----------------------------------------------------------------------
def register(reg: data.Register, lang: str) -> bytes:
    pdf = Pdf(lang, "activity_register", reg.code, wide=True)
    pdf.facts([("activity", f"{reg.code}: {reg.name} ({reg.type})"),
               ("period", f"{reg.starts_on.isoformat()} – {reg.ends_on.isoformat()}"),
               ("delivery_place", reg.place), ("agreement", ", ".join(reg.agreements)),
               ("generated", _generated())])
    pdf.heading("orders")
    rows = [[o.number, o.agreement, o.order_on.isoformat(), o.requester, o.supplier,
             state(o.state, lang),
             data.amount_text(o.currency, o.by_kind.get("supply", 0)),
             data.amount_text(o.currency, o.by_kind.get("service", 0)),
             data.amount_text(o.currency, o.value)] for o in reg.orders]
    rows += [[both("total", lang), "", "", "", "", "", "", "", data.amount_text(cur, v)]
             for cur, v in reg.totals.items()]
    pdf.table(["order_number", "agreement", "order_date", "requester", "supplier", "state",
               "supplies", "services", "total"], rows,
              [40, 20, 22, 18, 18, 40, 35, 35, 38], numeric=(6, 7, 8),
              bold_last=bool(reg.totals))
    pdf.para(caption("not_totalled", lang))
    _category_tables(pdf, reg.by_category, reg.by_kind)
    return pdf.build()


def _category_tables(pdf: Pdf, by_category: dict[tuple[str, str], int],
                     by_kind: dict[tuple[str, str], int]) -> None:
    lang = pdf.lang
    pdf.heading("by_category")
    pdf.table(["category", "currency", "amount"],
              [[category(c, lang), cur, data.amount_text(cur, v)]
               for (c, cur), v in by_category.items()], [110, 25, 45], numeric=(2,))
    pdf.heading("by_kind")
    pdf.table(["kind", "currency", "amount"],
              [[kind(k, lang), cur, data.amount_text(cur, v)] for (k, cur), v in by_kind.items()],
              [110, 25, 45], numeric=(2,))
    if by_category:
        pdf.chart(category_chart(by_category, lang), 190)


def category_chart(by_category: dict[tuple[str, str], int], lang: str,
                   series_of: Callable[[str], str] | None = None) -> bytes:
    per: dict[str, dict[str, Decimal]] = {}
    for (cat, cur), v in by_category.items():
        per.setdefault(cur, {})[cat] = data.major(cur, v)
    panels = [(cur, [category(c, lang) for c in vals], [(cur, list(vals.values()))])
              for cur, vals in sorted(per.items())]
    return charts.bars(panels, both("category_chart", lang), lang)


# --- annual report ---------------------------------------------------------------------------
def annual(an: data.Annual, lang: str) -> bytes:
    pdf = Pdf(lang, "annual_report", f"{an.party} FY{an.fiscal_year}", wide=True)
    pdf.facts([("party", an.party), ("fiscal_year", str(an.fiscal_year)),
               ("period", f"{an.first.isoformat()} – {an.last.isoformat()}"),
               ("agreement", ", ".join(an.agreements)), ("generated", _generated())])
    direction = {"provided": both("provided", lang), "received": both("received", lang)}
    for key, keys, label in (("by_partner", ("direction", "partner", "currency"), None),
                             ("by_category", ("direction", "category", "currency"), category),
                             ("by_activity", ("direction", "activity", "currency"), None),
                             ("by_kind", ("direction", "kind", "currency"), kind)):
        pdf.heading(key)
        rows = [[direction[d], label(x, lang) if label else (x or "-"), cur,
                 data.amount_text(cur, v)] for (d, x, cur), v in an.by(*keys).items()]
        pdf.table(["direction", key.removeprefix("by_") if key != "by_kind" else "kind",
                   "currency", "amount"], rows, [55, 110, 25, 45], numeric=(3,))
    pdf.heading("total")
    pdf.table(["direction", "currency", "amount"],
              [[direction[d], cur, data.amount_text(cur, v)]
               for (d, cur), v in an.by("direction", "currency").items()],
              [55, 25, 45], numeric=(2,))
    provided = {(c, cur): v for (d, c, cur), v in an.by("direction", "category", "currency")
                .items() if d == "provided"}
    if provided:
        pdf.chart(category_chart(provided, lang), 190)
    pdf.heading("ceilings")
    if not an.ceilings:
        pdf.para(caption("no_ceilings", lang))
    else:
        pdf.table(["agreement", "party", "fiscal_year", "part", "ceiling", "used", "headroom",
                   "use_percent"],
                  [[c.agreement, c.party, str(c.fiscal_year),
                    both({"supplies": "supplies", "services": "services"}.get(c.part,
                                                                              "total_part"),
                         lang),
                    data.amount_text(c.limit.currency, c.limit.minor),
                    data.amount_text(c.used.currency, c.used.minor),
                    data.amount_text(c.headroom.currency, c.headroom.minor), c.percent]
                   for c in an.ceilings], [22, 14, 20, 40, 40, 40, 40, 16],
                  numeric=(4, 5, 6, 7))
    return pdf.build()
