"""Helpers of the form tests: the test world on `engine` (SQLite and PostgreSQL), orders and
claims brought to a state, and reading a PDF back (text with pypdf, QR code with pypdfium2
and zxing-cpp), as a reader of the printed form would."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from acsa.db.engine import unit_of_work
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line, official, order_to, setup_world

ACSA = Path(sys.executable).parent / "acsa"


@pytest.fixture
def forms_world(engine: Engine, _acsa_home: Path) -> Engine:
    """`engine`'s database holding the test world of `tests/factories.py`."""
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


@pytest.fixture
def fs(forms_world: Engine) -> Iterator[Session]:
    with unit_of_work(forms_world) as s:
        yield s


# --- reading a PDF back --------------------------------------------------------------------
def text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)


def flat(pdf: bytes) -> str:
    """The text with line breaks removed, for phrases a table cell may wrap."""
    return "".join(text(pdf).split())


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def render(pdf: bytes, page: int = 0, scale: float = 2.0):  # type: ignore[no-untyped-def]
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=scale).to_pil()
    finally:
        doc.close()


def qr_texts(pdf: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(render(pdf),
                                                   formats=zxingcpp.BarcodeFormat.QRCode)]


def png(pdf: bytes, path: Path) -> Path:
    render(pdf, scale=2.5).save(path)
    return path


# --- the books -----------------------------------------------------------------------------
def received_mixed(s: Session) -> str:
    """A JP order to PH: fuel (cash, 10,000 L at PHP 95.50; 9,500 received, 500 short) and
    an airlift (EVE, 4 h at PHP 250,000), delivered and received. Returns its number."""
    order = order_to(s, "delivered", lines=[fuel_line(), airlift_line()],
                     notes="internal: budget line 7")
    orders.record_receipt(
        s, number=order.number, by=official("JP", "receiving"), on=D(2026, 5, 12),
        lines={1: ReceiptLineInput(received=Decimal(9500), reason="500 L short at the pier")})
    return order.number


def cash_claim(s: Session, number: str) -> str:
    return next(c.number for c in settlement.claims_of(s, orders.get_order(s, number))
                if c.method == "cash")


def pay(s: Session, claim: str, amount: str, on: dt.date = D(2026, 5, 20)) -> int:
    c = settlement.get_claim(s, claim)
    rec = settlement.pay(s, claim_ref=claim, by=official(c.debtor_party, "finance"), on=on,
                         amount=Money.parse(amount), reference="wire 42")
    return rec.id


def offset_both_ways(s: Session) -> str:
    """Open cash claims both ways under PHJP (JP owes PH, PH owes JP), netted: a proposal by
    PH finance. Returns the offset number."""
    order_to(s, "received")  # JP requests fuel from PH: PH is owed PHP 955,000.00
    order_to(s, "received", requester="PH", lines=[
        fuel_line(qty="2000", price="30000", currency="JPY")], on=D(2026, 5, 12))
    offset = settlement.propose_offset(s, agreement_code="PHJP", by=official("PH", "finance"),
                                       on=D(2026, 6, 1), currency="PHP", note="monthly netting")
    return offset.number


# --- the installed command -----------------------------------------------------------------
@dataclass
class Run:
    code: int
    out: str
    err: str


def acsa(db_url: str, home: Path, *args: object) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in ("ACSA_DATABASE_URL",
                                                             "ACSA_AGREEMENTS_DIR")}
    env.update(ACSA_HOME=str(home), NO_COLUMNS="160", NO_COLOR="1")
    p = subprocess.run([str(ACSA), "--db", db_url, *map(str, args)], capture_output=True,
                       text=True, env=env, timeout=120, check=False)
    return Run(p.returncode, p.stdout, p.stderr)
