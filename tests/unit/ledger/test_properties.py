"""Ledger invariants over any commodities and amounts: every entry balances per book and
commodity, and a reversal undoes it exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from acsa.ledger import domain as books
from acsa.ledger.domain import check_balanced, kind_units, reversal, transfer, unbalanced

commodities = st.sampled_from(["JPY", "PHP", "USD", "JP-8", "MRE", "9130-01-031-5816"])
amounts = st.integers(min_value=-10**15, max_value=10**15)
legs = st.tuples(commodities, amounts)
accounts = st.sampled_from([
    books.CASH, books.PROVIDED, books.RECEIVED, books.UNRECEIPTED, books.OFFSET,
    books.receivable("cash"), books.receivable("rik"), books.payable("eve"),
])
books_ = st.sampled_from(["PH", "JP", "US"])


@st.composite
def leg_pairs(draw):
    """(debit leg, credit leg or None): one commodity in one amount, or two commodities (the
    same commodity in two amounts is refused; see test_domain.py)."""
    debit = draw(legs)
    other = legs.filter(lambda leg: leg[0] != debit[0])
    return debit, draw(st.one_of(st.none(), st.just(debit), other))


@st.composite
def entries(draw):
    """A two-sided entry as the services build it: the creditor's transfer and the debtor's
    mirror, each leg money or an item, in the same or different commodities."""
    c, d = draw(st.lists(books_, min_size=2, max_size=2, unique=True))
    debit_leg, credit_leg = draw(leg_pairs())
    a1, a2, a3, a4 = (draw(accounts) for _ in range(4))
    return (transfer(c, d, a1, a2, debit_leg, credit_leg)
            + transfer(d, c, a3, a4, credit_leg or debit_leg, debit_leg))


@given(book=books_, debit=accounts, credit=accounts, pair=leg_pairs())
def test_a_transfer_balances_per_book_and_commodity(book, debit, credit, pair):
    debit_leg, credit_leg = pair
    postings = transfer(book, "XX", debit, credit, debit_leg, credit_leg)
    assert unbalanced(postings) == {}
    check_balanced(postings)
    assert {p.book for p in postings} == {book}


@given(pair=leg_pairs())
def test_the_named_accounts_carry_exactly_the_legs(pair):
    debit_leg, credit_leg = pair[0], pair[1] or pair[0]
    postings = transfer("JP", "PH", "dr", "cr", debit_leg, credit_leg)
    assert [(p.commodity, p.amount) for p in postings if p.account == "dr"] == [debit_leg]
    assert [(p.commodity, -p.amount) for p in postings if p.account == "cr"] == [credit_leg]


@given(money=st.tuples(st.sampled_from(["JPY", "PHP", "USD"]), amounts),
       item=st.tuples(st.sampled_from(["JP-8", "MRE"]), amounts))
def test_money_against_an_item_nets_each_commodity_in_conversion(money, item):
    postings = transfer("JP", "PH", "dr", "cr", item, money)
    conversion = [(p.commodity, p.amount) for p in postings if p.account == books.CONVERSION]
    assert sorted(conversion) == sorted([(item[0], -item[1]), (money[0], money[1])])


@given(entry=entries())
def test_two_sided_entries_balance_and_their_reversal_cancels_them(entry):
    check_balanced(entry)
    back = reversal(entry)
    check_balanced(back)
    net: dict[tuple[str, str, str], int] = {}
    for p in entry + back:
        key = (p.book, p.account, p.commodity)
        net[key] = net.get(key, 0) + p.amount
    assert set(net.values()) == {0}


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=3))
def test_in_kind_quantities_round_trip_through_thousandths(qty):
    assert books.from_kind_units(kind_units(qty)) == qty
