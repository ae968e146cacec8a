"""What the books say: balances between the parties, the ageing of open claims, totals by
activity, category and fiscal year, and ceiling use. Computed from the ledger lines (and the
claims they belong to) as of a date; nothing here is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from acsa import money
from acsa.agreements.domain import Agreement, Ceiling
from acsa.ledger import domain as books
from acsa.ledger.models import LedgerLine
from acsa.orders.domain import add_months
from acsa.orders.models import Order
from acsa.rates import service as rates

RECEIVABLES = [books.receivable(m) for m in ("cash", "rik", "eve")]
PAYABLES = [books.payable(m) for m in ("cash", "rik", "eve")]
METHOD_OF = {acc: m for m in ("cash", "rik", "eve")
             for acc in (books.receivable(m), books.payable(m))}


def amount_text(commodity: str, amount: int) -> str:
    """An amount of a commodity as people read it: '1,234.50 PHP' or '200 RIK:...[L]'."""
    if books.is_currency(commodity):
        return str(money.Money(amount, commodity))
    return f"{books.from_kind_units(amount).normalize():f} {commodity}"


@dataclass
class BalanceRow:
    agreement: str
    creditor: str
    debtor: str
    method: str
    commodity: str
    creditor_book: int  # what the creditor's book says it is owed
    debtor_book: int  # what the debtor's book says it owes

    @property
    def agrees(self) -> bool:
        return self.creditor_book == self.debtor_book

    @property
    def text(self) -> str:
        return amount_text(self.commodity, self.creditor_book)


def balances(session: Session, *, as_of: dt.date, agreement: str | None = None
             ) -> list[BalanceRow]:
    """What each party owes the other, per agreement, method and commodity, from both books."""
    stmt = (select(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.counterparty,
                   LedgerLine.account, LedgerLine.commodity, func.sum(LedgerLine.amount))
            .where(LedgerLine.account.in_(RECEIVABLES + PAYABLES), LedgerLine.posted_on <= as_of)
            .group_by(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.counterparty,
                      LedgerLine.account, LedgerLine.commodity))
    if agreement:
        stmt = stmt.where(LedgerLine.agreement_code == agreement)
    rows: dict[tuple[str, str, str, str, str], BalanceRow] = {}
    for code, book, cp, account, commodity, amount in session.execute(stmt):
        amount = int(amount)
        method = METHOD_OF[account]
        if account.startswith("assets"):
            key = (code, book, cp, method, commodity)
            row = rows.setdefault(key, BalanceRow(code, book, cp, method, commodity, 0, 0))
            row.creditor_book += amount
        else:
            key = (code, cp, book, method, commodity)
            row = rows.setdefault(key, BalanceRow(code, cp, book, method, commodity, 0, 0))
            row.debtor_book += -amount
    return [r for _, r in sorted(rows.items()) if r.creditor_book or r.debtor_book]


@dataclass
class AgeingRow:
    claim: str
    order_id: int
    agreement: str
    creditor: str
    debtor: str
    method: str
    commodity: str
    outstanding: int  # in the commodity's units
    value_minor: int  # what is left, in `currency` (at the order price for in-kind)
    currency: str
    delivered_on: dt.date
    due_on: dt.date
    age_days: int
    bucket: str
    overdue: bool


def bucket_for(delivered_on: dt.date, as_of: dt.date) -> str:
    """The ageing bucket of a claim delivered on `delivered_on`, by calendar months for the
    12- and 18-month marks and by days below them."""
    if as_of > add_months(delivered_on, 18):
        return "over 18 months"
    if as_of > add_months(delivered_on, 12):
        return "over 12 months"
    return books.ageing_bucket(min((as_of - delivered_on).days, 365))


# ageing's one query, with the driver's own placeholders (see _driver_rows). The sums are grouped
# by account first, the order of the covering index ix_ledger_lines_claim_sums, so SQLite adds
# them up as it walks the index instead of sorting every receivable line into a temporary
# B-tree; a claim lives in one receivable account, and any (claim, commodity) that had sums in
# two accounts comes back as adjacent rows that ageing() adds together. Only the open claims'
# sums meet the claims table.
_AGEING_SQL = """
SELECT c.number, c.order_id, c.agreement_code, c.creditor_party, c.debtor_party,
       c.method, s.commodity, s.owed, c.amount_minor, c.quantity, c.currency,
       c.delivered_on, c.due_on
FROM (SELECT claim_id, commodity, SUM(amount) AS owed FROM ledger_lines
      WHERE account IN (:acc_cash, :acc_rik, :acc_eve) AND posted_on <= :as_of
        AND claim_id IS NOT NULL{agreement}
      GROUP BY account, claim_id, commodity HAVING SUM(amount) <> 0) AS s
JOIN claims AS c ON c.id = s.claim_id
ORDER BY c.delivered_on, c.id, s.commodity"""
_PLACEHOLDER = re.compile(r":(\w+)")


def _driver_rows(session: Session, sql: str, params: dict[str, object]) -> list[tuple]:
    """Rows of `sql` (named `:placeholders`, no literals) as the DB-API driver returns them,
    on the session's own connection and transaction: no SQLAlchemy row or type processing,
    which cost as much as the query itself on the ageing of 27,000 open claims."""
    session.flush()  # as session.execute would autoflush
    conn = session.connection()
    if conn.dialect.paramstyle in ("pyformat", "format"):  # psycopg: %(name)s
        sql = _PLACEHOLDER.sub(r"%(\1)s", sql)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _as_date(value: str | dt.date) -> dt.date:
    # SQLite gives the ISO text SQLAlchemy's Date stored, PostgreSQL a date
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def ageing(session: Session, *, as_of: dt.date, agreement: str | None = None
           ) -> list[AgeingRow]:
    """Every claim still open as of the date, aged from delivery: per claim and commodity, the
    sum of its receivable lines posted by then, where that is not zero; by delivery date, then
    claim."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    params: dict[str, object] = {"acc_cash": RECEIVABLES[0], "acc_rik": RECEIVABLES[1],
                                 "acc_eve": RECEIVABLES[2],
                                 "as_of": as_of.isoformat() if sqlite else as_of}
    if agreement:
        params["agreement"] = agreement
    sql = _AGEING_SQL.format(agreement=" AND agreement_code = :agreement" if agreement else "")
    out: list[AgeingRow] = []
    # many claims share a delivery or due date: each date is read, aged and bucketed once
    delivery: dict[object, tuple[dt.date, int, str]] = {}
    due_dates: dict[object, tuple[dt.date, bool]] = {}
    key: tuple[str, str] | None = None
    carried, appended = 0, False
    for (number, order_id, code, cred, debt, method, commodity, left, amount, quantity, cur,
         delivered, due) in _driver_rows(session, sql, params):
        if key == (number, commodity):  # sums of one claim in two accounts: one row
            left = carried + int(left)
            if appended:
                out.pop()
        else:
            key, left = (number, commodity), int(left)
        carried, appended = left, False
        if left == 0:
            continue
        d = delivery.get(delivered)
        if d is None:
            on = _as_date(delivered)
            d = delivery[delivered] = (on, (as_of - on).days, bucket_for(on, as_of))
        u = due_dates.get(due)
        if u is None:
            on = _as_date(due)
            u = due_dates[due] = (on, on < as_of)
        if method == "rik" and quantity is not None and (qty := Decimal(quantity)):
            value = money.Money(amount, cur).times(books.from_kind_units(left) / qty).minor
        else:
            value = left
        out.append(AgeingRow(number, order_id, code, cred, debt, method, commodity, left, value,
                             cur, d[0], u[0], d[1], d[2], u[1]))
        appended = True
    return out


def in_currency(session: Session, agreements: dict[str, Agreement], rows: list[AgeingRow],
                currency: str, as_of: dt.date) -> tuple[dict[tuple[str, str], int], list[str]]:
    """Sum open claims per (creditor, debtor) in one reporting currency; returns the sums and
    the rates used (each conversion names its rate)."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    used: dict[str, str] = {}
    for r in rows:
        conv = rates.conversion(session, agreements[r.agreement], r.currency, currency, as_of)
        sums[(r.creditor, r.debtor)] += conv.apply(money.Money(r.value_minor, r.currency),
                                                   currency).minor
        if conv.note:
            used[f"{r.agreement}:{r.currency}"] = f"{r.agreement}: {conv.note}"
    return dict(sums), sorted(used.values())


@dataclass
class TotalRow:
    agreement: str
    supplier: str
    recipient: str
    fiscal_year: int
    activity_id: int | None
    category: str | None
    kind: str | None
    commodity: str
    amount: int


def totals(session: Session, *, agreement: str | None = None,
           as_of: dt.date | None = None) -> list[TotalRow]:
    """Support provided (net billed value), by supplier, fiscal year, activity and category."""
    stmt = (select(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.counterparty,
                   LedgerLine.fiscal_year, LedgerLine.activity_id, LedgerLine.category,
                   LedgerLine.kind, LedgerLine.commodity, func.sum(LedgerLine.amount))
            .where(LedgerLine.account == books.PROVIDED)
            .group_by(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.counterparty,
                      LedgerLine.fiscal_year, LedgerLine.activity_id, LedgerLine.category,
                      LedgerLine.kind, LedgerLine.commodity)
            .order_by(LedgerLine.agreement_code, LedgerLine.book, LedgerLine.fiscal_year,
                      LedgerLine.activity_id, LedgerLine.category))
    if agreement:
        stmt = stmt.where(LedgerLine.agreement_code == agreement)
    if as_of:
        stmt = stmt.where(LedgerLine.posted_on <= as_of)
    return [TotalRow(a, b, cp, fy, act, cat, kind, com, -int(s))
            for a, b, cp, fy, act, cat, kind, com, s in session.execute(stmt) if int(s) != 0]


def ceiling_split(session: Session, agreement: Agreement, order: Order, currency: str
                  ) -> tuple[int, int]:
    """The order's (supplies, services) value in `currency` at the agreement's rate policy."""
    zero = money.Money.zero(order.currency)
    parts = {"supply": zero, "service": zero}
    for ln in order.lines:
        parts[ln.kind] = parts[ln.kind] + money.Money(ln.unit_price_minor, ln.currency).times(
            ln.quantity)
    conv = rates.conversion(session, agreement, order.currency, currency, order.order_on)
    return (conv.apply(parts["supply"], currency).minor,
            conv.apply(parts["service"], currency).minor)


def ceiling_use(session: Session, agreement: Agreement, *, party: str, fiscal_year: int,
                extra: Order | None = None) -> list[tuple[Ceiling, dict[str, money.Money]]]:
    """Use of each ceiling on `party`'s acquisitions in a fiscal year: accepted orders, plus
    `extra` (an order being accepted, whose split is then fixed on it)."""
    out = []
    for ceiling in agreement.ceilings:
        if ceiling.party != party or ceiling.fiscal_year not in (None, fiscal_year):
            continue
        supplies, services = session.execute(
            select(func.coalesce(func.sum(Order.ceiling_supplies_minor), 0),
                   func.coalesce(func.sum(Order.ceiling_services_minor), 0))
            .where(Order.agreement_code == agreement.code, Order.requesting_party == party,
                   Order.fiscal_year == fiscal_year, Order.ceiling_currency == ceiling.currency,
                   Order.accepted_at.is_not(None), Order.state != "cancelled")).one()
        supplies, services = int(supplies), int(services)
        if extra is not None:
            s, v = ceiling_split(session, agreement, extra, ceiling.currency)
            extra.ceiling_currency = ceiling.currency
            extra.ceiling_supplies_minor, extra.ceiling_services_minor = s, v
            supplies, services = supplies + s, services + v
        c = ceiling.currency
        out.append((ceiling, {"supplies": money.Money(supplies, c),
                              "services": money.Money(services, c),
                              "total": money.Money(supplies + services, c)}))
    return out


@dataclass
class CeilingLine:
    """One ceiling (supplies, services or total) of one party in one fiscal year."""

    agreement: str
    party: str
    fiscal_year: int
    part: str
    limit: money.Money
    used: money.Money

    @property
    def headroom(self) -> money.Money:
        return self.limit - self.used

    @property
    def percent(self) -> str:
        return f"{Decimal(self.used.minor * 100) / Decimal(self.limit.minor):.1f}%"


def ceiling_lines(session: Session, agreements: list[Agreement], *, as_of: dt.date,
                  fiscal_year: int | None = None) -> list[CeilingLine]:
    """Use and headroom of every ceiling of the agreements, in the fiscal year `as_of` falls
    in (each party's own) or the given one."""
    out = []
    for a in agreements:
        for party in a.parties:
            fy = fiscal_year or a.fiscal_year(party, as_of)
            for ceiling, use in ceiling_use(session, a, party=party, fiscal_year=fy):
                for part in ("supplies", "services", "total"):
                    cap = getattr(ceiling, part)
                    if cap is not None:
                        out.append(CeilingLine(a.code, party, fy, part,
                                               money.Money.of(cap, ceiling.currency), use[part]))
    return out
