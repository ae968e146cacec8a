"""Checking a printed or saved form against the books (`acsa verify-doc`).

Reading: a PDF's first page is rendered (pypdfium2) and its QR code decoded (zxing-cpp); if
no QR code can be read, the verification code printed under it is taken from the PDF's text
(pypdf). A PNG or JPEG (a photo or scan of a printed page) has its QR code decoded directly.
When a PDF has both and they differ, the copy was tampered with.

Checking: the payload names the document and the hash it had when printed (`forms_data`).

* match: the hash is the document's hash in the books now;
* changed: it is a hash the document had before (an order's hash is in its audit events, a
  claim's and an offset's are rebuilt from their settlement history): the copy is outdated,
  and the events since it was printed are listed, the first being the one that changed it;
* unknown: no such document, or no version of it ever had that hash (not printed from these
  books, or altered).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.documents.forms_data import (
    Payload,
    claim_hashes,
    code_of,
    find_claim,
    find_offset,
    find_order,
    find_payloads,
    find_receipt,
    offset_hashes,
    receipt_payload,
)

RENDER_SCALE = 3.0  # 216 dpi: the 32 mm QR code is ~270 px, far above what a decoder needs
MAX_BYTES = 50 * 1024 * 1024


class DocumentChanged(errors.IntegrityError):
    hint = ("The copy was printed before the changes listed; print a new one "
            "(acsa docs ...) or show the document's history (acsa orders show, acsa audit).")


class DocumentNotRecognised(errors.NotFound):
    hint = ("The code names no document in these books, or a hash no version of it ever had: "
            "the copy was not printed from these books, or it was altered.")


class DocumentTampered(errors.IntegrityError):
    hint = "Do not rely on this copy: its printed code and its QR code say different things."


# --- reading the payload -------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    file: str
    source: str  # "qr" (a PDF's QR code), "text" (its printed code), "image" (a QR in an image)
    payload: Payload


def _decode(image: Image.Image) -> list[Payload]:
    texts = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    return find_payloads("\n".join(texts))


def _decode_hard(image: Image.Image) -> list[Payload]:
    """A photo or scan: as it is, then grey with the contrast stretched, then doubled."""
    found = _decode(image)
    if not found:
        grey = ImageOps.autocontrast(image.convert("L"))
        found = _decode(grey) or _decode(grey.resize((grey.width * 2, grey.height * 2)))
    return found


def _one(found: list[Payload], name: str, where: str) -> Payload | None:
    if len(found) > 1:
        raise errors.InvalidInput(
            f"{name}: {where} holds {len(found)} different acsa codes", field="file",
            hint="Verify one document at a time.")
    return found[0] if found else None


def read_payload(path: Path | str) -> Reading:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise errors.InvalidInput(f"cannot read {path}: {e.strerror or e}", field="file") from None
    if len(data) > MAX_BYTES:
        raise errors.InvalidInput(f"{path} is over {MAX_BYTES // 2**20} MB", field="file")
    return read_payload_bytes(data, str(path))


def read_payload_bytes(data: bytes, name: str = "document") -> Reading:
    """The payload of a PDF form or of an image of one."""
    if data.startswith(b"%PDF"):
        return _read_pdf(data, name)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise errors.InvalidInput(f"{name} is not a PDF, PNG or JPEG file", field="file",
                                  hint="Give the PDF acsa made, or a photo or scan of the "
                                  "printed page.") from None
    found = _one(_decode_hard(image), name, "the image")
    if found is None:
        raise errors.InvalidInput(f"{name}: no acsa QR code could be read in the image",
                                  field="file", hint="Scan or photograph the page again, flat "
                                  "and in focus, with the whole QR code in the picture.")
    return Reading(name, "image", found)


def _read_pdf(data: bytes, name: str) -> Reading:
    qr: Payload | None = None
    try:
        pdf = pdfium.PdfDocument(data)
        try:
            if len(pdf) == 0:
                raise errors.InvalidInput(f"{name} has no pages", field="file")
            qr = _one(_decode(pdf[0].render(scale=RENDER_SCALE).to_pil()), name, "page 1")
        finally:
            pdf.close()
    except pdfium.PdfiumError:
        pass  # damaged for pdfium: the text may still be readable
    try:
        reader = PdfReader(io.BytesIO(data))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, OSError):
        text = ""
    # a code too long for its line is wrapped by the layout: read it across line breaks too
    printed = _one(find_payloads(text) or find_payloads(text.replace("\n", "")), name,
                   "the printed text")
    if qr and printed and qr != printed:
        raise DocumentTampered(f"{name}: the QR code says {qr} but the printed code says "
                               f"{printed}", field="file")
    if qr:
        return Reading(name, "qr", qr)
    if printed:
        return Reading(name, "text", printed)
    raise errors.InvalidInput(f"{name}: no acsa verification code found (no readable QR code, "
                              "no printed code)", field="file",
                              hint="Only forms made by acsa docs carry a verification code.")


# --- checking it against the books ---------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """An act on the document after the copy was printed."""

    action: str
    actor: str
    at: str
    seq: int | None = None  # the audit event, where the act has one


@dataclass(frozen=True)
class Verification:
    file: str
    source: str
    payload: str
    kind: str
    ref: str
    printed_hash: str
    status: str  # match, changed, unknown
    message: str
    current_hash: str | None = None
    signed: dict[str, str | None] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "match"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def error(self) -> errors.AcsaError | None:
        """The named error a front end reports for this outcome (None for a match)."""
        if self.status == "changed":
            return DocumentChanged(self.message, field="file", document=self.ref,
                                   printed=self.printed_hash, current=self.current_hash,
                                   changed_by=asdict(self.changes[0]) if self.changes else None)
        if self.status == "unknown":
            return DocumentNotRecognised(self.message, field="file", document=self.ref)
        return None


def verify_file(session: Session, path: Path | str, *,
                viewer_party: str | None = None) -> Verification:
    return check(session, read_payload(path), viewer_party=viewer_party)


def check(session: Session, reading: Reading, *, viewer_party: str | None = None) -> Verification:
    p = reading.payload
    base = {"file": reading.file, "source": reading.source, "payload": str(p), "kind": p.kind,
            "ref": p.ref, "printed_hash": p.sha256}
    try:
        return {"ORDER": _order, "CLAIM": _claim, "RECEIPT": _receipt,
                "OFFSET": _offset}[p.kind](session, p, base, viewer_party)
    except errors.NotFound:
        return Verification(**base, status="unknown",
                            message=f"no {p.kind.lower()} {p.ref} in the books")


def _order(session: Session, p: Payload, base: dict[str, Any],
           viewer_party: str | None) -> Verification:
    order = find_order(session, p.ref, viewer_party)
    signed = {"requested": order.requested_hash, "accepted": order.accepted_hash}
    now = order.content_hash
    if p.sha256 == now:
        return Verification(**base, status="match", current_hash=now, signed=signed,
                            message=f"order {p.ref} matches the books (state {order.state})")
    events = audit.history(session, p.ref)
    seen = [i for i, e in enumerate(events) if e.order_hash == p.sha256]
    if not seen:
        return Verification(**base, status="unknown", current_hash=now, signed=signed,
                            message=f"order {p.ref} never had the hash {p.sha256[:16]}…: the "
                            "copy was not printed from these books, or it was altered")
    changes, last = [], p.sha256
    for e in events[seen[-1] + 1:]:
        if e.order_hash and e.order_hash != last:
            changes.append(Change(e.action, e.actor, e.at, e.seq))
            last = e.order_hash
    first = changes[0] if changes else None
    return Verification(
        **base, status="changed", current_hash=now, signed=signed, changes=changes,
        message=f"order {p.ref} has changed since this copy was printed"
        + (f": {first.action} by {first.actor} at {first.at}" if first else "")
        + (f", and {len(changes) - 1} more change(s)" if len(changes) > 1 else "")
        + f"; it is now {order.state}")


def _claim(session: Session, p: Payload, base: dict[str, Any],
           viewer_party: str | None) -> Verification:
    claim = find_claim(session, p.ref, viewer_party)
    history = claim_hashes(session, claim)
    now = history[-1][0]
    if p.sha256 == now:
        return Verification(**base, status="match", current_hash=now,
                            message=f"claim {p.ref} matches the books ({claim.state})")
    k = next((i for i, (h, _) in enumerate(history) if h == p.sha256), None)
    if k is None:
        return Verification(**base, status="unknown", current_hash=now,
                            message=f"claim {p.ref} never had the hash {p.sha256[:16]}…")
    changes = [Change(f"claim.{r.kind}", code_of(session, r.recorded_by_id) or "system",
                      r.recorded_at.isoformat(), None)
               for _, r in history[k + 1:] if r is not None]
    first = changes[0]
    return Verification(**base, status="changed", current_hash=now, changes=changes,
                        message=f"claim {p.ref} has changed since this copy was printed: "
                        f"{first.action} by {first.actor}; it is now {claim.state}")


def _receipt(session: Session, p: Payload, base: dict[str, Any],
             viewer_party: str | None) -> Verification:
    try:
        claim, record = find_receipt(session, p.ref, viewer_party)
    except errors.InvalidInput:
        raise errors.NotFound(f"no receipt {p.ref}") from None
    now = receipt_payload(session, claim, record).sha256
    if p.sha256 == now:
        return Verification(**base, status="match", current_hash=now,
                            message=f"receipt {p.ref} ({record.kind} on claim {claim.number}) "
                            "matches the books")
    return Verification(**base, status="unknown", current_hash=now,
                        message=f"receipt {p.ref} never had the hash {p.sha256[:16]}…")


def _offset(session: Session, p: Payload, base: dict[str, Any],
            viewer_party: str | None) -> Verification:
    offset = find_offset(session, p.ref, viewer_party)
    stages = offset_hashes(session, offset)
    now = stages[-1][0]
    if p.sha256 == now:
        return Verification(**base, status="match", current_hash=now,
                            message=f"offset {p.ref} matches the books ({offset.state})")
    if p.sha256 not in [h for h, _ in stages]:
        return Verification(**base, status="unknown", current_hash=now,
                            message=f"offset {p.ref} never had the hash {p.sha256[:16]}…")
    events = session.scalars(select(Event).where(
        Event.subject == f"offset:{offset.number}", Event.action != "offset.proposed")
        .order_by(Event.seq))
    changes = [Change(e.action, e.actor, e.at, e.seq) for e in events]
    return Verification(**base, status="changed", current_hash=now, changes=changes,
                        message=f"offset {p.ref} has changed since this copy was printed: it "
                        f"was {stages[0][1]}, it is now {offset.state}")
