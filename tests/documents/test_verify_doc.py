"""`documents.verify`: a form read back from its PDF (QR code, else the printed code) or from
an image of the page, and checked against the books, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate
from sqlalchemy.orm import Session

from acsa import errors
from acsa.documents import forms, verify
from acsa.documents.forms_data import Payload
from acsa.documents.forms_layout import qr_drawing
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.documents import _forms_helpers
from tests.documents._forms_helpers import (
    cash_claim,
    offset_both_ways,
    pay,
    png,
    received_mixed,
)
from tests.factories import D, official, order_to

SMALL = ParagraphStyle("small", fontName="Courier", fontSize=6)

# the fixtures of the form tests
forms_world, fs = _forms_helpers.forms_world, _forms_helpers.fs



def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _pdf(*flowables: object) -> bytes:
    buf = io.BytesIO()
    SimpleDocTemplate(buf, invariant=1).build(list(flowables))  # type: ignore[arg-type]
    return buf.getvalue()


def test_a_fresh_order_form_matches(fs: Session, tmp_path: Path) -> None:
    number = received_mixed(fs)
    path = _file(tmp_path, "form.pdf", forms.order_form_pdf(fs, number, lang="ja"))
    result = verify.verify_file(fs, path)
    order = orders.get_order(fs, number)
    assert result.ok and result.status == "match" and result.source == "qr"
    assert result.ref == number and result.printed_hash == order.content_hash
    assert result.signed == {"requested": order.requested_hash, "accepted": order.accepted_hash}
    assert result.error() is None


def test_an_order_changed_after_printing_is_reported_with_the_event(fs: Session,
                                                                    tmp_path: Path) -> None:
    order = order_to(fs, "accepted")
    path = _file(tmp_path, "form.pdf", forms.order_form_pdf(fs, order.number, lang="fil"))
    orders.record_delivery(fs, number=order.number, by=official("PH", "supplying"),
                           on=D(2026, 5, 12), quantities={1: order.lines[0].quantity},
                           document_name="slip.pdf", document=b"slip")
    result = verify.verify_file(fs, path)
    assert result.status == "changed" and not result.ok
    assert result.changes[0].action == "order.delivered"
    assert result.changes[0].actor == official("PH", "supplying")
    assert result.current_hash == orders.get_order(fs, order.number).content_hash
    assert result.current_hash != result.printed_hash
    error = result.error()
    assert isinstance(error, verify.DocumentChanged) and error.exit_code == 8
    assert "order.delivered" in error.message


def test_a_hash_the_order_never_had_or_an_unknown_order_is_not_found(fs: Session) -> None:
    number = order_to(fs, "requested").number
    for payload in (Payload("ORDER", number, "0" * 64),
                    Payload("ORDER", "PHJP-JP-2026-0999", "a" * 64),
                    Payload("CLAIM", "PHJP-JP-2026-0001-C9", "b" * 64),
                    Payload("RECEIPT", "999", "c" * 64), Payload("OFFSET", "PHJP-OFS-9999",
                                                                  "d" * 64)):
        result = verify.check(fs, verify.Reading("x.pdf", "qr", payload))
        assert result.status == "unknown", payload
        error = result.error()
        assert isinstance(error, errors.NotFound) and error.exit_code == 5


def test_an_image_of_the_page(fs: Session, tmp_path: Path) -> None:
    number = received_mixed(fs)
    image = png(forms.order_form_pdf(fs, number, lang="ja"), tmp_path / "scan.png")
    result = verify.verify_file(fs, image)
    assert result.source == "image" and result.ok
    jpeg = tmp_path / "photo.jpg"
    from PIL import Image
    Image.open(image).convert("RGB").save(jpeg, quality=70)
    assert verify.verify_file(fs, jpeg).ok


def test_the_printed_code_is_read_when_there_is_no_qr(fs: Session, tmp_path: Path) -> None:
    number = order_to(fs, "accepted").number
    payload = f"ACSA1:ORDER:{number}:{orders.get_order(fs, number).content_hash}"
    path = _file(tmp_path, "text.pdf", _pdf(Paragraph(payload, SMALL)))
    result = verify.verify_file(fs, path)
    assert result.source == "text" and result.ok


def test_a_qr_and_printed_code_that_differ_are_tampering(fs: Session, tmp_path: Path) -> None:
    number = order_to(fs, "accepted").number
    good = f"ACSA1:ORDER:{number}:{orders.get_order(fs, number).content_hash}"
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    path = _file(tmp_path, "mixed.pdf", _pdf(qr_drawing(good, 100),
                                             Paragraph(bad, SMALL)))
    with pytest.raises(verify.DocumentTampered) as caught:
        verify.read_payload(path)
    assert caught.value.exit_code == 8


def test_files_without_a_code_are_invalid(tmp_path: Path) -> None:
    for name, data in (("empty.pdf", _pdf(Paragraph("no code", SMALL))),
                       ("notes.txt", b"just text"), ("blank.png", b"")):
        with pytest.raises(errors.InvalidInput):
            verify.read_payload(_file(tmp_path, name, data))
    with pytest.raises(errors.InvalidInput):
        verify.read_payload(tmp_path / "missing.pdf")


def test_claim_notice_outdated_by_a_payment(fs: Session, tmp_path: Path) -> None:
    claim = cash_claim(fs, received_mixed(fs))
    path = _file(tmp_path, "bill.pdf", forms.claim_notice_pdf(fs, claim, lang="ja"))
    assert verify.verify_file(fs, path).ok
    receipt = pay(fs, claim, "1000 PHP")
    result = verify.verify_file(fs, path)
    assert result.status == "changed" and result.changes[0].action == "claim.payment"
    assert result.changes[0].actor == official("JP", "finance")
    slip = _file(tmp_path, "receipt.pdf", forms.payment_receipt_pdf(fs, receipt, lang="fil"))
    pay(fs, claim, "2000 PHP", on=D(2026, 5, 21))
    assert verify.verify_file(fs, slip).ok  # a receipt never goes out of date


def test_offset_proposal_outdated_by_its_approval(fs: Session, tmp_path: Path) -> None:
    number = offset_both_ways(fs)
    path = _file(tmp_path, "offset.pdf", forms.offset_pdf(fs, number, lang="ja"))
    assert verify.verify_file(fs, path).ok
    settlement.approve_offset(fs, number=number, by=official("JP", "finance"),
                              on=D(2026, 6, 2))
    result = verify.verify_file(fs, path)
    assert result.status == "changed"
    assert [c.action for c in result.changes] == ["offset.approved"]
    approved = _file(tmp_path, "approved.pdf", forms.offset_pdf(fs, number, lang="ja"))
    assert verify.verify_file(fs, approved).ok


def test_a_viewer_of_another_party_cannot_verify(fs: Session, tmp_path: Path) -> None:
    number = order_to(fs, "accepted", on=dt.date(2026, 5, 10)).number
    path = _file(tmp_path, "form.pdf", forms.order_form_pdf(fs, number))
    assert verify.verify_file(fs, path, viewer_party="PH").ok
    assert verify.verify_file(fs, path, viewer_party="US").status == "unknown"
