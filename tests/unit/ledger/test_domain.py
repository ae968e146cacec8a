"""Double-entry postings: transfers, balance checks, reversals, in-kind units, ageing."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from acsa.errors import IntegrityError
from acsa.ledger import domain as books
from acsa.ledger.domain import (
    CONVERSION,
    Posting,
    ageing_bucket,
    check_balanced,
    from_kind_units,
    kind_units,
    reversal,
    transfer,
    unbalanced,
)
from acsa.ledger.reports import bucket_for

D = dt.date


class TestTransfer:
    def test_one_commodity_is_a_plain_debit_and_credit(self):
        postings = transfer("JP", "PH", "assets:receivable:cash", "income:support-provided",
                            ("JPY", 6_000_000))
        assert postings == [
            Posting("JP", "assets:receivable:cash", "PH", "JPY", 6_000_000),
            Posting("JP", "income:support-provided", "PH", "JPY", -6_000_000),
        ]

    def test_money_against_an_item_goes_through_conversion(self):
        postings = transfer("JP", "PH", books.receivable("rik"), books.PROVIDED,
                            ("JP-8", 50_000_000), ("JPY", 6_000_000))
        assert [(p.account, p.commodity, p.amount) for p in postings] == [
            ("assets:receivable:kind", "JP-8", 50_000_000),
            (CONVERSION, "JP-8", -50_000_000),
            (CONVERSION, "JPY", 6_000_000),
            ("income:support-provided", "JPY", -6_000_000),
        ]
        check_balanced(postings)

    def test_the_same_commodity_in_two_different_amounts_is_refused(self):
        with pytest.raises(IntegrityError):
            transfer("PH", "JP", books.CASH, books.receivable("cash"), ("USD", 100), ("USD", 90))

    def test_account_names_per_method(self):
        assert books.receivable("cash") == "assets:receivable:cash"
        assert books.receivable("rik") == "assets:receivable:kind"
        assert books.payable("eve") == "liabilities:payable:service"

    def test_currencies_and_items(self):
        assert books.is_currency("JPY") and books.is_currency("PHP")
        assert not books.is_currency("JP-8")


class TestBalance:
    def test_an_unbalanced_entry_is_refused_naming_book_and_commodity(self):
        postings = [Posting("PH", books.CASH, "JP", "PHP", 100),
                    Posting("PH", books.PAYABLE, "JP", "PHP", -90)]
        with pytest.raises(IntegrityError) as e:
            check_balanced(postings)
        assert e.value.message == "ledger entry does not balance (PH PHP: +10)"
        assert e.value.kind == "integrity"

    def test_balance_is_per_book_not_across_books(self):
        postings = [Posting("PH", books.CASH, "JP", "PHP", 100),
                    Posting("JP", books.CASH, "PH", "PHP", -100)]
        assert unbalanced(postings) == {("PH", "PHP"): 100, ("JP", "PHP"): -100}
        with pytest.raises(IntegrityError, match="PH PHP: \\+100, JP PHP: -100"):
            check_balanced(postings)

    def test_balance_is_per_commodity_not_across_commodities(self):
        postings = [Posting("PH", books.CASH, "JP", "PHP", 100),
                    Posting("PH", books.CASH, "JP", "USD", -100)]
        with pytest.raises(IntegrityError):
            check_balanced(postings)

    def test_an_empty_entry_is_refused(self):
        with pytest.raises(IntegrityError, match="at least one posting"):
            check_balanced([])


class TestReversal:
    def test_negates_every_posting_and_keeps_the_rest(self):
        entry = [replace(p, claim_id=7) for p in transfer(
            "JP", "PH", books.receivable("rik"), books.PROVIDED, ("JP-8", 1500), ("JPY", 180_000))]
        back = reversal(entry)
        assert [replace(p, amount=0) for p in back] == [replace(p, amount=0) for p in entry]
        assert [p.amount for p in back] == [-p.amount for p in entry]
        check_balanced(back)
        assert unbalanced(entry + back) == {}


class TestKindUnits:
    @pytest.mark.parametrize(("qty", "units"), [
        ("1.234", 1234), ("50000", 50_000_000), ("0.001", 1), ("-2.5", -2500), ("1.2300", 1230),
    ])
    def test_thousandths_of_the_unit(self, qty, units):
        assert kind_units(Decimal(qty)) == units
        assert from_kind_units(units) == Decimal(qty)

    @pytest.mark.parametrize("qty", ["1.2345", "0.0001"])
    def test_finer_than_a_thousandth_is_refused(self, qty):
        with pytest.raises(IntegrityError, match="finer than 1/1000"):
            kind_units(Decimal(qty))


class TestAgeing:
    @pytest.mark.parametrize(("days", "bucket"), [
        (-5, "0-30"), (0, "0-30"), (30, "0-30"), (31, "31-90"), (90, "31-90"),
        (91, "91-180"), (180, "91-180"), (181, "181-365"), (365, "181-365"),
        (366, "over 12 months"), (548, "over 12 months"), (549, "over 18 months"),
        (5000, "over 18 months"),
    ])
    def test_ageing_bucket_by_days(self, days, bucket):
        assert ageing_bucket(days) == bucket

    @pytest.mark.parametrize(("delivered", "as_of", "bucket"), [
        (D(2025, 1, 31), D(2026, 1, 31), "181-365"),  # exactly 12 months: not yet over
        (D(2025, 1, 31), D(2026, 2, 1), "over 12 months"),
        (D(2025, 1, 31), D(2026, 7, 31), "over 12 months"),  # exactly 18 months
        (D(2025, 1, 31), D(2026, 8, 1), "over 18 months"),
        (D(2023, 3, 1), D(2024, 3, 1), "181-365"),  # 366 days across 29 Feb, still 12 months
        (D(2023, 3, 1), D(2024, 3, 2), "over 12 months"),
        (D(2024, 2, 29), D(2025, 2, 28), "181-365"),  # 12 months after 29 Feb is 28 Feb
        (D(2024, 2, 29), D(2025, 3, 1), "over 12 months"),
        (D(2025, 8, 31), D(2027, 2, 28), "over 12 months"),  # 18 months is 28 Feb 2027
        (D(2025, 8, 31), D(2027, 3, 1), "over 18 months"),
        (D(2026, 1, 1), D(2026, 1, 31), "0-30"),
        (D(2026, 1, 1), D(2026, 2, 1), "31-90"),
        (D(2026, 5, 1), D(2026, 4, 1), "0-30"),  # dated in the future: not yet ageing
    ])
    def test_bucket_for_uses_calendar_months_at_the_12_and_18_month_marks(
            self, delivered, as_of, bucket):
        assert bucket_for(delivered, as_of) == bucket
