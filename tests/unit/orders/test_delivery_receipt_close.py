"""Deliveries against an order, receipts against a delivery, and closing an order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa.errors import (
    DeliveryExceedsOrder,
    InvalidInput,
    InvalidQuantity,
    NotTiedOut,
    OverReceiptWithoutReason,
    SourceDocumentMissing,
)
from acsa.orders.domain import (
    LineProgress,
    ReceiptLineInput,
    check_close,
    check_delivery,
    decide_receipt,
)

Q = Decimal


class TestDelivery:
    def progress(self) -> dict[int, LineProgress]:
        return {1: LineProgress(ordered=Q(100), delivered=Q(60)), 2: LineProgress(ordered=Q(5))}

    def test_up_to_what_is_still_undelivered(self):
        check_delivery("N", self.progress(), {1: Q(40), 2: Q(5)}, over_allowed=False)

    def test_more_than_ordered_in_total_is_refused(self):
        with pytest.raises(DeliveryExceedsOrder) as e:
            check_delivery("N", self.progress(), {1: Q("40.001")}, over_allowed=False)
        assert "line 1" in e.value.message
        assert "total delivered to 100.001, above the 100 ordered" in e.value.message
        assert e.value.field == "line"

    def test_more_than_ordered_when_over_delivery_is_allowed(self):
        check_delivery("N", self.progress(), {1: Q(50)}, over_allowed=True)

    def test_an_empty_delivery_is_refused(self):
        with pytest.raises(InvalidInput, match="at least one line") as e:
            check_delivery("N", self.progress(), {}, over_allowed=False)
        assert e.value.field == "line"

    def test_a_line_the_order_does_not_have_is_refused(self):
        with pytest.raises(InvalidInput, match="order N has no line 3"):
            check_delivery("N", self.progress(), {3: Q(1)}, over_allowed=True)


class TestReceipt:
    def test_a_line_not_mentioned_is_received_in_full(self):
        (d,) = decide_receipt({1: Q(10)}, {}).values()
        assert (d.delivered, d.received, d.damaged, d.billable) == (Q(10), Q(10), Q(0), Q(10))
        assert d.discrepancy == ""

    def test_over_receipt_needs_a_reason(self):
        with pytest.raises(OverReceiptWithoutReason) as e:
            decide_receipt({1: Q(10)}, {1: ReceiptLineInput(received=Q(12))})
        assert "received 12 is above the 10 delivered" in e.value.message
        assert e.value.field == "received"

    def test_over_receipt_with_a_reason_bills_what_arrived(self):
        d = decide_receipt({1: Q(10)}, {1: ReceiptLineInput(Q(12), reason=" extra pallet ")})[1]
        assert (d.billable, d.discrepancy, d.reason) == (Q(12), "over", "extra pallet")

    @pytest.mark.parametrize(("given", "what"), [
        (ReceiptLineInput(received=Q(8)), "short"),
        (ReceiptLineInput(received=Q(10), damaged=Q(1)), "damaged"),
        (ReceiptLineInput(received=Q(8), reason="   "), "short"),
    ])
    def test_short_or_damaged_needs_a_reason(self, given, what):
        with pytest.raises(InvalidInput) as e:
            decide_receipt({1: Q(10)}, {1: given})
        assert f"a {what} quantity needs a reason" in e.value.message
        assert e.value.field == "reason"

    @pytest.mark.parametrize(("given", "billable", "kind"), [
        (ReceiptLineInput(Q(8), reason="lost"), Q(8), "short"),
        (ReceiptLineInput(Q(10), Q(3), "crushed"), Q(7), "damaged"),
        (ReceiptLineInput(Q(8), Q("0.5"), "lost, wet"), Q("7.5"), "short+damaged"),
        (ReceiptLineInput(Q(12), Q(2), "extra, torn"), Q(10), "over+damaged"),
        (ReceiptLineInput(Q(10), Q(10), "all burnt"), Q(0), "damaged"),
    ])
    def test_billable_is_received_less_damaged(self, given, billable, kind):
        d = decide_receipt({1: Q(10)}, {1: given})[1]
        assert d.billable == billable == d.received - d.damaged
        assert d.discrepancy == kind

    def test_more_damaged_than_received_is_refused(self):
        with pytest.raises(InvalidQuantity, match="damaged 9 is more than received 8") as e:
            decide_receipt({1: Q(10)}, {1: ReceiptLineInput(Q(8), Q(9), "x")})
        assert e.value.field == "damaged"

    def test_a_line_not_in_the_delivery_is_refused(self):
        with pytest.raises(InvalidInput, match="line\\(s\\) 2, 3 were not in the delivery"):
            decide_receipt({1: Q(10)}, {3: ReceiptLineInput(Q(1)), 2: ReceiptLineInput(Q(1))})

    def test_every_delivered_line_gets_a_decision(self):
        out = decide_receipt({1: Q(10), 2: Q(4)}, {2: ReceiptLineInput(Q(3), reason="short")})
        assert set(out) == {1, 2}
        assert (out[1].billable, out[2].billable) == (Q(10), Q(3))


class TestClose:
    def tied(self) -> dict[int, LineProgress]:
        return {1: LineProgress(Q(10), Q(10), Q(10), documents=1),
                2: LineProgress(Q(5), Q(5), Q(5), documents=2)}

    def test_a_tied_out_order_closes(self):
        check_close("N", self.tied(), 0, [])

    def test_a_line_without_a_source_document_is_refused_first(self):
        progress = self.tied()
        progress[2].documents = 0
        with pytest.raises(SourceDocumentMissing) as e:
            check_close("N", progress, unreceived_deliveries=1, open_claims=["C-1"])
        assert "order N cannot be closed: line(s) 2 have no source document" in e.value.message

    def test_unreceived_deliveries_do_not_tie_out(self):
        with pytest.raises(NotTiedOut, match="2 delivery\\(ies\\) not yet received"):
            check_close("N", self.tied(), 2, [])

    def test_open_claims_do_not_tie_out_and_are_named(self):
        with pytest.raises(NotTiedOut) as e:
            check_close("N", self.tied(), 1, ["PHJP-C-0001", "PHJP-C-0002"])
        assert "not yet received" in e.value.message
        assert "claim(s) not settled: PHJP-C-0001, PHJP-C-0002" in e.value.message
