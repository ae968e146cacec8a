"""Import files for the tests and the benchmark: rows valid in the world of tests/factories.py
(a JP unit orders from PH under PHJP for KAMANDAG-10), written as CSV or xlsx, and a
generator of large files written row by row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from acsa.db.engine import unit_of_work
from acsa.documents.bulk_format import NAMES

BASE: dict[str, str] = {
    "order_ref": "KMD-0001", "agreement": "PHJP", "activity": "KAMANDAG-10",
    "requesting_party": "JP", "supplying_party": "PH", "requesting_unit": "JMSDF-ESC1",
    "supplying_unit": "", "created_by": "jp-requesting", "order_on": "2026-05-10",
    "currency": "PHP", "delivery_place": "Subic Bay, Alava Pier", "delivery_on": "2026-05-12",
    "fund_citation": "FY2026 O&M 1234-56", "billing_address": "",
    "requester_poc": "Lt Sato, +81 46 000 0000", "supplier_poc": "",
    "implementing_arrangement": "", "notes": "", "state": "", "requested_by": "",
    "requested_on": "", "accepted_by": "", "accepted_on": "", "delivered_by": "",
    "delivered_on": "", "delivery_document": "", "received_by": "", "received_on": "",
    "category": "fuel", "description": "Diesel fuel, marine (F-76)",
    "stock_number": "9140-00-273-2377", "quantity": "10000", "unit": "L",
    "unit_price": "95.50", "method": "cash",
}
WATER = {"category": "water", "description": "Potable water, bulk", "stock_number": "8960-01",
         "quantity": "20000", "unit": "L", "unit_price": "1.20"}
AIRLIFT = {"category": "transportation", "description": "C-130 airlift, flight hours",
           "stock_number": "", "quantity": "4", "unit": "h", "unit_price": "250000",
           "method": "eve"}
# the later steps of an order, by the officials of tests/factories.py
HISTORY = {"accepted_by": "ph-approving", "supplier_poc": "Cdr Cruz, +63 47 000 0000",
           "supplying_unit": "PN-NFSL", "delivered_by": "ph-supplying",
           "delivered_on": "2026-05-12", "delivery_document": "ISSUE-SLIP-0042",
           "received_by": "jp-receiving", "received_on": "2026-05-12"}

# every table an import may write to, and the reference data it must leave alone
TABLES = ("orders", "order_lines", "order_counters", "audit_events", "deliveries",
          "delivery_lines", "receipts", "receipt_lines", "documents", "claims", "ledger_entries",
          "ledger_lines", "webhook_deliveries", "officials", "units", "activities")


def row(**changes: Any) -> dict[str, str]:
    out = dict(BASE)
    out.update({k: str(v) for k, v in changes.items()})
    return out


def order(ref: str, *lines: dict[str, Any], **changes: Any) -> list[dict[str, str]]:
    """The rows of one order: its cells on each, one line per row (a fuel line if none)."""
    return [row(order_ref=ref, **{**changes, **line}) for line in (lines or ({},))]


def csv_bytes(rows: list[dict[str, str]], columns: tuple[str, ...] | list[str] = NAMES) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    return out.getvalue().encode("utf-8")


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8",
              columns: tuple[str, ...] | list[str] = NAMES) -> Path:
    path.write_bytes(csv_bytes(rows, columns).decode("utf-8").encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]], *, typed: bool = True) -> Path:
    """An xlsx as a spreadsheet user keeps one: numbers as numbers and dates as dates."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "orders"
    sheet.append(list(NAMES))
    for r in rows:
        values: list[Any] = []
        for c in NAMES:
            v: Any = r.get(c, "")
            if typed and v and c in ("quantity", "unit_price"):
                v = float(v) if "." in v else int(v)
            elif typed and v and c.endswith("_on"):
                v = dt.datetime.fromisoformat(v)
            values.append(v if v != "" else None)
        sheet.append(values)
    book.save(path)
    return path


def generated_rows(lines: int, *, per_order: int = 4, state: str = "requested",
                   prefix: str = "GEN") -> Iterator[list[str]]:
    """`lines` valid rows, `per_order` lines an order, requested orders by default."""
    fuel = row(state=state)
    water = row(state=state, **WATER)
    for i in range(lines):
        n, k = divmod(i, per_order)
        base = fuel if k % 2 == 0 else water
        values = dict(base, order_ref=f"{prefix}-{n:07d}", quantity=str(100 + k),
                      description=f"{base['description']} #{k + 1}")
        yield [values[c] for c in NAMES]


def write_generated(path: Path, lines: int, **kw: Any) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(NAMES)
        writer.writerows(generated_rows(lines, **kw))
    return path


def counts(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine, read_only=True) as s:
        return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
