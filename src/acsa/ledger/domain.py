"""Double-entry postings, pure.

Each party keeps its own book. An entry is a list of postings across one or two books; within
each book the postings of every commodity sum to zero, or the entry is refused before anything
is written. Commodities are ISO currency codes (amounts in minor units) or in-kind items
(amounts in thousandths of the item's unit). Where one side of a movement is money and the other
an item, the entry passes both through `equity:conversion`, as trading accounts do in beancount.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from acsa.errors import IntegrityError
from acsa.money import EXPONENTS

KIND_SCALE = 3  # in-kind quantities are kept to a thousandth of their unit

RECEIVABLE = "assets:receivable"
PAYABLE = "liabilities:payable"
UNRECEIPTED = "assets:delivered-unreceipted"
PROVIDED = "income:support-provided"
RECEIVED = "expenses:support-received"
CASH = "assets:cash"
SETTLED_IN_KIND_IN = "assets:settled-in-kind"
SETTLED_IN_KIND_OUT = "income:settled-in-kind"
CONVERSION = "equity:conversion"
OFFSET = "equity:offset"  # clearing account: nets to zero once both sides of an offset post

METHOD_SUFFIX = {"cash": "cash", "rik": "kind", "eve": "service"}


def receivable(method: str) -> str:
    return f"{RECEIVABLE}:{METHOD_SUFFIX[method]}"


def payable(method: str) -> str:
    return f"{PAYABLE}:{METHOD_SUFFIX[method]}"


def is_currency(commodity: str) -> bool:
    return commodity in EXPONENTS


def kind_units(quantity: Decimal) -> int:
    scaled = Decimal(quantity).scaleb(KIND_SCALE)
    if scaled != scaled.to_integral_value():
        raise IntegrityError(f"in-kind quantity {quantity} is finer than 1/1000 of its unit")
    return int(scaled)


def from_kind_units(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-KIND_SCALE)


@dataclass(frozen=True, slots=True)
class Posting:
    book: str
    account: str
    counterparty: str
    commodity: str
    amount: int  # debit positive, credit negative
    claim_id: int | None = None  # the claim this posting belongs to, if not the entry's
    category: str | None = None  # the order line's category, if not the entry's
    kind: str | None = None  # supply or service, likewise


def transfer(book: str, counterparty: str, debit: str, credit: str,
             debit_leg: tuple[str, int], credit_leg: tuple[str, int] | None = None
             ) -> list[Posting]:
    """Debit `debit` and credit `credit` in one book. When the two legs are in different
    commodities (money against an item, or two currencies), both pass through
    `equity:conversion` so each commodity still sums to zero."""
    credit_leg = credit_leg or debit_leg
    (dc, da), (cc, ca) = debit_leg, credit_leg
    if dc == cc and da != ca:
        raise IntegrityError(f"legs of one transfer differ in the same commodity {dc}: "
                             f"{da} against {ca}")
    if dc == cc:
        return [Posting(book, debit, counterparty, dc, da),
                Posting(book, credit, counterparty, cc, -ca)]
    return [Posting(book, debit, counterparty, dc, da),
            Posting(book, CONVERSION, counterparty, dc, -da),
            Posting(book, CONVERSION, counterparty, cc, ca),
            Posting(book, credit, counterparty, cc, -ca)]


def unbalanced(postings: list[Posting]) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for p in postings:
        sums[(p.book, p.commodity)] += p.amount
    return {k: v for k, v in sums.items() if v != 0}


def check_balanced(postings: list[Posting]) -> None:
    if not postings:
        raise IntegrityError("a ledger entry needs at least one posting")
    off = unbalanced(postings)
    if off:
        detail = ", ".join(f"{book} {com}: {amt:+d}" for (book, com), amt in off.items())
        raise IntegrityError(f"ledger entry does not balance ({detail})")


def reversal(postings: list[Posting]) -> list[Posting]:
    return [replace(p, amount=-p.amount) for p in postings]


AGEING_BUCKETS: list[tuple[str, int, int | None]] = [
    ("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181-365", 181, 365),
    ("over 12 months", 366, 548), ("over 18 months", 549, None),
]


def ageing_bucket(age_days: int) -> str:
    for name, low, high in AGEING_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return name
    return AGEING_BUCKETS[0][0]  # dated in the future: not yet ageing
