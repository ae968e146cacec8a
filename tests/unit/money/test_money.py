"""Money: construction, parsing, arithmetic, rounding and allocation, by example."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acsa.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency
from acsa.money import Money, parse_rate, total


class TestOf:
    @pytest.mark.parametrize(("amount", "currency", "minor"), [
        ("1250.50", "PHP", 125050),
        ("1250.5", "PHP", 125050),
        ("0.01", "USD", 1),
        ("900000000", "JPY", 900_000_000),
        ("1.0", "JPY", 1),  # a zero decimal is not a fraction of a yen
        ("1e3", "JPY", 1000),
        ("-3.25", "USD", -325),
        (7, "JPY", 7),
        (Decimal("19.99"), "USD", 1999),
    ])
    def test_major_units_become_whole_minor_units(self, amount, currency, minor):
        m = Money.of(amount, currency)
        assert (m.minor, m.currency) == (minor, currency)
        assert type(m.minor) is int

    @pytest.mark.parametrize(("amount", "currency", "places"), [
        ("1.5", "JPY", 0),
        ("0.1", "JPY", 0),
        ("0.001", "PHP", 2),
        ("10.005", "USD", 2),
        ("1250.501", "PHP", 2),
    ])
    def test_more_decimals_than_the_currency_has_are_refused_not_rounded(
            self, amount, currency, places):
        with pytest.raises(InvalidAmount) as e:
            Money.of(amount, currency)
        assert f"more than {places} decimal place" in e.value.message
        assert currency in e.value.message

    @pytest.mark.parametrize("amount", ["abc", "", "1.2.3", "12 PHP"])
    def test_text_that_is_not_a_number_is_refused(self, amount):
        with pytest.raises(InvalidAmount, match="not a number"):
            Money.of(amount, "PHP")

    @pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
    def test_non_finite_numbers_are_refused(self, amount):
        with pytest.raises(InvalidAmount, match="not a finite number"):
            Money.of(amount, "USD")

    def test_a_fraction_is_refused_however_large_the_amount(self):
        with pytest.raises(InvalidAmount):
            Money.of("1234567890123456789012345678.9", "JPY")

    def test_unknown_currency_is_refused_with_the_currency_field(self):
        with pytest.raises(UnknownCurrency) as e:
            Money.of("1", "XYZ")
        assert e.value.field == "currency"
        assert "'XYZ'" in e.value.message


class TestConstructor:
    @pytest.mark.parametrize("minor", [1.0, Decimal(1), True, "1"])
    def test_minor_units_must_be_a_plain_int(self, minor):
        with pytest.raises(InvalidAmount, match="whole number of minor units"):
            Money(minor, "JPY")

    def test_unknown_currency_is_refused(self):
        with pytest.raises(UnknownCurrency):
            Money(1, "XXX")


class TestParse:
    @pytest.mark.parametrize("text", [
        "1250.50 PHP", "PHP 1250.50", "1,250.50 PHP", "php 1250.5", "  PHP   1250.50 ",
    ])
    def test_amount_and_code_in_either_order(self, text):
        assert Money.parse(text) == Money(125050, "PHP")

    @pytest.mark.parametrize("text", ["1250.50", "PHP", "1250.50PHP", "1 250 PHP", ""])
    def test_needs_exactly_an_amount_and_a_currency(self, text):
        with pytest.raises(InvalidAmount, match="write an amount and a currency"):
            Money.parse(text)

    def test_refuses_more_decimals_than_the_currency_has(self):
        with pytest.raises(InvalidAmount, match="decimal place"):
            Money.parse("1.5 JPY")

    def test_refuses_unknown_currency(self):
        with pytest.raises(UnknownCurrency):
            Money.parse("12 XYZ")

    def test_a_comma_that_is_not_a_thousands_separator_is_refused(self):
        with pytest.raises(InvalidAmount):
            Money.parse("1,50 PHP")


class TestViews:
    def test_amount_is_an_exact_decimal_in_major_units(self):
        assert Money(125050, "PHP").amount == Decimal("1250.50")
        assert Money(900_000_000, "JPY").amount == Decimal(900_000_000)

    @pytest.mark.parametrize(("m", "text"), [
        (Money(125050, "PHP"), "1,250.50 PHP"),
        (Money(900_000_000, "JPY"), "900,000,000 JPY"),
        (Money(5, "USD"), "0.05 USD"),
        (Money(-125050, "PHP"), "-1,250.50 PHP"),
    ])
    def test_str_shows_the_currency_s_own_decimals(self, m, text):
        assert str(m) == text


class TestArithmetic:
    def test_add_subtract_negate_in_one_currency(self):
        a, b = Money(1000, "PHP"), Money(250, "PHP")
        assert a + b == Money(1250, "PHP")
        assert a - b == Money(750, "PHP")
        assert -a == Money(-1000, "PHP")

    @pytest.mark.parametrize("op", [
        lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a < b, lambda a, b: a <= b,
        lambda a, b: a > b, lambda a, b: a >= b,
    ])
    def test_mixing_currencies_is_refused(self, op):
        with pytest.raises(CurrencyMismatch) as e:
            op(Money(100, "JPY"), Money(100, "PHP"))
        assert "JPY" in e.value.message and "PHP" in e.value.message
        assert "rate" in e.value.message

    def test_comparisons_within_one_currency(self):
        small, big = Money(1, "USD"), Money(2, "USD")
        assert small < big and small <= big and big > small and big >= small
        assert not big < small

    def test_combining_with_a_plain_number_is_a_type_error(self):
        with pytest.raises(TypeError):
            Money(1, "JPY") + 1  # type: ignore[operator]

    def test_equal_minor_units_in_different_currencies_are_not_equal(self):
        assert Money(100, "JPY") != Money(100, "PHP")

    def test_total_sums_one_currency_and_starts_from_zero(self):
        assert total([], "JPY") == Money(0, "JPY")
        assert total([Money(1, "PHP"), Money(2, "PHP")], "PHP") == Money(3, "PHP")

    def test_total_refuses_an_amount_in_another_currency(self):
        with pytest.raises(CurrencyMismatch):
            total([Money(1, "PHP"), Money(2, "USD")], "PHP")

    def test_is_zero(self):
        assert Money.zero("USD").is_zero()
        assert not Money(1, "USD").is_zero()


class TestTimes:
    @pytest.mark.parametrize(("minor", "qty", "expected"), [
        (1, "0.5", 0),  # 0.5 -> 0 (half to even)
        (3, "0.5", 2),  # 1.5 -> 2
        (5, "0.5", 2),  # 2.5 -> 2
        (7, "0.5", 4),  # 3.5 -> 4
        (26, "0.1", 3),  # 2.6 -> 3
    ])
    def test_rounds_half_to_even_once(self, minor, qty, expected):
        assert Money(minor, "JPY").times(qty) == Money(expected, "JPY")

    def test_price_times_quantity(self):
        assert Money.of("1250.50", "PHP").times(3) == Money.of("3751.50", "PHP")
        assert Money.of("123.45", "PHP").times("1000000.001") == Money(12_345_000_012, "PHP")


class TestConvert:
    def test_press_figures_at_their_implied_rates(self):
        # ¥900M ≈ ₱337M and ¥1.63B ≈ ₱617M at the rates the press figures imply
        assert Money.of(900_000_000, "JPY").convert("0.3744", "PHP") == Money.of(
            "336960000.00", "PHP")
        assert Money.of(1_630_000_000, "JPY").convert("0.3789", "PHP") == Money.of(
            "617607000.00", "PHP")

    @pytest.mark.parametrize(("rate", "minor"), [
        ("0.37445", 3744),  # 3744.5 centavos -> 3744: 4 is even, the half goes down
        ("0.37455", 3746),  # 3745.5 centavos -> 3746: 5 is odd, the half goes up
    ])
    def test_rounds_half_to_even_into_the_target_minor_unit(self, rate, minor):
        assert Money.of(100, "JPY").convert(rate, "PHP") == Money(minor, "PHP")

    def test_into_a_currency_without_minor_unit(self):
        assert Money.of("1.00", "PHP").convert("2.5", "JPY") == Money(2, "JPY")
        assert Money.of("1.00", "PHP").convert("3.5", "JPY") == Money(4, "JPY")

    def test_unknown_target_currency_is_refused(self):
        with pytest.raises(UnknownCurrency):
            Money(1, "JPY").convert("1", "XYZ")


class TestAllocate:
    def test_remainder_goes_to_one_part_so_nothing_is_lost(self):
        parts = Money(100, "JPY").allocate([1, 1, 1])
        assert sorted(p.minor for p in parts) == [33, 33, 34]
        assert all(p.currency == "JPY" for p in parts)

    def test_proportional_parts_follow_the_weights_and_their_order(self):
        parts = Money.of("100.00", "PHP").allocate([Decimal("0.5"), Decimal("0.25"), 1])
        assert parts == [Money.of(a, "PHP") for a in ("28.57", "14.29", "57.14")]

    def test_a_zero_weight_gets_nothing(self):
        assert Money(10, "USD").allocate([0, 3, 0]) == [
            Money(0, "USD"), Money(10, "USD"), Money(0, "USD")]

    def test_negative_amounts_split_too(self):
        parts = Money(-100, "JPY").allocate([1, 1, 1])
        assert sum(p.minor for p in parts) == -100
        assert sorted(p.minor for p in parts) == [-34, -33, -33]

    @pytest.mark.parametrize(("weights", "words"), [
        ([], "at least one weight"),
        ([1, -1], "no negative weight"),
        ([0, 0], "sum to zero"),
    ])
    def test_bad_weights_are_refused(self, weights, words):
        with pytest.raises(InvalidAmount, match=words):
            Money(100, "JPY").allocate(weights)


class TestParseRate:
    def test_a_positive_decimal(self):
        assert parse_rate("0.3744") == Decimal("0.3744")

    @pytest.mark.parametrize(("text", "words"), [
        ("abc", "not a number"), ("0", "positive"), ("-0.37", "positive"),
        ("NaN", "positive"), ("Infinity", "positive"),
    ])
    def test_refuses_what_is_not_a_positive_number(self, text, words):
        with pytest.raises(InvalidAmount, match=words):
            parse_rate(text)
