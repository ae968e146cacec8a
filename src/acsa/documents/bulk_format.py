"""The bulk import file: its column layout, the template files, and reading rows from CSV or
xlsx one at a time.

Owns what a file may look like (docs/import-format.md is the same layout in words): which
columns exist, which are required, which belong to the order and which to its line, the
encodings accepted (UTF-8, with or without a byte-order mark; anything else is refused with
the reason, Shift_JIS named when it looks like it), and the size limit. Rows are streamed: a
CSV through the csv module over a decoding stream, an xlsx through openpyxl's read-only mode,
so memory does not grow with the file. Nothing here knows the database or the ACSA rules.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import IO, Any

from acsa import errors

MAX_FILE_BYTES = 100 * 1024 * 1024  # larger files are refused before a byte is read: split them
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Column:
    name: str
    level: str  # "order": the same on every row of the order; "line": this row's line
    required: bool
    help: str
    example: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("order_ref", "order", True, "your unit's reference of the order: rows with the same "
           "reference are the lines of one order, and must be next to each other", "KMD-0001"),
    Column("agreement", "order", True, "agreement code", "PHJP"),
    Column("activity", "order", True, "activity code", "KAMANDAG-10"),
    Column("requesting_party", "order", True, "the party asking for the support", "JP"),
    Column("supplying_party", "order", False, "the party providing it (checked against the "
           "agreement; blank: the agreement's other party)", "PH"),
    Column("requesting_unit", "order", False, "unit code of the requester", "JMSDF-ESC1"),
    Column("supplying_unit", "order", False, "unit code of the supplier", "PN-NFSL"),
    Column("created_by", "order", True, "code of the requesting official who raised the order",
           "jp-requesting"),
    Column("order_on", "order", True, "order date, YYYY-MM-DD", "2026-05-10"),
    Column("currency", "order", False, "ISO 4217 code of the prices (blank: the supplier's "
           "currency)", "PHP"),
    Column("delivery_place", "order", False, "place of delivery", "Subic Bay, Alava Pier"),
    Column("delivery_on", "order", False, "delivery or service date, YYYY-MM-DD", "2026-05-12"),
    Column("fund_citation", "order", False, "the requester's fund citation (internal)",
           "FY2026 O&M 1234-56"),
    Column("billing_address", "order", False, "blank: the requesting unit's address", ""),
    Column("requester_poc", "order", False, "requester point of contact",
           "Lt Sato, +81 46 000 0000"),
    Column("supplier_poc", "order", False, "supplier point of contact", ""),
    Column("implementing_arrangement", "order", False, "implementing arrangement reference", ""),
    Column("notes", "order", False, "internal notes of the requesting party", ""),
    Column("state", "order", False, "bring the order to: draft (blank), requested, accepted, "
           "delivered or received", "requested"),
    Column("requested_by", "order", False, "requesting official who signed the request "
           "(blank: created_by)", ""),
    Column("requested_on", "order", False, "date of the request (blank: order_on)", ""),
    Column("accepted_by", "order", False, "approving official of the supplier who accepted", ""),
    Column("accepted_on", "order", False, "date of acceptance (blank: requested_on)", ""),
    Column("delivered_by", "order", False, "supplying official who delivered everything", ""),
    Column("delivered_on", "order", False, "date of delivery (blank: accepted_on)", ""),
    Column("delivery_document", "order", False, "reference of the delivery's source document "
           "(issue slip, ticket)", ""),
    Column("received_by", "order", False, "receiving official of the requester", ""),
    Column("received_on", "order", False, "date of receipt (blank: delivered_on)", ""),
    Column("category", "line", True, "one of the 16 ACSA categories (fuel, food, "
           "transportation, ...)", "fuel"),
    Column("description", "line", True, "item or service", "Diesel fuel, marine (F-76)"),
    Column("stock_number", "line", False, "NSN or part number (required for supplies to be "
           "requested)", "9140-00-273-2377"),
    Column("quantity", "line", True, "positive number, at most 3 decimals", "10000"),
    Column("unit", "line", True, "unit of measure (L, gal, kg, each, h, day, ...)", "L"),
    Column("unit_price", "line", True, "price of one unit in major units of the currency "
           "(no thousands separators)", "95.50"),
    Column("method", "line", True, "settlement: cash, rik (replacement in kind) or eve "
           "(equal-value exchange)", "cash"),
)
NAMES = tuple(c.name for c in COLUMNS)
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
ORDER_COLUMNS = tuple(c.name for c in COLUMNS if c.level == "order")
LINE_COLUMNS = tuple(c.name for c in COLUMNS if c.level == "line")
DATE_COLUMNS = ("order_on", "delivery_on", "requested_on", "accepted_on", "delivered_on",
                "received_on")


class ImportFileInvalid(errors.InvalidInput):
    """The file as a whole cannot be read as an import file (size, encoding, headers, empty)."""

    hint = "Start from the template: `acsa import template -o orders.csv` (or .xlsx)."


@dataclass(frozen=True)
class RawRow:
    """One data row as read: its row number in the file (the header is row 1, as a
    spreadsheet numbers them) and its cells by column name, as text."""

    number: int
    cells: dict[str, str]
    bad_cells: tuple[str, ...] = ()  # columns whose bytes were not valid UTF-8


def file_kind(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    raise ImportFileInvalid(f"{name!r} is neither a .csv nor an .xlsx file", field="file")


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ImportFileInvalid(
            f"the file is {size / 1024 / 1024:,.0f} MB; the limit is "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB per file", field="file",
            hint="Split it into files of at most 100 MB (about 400,000 lines) at an order "
            "boundary, and import each.")


def check_header(header: list[str]) -> list[str]:
    """The header's column names, trimmed and lower-cased; refused if a required column is
    missing, a name is unknown or repeated."""
    names = [h.strip().lower() for h in header]
    problems = []
    unknown = [n for n in names if n and n not in NAMES]
    missing = [n for n in REQUIRED if n not in names]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    if problems:
        raise ImportFileInvalid(f"row 1 (the header): {'; '.join(problems)}",
                                field=(missing or unknown or repeated)[0],
                                row=1, missing=missing, unknown=unknown, repeated=repeated)
    return names


# --- reading -------------------------------------------------------------------------------
def _refuse_encoding(sample: bytes) -> None:
    """Refuse a file that is not UTF-8, judging by its first bytes (an incomplete character at
    the end of the sample is not an error)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return
    except UnicodeDecodeError as e:
        where = sample[:e.start].count(b"\n") + 1
        bad = sample[e.start:e.start + 1].hex()
    guess = ""
    for name, label in (("utf-16", "UTF-16"), ("cp932", "Shift_JIS")):
        if name == "utf-16" and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            text = sample.decode(name)
        except UnicodeDecodeError:
            continue
        if label == "UTF-16" or any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff"
                                    for c in text):
            guess = f"; it looks like {label}"
            break
    raise ImportFileInvalid(
        f"the file is not UTF-8 (byte 0x{bad} on line {where}){guess}", field="file", row=where,
        hint="Save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8), or import the "
        ".xlsx workbook itself.")


class _Counting(io.RawIOBase):
    """A binary stream that counts the bytes read through it (for the progress bar)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.count = inner, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[:len(data)] = data
        self.count += len(data)
        return len(data)


def _csv_rows(stream: IO[bytes], size: int,
              progress: Callable[[float], None] | None) -> Iterator[RawRow]:
    head = stream.read(SNIFF_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t,;"):
        raise ImportFileInvalid("the file is empty: no header and no rows", field="file", row=1)
    _refuse_encoding(head)
    counting = _Counting(stream)
    joined = io.BufferedReader(counting, buffer_size=256 * 1024)
    # the sniffed head, then the rest; a BOM is dropped by utf-8-sig, invalid bytes later in
    # the file become lone surrogates, reported as a bad cell of that row
    text = io.TextIOWrapper(_Chain(head, joined), encoding="utf-8-sig",
                            errors="surrogateescape", newline="")
    # a cell longer than the csv module's limit (131,072 characters) stops the reading with
    # an error instead of holding a runaway line in memory
    reader = csv.reader(text, strict=False)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileInvalid("the file is empty: no header and no rows", field="file",
                                    row=1)
        names = check_header(header)
        last = 0.0
        for values in reader:
            number = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if progress is not None and size:
                done = (len(head) + counting.count) / size
                if done - last >= 0.002:
                    progress(min(done, 1.0))
                    last = done
            yield _row(number, names, values)
    except csv.Error as e:
        raise ImportFileInvalid(f"row {reader.line_num}: the file cannot be read as CSV: {e}",
                                field="file", row=reader.line_num) from None


class _Chain(io.RawIOBase):
    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def _row(number: int, names: list[str], values: list[str]) -> RawRow:
    """The row's cells by column name, every column of the layout present ("" if absent)."""
    cells = dict.fromkeys(NAMES, "")
    cells.update(zip(names, map(str.strip, values), strict=False))
    cells.pop("", None)
    if len(values) > len(names) and any(v.strip() for v in values[len(names):]):
        cells["__extra__"] = "yes"
    if _UNDECODED.search("".join(values)) is None:
        return RawRow(number, cells)
    bad = []
    for name in names:
        if name and _UNDECODED.search(cells[name]):
            bad.append(name)
            cells[name] = cells[name].encode("utf-8", "surrogateescape").decode("utf-8",
                                                                                "replace")
    return RawRow(number, cells, tuple(bad))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return (value.date() if value.time() == dt.time() else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        # Excel stores numbers as binary floats: repr is the shortest text that reads back
        # as the same float, which is what the officer typed for any realistic price
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    return str(value).strip()


def _xlsx_rows(stream: IO[bytes], progress: Callable[[float], None] | None) -> Iterator[RawRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise ImportFileInvalid(f"the file cannot be read as an xlsx workbook: {e}",
                                field="file") from None
    try:
        sheet = book["orders"] if "orders" in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or not any(c is not None and str(c).strip() for c in header):
            raise ImportFileInvalid("the workbook is empty: no header and no rows",
                                    field="file", row=1)
        names = check_header([_cell_text(c) for c in header])
        total = sheet.max_row or 0
        for number, values in enumerate(rows, start=2):
            texts = [_cell_text(v) for v in values]
            if not any(texts):
                continue
            if progress is not None and total and number % 500 == 0:
                progress(min(number / total, 1.0))
            yield _row(number, names, texts)
    finally:
        book.close()


def read_rows(stream: IO[bytes], *, name: str, size: int,
              progress: Callable[[float], None] | None = None) -> Iterator[RawRow]:
    """The data rows of an import file, streamed. Raises ImportFileInvalid for a file that
    cannot be an import file at all (too large, not UTF-8, wrong header, empty)."""
    check_size(size)
    if file_kind(name) == "xlsx":
        return _xlsx_rows(stream, progress)
    return _csv_rows(stream, size, progress)


# --- templates -----------------------------------------------------------------------------
def template_bytes(kind: str) -> bytes:
    """The shipped template file: the header and one example order of two lines."""
    name = {"csv": "orders-template.csv", "xlsx": "orders-template.xlsx"}[kind]
    return (resources.files("acsa.documents") / "templates" / name).read_bytes()


def example_rows() -> list[list[str]]:
    first = [c.example for c in COLUMNS]
    second = list(first)
    for c, value in (("category", "water"), ("description", "Potable water, bulk"),
                     ("stock_number", "8960-00-NIIN-001"), ("quantity", "20000"),
                     ("unit_price", "1.20")):
        second[NAMES.index(c)] = value
    return [first, second]


def build_template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(NAMES)
    writer.writerows(example_rows())
    return out.getvalue().encode("utf-8")


def build_template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "orders"
    sheet.append(list(NAMES))
    for cell, column in zip(sheet[1], COLUMNS, strict=True):
        cell.font = Font(bold=column.required)
        cell.comment = Comment(("required: " if column.required else "") + column.help, "acsa")
        sheet.column_dimensions[cell.column_letter].width = max(12, len(column.name) + 2)
    for row in example_rows():
        sheet.append(row)  # text cells: a template must not turn 9140-00-... into a date
    for name in ("quantity", "unit_price"):
        letter = sheet.cell(row=1, column=NAMES.index(name) + 1).column_letter
        for r in (2, 3):
            cell = sheet[f"{letter}{r}"]
            cell.value = Decimal(str(cell.value))
    fields = book.create_sheet("columns")
    fields.append(["column", "level", "required", "meaning", "example"])
    for c in COLUMNS:
        fields.append([c.name, c.level, "yes" if c.required else "", c.help, c.example])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
