"""Helpers for the audit pack tests: a story with real source documents, partial deliveries
and an offset; building a pack in memory; reading one; and making tampered copies of a zip
(entries replaced, dropped or added, raw unsafe names), optionally with the manifest and
SHA256SUMS recomputed as a forger who knows the format would."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import Engine

from acsa.audit import pack
from acsa.db.engine import unit_of_work
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.factories import D, draft, fuel_line, official, order_to

FUND = "FY2026 O&M 1234-56"  # the factories' fund citation: internal to the requester
NOW = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
SLIP = b"%PDF-1.4\n% delivery ticket 0601, first tranche, signed Lt Reyes\n"
SLIP_2 = b"%PDF-1.4\n% delivery ticket 0603, second tranche, signed Lt Reyes\n"


@dataclass(frozen=True)
class Story:
    a: str  # JP requests PHP fuel from PH: received, open cash claim (then offset)
    b: str  # PH requests JPY fuel from JP: two partial deliveries, received (then offset)
    other_activity: str  # a PH-JP order under HADR-CEBU
    jpus: str  # a JP-US order: PH is no party to it
    offset: str


def build_story(engine: Engine) -> Story:
    """Orders under KAMANDAG-10 and elsewhere, on the factories' world (already set up)."""
    with unit_of_work(engine) as s:
        a = order_to(s, "received").number
        b = draft(s, requester="PH", lines=[fuel_line(currency="JPY", price="300")]).number
        on = D(2026, 5, 10)
        orders.request_order(s, number=b, by=official("PH", "requesting"), on=on)
        orders.accept_order(s, number=b, by=official("JP", "approving"), on=on,
                            supplier_poc="Lt Ono", supplying_unit="JMSDF-ESC1")
        orders.record_delivery(s, number=b, by=official("JP", "supplying"), on=D(2026, 5, 11),
                               quantities={1: Decimal(6000)}, document_name="受領書 0601.pdf",
                               document=SLIP, content_type="application/pdf")
        orders.record_delivery(s, number=b, by=official("JP", "supplying"), on=D(2026, 5, 12),
                               quantities={1: Decimal(4000)},
                               document_name="../../etc/passwd", document=SLIP_2)
        orders.record_receipt(s, number=b, by=official("PH", "receiving"), on=D(2026, 5, 12),
                              lines={})
        other = order_to(s, "delivered", activity="HADR-CEBU", on=D(2026, 8, 2)).number
        jpus = order_to(s, "delivered", agreement="JPUS", activity="PORTCALL-YOKO",
                        on=D(2026, 5, 2), lines=[fuel_line(currency="USD", price="0.9")]).number
    with unit_of_work(engine) as s:
        offset = settlement.propose_offset(s, agreement_code="PHJP", by="ph-finance",
                                           on=D(2026, 6, 1)).number
    with unit_of_work(engine) as s:
        settlement.approve_offset(s, number=offset, by="jp-finance", on=D(2026, 6, 1))
    return Story(a=a, b=b, other_activity=other, jpus=jpus, offset=offset)


def build(engine: Engine, **kw: Any) -> bytes:
    """The pack as bytes, made in a read-only unit of work as the API does."""
    kw.setdefault("now", NOW)
    out = io.BytesIO()
    with unit_of_work(engine, read_only=True) as s:
        pack.write_pack(s, out, **kw)
    return out.getvalue()


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [i.filename for i in zf.infolist()]


def manifest(data: bytes) -> dict[str, Any]:
    return json.loads(entries(data)[pack.MANIFEST])


def events(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in entries(data)[pack.EVENTS].decode().splitlines()]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    return meta + "\n" + "\n".join(p.extract_text() or "" for p in reader.pages)


def rezip(data: bytes, *, replace: dict[str, bytes] | None = None,
          drop: tuple[str, ...] = (), add: dict[str, bytes] | None = None,
          reseal: bool = False) -> bytes:
    """A copy of the zip with entries replaced, dropped or added (names written raw, so an
    unsafe name goes in as given). `reseal` recomputes manifest.json's file list and
    SHA256SUMS from the new contents, as a forger who knows the format would."""
    files = entries(data)
    for name in drop:
        del files[name]
    files.update(replace or {})
    if reseal:
        m = json.loads(files[pack.MANIFEST])
        listed = [n for n in files if n not in (pack.MANIFEST, pack.SUMS)]
        files[pack.SUMS] = "".join(f"{sha(files[n])}  {n}\n" for n in listed).encode()
        m["files"] = sorted(({"path": n, "sha256": sha(files[n]), "size": len(files[n])}
                             for n in [*listed, pack.SUMS]), key=lambda f: f["path"])
        files[pack.MANIFEST] = json.dumps(m, indent=2, sort_keys=True).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 7, 1, 0, 0, 0)), content)
        for name, content in (add or {}).items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 7, 1, 0, 0, 0)), content)
    return out.getvalue()


def problems(data: bytes, **kw: Any) -> list[pack.Problem]:
    return pack.verify_pack(io.BytesIO(data), **kw).problems


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
