"""Fiscal years: Japan's starts 1 April (named by its start), the US's 1 October (named by its
end), the Philippines' is the calendar year."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acsa.agreements.domain import FiscalYear

D = dt.date
JP = FiscalYear(start="04-01", named_by="start")
US = FiscalYear(start="10-01", named_by="end")
PH = FiscalYear(start="01-01", named_by="start")


@pytest.mark.parametrize(("fy", "on", "year"), [
    (JP, D(2026, 3, 31), 2025),
    (JP, D(2026, 4, 1), 2026),
    (JP, D(2027, 3, 31), 2026),
    (US, D(2025, 9, 30), 2025),
    (US, D(2025, 10, 1), 2026),
    (US, D(2026, 9, 30), 2026),
    (PH, D(2025, 12, 31), 2025),
    (PH, D(2026, 1, 1), 2026),
])
def test_year_of(fy, on, year):
    assert fy.year_of(on) == year


@pytest.mark.parametrize(("fy", "year", "first", "last"), [
    (JP, 2026, D(2026, 4, 1), D(2027, 3, 31)),
    (US, 2026, D(2025, 10, 1), D(2026, 9, 30)),
    (PH, 2026, D(2026, 1, 1), D(2026, 12, 31)),
])
def test_bounds(fy, year, first, last):
    assert fy.bounds(year) == (first, last)


def test_a_calendar_year_is_named_the_same_whichever_end_names_it():
    by_end = FiscalYear(start="01-01", named_by="end")
    assert by_end.year_of(D(2026, 6, 1)) == 2026
    assert by_end.bounds(2026) == (D(2026, 1, 1), D(2026, 12, 31))


days = st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31))
starts = st.sampled_from(["01-01", "04-01", "07-01", "10-01", "02-28", "12-31"])


@given(on=days, start=starts, named_by=st.sampled_from(["start", "end"]))
def test_every_day_lies_inside_the_bounds_of_its_own_fiscal_year(on, start, named_by):
    fy = FiscalYear(start=start, named_by=named_by)
    first, last = fy.bounds(fy.year_of(on))
    assert first <= on <= last


@given(year=st.integers(min_value=1990, max_value=2090), start=starts,
       named_by=st.sampled_from(["start", "end"]))
def test_consecutive_fiscal_years_meet_without_a_gap(year, start, named_by):
    fy = FiscalYear(start=start, named_by=named_by)
    _, last = fy.bounds(year)
    first_next, _ = fy.bounds(year + 1)
    assert first_next == last + dt.timedelta(days=1)
    assert fy.year_of(last) == year and fy.year_of(first_next) == year + 1


@pytest.mark.parametrize("start", ["4-1", "13-01", "00-10", "04-32", "04/01"])
def test_a_start_that_is_not_mm_dd_is_refused(start):
    with pytest.raises(ValueError, match="pattern"):
        FiscalYear(start=start, named_by="start")


def test_a_start_day_that_no_month_has_is_refused():
    with pytest.raises(ValueError):
        FiscalYear(start="02-30", named_by="start")
