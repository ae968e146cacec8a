"""Reconciliation: our book against a partner's, for one agreement as of a date.

Each node computes a **summary** of its own book for the agreement: per order a leaf (number,
state, and per book, account and commodity the sum of its ledger lines posted on or before the
date) and per claim a leaf (number, order, state, method, amount or quantity, and what is
outstanding on the date, from the creditor's receivable lines). The leaves are grouped by the
month of the order date and hashed canonically (`acsa.audit.chain.content_hash`, SHA-256 of
canonical JSON) into a hash tree:

    month root   = H([amounts digest, states digest, claims digest, #orders, #claims])
      amounts    = H(sorted [order number, canonical amounts text])   (orders with lines)
      states     = H(sorted [order number, state])
      claims     = H(sorted claim leaves as lists)
    root         = H({format, agreement, as_of, parties, months: {month: month root}})

The exchanged form (`summary(...)`) is roots only (`months=None`): the root, and per month its
root and counts; or, with `months=[...]`, those months' roots with their leaves. `compare`
compares roots first (equal roots: the books agree, no leaf is looked at), then, only for the
months whose roots differ, leaf by leaf. `reconcile` drives the two steps against a partner
that may be a file, an HTTP node or another database.

Speed: the ledger sums are one SQL aggregation (GROUP BY order, book, account, commodity,
concatenated per order in the database), so Python sees one short row per order. The amounts
digest of each month (the only part computed from the ledger lines, the bulk of the work) is
cached in `node_settings` (key `reconcile:<agreement>:<as_of>`) with the watermark it covers:
the highest ledger line id W and the number N of lines with id <= W the aggregation read. The
ledger is append-only (UPDATE and DELETE are refused by triggers), so if the same predicate
still counts N lines with id <= W the set of those lines is the same, and a month's digest can
only change by lines with id > W (whose orders' months are recomputed) or by an order moving
in or out of the month (the membership digest of the month, kept beside it and recomputed from
the orders every time, catches it). Anything else recomputes. States and claims are always
read fresh. `summary(..., use_cache=False)` recomputes everything; tests compare the two.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from acsa import errors
from acsa.agreements import service as agreements
from acsa.audit.chain import canonical_json, content_hash
from acsa.ledger import domain as books
from acsa.ledger.models import LedgerLine
from acsa.orders.models import Order
from acsa.settlement.models import Claim
from acsa.sync.models import NodeSetting

FORMAT = "acsa-reconcile/1"
US, RS = "\x1f", "\x1e"  # field and record separators of the canonical amounts text
CACHE_PREFIX = "reconcile:"
CACHE_KEEP = 4  # as-of dates cached per agreement
RECEIVABLES = [books.receivable(m) for m in ("cash", "rik", "eve")]
CLAIM_FIELDS = ("order", "state", "method", "currency", "amount", "quantity", "unit",
                "commodity", "outstanding")


# --- the summary -----------------------------------------------------------------------------
def _month(on: dt.date) -> str:
    return f"{on.year:04d}-{on.month:02d}"


def _month_range(month: str) -> tuple[dt.date, dt.date]:
    year, mon = (int(x) for x in month.split("-"))
    start = dt.date(year, mon, 1)
    end = dt.date(year + (mon == 12), 1 if mon == 12 else mon + 1, 1)
    return start, end


def check_month(month: str) -> str:
    try:
        _month_range(month)
    except (ValueError, TypeError):
        raise errors.InvalidInput(f"{month!r} is not a month (YYYY-MM)",
                                  field="months") from None
    return month


def _quantity(q: Decimal | None) -> str | None:
    return None if q is None else format(Decimal(q).normalize(), "f")


def amounts_text(amounts: Iterable[Sequence[Any]]) -> str:
    """The canonical text of an order's sums: `book US account US commodity US amount` per
    non-zero sum, sorted, joined by RS. The database builds the same text in SQL."""
    return RS.join(sorted(US.join((b, a, c, str(int(x)))) for b, a, c, x in amounts if int(x)))


def parse_amounts(text_: str) -> list[list[Any]]:
    out: list[list[Any]] = []
    for part in text_.split(RS) if text_ else ():
        b, a, c, x = part.split(US)
        out.append([b, a, c, int(x)])
    return out


def month_digests(orders: list[tuple[str, str, str]], claims: list[list[Any]]
                  ) -> tuple[str, str, str]:
    """(amounts, states, claims) digests of one month: orders as (number, state, amounts
    text), claims as lists [number, order, state, method, currency, amount, quantity, unit,
    commodity, outstanding]."""
    ordered = sorted(orders, key=itemgetter(0))
    amounts = content_hash([[n, t] for n, _, t in ordered if t])
    states = content_hash([[n, s] for n, s, _ in ordered])
    return amounts, states, content_hash(sorted(claims, key=itemgetter(0)))


def month_root(amounts: str, states: str, claims: str, n_orders: int, n_claims: int) -> str:
    return content_hash([amounts, states, claims, n_orders, n_claims])


def book_root(agreement: str, as_of: str, parties: Sequence[str],
              roots: dict[str, str]) -> str:
    return content_hash({"format": FORMAT, "agreement": agreement, "as_of": as_of,
                         "parties": sorted(parties), "months": roots})


@dataclass
class _Month:
    orders: list[tuple[str, str, str]] = field(default_factory=list)  # number, state, amounts
    claims: list[list[Any]] = field(default_factory=list)
    members: list[tuple[int, str]] = field(default_factory=list)  # (order id, number)


def _pair(session: Session, agreement: str, party_pair: Sequence[str]) -> list[str]:
    a = agreements.get(session, agreement)
    pair = sorted(p.upper() for p in party_pair)
    if pair != sorted(a.parties):
        raise errors.InvalidInput(
            f"agreement {agreement} is between {' and '.join(sorted(a.parties))}, "
            f"not {' and '.join(pair)}", field="agreement")
    return pair


def _amounts_sql(session: Session, month_filter: bool) -> str:
    """Per order: the canonical amounts text of its ledger lines (id <= :w, posted on or
    before :as_of), and how many lines it was made of."""
    pg = session.get_bind().dialect.name == "postgresql"
    concat = ("string_agg(part, :rs ORDER BY part COLLATE \"C\")" if pg
              else "group_concat(part, :rs)")
    months = ("AND e.order_id IN (SELECT id FROM orders WHERE agreement_code = :ag "
              "AND order_on >= :start AND order_on < :end)") if month_filter else ""
    return (
        f"SELECT order_id, {concat}, sum(n) FROM ("
        " SELECT e.order_id AS order_id, sum(l.amount) AS total, count(*) AS n,"
        " l.book || :us || l.account || :us || l.commodity || :us || sum(l.amount) AS part"
        " FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id"
        " WHERE l.agreement_code = :ag AND l.posted_on <= :as_of AND l.id <= :w"
        f" AND e.order_id IS NOT NULL {months}"
        " GROUP BY e.order_id, l.book, l.account, l.commodity"
        ") AS sums GROUP BY order_id")


def _canonical(concat: str | None) -> str:
    """The database's concatenation, sorted (SQLite does not promise group_concat's order)."""
    if not concat:
        return ""
    parts = [p for p in concat.split(RS) if not p.endswith(f"{US}0")]
    return RS.join(sorted(parts))


def _amounts(session: Session, agreement: str, as_of: dt.date, w: int,
             ranges: list[tuple[dt.date, dt.date]] | None) -> tuple[dict[int, str], int]:
    """order id -> canonical amounts text, and the number of lines read."""
    out: dict[int, str] = {}
    lines = 0
    params: dict[str, Any] = {"ag": agreement, "as_of": as_of, "w": w, "us": US, "rs": RS}
    for span in ranges if ranges is not None else [None]:
        if span is not None:
            params.update(start=span[0], end=span[1])
        sql = text(_amounts_sql(session, span is not None))
        for order_id, concat, n in session.execute(sql, params):
            out[order_id] = _canonical(concat)
            lines += int(n)
    return out, lines


def _lines_count(session: Session, agreement: str, as_of: dt.date, low: int, high: int) -> int:
    """How many lines the aggregation reads among ids low < id <= high."""
    return int(session.execute(text(
        "SELECT count(*) FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id "
        "WHERE l.agreement_code = :ag AND l.posted_on <= :as_of AND l.id > :low "
        "AND l.id <= :high AND e.order_id IS NOT NULL"),
        {"ag": agreement, "as_of": as_of, "low": low, "high": high}).scalar_one())


def _touched(session: Session, agreement: str, as_of: dt.date, w: int) -> set[int]:
    """Orders with ledger lines newer than the watermark (posted on or before the date)."""
    return set(session.execute(text(
        "SELECT DISTINCT e.order_id FROM ledger_lines l JOIN ledger_entries e "
        "ON e.id = l.entry_id WHERE l.id > :w AND l.agreement_code = :ag "
        "AND l.posted_on <= :as_of AND e.order_id IS NOT NULL"),
        {"ag": agreement, "as_of": as_of, "w": w}).scalars())


def _ranges(months: Iterable[str]) -> list[tuple[dt.date, dt.date]]:
    """Months as date ranges, consecutive months merged."""
    out: list[tuple[dt.date, dt.date]] = []
    for start, end in sorted(_month_range(m) for m in set(months)):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _membership(members: list[tuple[int, str]]) -> str:
    return content_hash(sorted(members))


def _cache_key(agreement: str, as_of: dt.date) -> str:
    return f"{CACHE_PREFIX}{agreement}:{as_of.isoformat()}"


def _cache_read(session: Session, key: str) -> dict[str, Any] | None:
    row = session.get(NodeSetting, key)
    if row is None:
        return None
    try:
        data = json.loads(row.value)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("v") == 1 else None


def _cache_write(session: Session, agreement: str, key: str, value: dict[str, Any]) -> None:
    """Best effort, in a savepoint: a read-only transaction that cannot write (SQLite with a
    newer writer) keeps its result and skips the cache."""
    try:
        with session.begin_nested():
            row = session.get(NodeSetting, key)
            if row is None:
                session.add(NodeSetting(key=key, value=canonical_json(value)))
            else:
                row.value = canonical_json(value)
            session.flush()
            keys = sorted(session.scalars(select(NodeSetting.key).where(
                NodeSetting.key.like(f"{CACHE_PREFIX}{agreement}:%"))))
            old = [k for k in keys if k != key][:max(0, len(keys) - CACHE_KEEP)]
            if old:
                session.execute(delete(NodeSetting).where(NodeSetting.key.in_(old)))
    except (sa_exc.OperationalError, sa_exc.IntegrityError, sa_exc.InternalError):
        pass


def clear_cache(session: Session) -> int:
    n = session.execute(delete(NodeSetting).where(NodeSetting.key.like(f"{CACHE_PREFIX}%")))
    return int(n.rowcount or 0)  # type: ignore[attr-defined]


@dataclass
class Book:
    """Our book for one agreement as of a date, computed: what `summary` ships parts of."""

    agreement: str
    as_of: dt.date
    parties: list[str]
    party: str | None
    months: dict[str, _Month]
    digests: dict[str, tuple[str, str, str]]
    cache: str = "off"  # off, miss, hit (n months recomputed)

    @property
    def roots(self) -> dict[str, str]:
        return {m: month_root(*self.digests[m], len(self.months[m].orders),
                              len(self.months[m].claims)) for m in sorted(self.months)}

    @property
    def root(self) -> str:
        return book_root(self.agreement, self.as_of.isoformat(), self.parties, self.roots)

    def summary(self, months: Iterable[str] | None = None) -> dict[str, Any]:
        roots = self.roots
        head: dict[str, Any] = {"format": FORMAT, "agreement": self.agreement,
                                "as_of": self.as_of.isoformat(), "parties": self.parties,
                                "party": self.party}
        if months is None:
            return {**head, "root": book_root(self.agreement, self.as_of.isoformat(),
                                              self.parties, roots),
                    "months": {m: {"root": r, "orders": len(self.months[m].orders),
                                   "claims": len(self.months[m].claims)}
                               for m, r in roots.items()}}
        wanted = sorted({check_month(m) for m in months} & set(self.months))
        return {**head, "months": {m: {"root": roots[m], "orders": len(self.months[m].orders),
                                       "claims": len(self.months[m].claims)} for m in wanted},
                "leaves": {m: leaves_of(self.months[m]) for m in wanted}}


def leaves_of(month: _Month) -> dict[str, Any]:
    return {"orders": {n: {"state": s, "amounts": parse_amounts(t)}
                       for n, s, t in sorted(month.orders)},
            "claims": {c[0]: dict(zip(CLAIM_FIELDS, c[1:], strict=True))
                       for c in sorted(month.claims, key=itemgetter(0))}}


def compute(session: Session, *, agreement: str, as_of: dt.date, party_pair: Sequence[str],
            months: Iterable[str] | None = None, use_cache: bool = True) -> Book:
    """Our book for the agreement as of the date: every month, or only `months` (then
    computed from those months' orders alone, and never cached)."""
    from acsa.sync.node import own_party

    pair = _pair(session, agreement, party_pair)
    wanted = None if months is None else sorted({check_month(m) for m in months})
    ranges = None if wanted is None else _ranges(wanted)

    # the orders and claims: always read fresh
    stmt = (select(Order.id, Order.number, Order.state, Order.order_on)
            .where(Order.agreement_code == agreement, Order.order_on <= as_of,
                   Order.requesting_party.in_(pair), Order.supplying_party.in_(pair)))
    if ranges is not None:
        from sqlalchemy import or_
        stmt = stmt.where(or_(*(Order.order_on.between(s, e - dt.timedelta(days=1))
                                for s, e in ranges))) if ranges else stmt.where(False)
    by_id: dict[int, tuple[str, str, str]] = {}
    result: dict[str, _Month] = defaultdict(_Month)
    for oid, number, state, on in session.execute(stmt):
        m = _month(on)
        by_id[oid] = (number, state, m)
        result[m].members.append((oid, number))

    # in the order of the covering index ix_ledger_lines_claim_sums: no sort, no table reads
    outstanding: dict[int, int] = defaultdict(int)
    for _, cid, total in session.execute(
            select(LedgerLine.account, LedgerLine.claim_id, func.sum(LedgerLine.amount))
            .where(LedgerLine.account.in_(RECEIVABLES), LedgerLine.claim_id.is_not(None),
                   LedgerLine.posted_on <= as_of)
            .group_by(LedgerLine.account, LedgerLine.claim_id)):
        outstanding[cid] += int(total)
    for (cid, number, oid, state, method, currency, amount, quantity, unit,
         commodity) in session.execute(
            select(Claim.id, Claim.number, Claim.order_id, Claim.state, Claim.method,
                   Claim.currency, Claim.amount_minor, Claim.quantity, Claim.unit,
                   Claim.commodity)
            .where(Claim.agreement_code == agreement, Claim.issued_on <= as_of)):
        order = by_id.get(oid)
        if order is None:
            continue
        result[order[2]].claims.append([number, order[0], state, method, currency,
                                        int(amount), _quantity(quantity), unit, commodity,
                                        int(outstanding.get(cid, 0))])

    # the ledger sums: the bulk of the work, cached per month
    w = int(session.scalar(select(func.coalesce(func.max(LedgerLine.id), 0))) or 0)
    members = {m: _membership(v.members) for m, v in result.items()}
    key = _cache_key(agreement, as_of)
    cached = _cache_read(session, key) if use_cache and wanted is None else None
    texts: dict[int, str] = {}
    amounts_digest: dict[str, str] = {}
    state = "off" if not use_cache or wanted is not None else "miss"
    if cached is not None and _lines_count(session, agreement, as_of, 0,
                                           int(cached["w"])) == int(cached["n"]):
        w_old = int(cached["w"])
        stale = {by_id[o][2] for o in _touched(session, agreement, as_of, w_old) if o in by_id}
        for m, (digest, member) in cached["months"].items():
            if m in result and m not in stale and members[m] == member:
                amounts_digest[m] = digest
        redo = sorted(set(result) - set(amounts_digest))
        if redo:
            texts, _ = _amounts(session, agreement, as_of, w, _ranges(redo))
        n = int(cached["n"]) + _lines_count(session, agreement, as_of, w_old, w)
        state = f"hit ({len(redo)} of {len(result)} months recomputed)"
    else:
        texts, n = _amounts(session, agreement, as_of, w, ranges)
    for oid, (number, st, m) in by_id.items():
        result[m].orders.append((number, st, texts.get(oid, "")))

    digests: dict[str, tuple[str, str, str]] = {}
    for m, month in result.items():
        amounts, states, claims = month_digests(month.orders, month.claims)
        digests[m] = (amounts_digest.get(m, amounts), states, claims)
    if use_cache and wanted is None and state != "off":
        _cache_write(session, agreement, key, {
            "v": 1, "w": w, "n": n,
            "months": {m: [digests[m][0], members[m]] for m in sorted(result)}})
    return Book(agreement, as_of, pair, own_party(session), dict(result), digests, state)


def summary(session: Session, *, agreement: str, as_of: dt.date, party_pair: Sequence[str],
            months: Iterable[str] | None = None, use_cache: bool = True) -> dict[str, Any]:
    """Our book's summary for the agreement as of the date, in the exchanged form: roots only
    (`months=None`), or the roots and leaves of the given months ("YYYY-MM")."""
    months = None if months is None else list(months)
    book = compute(session, agreement=agreement, as_of=as_of, party_pair=party_pair,
                   months=months, use_cache=use_cache)
    return book.summary(months)
