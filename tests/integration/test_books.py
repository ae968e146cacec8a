"""The two books: every entry balances per book and commodity, both books agree, the reports
are the sums of their lines, ageing lists exactly the open claims, totals by activity and
category."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from acsa.activities import service as activities
from acsa.db.engine import unit_of_work
from acsa.ledger import reports
from acsa.money import Money
from acsa.orders import service as orders
from acsa.orders.domain import ReceiptLineInput
from acsa.settlement import service as settlement
from tests.factories import D, airlift_line, fuel_line
from tests.integration.helpers import (
    assert_books_ok,
    claim_numbers,
    make_order,
    pay_in_full,
    unbalanced_entries,
)


def test_books_balance_after_every_kind_of_step(world):
    """Partial deliveries and receipts with discrepancies, every settlement kind, an offset, a
    conversion: after each unit of work every entry balances and both books agree."""
    steps = []
    mixed = make_order(world, "accepted", lines=[fuel_line("cash"), fuel_line("rik"),
                                                 airlift_line("eve"), airlift_line("cash")])

    def deliver(q1, q2, doc):
        return lambda s: orders.record_delivery(
            s, number=mixed, by="ph-supplying", on=D(2026, 5, 12), document_name="d.pdf",
            quantities={1: Decimal(q1), 2: Decimal(q2), 3: Decimal(2), 4: Decimal(2)},
            document=doc)

    steps.append(deliver("4000", "6000", b"first"))
    steps.append(lambda s: orders.record_receipt(s, number=mixed, by="jp-receiving",
                                                 on=D(2026, 5, 13), lines={
        1: ReceiptLineInput(Decimal(3900), reason="100 L short"),
        2: ReceiptLineInput(Decimal(6000), Decimal(10), reason="10 L contaminated")}))
    steps.append(deliver("6000", "4000", b"second"))
    steps.append(lambda s: orders.record_receipt(s, number=mixed, by="jp-receiving",
                                                 on=D(2026, 5, 20), lines={}))
    for step in steps:
        with unit_of_work(world) as s:
            step(s)
        with unit_of_work(world) as s:
            assert_books_ok(s)
    rik1, eve1, cash1, rik2, eve2, cash2 = claim_numbers(world, mixed)
    other = make_order(world, "received", requester="PH",
                       lines=[fuel_line(currency="JPY", price="300")])
    (other_claim,) = claim_numbers(world, other)
    settles = [
        lambda s: settlement.pay(s, claim_ref=cash1, by="jp-finance", on=D(2026, 6, 1),
                                 amount=Money.of(500000, "JPY")),
        lambda s: settlement.return_in_kind(s, claim_ref=rik1, by="jp-supplying",
                                            on=D(2026, 6, 1), quantity=Decimal(500), unit="gal",
                                            stock_number="9140-00-273-2377"),
        lambda s: settlement.exchange(s, claim_ref=eve1, by="jp-supplying", on=D(2026, 6, 1),
                                      value=Money.of(100000, "PHP"), category="transportation",
                                      description="1 h"),
        lambda s: settlement.propose_offset(s, agreement_code="PHJP", by="jp-finance",
                                            on=D(2026, 6, 2)),
        lambda s: settlement.approve_offset(s, number="PHJP-OFS-0001", by="ph-finance",
                                            on=D(2026, 6, 2)),
        lambda s: settlement.run_deadlines(s, as_of=D(2027, 6, 1)),
        lambda s: [pay_in_full(s, c.number, D(2027, 6, 2)) for c in settlement.claims_of(
            s, orders.get_order(s, mixed)) if c.state == "open"],
    ]
    for step in settles:
        with unit_of_work(world) as s:
            step(s)
        with unit_of_work(world) as s:
            assert_books_ok(s)
    with unit_of_work(world) as s:
        states = {c.number: c.state for c in settlement.claims_of(s, orders.get_order(s, mixed))}
        assert states == {rik1: "converted", eve1: "converted", cash1: "settled",
                          rik2: "converted", eve2: "converted", cash2: "settled",
                          f"{mixed}-C7": "settled", f"{mixed}-C8": "settled",
                          f"{mixed}-C9": "settled", f"{mixed}-C10": "settled"}
        assert orders.get_order(s, mixed).state == "settled"
        assert settlement.get_claim(s, other_claim).state == "settled"
        assert reports.balances(s, as_of=D(2035, 1, 1)) == []


def test_the_checks_catch_a_one_sided_line(world):
    """The invariants above can fail: a line written past the services breaks them."""
    make_order(world, "received")
    with unit_of_work(world) as s:
        s.execute(text(
            "INSERT INTO ledger_lines (entry_id, book, account, counterparty, commodity, amount, "
            "posted_on, fiscal_year, agreement_code) SELECT max(id), 'PH', "
            "'assets:receivable:cash', 'JP', 'PHP', 100, '2026-05-12', 2026, 'PHJP' "
            "FROM ledger_entries"))
    with unit_of_work(world) as s:
        assert len(unbalanced_entries(s)) == 1
        (row,) = reports.balances(s, as_of=D(2026, 12, 31))
        assert row.creditor_book == row.debtor_book + 100 and not row.agrees
        with pytest.raises(AssertionError):
            assert_books_ok(s)


def test_balances_as_of_a_date(world):
    number = make_order(world, "received")
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0], D(2026, 6, 1))
    with unit_of_work(world) as s:
        (row,) = reports.balances(s, as_of=D(2026, 5, 31))
        assert (row.creditor, row.debtor, row.method, row.commodity) == ("PH", "JP", "cash",
                                                                          "PHP")
        assert (row.creditor_book, row.debtor_book) == (95_500_000, 95_500_000)
        assert reports.balances(s, as_of=D(2026, 6, 1)) == []
        assert reports.balances(s, as_of=D(2026, 5, 11)) == []  # before the receipt


@pytest.fixture
def aged(world):
    """Claims delivered 2026-04-12 (cash), 07-03 (cash, paid 08-01), 09-22 (in kind) and
    11-03 (cash)."""
    made = {}
    for key, on, line in (("A", D(2026, 4, 10), fuel_line()), ("B", D(2026, 7, 1), fuel_line()),
                          ("C", D(2026, 9, 20), fuel_line("rik")),
                          ("D", D(2026, 11, 1), fuel_line())):
        made[key] = claim_numbers(world, make_order(world, "received", on=on, lines=[line]))[0]
    with unit_of_work(world) as s:
        pay_in_full(s, made["B"], D(2026, 8, 1))
    return made


@pytest.mark.parametrize("as_of, expected", [
    (D(2026, 7, 20), [("A", "91-180", True), ("B", "0-30", False)]),
    (D(2026, 11, 20), [("A", "181-365", True), ("C", "31-90", False), ("D", "0-30", False)]),
    (D(2027, 4, 12), [("A", "181-365", True), ("C", "181-365", False), ("D", "91-180", True)]),
    (D(2027, 4, 13), [("A", "over 12 months", True), ("C", "181-365", False),
                      ("D", "91-180", True)]),
    (D(2027, 10, 13), [("A", "over 18 months", True), ("C", "over 12 months", True),
                       ("D", "181-365", True)]),
])
def test_ageing_lists_exactly_the_open_claims(world, aged, as_of, expected):
    with unit_of_work(world) as s:
        rows = reports.ageing(s, as_of=as_of)
    named = {v: k for k, v in aged.items()}
    assert [(named[r.claim], r.bucket, r.overdue) for r in rows] == expected
    for r in rows:
        assert r.value_minor == 95_500_000 and (r.creditor, r.debtor) == ("PH", "JP")
        assert r.outstanding == (10_000_000 if r.method == "rik" else 95_500_000)


def test_totals_by_activity_and_category(world):
    make_order(world, "received")
    make_order(world, "received", lines=[airlift_line("cash")])
    make_order(world, "received", activity="HADR-CEBU", lines=[airlift_line("eve"),
                                                               fuel_line("rik")])
    make_order(world, "received", requester="PH", lines=[fuel_line(currency="JPY", price="300")])
    fuel2 = make_order(world, "delivered")
    with unit_of_work(world) as s:
        orders.record_receipt(s, number=fuel2, by="jp-receiving", on=D(2026, 5, 12), lines={
            1: ReceiptLineInput(Decimal(9000), reason="1000 L not pumped")})
        ids = {a.code: a.id for a in activities.list_activities(s)}
        got = {(r.supplier, r.recipient, r.fiscal_year, r.activity_id, r.category, r.kind,
                r.commodity): r.amount for r in reports.totals(s, agreement="PHJP")}
    kam, hadr = ids["KAMANDAG-10"], ids["HADR-CEBU"]
    assert got == {
        ("PH", "JP", 2026, kam, "fuel", "supply", "PHP"): 95_500_000 + 85_950_000,
        ("PH", "JP", 2026, kam, "transportation", "service", "PHP"): 100_000_000,
        ("PH", "JP", 2026, hadr, "transportation", "service", "PHP"): 100_000_000,
        ("PH", "JP", 2026, hadr, "fuel", "supply", "PHP"): 95_500_000,
        ("JP", "PH", 2026, kam, "fuel", "supply", "JPY"): 3_000_000,
    }


def test_totals_split_a_mixed_cash_bill_by_line(world):
    number = make_order(world, "delivered", lines=[fuel_line(), airlift_line("cash")])
    with unit_of_work(world) as s:
        orders.record_receipt(s, number=number, by="jp-receiving", on=D(2026, 5, 12), lines={
            2: ReceiptLineInput(Decimal(3), reason="one flight hour cancelled")})
        got = {(r.category, r.kind): r.amount for r in reports.totals(s, agreement="PHJP")}
    assert got == {("fuel", "supply"): 95_500_000, ("transportation", "service"): 75_000_000}
