"""Money invariants that must hold for every amount, not only the examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acsa.errors import InvalidAmount
from acsa.money import EXPONENTS, Money, total

currencies = st.sampled_from(sorted(EXPONENTS))
minors = st.integers(min_value=-10**15, max_value=10**15)
# a defence budget is ¥9 trillion; go well past it
yen_amounts = st.integers(min_value=0, max_value=10**13)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0)


@given(minor=minors, currency=currencies, ws=weights)
def test_allocation_parts_always_sum_to_the_whole(minor, currency, ws):
    parts = Money(minor, currency).allocate(ws)
    assert len(parts) == len(ws)
    assert sum(p.minor for p in parts) == minor
    assert {p.currency for p in parts} == {currency}


@given(minor=minors, ws=weights)
def test_no_part_is_more_than_one_minor_unit_from_its_exact_share(minor, ws):
    parts = Money(minor, "PHP").allocate(ws)
    whole = sum(ws)
    for part, w in zip(parts, ws, strict=True):
        exact = Decimal(minor) * w / whole
        assert abs(part.minor - exact) < 1
        if w == 0:
            assert part.minor == 0


@given(minor=minors, ws=st.lists(
    st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False), min_size=1, max_size=8))
def test_decimal_weights_never_create_or_lose_a_minor_unit(minor, ws):
    if sum(ws) == 0:
        with pytest.raises(InvalidAmount):
            Money(minor, "USD").allocate(ws)
        return
    assert sum(p.minor for p in Money(minor, "USD").allocate(ws)) == minor


@given(amounts=st.lists(yen_amounts, min_size=1, max_size=50))
def test_sums_of_yen_past_a_trillion_stay_exact(amounts):
    result = total([Money(a, "JPY") for a in amounts], "JPY")
    assert result.minor == sum(amounts)
    assert result.amount == Decimal(sum(amounts))
    assert Money.of(str(result.amount), "JPY") == result


@given(a=yen_amounts, b=yen_amounts)
def test_yen_written_in_major_units_round_trip_exactly(a, b):
    assert Money.of(a, "JPY") + Money.of(str(b), "JPY") == Money(a + b, "JPY")


@given(minor=minors, currency=currencies)
def test_str_parses_back_to_the_same_amount(minor, currency):
    m = Money(minor, currency)
    assert Money.parse(str(m)) == m


rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=6)


@given(minor=minors, frm=currencies, to=currencies, rate=rates)
def test_conversion_is_exact_to_half_a_minor_unit_and_never_a_float(minor, frm, to, rate):
    result = Money(minor, frm).convert(rate, to)
    assert type(result.minor) is int
    assert isinstance(result.amount, Decimal)
    assert result.currency == to
    exact = Decimal(minor).scaleb(EXPONENTS[to] - EXPONENTS[frm]) * rate
    assert abs(result.minor - exact) <= Decimal("0.5")


# (from, to, rate range): pairs where the target's minor unit is worth no more than the
# source's, so a round trip can be off by at most one minor unit of the source
FINER_TARGETS = [
    ("JPY", "PHP", Decimal("0.30"), Decimal("0.45")),
    ("USD", "PHP", Decimal("50"), Decimal("60")),
    ("USD", "JPY", Decimal("100"), Decimal("160")),
    ("JPY", "KRW", Decimal("8.5"), Decimal("10")),
]


@given(pair=st.sampled_from(FINER_TARGETS), minor=minors, data=st.data())
def test_a_round_trip_at_a_rate_and_its_inverse_is_within_one_minor_unit(pair, minor, data):
    frm, to, low, high = pair
    rate = data.draw(st.decimals(min_value=low, max_value=high, places=4))
    there = Money(minor, frm).convert(rate, to)
    back = there.convert(Decimal(1) / rate, frm)
    assert abs(back.minor - minor) <= 1
