"""The page every acsa form shares: bilingual captions, the header with its QR code, tables
that break across pages, page numbers, and deterministic PDF bytes.

A form is English with Japanese (`ja`) or English with Filipino (`fil`): each caption is
"English / other" (`labels.both`), each sentence is printed in both languages. Amounts are
written with the currency code before the number ("PHP 1,234.50", "JPY 4,000,000"): the peso
sign is not in the Japanese font, and the code is unambiguous on a bilingual form.

The same data always gives the same bytes: ReportLab's `invariant` mode fixes the creation
date and the document id, and nothing on a form is read from the clock.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from acsa import errors, money
from acsa.documents import fonts, labels
from acsa.documents.labels import TEXT

LANGS = ("ja", "fil")  # each form is English plus one of these
MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
QR_SIZE = 32 * mm
MONO = "Courier"  # hashes and the verification code: fixed width, ASCII only
GRID = colors.Color(0.55, 0.55, 0.55)
SHADE = colors.Color(0.92, 0.92, 0.92)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise errors.InvalidInput(
            f"--lang: {lang!r} is not a form language", field="lang",
            hint="Forms are English with Japanese (--lang ja) or with Filipino (--lang fil).")
    return lang


# --- values as printed ---------------------------------------------------------------------
def amount(m: money.Money) -> str:
    """'PHP 1,234.50', 'JPY 4,000,000': the currency's own decimals, code first."""
    return f"{m.currency} {m.amount:,.{money.exponent(m.currency)}f}"


def quantity(q: Decimal | str | None) -> str:
    """A quantity with thousands grouped and no trailing zeros ('118,500', '12.5')."""
    if q is None:
        return ""
    value = Decimal(str(q))
    text = format(value.normalize() if value == value.to_integral_value() else value, "f")
    whole, _, frac = text.partition(".")
    grouped = f"{int(whole):,}" if whole.lstrip("-").isdigit() else whole
    if whole.startswith("-0"):
        grouped = "-" + grouped
    frac = frac.rstrip("0")
    return f"{grouped}.{frac}" if frac else grouped


def date(value: dt.date | str | None) -> str:
    if value is None or value == "":
        return "—"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def instant(value: dt.datetime | None) -> str:
    """A signature time in UTC to the second, as stored."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- the sheet -----------------------------------------------------------------------------
class Sheet:
    """One document being laid out: its language, fonts, styles and the pieces of its story."""

    def __init__(self, *, lang: str, title_key: str, number: str, payload: str,
                 author: str) -> None:
        self.lang = check_lang(lang)
        self.font = fonts.font_for(lang)
        # IPAexGothic has no bold face: a Japanese form emphasises by size instead
        self.bold = self.font if lang == "ja" else fonts.LATIN_BOLD
        self.title_key, self.number, self.payload, self.author = (title_key, number, payload,
                                                                  author)
        base = ParagraphStyle("base", fontName=self.font, fontSize=7.5, leading=9.5)
        self.styles = {
            "value": base,
            "caption": ParagraphStyle("caption", parent=base, fontSize=6.5, leading=8,
                                      textColor=colors.Color(0.3, 0.3, 0.3)),
            "head": ParagraphStyle("head", parent=base, fontName=self.bold, fontSize=6.5,
                                   leading=8),
            "section": ParagraphStyle("section", parent=base, fontName=self.bold, fontSize=9.5,
                                      leading=12, spaceBefore=7, spaceAfter=3,
                                      keepWithNext=1),
            "title": ParagraphStyle("title", parent=base, fontName=self.bold, fontSize=14,
                                    leading=18),
            "number": ParagraphStyle("number", parent=base, fontName=self.bold, fontSize=11,
                                     leading=14),
            "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
            "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=6,
                                   leading=8),
        }

    # words --------------------------------------------------------------------------------
    def both(self, key: str, table: dict[str, dict[str, str]] = TEXT) -> str:
        return labels.both(table, key, self.lang)

    def sentence(self, key: str, **values: object) -> list[Flowable]:
        """A sentence in English, then the same in the form's other language."""
        entry = TEXT[key]
        return [self.para(entry["en"].format(**values)),
                self.para(entry[self.lang].format(**values))]

    def para(self, text: str, style: str = "value") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style])

    def section(self, key: str) -> Paragraph:
        return self.para(self.both(key), "section")

    # blocks -------------------------------------------------------------------------------
    def header(self, state: str | None = None) -> list[Flowable]:
        """Title, number, state on the left; the QR code on the right; the verification code
        printed in full under both, so a copy whose QR will not scan can still be checked."""
        left: list[Flowable] = [self.para(labels.label(TEXT, self.title_key, "en"), "title"),
                                self.para(labels.label(TEXT, self.title_key, self.lang), "title"),
                                Spacer(1, 4), self.para(self.number, "number")]
        if state:
            left.append(self.para(state))
        table = Table([[left, qr_drawing(self.payload, QR_SIZE)]],
                      colWidths=[WIDTH - QR_SIZE - 4, QR_SIZE + 4])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
        return [table, self.para(self.both("verification_code"), "caption"),
                Paragraph(self.payload, self.styles["mono"]),
                self.para(self.both("verify_hint"), "caption"), Spacer(1, 4)]

    def fields(self, pairs: Sequence[tuple[str, str]], columns: int = 2) -> Table:
        """Caption over value, `columns` pairs a row; each caption a TEXT key."""
        cells = [[self.para(self.both(key), "caption"), self.para(value or "—")]
                 for key, value in pairs]
        rows = []
        for i in range(0, len(cells), columns):
            chunk = cells[i:i + columns]
            chunk += [["", ""]] * (columns - len(chunk))
            rows.append([c for pair in chunk for c in pair])
        cap = 0.16 * WIDTH / (columns / 2)
        widths = [cap, WIDTH / columns - cap] * columns
        table = Table(rows, colWidths=widths)
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.3, GRID),
            *[("BACKGROUND", (2 * c, 0), (2 * c, -1), SHADE) for c in range(columns)],
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
        return table

    def grid(self, headers: Sequence[str], rows: Iterable[Sequence[Any]],
             widths: Sequence[float], numeric: Iterable[int] = (),
             totals: Sequence[Any] | None = None) -> Table:
        """A table of data with a bilingual header row repeated on every page. `headers` are
        TEXT keys; cells that are strings wrap as paragraphs, except `numeric` columns, which
        stay on one line, right-aligned, so an amount is never split."""
        numeric = set(numeric)
        body: list[list[Any]] = [[self.para(self.both(h), "head") for h in headers]]
        for row in rows:
            body.append([c if not isinstance(c, str) else
                         c if i in numeric else self.para(c) for i, c in enumerate(row)])
        if totals is not None:
            body.append([c if not isinstance(c, str) or i in numeric else self.para(c, "head")
                         for i, c in enumerate(totals)])
        scale = WIDTH / sum(widths)
        table = Table(body, colWidths=[w * scale for w in widths], repeatRows=1)
        style = [("FONTNAME", (0, 0), (-1, -1), self.font), ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                 ("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.3, GRID),
                 ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                 ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
                 ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
        style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in numeric]
        if totals is not None:
            style += [("FONTNAME", (0, -1), (-1, -1), self.bold),
                      ("BACKGROUND", (0, -1), (-1, -1), SHADE)]
        table.setStyle(TableStyle(style))
        return table

    def signature(self, title_key: str, rows: Sequence[tuple[str, str]],
                  signed_hash: str | None) -> Table:
        """One signature block: who signed (official and person), when, and the hash."""
        half = WIDTH / 2 - 4
        cells: list[list[Any]] = [[self.para(self.both(title_key), "head"), ""]]
        cells += [[self.para(self.both(k), "caption"), self.para(v or "—")] for k, v in rows]
        cells.append([self.para(self.both("signed_hash"), "caption"), ""])
        cells.append([Paragraph(signed_hash or "—", self.styles["mono"]), ""])
        table = Table(cells, colWidths=[0.3 * half, 0.7 * half])
        table.setStyle(TableStyle([
            ("SPAN", (0, 0), (1, 0)), ("SPAN", (0, -2), (1, -2)), ("SPAN", (0, -1), (1, -1)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE), ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        return table

    def signatures(self, blocks: Sequence[Table]) -> Table:
        """Signature blocks side by side, two a row."""
        rows = [list(blocks[i:i + 2]) + [""] * (2 - len(blocks[i:i + 2]))
                for i in range(0, len(blocks), 2)]
        table = Table(rows, colWidths=[WIDTH / 2, WIDTH / 2])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
        return table

    # the file -----------------------------------------------------------------------------
    def build(self, story: list[Flowable]) -> bytes:
        buffer = io.BytesIO()
        title = f"{labels.label(TEXT, self.title_key, 'en')} {self.number}"
        doc = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
            bottomMargin=MARGIN + 8 * mm, title=title, subject=self.payload, creator="acsa",
            author=self.author, keywords=self.payload, invariant=1, lang=self.lang)
        doc.build(story, canvasmaker=_numbered(self))
        return buffer.getvalue()

    def footer(self, c: rl_canvas.Canvas, page: int, pages: int) -> None:
        c.saveState()
        c.setStrokeColor(GRID)
        c.setLineWidth(0.3)
        y = MARGIN + 2 * mm
        c.line(MARGIN, y + 9, A4[0] - MARGIN, y + 9)
        c.setFont(self.font, 7)
        c.drawString(MARGIN, y, f"{labels.label(TEXT, self.title_key, 'en')} {self.number}")
        en = TEXT["page_of"]["en"].format(page=page, pages=pages)
        other = TEXT["page_of"][self.lang].format(page=page, pages=pages)
        c.drawRightString(A4[0] - MARGIN, y, f"{en} / {other}")
        c.restoreState()


def _numbered(sheet: Sheet) -> type[rl_canvas.Canvas]:
    """A canvas that holds its pages until the end, so each footer can say 'Page n of N'."""

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                sheet.footer(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def qr_drawing(payload: str, size: float) -> Flowable:
    """The payload as a QR code `size` points square, error correction M, with the quiet
    zone the standard asks for (four modules) so a scanner finds it on a printed page.
    ReportLab's own QR flowable: it encodes once when drawn (the QrCodeWidget in a Drawing
    encodes twice, once to measure and once to draw, and was half of a form's time)."""
    return QrCode(payload, width=size, height=size, qrLevel="M", qrBorder=4)


def keep(*flowables: Flowable) -> KeepTogether:
    return KeepTogether(list(flowables))
