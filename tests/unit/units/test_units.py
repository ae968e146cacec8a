"""Quantities with units: pint conversions, dimensions, and what a quantity may be."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acsa.errors import IncompatibleUnits, InvalidQuantity
from acsa.units import check_unit, convert, parse_quantity


class TestConvert:
    @pytest.mark.parametrize(("qty", "unit", "to", "expected"), [
        ("1", "gal", "L", "3.785"),  # US gallon = 3.785411784 L
        ("3.785411784", "L", "gal", "1.000"),
        ("50000", "L", "gal", "13208.603"),
        ("1500", "kg", "t", "1.500"),
        ("12", "each", "each", "12.000"),
        ("2", "day", "h", "48.000"),
    ])
    def test_converts_through_pint_to_a_thousandth(self, qty, unit, to, expected):
        result = convert(Decimal(qty), unit, to)
        assert result == Decimal(expected)
        assert isinstance(result, Decimal)
        assert result.as_tuple().exponent == -3

    @pytest.mark.parametrize(("unit", "to"), [
        ("each", "L"), ("L", "each"), ("L", "kg"), ("person_day", "h"), ("sortie", "each"),
        ("each", "person_day"),
    ])
    def test_each_kind_of_quantity_is_its_own_dimension(self, unit, to):
        with pytest.raises(IncompatibleUnits) as e:
            convert(Decimal(12), unit, to)
        assert f"cannot convert {unit} to {to}" in e.value.message
        assert e.value.field == "unit"

    def test_an_unknown_unit_is_refused_not_converted(self):
        with pytest.raises(InvalidQuantity) as e:
            convert(Decimal(1), "barrelz", "L")
        assert "unknown unit 'barrelz'" in e.value.message
        assert e.value.field == "unit"

    @settings(deadline=None)
    @given(qty=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1e9"), places=3))
    def test_litres_to_gallons_and_back_stays_within_rounding(self, qty):
        back = convert(convert(qty, "L", "gal"), "gal", "L")
        # half a thousandth of a gallon (1.9 mL) plus half a thousandth of a litre
        assert abs(back - qty) <= Decimal("0.0024")


class TestCheckUnit:
    @pytest.mark.parametrize("unit", ["L", "gal", "kg", "t", "each", "ea", "h", "day", "pd",
                                      "sortie"])
    def test_known_units_pass(self, unit):
        assert check_unit(unit) == unit

    @pytest.mark.parametrize("unit", ["bogus", "2 L", "L*3"])
    def test_unknown_units_are_refused(self, unit):
        with pytest.raises(InvalidQuantity, match="unknown unit"):
            check_unit(unit)

    @pytest.mark.parametrize("unit", ["", "   "])
    def test_a_blank_unit_is_refused(self, unit):
        with pytest.raises(InvalidQuantity):
            check_unit(unit)


class TestParseQuantity:
    @pytest.mark.parametrize(("text", "expected"), [
        ("50000", "50000"), (" 12.5 ", "12.5"), ("0.001", "0.001"), ("1.2300", "1.23"),
        ("1e15", "1000000000000000"), (Decimal("7"), "7"),
    ])
    def test_positive_numbers_to_a_thousandth(self, text, expected):
        assert parse_quantity(text) == Decimal(expected)

    @pytest.mark.parametrize(("text", "words"), [
        ("-1", "must be a positive number"),
        ("0", "must be a positive number"),
        ("0.000", "must be a positive number"),
        ("NaN", "must be a positive number"),
        ("Infinity", "must be a positive number"),
        ("abc", "is not a number"),
        ("", "is not a number"),
        ("1.0001", "more than 3 decimal places"),
        ("1000000000000001", "too large to be a real quantity"),
        ("1e16", "too large to be a real quantity"),
    ])
    def test_refused_with_the_reason(self, text, words):
        with pytest.raises(InvalidQuantity) as e:
            parse_quantity(text)
        assert words in e.value.message
        assert e.value.field == "quantity"

    def test_the_field_name_is_carried_into_the_error(self):
        with pytest.raises(InvalidQuantity) as e:
            parse_quantity("-5", field="line 2 quantity")
        assert e.value.field == "line 2 quantity"
        assert e.value.message.startswith("line 2 quantity:")

    def test_zero_only_when_allowed_and_never_negative(self):
        assert parse_quantity("0", allow_zero=True) == 0
        with pytest.raises(InvalidQuantity):
            parse_quantity("-0.5", allow_zero=True)
