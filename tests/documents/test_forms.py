"""The forms read back: every PDF's text (pypdf) checked against the books, the Japanese and
Filipino captions, the partner's view without internal fields, the QR code decoded, and the
same bytes for the same data. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from acsa import errors
from acsa.documents import forms
from acsa.documents.forms_data import claim_payload, offset_payload
from acsa.documents.forms_layout import amount, quantity
from acsa.money import Money
from acsa.orders import service as orders
from acsa.settlement import service as settlement
from tests.documents import _forms_helpers
from tests.documents._forms_helpers import (
    cash_claim,
    flat,
    offset_both_ways,
    pages,
    pay,
    qr_texts,
    received_mixed,
    text,
)
from tests.factories import D, fuel_line, official, order_to

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# the fixtures of the form tests
forms_world, fs = _forms_helpers.forms_world, _forms_helpers.fs



def test_order_form_states_every_number_of_the_books(fs: Session) -> None:
    number = received_mixed(fs)
    order = orders.get_order(fs, number)
    pdf = forms.order_form_pdf(fs, number, lang="ja")
    body, squeezed = text(pdf), flat(pdf)
    assert number in body
    for ln in order.lines:
        price = Money(ln.unit_price_minor, ln.currency)
        assert amount(price) in body
        assert amount(price.times(ln.quantity)) in body
    total = orders.total(order)
    assert total == Money.of("1955000", "PHP")  # 10,000 L x 95.50 + 4 h x 250,000
    assert "PHP 1,955,000.00" in body and "PHP 955,000.00" in body
    # the receipt: 9,500 of 10,000 L, short, with its reason; the claims and their due dates
    assert "9,500 L" in body and "10,000 L" in body
    assert "500Lshortatthepier" in squeezed and "不足" in body
    for c in settlement.claims_of(fs, order):
        assert c.number in squeezed and c.due_on.isoformat() in body
    # every data element of the order
    for value in ("PHJP", "KAMANDAG-10", "2026-05-10", "2026-05-12", "SubicBay,AlavaPier",
                  "FY2026O&M1234-56", "LtSato,+81460000000", "CdrCruz,+63470000000",
                  "JMSDF-ESC1", "PN-NFSL", "9140-00-273-2377"):
        assert value in squeezed, value
    # both signatures: who, and the hash each signed
    assert order.requested_hash and order.requested_hash in body
    assert order.accepted_hash and order.accepted_hash in body
    assert "jp-requesting" in body and "ph-approving" in body and "jp-receiving" in body


def test_japanese_captions_and_categories_are_real_text(fs: Session) -> None:
    number = received_mixed(fs)
    pdf = forms.order_form_pdf(fs, number, lang="ja")
    body, squeezed = text(pdf), flat(pdf)
    assert "ACSA 発注書兼受領書" in body and "Received / 受領済" in body
    for words in ("発注番号", "単価", "燃料・油脂・潤滑油", "輸送（空輸を含む）", "現金による償還",
                  "同等の価値の役務による返還", "署名対象ハッシュ"):
        assert words in squeezed, words  # table cells may wrap a phrase
    fonts = {str(f) for page in PdfReader(io.BytesIO(
        forms.order_form_pdf(fs, number, lang="ja"))).pages
        for f in page["/Resources"]["/Font"].values()
        for f in [f.get_object()["/BaseFont"]]}
    assert any("IPAexGothic" in f for f in fonts), fonts


def test_filipino_form(fs: Session) -> None:
    number = received_mixed(fs)
    pdf = forms.order_form_pdf(fs, number, lang="fil")
    body = text(pdf)
    for words in ("Order at Resibo ng ACSA", "Numero ng order", "PHP 1,955,000.00"):
        assert words in body, words
    assert "Gasolina,langisatpampadulas" in flat(pdf) and "Bayadnasalapi" in flat(pdf)
    assert not JAPANESE.search(body)


def test_partner_sees_no_internal_fields(fs: Session) -> None:
    number = received_mixed(fs)
    supplier = forms.order_form_pdf(fs, number, lang="ja", viewer_party="PH")
    requester = forms.order_form_pdf(fs, number, lang="ja", viewer_party="JP")
    for internal in ("FY2026O&M1234-56", "internal:budgetline7"):
        assert internal in flat(requester)
        assert internal not in flat(supplier)
    assert "予算科目" not in text(supplier)
    claim = cash_claim(fs, number)
    assert "FY2026O&M1234-56" not in flat(forms.claim_notice_pdf(fs, claim, viewer_party="PH"))
    assert "FY2026O&M1234-56" in flat(forms.claim_notice_pdf(fs, claim, viewer_party="JP"))


def test_a_third_nation_finds_nothing(fs: Session) -> None:
    number = received_mixed(fs)
    claim = cash_claim(fs, number)
    receipt = pay(fs, claim, "100000 PHP")
    with pytest.raises(errors.NotFound):
        forms.order_form_pdf(fs, number, viewer_party="US")
    with pytest.raises(errors.NotFound):
        forms.claim_notice_pdf(fs, claim, viewer_party="US")
    with pytest.raises(errors.NotFound):
        forms.payment_receipt_pdf(fs, receipt, viewer_party="US")
    offset = offset_both_ways(fs)
    with pytest.raises(errors.NotFound):
        forms.offset_pdf(fs, offset, viewer_party="US")
    with pytest.raises(errors.NotFound):
        forms.order_form_pdf(fs, "PHJP-JP-2026-9999")


def test_qr_code_and_metadata_carry_number_and_hash(fs: Session) -> None:
    number = received_mixed(fs)
    order = orders.get_order(fs, number)
    pdf = forms.order_form_pdf(fs, number, lang="ja")
    payload = f"ACSA1:ORDER:{number}:{order.content_hash}"
    assert qr_texts(pdf) == [payload]
    assert payload in text(pdf)
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta is not None
    assert meta.subject == payload and meta.creator == "acsa" and number in (meta.title or "")


def test_same_order_same_bytes(fs: Session) -> None:
    number = received_mixed(fs)
    first = forms.order_form_pdf(fs, number, lang="ja")
    assert forms.order_form_pdf(fs, number, lang="ja") == first
    assert forms.order_form_pdf(fs, number, lang="fil") != first
    other = order_to(fs, "accepted").number
    assert forms.order_form_pdf(fs, other, lang="ja") != first


def test_many_lines_run_onto_numbered_pages(fs: Session) -> None:
    lines = [fuel_line(qty=str(100 + i), price=f"{90 + i}.25") for i in range(70)]
    order = order_to(fs, "accepted", lines=lines)
    pdf = forms.order_form_pdf(fs, order.number, lang="ja")
    n = pages(pdf)
    assert n >= 3
    body = text(pdf)
    for page in range(1, n + 1):
        assert f"Page {page} of {n}" in body and f"{page} / {n} 頁" in body
    for ln in order.lines:
        assert amount(Money(ln.unit_price_minor, ln.currency).times(ln.quantity)) in body
    assert amount(orders.total(order)) in body
    assert flat(pdf).count("Unitprice/単価") >= 2  # the header row repeats on each page


def test_yen_has_no_minor_unit(fs: Session) -> None:
    order = order_to(fs, "accepted", requester="PH",
                     lines=[fuel_line(qty="4", price="1150000", currency="JPY")])
    body = text(forms.order_form_pdf(fs, order.number, lang="fil"))
    assert "JPY 4,600,000" in body and "JPY 1,150,000" in body
    assert "JPY 4,600,000.00" not in body and "JPY 1,150,000.00" not in body


def test_claim_notice_bills_the_receipt_and_shows_what_is_outstanding(fs: Session) -> None:
    number = received_mixed(fs)
    claim_number = cash_claim(fs, number)
    claim = settlement.find_claim(fs, claim_number)
    # the cash bill is for what arrived: 9,500 L x PHP 95.50
    assert claim.amount_minor == Money.of("907250", "PHP").minor
    before = forms.claim_notice_pdf(fs, claim_number, lang="ja")
    body = text(before)
    assert "PHP 907,250.00" in body and "9,500 L" in body and "PHP 95.50" in body
    assert claim.due_on.isoformat() in body and "請求書" in body
    assert "30" in body and "12" in body  # days to pay, months to settle (PHJP's terms)
    pay(fs, claim_number, "300000.50 PHP")
    after = forms.claim_notice_pdf(fs, claim_number, lang="ja")
    body = text(after)
    left = settlement.outstanding(settlement.find_claim(fs, claim_number)).minor
    assert left == Money.of("607249.50", "PHP").minor
    assert "PHP 300,000.50" in body and "PHP 607,249.50" in body and "wire 42" in body
    assert qr_texts(after) == [str(claim_payload(fs, settlement.find_claim(fs, claim_number)))]
    assert qr_texts(after) != qr_texts(before)


def test_in_kind_claim_notice(fs: Session) -> None:
    number = received_mixed(fs)
    eve = next(c for c in settlement.claims_of(fs, orders.get_order(fs, number))
               if c.method == "eve")
    pdf = forms.claim_notice_pdf(fs, eve.number, lang="fil")
    body = text(pdf)
    assert "PHP 1,000,000.00" in body and "Palitanngkatumbasnahalaga" in flat(pdf)
    assert eve.due_on.isoformat() in body


def test_payment_receipt(fs: Session) -> None:
    number = received_mixed(fs)
    claim = cash_claim(fs, number)
    first = pay(fs, claim, "500000 PHP")
    second = pay(fs, claim, "407250 PHP", on=D(2026, 5, 25))
    one = forms.payment_receipt_pdf(fs, first, lang="ja")
    body = text(one)
    assert "PHP 500,000.00" in body and "PHP 407,250.00" in body  # paid, then left after it
    assert claim in flat(one) and "領収書" in body and "2026-05-20" in body
    two = text(forms.payment_receipt_pdf(fs, str(second), lang="fil"))
    assert "PHP 407,250.00" in two and "PHP 0.00" in two and "Resibo ng Pagbabayad" in two
    assert forms.payment_receipt_pdf(fs, first, lang="ja") == one  # unchanged by the 2nd


def test_offset_document_nets_both_sides(fs: Session) -> None:
    number = offset_both_ways(fs)
    offset = settlement.find_offset(fs, number)
    proposed = forms.offset_pdf(fs, number, lang="ja")
    body = text(proposed)
    assert "PHP 955,000.00" in body and number in body and "相殺書" in body
    claims = {settlement.find_claim(fs, c.number).number for c in
              [fs.get(settlement.Claim, i.claim_id) for i in offset.items] if c}
    assert len(claims) == 2 and all(c in flat(proposed) for c in claims)
    assert "Awaiting approval / 承認待ち" in body and "ph-finance" in body
    settlement.approve_offset(fs, number=number, by=official("JP", "finance"), on=D(2026, 6, 2))
    approved = forms.offset_pdf(fs, number, lang="ja")
    body = text(approved)
    assert "jp-finance" in body and "承認済" in body and "2026-06-02" in body
    assert qr_texts(approved) == [str(offset_payload(fs, settlement.find_offset(fs, number)))]
    assert qr_texts(approved) != qr_texts(proposed)


def test_unknown_language_is_refused(fs: Session) -> None:
    number = order_to(fs, "draft").number
    with pytest.raises(errors.InvalidInput, match="lang"):
        forms.order_form_pdf(fs, number, lang="en")


def test_quantities_print_grouped_without_trailing_zeros() -> None:
    assert quantity(Decimal("118500.000")) == "118,500"
    assert quantity(Decimal("12.500")) == "12.5"
    assert amount(Money.of("1234.5", "PHP")) == "PHP 1,234.50"
    assert amount(Money.of("4000000", "JPY")) == "JPY 4,000,000"
