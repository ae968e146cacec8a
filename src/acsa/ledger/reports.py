"""What the books say: balances between the parties, the ageing of open claims, totals by
activity, category and fiscal year, and ceiling use. Computed from the ledger lines (and the
claims they belong to) as of a date; nothing here is stored.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool, QueuePool

from acsa import gcpause, money
from acsa.agreements.domain import Agreement, Ceiling
from acsa.db.engine import written_since_begin
from acsa.ledger import domain as books
from acsa.ledger import sums
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
    session.flush()  # as session.execute would autoflush
    return _balances(session.connection(), as_of, agreement)


def _balances(conn: Connection, as_of: dt.date, agreement: str | None,
              upto: int | None = None) -> list[BalanceRow]:
    """`balances` on a connection, of the ledger lines with an id up to `upto` if given."""
    dialect = conn.dialect.name
    params: dict[str, object] = {"as_of": _date_param(dialect, as_of)}
    if agreement:
        params["agreement"] = agreement
    if upto is not None:
        params["upto"] = upto
    sql = _BALANCE_SQL.format(posted_on=_posted_on(dialect),
                              agreement=" AND agreement_code = :agreement" if agreement else "",
                              upto=" AND id <= :upto" if upto is not None else "")
    rows: dict[tuple[str, str, str, str, str], BalanceRow] = {}
    for account in RECEIVABLES + PAYABLES:  # one account at a time: see _BALANCE_SQL
        method = METHOD_OF[account]
        creditor = account.startswith("assets")
        for code, book, cp, commodity, amount in _connection_rows(
                conn, sql, {**params, "account": account}):
            amount = int(amount)
            if creditor:
                key = (code, book, cp, method, commodity)
                row = rows.setdefault(key, BalanceRow(code, book, cp, method, commodity, 0, 0))
                row.creditor_book += amount
            else:
                key = (code, cp, book, method, commodity)
                row = rows.setdefault(key, BalanceRow(code, cp, book, method, commodity, 0, 0))
                row.debtor_book += -amount
    return [r for _, r in sorted(rows.items()) if r.creditor_book or r.debtor_book]


def balances_and_ageing(session: Session, *, as_of: dt.date, agreement: str | None = None
                        ) -> tuple[list[BalanceRow], list[AgeingRow]]:
    """`balances` and `ageing` of the same books as of the date, side by side.

    On a SQLite file in WAL mode, in a transaction that has written nothing, the balances are
    summed on a second connection, in a thread, while the ageing is made on the session's own.
    SQLite runs a query without holding Python's lock, so the two reports use two CPUs, and
    both take about as long as the ageing alone. The second connection reads its own snapshot
    of the file, which may be a later one: it sums only the ledger lines with an id up to the
    highest the session sees. SQLite has one writer at a time, which gives a new line the next
    id, and a ledger line is never changed or deleted (the database refuses it), so those are
    exactly the lines the session sees. Anywhere else one after the other, in the session:
    PostgreSQL (its ids are not handed out in commit order); a transaction that has written
    (its lines are invisible to another connection; told by SQLite's count of the connection's
    changes, see `written_since_begin`, and by objects not yet flushed); a pool that would hand
    the thread the session's own connection (StaticPool) or a database without WAL (a memory
    database; a rollback journal, where a writer waiting to commit would lock the second
    reader out while the session holds its read)."""
    conn = session.connection()
    if (conn.dialect.name != "sqlite" or session.new or session.dirty or session.deleted
            or not isinstance(conn.engine.pool, (QueuePool, NullPool))
            or written_since_begin(conn)
            or str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() != "wal"):
        return balances(session, as_of=as_of, agreement=agreement), \
            ageing(session, as_of=as_of, agreement=agreement)
    bind = conn.engine.execution_options(acsa_read_only=True)  # a plain BEGIN: no write lock
    upto = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM ledger_lines")
               .scalar_one())

    def side() -> list[BalanceRow]:
        with bind.connect() as other, other.begin():
            return _balances(other, as_of, agreement, upto)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="acsa-balances") as pool:
        summed = pool.submit(side)
        aged = ageing(session, as_of=as_of, agreement=agreement)
        return summed.result(), aged


# balances' query, run once per receivable or payable account: each walks that account's part of
# the covering index ix_ledger_lines_balances (account, agreement_code, book, counterparty,
# commodity, posted_on, amount) in its own order, so SQLite adds the sums up as it goes; with the
# account fixed, each line's group is told by four columns instead of five (the comparison of
# the group's columns is most of the cost of a line).
_BALANCE_SQL = """
SELECT agreement_code, book, counterparty, commodity, SUM(amount) FROM ledger_lines
WHERE account = :account AND {posted_on} <= :as_of{agreement}{upto}
GROUP BY agreement_code, book, counterparty, commodity"""


def _posted_on(dialect: str) -> str:
    """The ledger line's date, to compare with a date parameter. On SQLite the column's DATE
    type gives it NUMERIC affinity, so comparing it with a text parameter would try the
    parameter as a number again on every line (a sixth of a line's cost); a unary + takes the
    affinity away, and both sides are then compared as the ISO text they are, as before."""
    return "+posted_on" if dialect == "sqlite" else "posted_on"


def _date_param(dialect: str, on: dt.date) -> object:
    # SQLite holds SQLAlchemy's Date as ISO text; the driver would not turn a date into it
    return on.isoformat() if dialect == "sqlite" else on


@dataclass(slots=True)
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


# ageing's one query, with the driver's own placeholders (see _driver_rows). The sums are made
# one receivable account at a time, each grouped by claim and commodity in the order of the
# covering index ix_ledger_lines_claim_sums (account, claim_id, commodity, posted_on, amount), so
# SQLite adds them up as it walks the index instead of sorting every receivable line into a
# temporary B-tree, and tells a line's group by two columns instead of three. Only the open
# claims' sums meet the claims table, by its primary key (CROSS JOIN: SQLite then reads the sums
# as they are made, instead of writing them to a temporary table first; PostgreSQL plans it as
# any inner join). The rows are put in order by ageing() (see _by_delivery), not in SQL. The
# claim's five short codes come as one text (agreement, creditor, debtor, method, currency: none
# can hold a "|"), which ageing() splits once per distinct text: the driver then makes one
# string per row instead of five (making the rows' values is half of the query's time).
_AGEING_SUMS = """
      SELECT claim_id, commodity, SUM(amount) AS owed FROM ledger_lines
      WHERE account = :{account} AND {posted_on} <= :as_of AND claim_id IS NOT NULL{agreement}
      GROUP BY claim_id, commodity HAVING SUM(amount) <> 0"""
_AGEING_SQL = """
SELECT s.claim_id, c.number, c.order_id,
       c.agreement_code || '|' || c.creditor_party || '|' || c.debtor_party || '|' || c.method
       || '|' || c.currency,
       s.commodity, s.owed, c.amount_minor, c.quantity, c.delivered_on, c.due_on
FROM ({sums}) AS s
CROSS JOIN claims AS c WHERE c.id = s.claim_id"""
_CLAIM_AND_COMMODITY = itemgetter(0, 4)  # of _AGEING_SQL's columns
_DELIVERED = 8
_RECEIVABLE_PARAMS = {f"acc_{books.METHOD_SUFFIX[m]}": books.receivable(m)
                      for m in ("cash", "rik", "eve")}


# ... or, where the database keeps claim_sums (acsa.ledger.sums), from those: one row per claim,
# receivable account, commodity (and the lines' agreement) instead of every receivable line,
# each row's sum taken from its lines only when one of them is posted after the date
_AGEING_KEPT = """
      SELECT claim_id, commodity, CASE WHEN {last} <= :as_of THEN amount ELSE (
        SELECT coalesce(SUM(l.amount), 0) FROM ledger_lines l WHERE l.account = k.account
        AND l.claim_id = k.claim_id AND l.commodity = k.commodity
        AND l.agreement_code = k.agreement_code AND {posted_on} <= :as_of)
        END AS owed
      FROM claim_sums k WHERE (amount <> 0 OR {last} > :as_of){agreement}"""


def _ageing_sql(posted_on: str, agreement: bool, kept: bool = False) -> str:
    if kept:
        plus = "+" if posted_on.startswith("+") else ""
        parts = _AGEING_KEPT.format(
            last=f"{plus}k.last_posted_on", posted_on=f"{plus}l.posted_on",
            agreement=" AND k.agreement_code = :agreement" if agreement else "")
        return _AGEING_SQL.format(sums=parts) + " AND s.owed <> 0"
    parts = "\n      UNION ALL".join(
        _AGEING_SUMS.format(account=name, posted_on=posted_on,
                            agreement=" AND agreement_code = :agreement" if agreement else "")
        for name in _RECEIVABLE_PARAMS)
    return _AGEING_SQL.format(sums=parts)


_PLACEHOLDER = re.compile(r":(\w+)")


def _driver_rows(session: Session, sql: str, params: dict[str, object]) -> list[tuple]:
    """Rows of `sql` (named `:placeholders`, no literals) as the DB-API driver returns them,
    on the session's own connection and transaction: no SQLAlchemy row or type processing,
    which cost as much as the query itself on the ageing of 27,000 open claims."""
    session.flush()  # as session.execute would autoflush
    return _connection_rows(session.connection(), sql, params)


def _connection_rows(conn: Connection, sql: str, params: dict[str, object]) -> list[tuple]:
    """`_driver_rows` on a connection."""
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
    dialect = session.get_bind().dialect.name
    params: dict[str, object] = {**_RECEIVABLE_PARAMS, "as_of": _date_param(dialect, as_of)}
    if agreement:
        params["agreement"] = agreement
    kept = sums.kept(session.connection(), sums.CLAIM_TRIGGER)
    sql = _ageing_sql(_posted_on(dialect), bool(agreement), kept)
    out: list[AgeingRow] = []
    append, pop = out.append, out.pop
    # many claims share a delivery or due date: each date is read, aged and bucketed once
    delivery: dict[object, tuple[dt.date, int, str]] = {}
    due_dates: dict[object, tuple[dt.date, bool]] = {}
    codes: dict[str, list[str]] = {}  # the claim's codes as fetched, split
    prices = _price_context()
    last_claim = last_commodity = None
    carried, appended = 0, False
    with gcpause.paused():
        rows = _by_delivery(_driver_rows(session, sql, params))
        for (claim, number, order_id, packed, commodity, left, amount, quantity, delivered,
             due) in rows:
            if left.__class__ is not int:
                left = int(left)  # PostgreSQL's SUM is a numeric
            if claim == last_claim and commodity == last_commodity:
                left += carried  # sums of one claim in two accounts: one row
                if appended:
                    pop()
            else:
                last_claim, last_commodity = claim, commodity
            carried = left
            if not left:
                appended = False
                continue
            d = delivery.get(delivered)
            if d is None:
                on = _as_date(delivered)
                d = delivery[delivered] = (on, (as_of - on).days, bucket_for(on, as_of))
            u = due_dates.get(due)
            if u is None:
                on = _as_date(due)
                u = due_dates[due] = (on, on < as_of)
            c = codes.get(packed)
            if c is None:
                c = codes[packed] = packed.split("|")
            code, cred, debt, method, cur = c
            if method == "rik" and quantity is not None and (qty := Decimal(quantity)):
                value = in_kind_value(amount, left, qty, prices)
            else:
                value = left
            append(AgeingRow(number, order_id, code, cred, debt, method, commodity, left,
                             value, cur, d[0], u[0], d[1], d[2], u[1]))
            appended = True
        # the driver's rows go before collection is switched back on: the first collection
        # then walks only the rows kept, not the tuples they were made from
        del rows
    return out


def _by_delivery(rows: list[tuple]) -> list[tuple]:
    """ageing's rows in its order: by delivery date, claim id, then commodity, so that any
    (claim, commodity) with sums in two receivable accounts comes in adjacent rows. The rows
    are dealt into one list per delivery date (a few hundred dates for tens of thousands of
    claims), the dates sorted, and each date's few rows sorted by claim and commodity: they
    come as runs already in claim order, one run per account, which Python's sort merges. This
    costs half of two stable sorts of the whole list (by claim, then by date), and less than
    SQLite's sort of the whole rows. ISO dates in text (SQLite) order as the dates do, and text
    orders by code point as SQLite's binary collation does, on PostgreSQL too (whatever the
    database's collation)."""
    by_day: dict[object, list[tuple]] = {}
    get = by_day.get
    for row in rows:
        day = get(row[_DELIVERED])
        if day is None:
            by_day[row[_DELIVERED]] = [row]
        else:
            day.append(row)
    out: list[tuple] = []
    extend = out.extend
    for delivered in sorted(by_day):
        day = by_day[delivered]
        if len(day) > 1:
            day.sort(key=_CLAIM_AND_COMMODITY)
        extend(day)
    return out


def _price_context() -> decimal.Context:
    """The context `Money.times` works in: the caller's, with 60 digits."""
    context = decimal.getcontext().copy()
    context.prec = 60
    return context


def in_kind_value(amount_minor: int, units: int, quantity: Decimal,
                  context: decimal.Context) -> int:
    """What `units` (thousandths) of an in-kind claim for `quantity` items worth `amount_minor`
    are worth: `Money(amount_minor, currency).times(from_kind_units(units) / quantity).minor`,
    computed the same way (the share in the caller's context, the product in `context` from
    `_price_context`, rounded once with `money.ROUNDING`) without the two Money objects and the
    context switch per claim, which were a third of ageing's Python time. All of it still
    owed (nine open in-kind claims in ten) is the whole price: the share is exactly 1."""
    if quantity.scaleb(books.KIND_SCALE) == units:
        return amount_minor
    share = books.from_kind_units(units) / quantity
    return int(context.multiply(amount_minor, share).to_integral_value(rounding=money.ROUNDING))


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
