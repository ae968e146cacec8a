"""Helpers for integration tests: units of work on the test world, a snapshot of everything a
command could change, the refusal check, and the book invariants every test can assert."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from acsa.agreements import service as agreements
from acsa.db.engine import unit_of_work
from acsa.errors import AcsaError
from acsa.ledger import reports
from acsa.money import Money
from acsa.orders import service as orders
from acsa.parties import service as parties
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim
from tests.factories import D, official, order_to

# every table a command may write to
TABLES = ("orders", "order_lines", "order_counters", "deliveries", "delivery_lines", "receipts",
          "receipt_lines", "documents", "claims", "settlements", "offsets", "offset_items",
          "ledger_entries", "ledger_lines", "audit_events", "officials", "rates", "activities")


def counts(s: Session) -> dict[str, int]:
    return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def state_of(s: Session) -> dict[str, Any]:
    """Row counts plus the mutable columns of orders, claims, offsets and number counters."""
    rows = {
        "orders": s.execute(text(
            "SELECT number, state, version, accepted_by_id, ceiling_supplies_minor, overdue "
            "FROM orders ORDER BY number")).all(),
        "claims": s.execute(text(
            "SELECT number, state, overdue FROM claims ORDER BY number")).all(),
        "offsets": s.execute(text("SELECT number, state FROM offsets ORDER BY number")).all(),
        "counters": s.execute(text(
            "SELECT agreement_code, party_code, fiscal_year, last FROM order_counters "
            "ORDER BY agreement_code, party_code, fiscal_year")).all(),
    }
    return {"counts": counts(s), **{k: [tuple(r) for r in v] for k, v in rows.items()}}


def snapshot(engine: Engine) -> dict[str, Any]:
    with unit_of_work(engine) as s:
        return state_of(s)


def assert_refused(engine: Engine, error: type[AcsaError],
                   command: Callable[[Session], object], match: str | None = None) -> AcsaError:
    """`command` is refused with `error` (exactly that class) and changes nothing: inside its own
    unit of work it added no row before refusing, and a fresh unit of work afterwards sees the
    database exactly as before."""
    before = snapshot(engine)
    with unit_of_work(engine) as s:
        rows_before = counts(s)
        with pytest.raises(error, match=match) as caught:
            command(s)
        assert type(caught.value) is error, f"expected {error.__name__}, got {caught.value!r}"
        assert counts(s) == rows_before, "the refused command wrote rows before refusing"
        s.rollback()
    assert snapshot(engine) == before
    return caught.value


def bug_on(request: pytest.FixtureRequest, engine: Engine, dialect: str, reason: str) -> None:
    """Mark the running test as a strict expected failure on one backend only."""
    if engine.dialect.name == dialect:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# --- building state, each step in its own committed unit of work ----------------------------
def make_order(engine: Engine, state: str, **kw: Any) -> str:
    with unit_of_work(engine) as s:
        return order_to(s, state, **kw).number


def claim_numbers(engine: Engine, number: str) -> list[str]:
    with unit_of_work(engine) as s:
        return [c.number for c in settlement.claims_of(s, orders.get_order(s, number))]


def claim(s: Session, number: str) -> Claim:
    return settlement.get_claim(s, number)


def pay_in_full(s: Session, claim_number: str, on: dt.date = D(2026, 6, 1)) -> None:
    c = claim(s, claim_number)
    left = settlement.outstanding(c).minor
    settlement.pay(s, claim_ref=claim_number, by=official(c.debtor_party, "finance"), on=on,
                   amount=Money(left, c.currency))


def add_official(s: Session, code: str, party: str, role: str, *, person: str | None = None,
                 limit: Money | None = None, valid_from: dt.date = D(2026, 1, 1),
                 valid_to: dt.date | None = D(2030, 12, 31)) -> str:
    parties.add_official(s, code=code, name=code, party=party, role=role, person=person,
                         limit=limit, valid_from=valid_from, valid_to=valid_to)
    return code


def amend(s: Session, home: Path, name: str, toml: str) -> None:
    """Load an amendment file into the test world."""
    (home / "agreements" / name).write_text(toml)
    agreements.load(s, home / "agreements")


# --- the books' invariants ------------------------------------------------------------------
def unbalanced_entries(s: Session) -> list[tuple[Any, ...]]:
    """(entry, book, commodity, sum) of every entry whose postings do not sum to zero."""
    return [tuple(r) for r in s.execute(text(
        "SELECT entry_id, book, commodity, sum(amount) FROM ledger_lines "
        "GROUP BY entry_id, book, commodity HAVING sum(amount) <> 0"))]


def receivable_lines(s: Session, as_of: dt.date) -> dict[tuple[str, ...], tuple[int, int]]:
    """Straight from the lines: (agreement, creditor, debtor, method, commodity) ->
    (creditor's receivable, debtor's payable)."""
    out: dict[tuple[str, ...], list[int]] = {}
    for code, book, cp, account, commodity, amount in s.execute(text(
            "SELECT agreement_code, book, counterparty, account, commodity, sum(amount) "
            "FROM ledger_lines WHERE (account LIKE 'assets:receivable:%' "
            "OR account LIKE 'liabilities:payable:%') AND posted_on <= :d "
            "GROUP BY agreement_code, book, counterparty, account, commodity"), {"d": as_of}):
        method = {"cash": "cash", "kind": "rik", "service": "eve"}[account.rsplit(":", 1)[1]]
        if account.startswith("assets"):
            out.setdefault((code, book, cp, method, commodity), [0, 0])[0] += int(amount)
        else:
            out.setdefault((code, cp, book, method, commodity), [0, 0])[1] -= int(amount)
    return {k: (a, b) for k, (a, b) in out.items() if a or b}


def open_claims_owed(s: Session) -> dict[tuple[str, ...], int]:
    """What the open claims say is owed, in the books' units (kind units for RIK)."""
    out: dict[tuple[str, ...], int] = {}
    for c in s.query(Claim).where(Claim.state == "open"):
        left = settlement.outstanding(c)
        amount = int(left.quantity * 1000) if c.method == "rik" else left.minor
        key = (c.agreement_code, c.creditor_party, c.debtor_party, c.method, c.commodity)
        out[key] = out.get(key, 0) + amount
    return {k: v for k, v in out.items() if v}


def assert_books_ok(s: Session, as_of: dt.date = D(2035, 1, 1)) -> None:
    """Every entry balances per book and commodity; both books agree on every balance; the
    balances report is the sum of its lines; and it equals what the open claims say."""
    assert unbalanced_entries(s) == []
    rows = reports.balances(s, as_of=as_of)
    for r in rows:
        assert r.creditor_book == r.debtor_book, r
    from_report = {(r.agreement, r.creditor, r.debtor, r.method, r.commodity):
                   (r.creditor_book, r.debtor_book) for r in rows}
    assert from_report == receivable_lines(s, as_of)
    assert {k: a for k, (a, _) in from_report.items()} == open_claims_owed(s)


@contextmanager
def books_checked(engine: Engine):  # type: ignore[no-untyped-def]
    """Check the books in a fresh unit of work after the block."""
    yield
    with unit_of_work(engine) as s:
        assert_books_ok(s)
