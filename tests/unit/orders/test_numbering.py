"""Order numbers, and adding calendar months (the settlement deadline is months from delivery)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acsa.orders.domain import add_months, order_number

D = dt.date


def test_order_number_format():
    assert order_number("PHJP", "JP", 2026, 7) == "PHJP-JP-2026-0007"
    assert order_number("JPUS", "US", 2026, 1234) == "JPUS-US-2026-1234"


def test_order_number_past_four_digits_keeps_every_digit():
    assert order_number("PHJP", "PH", 2026, 12345) == "PHJP-PH-2026-12345"


@pytest.mark.parametrize(("on", "months", "expected"), [
    (D(2026, 1, 15), 1, D(2026, 2, 15)),
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2028, 1, 31), 1, D(2028, 2, 29)),
    (D(2026, 8, 31), 1, D(2026, 9, 30)),
    (D(2026, 3, 31), 12, D(2027, 3, 31)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)),
    (D(2025, 1, 31), 18, D(2026, 7, 31)),
    (D(2026, 1, 31), -2, D(2025, 11, 30)),
    (D(2026, 5, 10), 0, D(2026, 5, 10)),
])
def test_add_months_clamps_to_the_month_end(on, months, expected):
    assert add_months(on, months) == expected


@given(on=st.dates(min_value=D(1950, 1, 1), max_value=D(2100, 12, 31)),
       months=st.integers(min_value=-240, max_value=240))
def test_add_months_lands_in_the_right_month_on_the_same_day_or_its_last_day(on, months):
    result = add_months(on, months)
    assert (result.year * 12 + result.month) - (on.year * 12 + on.month) == months
    if result.day != on.day:
        assert result.day < on.day
        assert (result + dt.timedelta(days=1)).day == 1  # clamped to the month's last day
