"""Reconciliation: our book against a partner's, for one agreement as of a date.

Each node computes a **summary** of its own book for the agreement: per order a leaf (number,
state, and per book, account and commodity the sum of its ledger lines posted on or before the
date) and per claim a leaf (number, order, state, method, amount or quantity, and what is
outstanding on the date, from the creditor's receivable lines). The leaves are grouped by the
month of the order date and hashed canonically (`acsa.audit.chain.content_hash`, SHA-256 of
canonical JSON) into a hash tree:

    bucket root  = H([amounts digest, states digest, claims digest, #orders, #claims])
      amounts    = H(sorted [order number, canonical amounts text])   (orders with lines)
      states     = H(sorted [order number, state])
      claims     = H(sorted claim leaves as lists)
    month root   = H([sorted [bucket, bucket root, #orders, #claims], #orders, #claims])
    root         = H({format, agreement, as_of, parties, months: {month: month root}})

An order's bucket is the first byte of SHA-256 of its number, masked to BUCKETS (its claims
go with it): the roots answer carries the bucket roots, so only the differing buckets' leaves
are asked for ("YYYY-MM/bb"), unless they hold WHOLE_MONTH of the month's orders.

The exchanged form (`summary(...)`) is roots only (`months=None`): the root, and per month its
root, counts and bucket roots; or, with `months=[...]`, those months' entries with the leaves
of the months or buckets given. `compare`
compares roots first (equal roots: the books agree, no leaf is looked at), then, only for the
months whose roots differ, leaf by leaf. `reconcile` drives the two steps against a partner
that may be a file, an HTTP node or another database.

Speed. Computing a book reads every order, the concatenation of its ledger sums (grouped by
book, account and commodity) and every claim with its outstanding sum, through the DB-API
cursor, one short row per order or claim. The sums are those the database keeps as lines are
posted (`order_sums` and `claim_sums`, migration 0013, acsa.ledger.sums: one aggregation of
the agreement's order rows, or lookups by order when few are asked for). An order or claim
with a line posted after the date (or, for an order, above the watermark), or every one on a
database without the triggers, has its sums read from its ledger lines (an order's found
through the indexes of migration 0011, in the orders' statement on SQLite, one aggregation of
the agreement's lines on PostgreSQL; a claim's from the covering index of its receivable
lines). A summary of every month then caches, in
`node_settings` (key `reconcile:<agreement>:<as_of>`), each bucket's root, counts and member
order ids, with the positions it covers: the highest ledger line id W with the number of lines
up to it, and the highest row C of the change log (`acsa.sync.digests`, migration 0012:
triggers on `orders` and `claims` log every order whose leaf, bucket or claims may have
changed, in the changing transaction, whoever the writer) with the number of rows up to it.
The next summary checks the counts (the ledger and the log are append-only, so equal counts up
to the same positions mean the same rows; the log's pruning is counted back), then recomputes
only the buckets of the orders logged above C or touched by ledger lines above W, where the
cache had them and where they are now, from their members, by primary key. A summary as of
another date starts from the nearest cached date and recomputes, besides, the buckets of the
orders dated, claimed or posted in between. Equal books with nothing changed read no order,
claim or line: the roots come from the cache. A summary with leaves computes the buckets asked
for (the cache gives the other buckets of their months). Anything that does not check out (a
count, an order not where the cache says, a TRUNCATE, a database without the log's triggers)
computes everything. `summary(..., use_cache=False)` computes everything; tests compare the
two.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from acsa import errors, gcpause
from acsa.agreements import service as agreements
from acsa.audit.chain import canonical_json, content_hash
from acsa.ledger import domain as books
from acsa.ledger import sums
from acsa.sync import digests

FORMAT = "acsa-reconcile/2"
US, RS = "\x1f", "\x1e"  # field and record separators of the canonical amounts text
BUCKETS = 64  # per month; a power of two
WHOLE_MONTH = 0.5  # ask a month whole when its differing buckets hold this share of orders
BY_ID = 3000  # up to this many orders: their claims by order, through the index
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


_BUCKET_NAMES = tuple(f"{b:02x}" for b in range(BUCKETS))


def bucket_of(number: str, sha256: Callable[[bytes], Any] = hashlib.sha256) -> str:
    """The bucket of an order (and of its claims) within its month: the low bits of the first
    byte of SHA-256 of its number, as two hex digits ("00" .. "3f")."""
    return _BUCKET_NAMES[sha256(number.encode("utf-8")).digest()[0] & (BUCKETS - 1)]


def check_key(key: str) -> str:
    """A month ("YYYY-MM") or one bucket of a month ("YYYY-MM/bb")."""
    month, sep, bucket = str(key).partition("/")
    check_month(month)
    if sep and not (len(bucket) == 2 and all(c in "0123456789abcdef" for c in bucket)
                    and int(bucket, 16) < BUCKETS):
        raise errors.InvalidInput(f"{key!r} is not a bucket (YYYY-MM/00 .. YYYY-MM/"
                                  f"{BUCKETS - 1:02x})", field="months")
    return key


def month_digests(orders: Sequence[Sequence[Any]], claims: list[list[Any]], *,
                  skip_amounts: bool = False) -> tuple[str, str, str]:
    """(amounts, states, claims) digests of one bucket: orders as (number, state, amounts
    text, ...), claims as lists [number, order, state, method, currency, amount, quantity,
    unit, commodity, outstanding]."""
    ordered = sorted(orders, key=itemgetter(0))
    amounts = "" if skip_amounts else content_hash([[o[0], o[2]] for o in ordered if o[2]])
    states = content_hash([[o[0], o[1]] for o in ordered])
    return amounts, states, content_hash(sorted(claims, key=itemgetter(0)))


def bucket_root(amounts: str, states: str, claims: str, n_orders: int, n_claims: int) -> str:
    return content_hash([amounts, states, claims, n_orders, n_claims])


def month_root(buckets: dict[str, tuple[str, int, int]], n_orders: int, n_claims: int) -> str:
    """Over the month's buckets: bucket -> (root, orders, claims)."""
    return content_hash([[[b, *buckets[b]] for b in sorted(buckets)], n_orders, n_claims])


def book_root(agreement: str, as_of: str, parties: Sequence[str],
              roots: dict[str, str]) -> str:
    return content_hash({"format": FORMAT, "agreement": agreement, "as_of": as_of,
                         "parties": sorted(parties), "months": roots})


Key = tuple[str, str]  # (month "YYYY-MM", bucket "bb")
OrderLeaf = tuple[str, str, str]  # number, state, canonical amounts text


@dataclass
class Bucket:
    """One bucket of our book: its root and counts, the ids of its orders, and its leaves
    when they were computed by this summary (a bucket taken from the cache has none)."""

    root: str
    orders: int
    claims: int
    members: list[int]
    leaves: tuple[list[OrderLeaf], list[list[Any]]] | None = None


def _pair(session: Session, agreement: str, party_pair: Sequence[str]) -> list[str]:
    a = agreements.get(session, agreement)
    pair = sorted(p.upper() for p in party_pair)
    if pair != sorted(a.parties):
        raise errors.InvalidInput(
            f"agreement {agreement} is between {' and '.join(sorted(a.parties))}, "
            f"not {' and '.join(pair)}", field="agreement")
    return pair


def _concat(pg: bool) -> str:
    return "string_agg(part, ? ORDER BY part COLLATE \"C\")" if pg else "group_concat(part, ?)"


_PART = "l.book || ? || l.account || ? || l.commodity || ? || sum(l.amount) AS part"


def _amounts_sql(pg: bool, month_ranges: int) -> str:
    """Per order: the canonical amounts text of its ledger lines with an id up to the
    watermark, posted on or before the date (zero sums left out). Parameters: RS, US, US, US,
    agreement, date, watermark, then, with month ranges, the agreement and the ranges."""
    months = ""
    if month_ranges:
        months = (" AND e.order_id IN (SELECT id FROM orders WHERE agreement_code = ? AND ("
                  + " OR ".join(["(order_on >= ? AND order_on < ?)"] * month_ranges) + "))")
    return (f"SELECT order_id, {_concat(pg)} FROM ("
            f"  SELECT e.order_id AS order_id, {_PART}"
            "  FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id"
            "  WHERE l.agreement_code = ? AND l.posted_on <= ? AND l.id <= ?"
            f"  AND e.order_id IS NOT NULL{months}"
            "  GROUP BY e.order_id, l.book, l.account, l.commodity HAVING sum(l.amount) <> 0"
            " ) parts GROUP BY order_id")


def _canonical(concat: str | None, pg: bool = False) -> str:
    """The database's concatenation, sorted (PostgreSQL sorts it; SQLite does not promise
    group_concat's order)."""
    if not concat:
        return ""
    if pg or RS not in concat:
        return concat
    return RS.join(sorted(concat.split(RS)))


def _amounts(session: Session, agreement: str, as_of: dt.date, w: int,
             ranges: list[tuple[dt.date, dt.date]] | None) -> dict[int, str]:
    """order id -> canonical amounts text (lines with id <= w): one aggregation over the
    agreement's lines (of the orders of the month ranges given)."""
    pg = _pg(session)
    if ranges is not None and not ranges:
        return {}
    params: list[Any] = [RS, US, US, US, agreement, as_of.isoformat(), w]
    if ranges:
        params += [agreement] + [d.isoformat() for span in ranges for d in span]
    return {order_id: _canonical(concat, pg) for order_id, concat
            in _raw(session, _amounts_sql(pg, len(ranges or ())), params)}


def sums_kept(session: Session) -> bool:
    """Whether the database keeps `order_sums` and `claim_sums` (acsa.ledger.sums)."""
    conn = session.connection()
    return sums.kept(conn, sums.ORDER_TRIGGER) and sums.kept(conn, sums.CLAIM_TRIGGER)


def _kept_sums_sql(pg: bool, n_ids: int, month_ranges: int) -> str:
    """Per order of the agreement (of the ids, or of the orders of the month ranges): the
    canonical amounts text of its kept sums (zero sums left out), and whether a line behind
    them is posted after the date or above the watermark. Parameters: RS, date, watermark, US,
    US, US, agreement, then the ids, or the agreement and the month ranges."""
    where = ""
    if n_ids:
        where = f" AND {_in('order_id', n_ids)}"
    elif month_ranges:
        where = (" AND order_id IN (SELECT id FROM orders WHERE agreement_code = ? AND ("
                 + " OR ".join(["(order_on >= ? AND order_on < ?)"] * month_ranges) + "))")
    return (f"SELECT order_id, {_concat(pg)}, max(last_posted_on) > ? OR max(last_line_id) > ? "
            "FROM (SELECT order_id, last_posted_on, last_line_id, CASE WHEN amount <> 0 THEN "
            "book || ? || account || ? || commodity || ? || amount END AS part "
            f"FROM order_sums WHERE agreement_code = ?{where}) s GROUP BY order_id")


def _kept_sums(session: Session, agreement: str, day: str, w: int, pair: list[str],
               orders: dict[int, Any], few: bool,
               ranges: list[tuple[dt.date, dt.date]] | None) -> dict[int, str]:
    """order id -> canonical amounts text, for the orders given, from `order_sums`: one
    aggregation of the agreement's kept sums (of the month ranges given, all when None), or
    lookups by order when they are few. An order with a line posted after the date or above
    the watermark has its sums read from its ledger lines instead."""
    pg = _pg(session)
    head = [RS, day, w, US, US, US, agreement]
    if few:
        got = [r for chunk in _chunks(orders)
               for r in _raw(session, _kept_sums_sql(pg, len(chunk), 0), head + chunk)]
    elif ranges is not None and not ranges:
        got = []
    else:
        spans = ranges or []
        months = [agreement] + [d.isoformat() for span in spans for d in span] if spans else []
        got = _raw(session, _kept_sums_sql(pg, 0, len(spans)), head + months)
    texts: dict[int, str] = {}
    stale: list[int] = []
    for order_id, concat, later in got:
        if order_id not in orders:
            continue
        if later:
            stale.append(order_id)
        elif concat:
            texts[order_id] = _canonical(concat, pg)
    if stale:
        rows = _orders(session, agreement, day, pair, ids=stale, sums_upto=w)
        texts.update({r[0]: _canonical(r[4], pg) for r in rows if r[4]})
    return texts


def _chunks(ids: Iterable[int], size: int = 500) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for k in range(0, len(ordered), size):
        yield ordered[k:k + size]


def _in(column: str, n: int) -> str:
    return f"{column} IN ({', '.join('?' * n)})"


def _lines(session: Session) -> int:
    """How many ledger lines there are (a count of the smallest index: the statement must be
    this alone for SQLite to count without reading the rows)."""
    return int(_raw(session, "SELECT count(*) FROM ledger_lines", [])[0][0])


def _lines_upto(session: Session, w: int, total: int | None = None) -> int:
    """How many ledger lines have an id <= w: every line (`total`, if known) less those above
    w, which are few (a range of the primary key)."""
    above = int(_raw(session, "SELECT count(*) FROM ledger_lines WHERE id > ?", [w])[0][0])
    return (_lines(session) if total is None else total) - above


def _ledger_touched(session: Session, w: int, day: str) -> set[int]:
    """Orders whose amounts or claims' outstanding sums lines above the watermark (posted on
    or before the date) may change: their entries' orders, and their claims' orders."""
    out: set[int] = set()
    for order_id, claim_order in _raw(session, (
            "SELECT DISTINCT e.order_id, c.order_id FROM ledger_lines l "
            "JOIN ledger_entries e ON e.id = l.entry_id LEFT JOIN claims c ON c.id = l.claim_id "
            "WHERE l.id > ? AND l.posted_on <= ?"), [w, day]):
        out.update(x for x in (order_id, claim_order) if x is not None)
    return out


def _ranges(months: Iterable[str]) -> list[tuple[dt.date, dt.date]]:
    """Months as date ranges, consecutive months merged."""
    out: list[tuple[dt.date, dt.date]] = []
    for start, end in sorted(_month_range(m) for m in set(months)):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


# --- reading our book, set-based -------------------------------------------------------------
def _orders(session: Session, agreement: str, day: str, pair: list[str], *,
            ids: Iterable[int] | None = None,
            ranges: list[tuple[dt.date, dt.date]] | None = None,
            sums_upto: int | None = None) -> list[tuple[Any, ...]]:
    """(id, number, state, month) of the agreement's orders between the pair dated on or
    before the day: all, or those of the month ranges, or those of the ids; with `sums_upto`,
    and the concatenation of each order's sums (ledger lines up to that id), found by order
    through ix_ledger_entries_order and ix_ledger_lines_entry_sums (migration 0011): on SQLite
    cheaper than one aggregation of the agreement's lines, which sorts them all."""
    pg = _pg(session)
    month_of = "to_char(o.order_on, 'YYYY-MM')" if pg else "substr(o.order_on, 1, 7)"
    sums, params = "", []
    if sums_upto is not None:
        sums = (f", (SELECT {_concat(pg)} FROM (SELECT {_PART} FROM ledger_entries e "
                "JOIN ledger_lines l ON l.entry_id = e.id WHERE e.order_id = o.id "
                "AND l.agreement_code = ? AND l.posted_on <= ? AND l.id <= ? "
                "GROUP BY l.book, l.account, l.commodity HAVING sum(l.amount) <> 0) parts)")
        params = [RS, US, US, US, agreement, day, sums_upto]
    sql = (f"SELECT o.id, o.number, o.state, {month_of}{sums} FROM orders o "
           "WHERE o.agreement_code = ? AND o.order_on <= ? AND o.requesting_party IN (?, ?) "
           "AND o.supplying_party IN (?, ?)")
    params += [agreement, day, *pair, *pair]
    heavy = sums_upto is not None
    if ids is not None:
        return [r for chunk in _chunks(ids)
                for r in _raw(session, f"{sql} AND {_in('o.id', len(chunk))}", params + chunk,
                              heavy=heavy)]
    if ranges is not None:
        sql += " AND (" + " OR ".join(["(o.order_on >= ? AND o.order_on < ?)"] * len(ranges)
                                      or ["1 = 0"]) + ")"
        params += [d.isoformat() for span in ranges for d in span]
    return _raw(session, sql, params, heavy=heavy)


_CLAIMS = ("SELECT c.id, c.number, c.order_id, c.state, c.method, c.currency, c.amount_minor, "
           "c.quantity, c.unit, c.commodity, {outstanding} FROM claims c{hint} "
           "WHERE c.agreement_code = ? AND c.issued_on <= ?")
# what is outstanding on the day: the sum of the claim's creditor's receivable lines
_FROM_LINES = ("(SELECT coalesce(sum(l.amount), 0) FROM ledger_lines l "
               "WHERE l.account IN (?, ?, ?) AND l.claim_id = c.id AND l.posted_on <= ?)")
# ... or of its kept sums, each from its lines if one is posted after the day
_FROM_KEPT = ("(SELECT coalesce(sum(CASE WHEN s.last_posted_on <= ? THEN s.amount ELSE "
              "(SELECT coalesce(sum(l.amount), 0) FROM ledger_lines l WHERE l.account = "
              "s.account AND l.claim_id = s.claim_id AND l.commodity = s.commodity "
              "AND l.agreement_code = s.agreement_code AND l.posted_on <= ?) END), 0) "
              "FROM claim_sums s WHERE s.claim_id = c.id)")


def _claims(session: Session, agreement: str, day: str, order_ids: list[int] | None,
            summed: bool = False) -> list[tuple[Any, ...]]:
    """The agreement's claims issued on or before the day (all, or those of the orders given),
    each with what is outstanding on the day: the sum of its creditor's receivable lines, from
    the kept sums (`summed`) or a few lookups in the covering index
    ix_ledger_lines_claim_sums."""
    if summed:
        outstanding, params = _FROM_KEPT, [day, day, agreement, day]
    else:
        outstanding, params = _FROM_LINES, [*RECEIVABLES, day, agreement, day]
    if order_ids is None:
        return _raw(session, _CLAIMS.format(outstanding=outstanding, hint=""), params,
                    heavy=True)
    # by order (SQLite, without statistics, would rather scan the agreement's claims)
    sql = _CLAIMS.format(outstanding=outstanding,
                         hint="" if _pg(session) else " INDEXED BY ix_claims_order_id")
    return [r for chunk in _chunks(order_ids)
            for r in _raw(session, f"{sql} AND {_in('c.order_id', len(chunk))}",
                          params + chunk, heavy=True)]


def _build(session: Session, agreement: str, as_of: dt.date, pair: list[str], w: int, *,
           ids: Iterable[int] | None = None,
           ranges: list[tuple[dt.date, dt.date]] | None = None) -> dict[Key, Bucket]:
    """The buckets of the orders given (ids), or of every order (of the month ranges), with
    their leaves: each bucket whole only if every one of its orders is given."""
    day = as_of.isoformat()
    pg = _pg(session)
    ids = None if ids is None else set(ids)
    few = ids is not None and len(ids) <= BY_ID
    summed = sums_kept(session)
    inline = not summed and (few or not pg)  # the sums by order, in the orders' statement
    rows = _orders(session, agreement, day, pair, ids=ids, ranges=ranges,
                   sums_upto=w if inline else None)
    orders = {r[0]: (r[1], r[2], (r[3], bucket_of(r[1]))) for r in rows}
    claims = _claims(session, agreement, day, list(orders) if few else None, summed)
    if summed:
        texts = _kept_sums(session, agreement, day, w, pair, orders, few,
                           ranges if ids is None else
                           _ranges({key[0] for _, _, key in orders.values()}))
    elif inline:
        texts = {r[0]: _canonical(r[4], pg) for r in rows if r[4]}
    else:
        texts = _amounts(session, agreement, as_of, w, ranges if ids is None else
                         _ranges({key[0] for _, _, key in orders.values()}))
    groups: dict[Key, tuple[list[int], list[OrderLeaf], list[list[Any]]]] = {}
    for oid, (number, state, key) in orders.items():
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], [], [])
        group[0].append(oid)
        group[1].append((number, state, texts.get(oid, "")))
    for (_, number, oid, state, method, currency, amount, quantity, unit, commodity,
         outstanding) in claims:
        order = orders.get(oid)
        if order is not None:
            groups[order[2]][2].append([number, order[0], state, method, currency, int(amount),
                                        quantity, unit, commodity, int(outstanding)])
    out: dict[Key, Bucket] = {}
    for key, (members, os_, cs) in groups.items():
        amounts, states, claims_ = month_digests(os_, cs)
        out[key] = Bucket(bucket_root(amounts, states, claims_, len(os_), len(cs)), len(os_),
                          len(cs), sorted(members), (os_, cs))
    return out


# --- the cache ---------------------------------------------------------------------------------
def _dated_between(session: Session, agreement: str, low: dt.date, high: dt.date) -> set[int]:
    """Orders whose leaves as of `low` and as of `high` may differ: dated in (low, high]
    (entering or leaving the book), with a claim issued then, or with lines posted then (their
    amounts, their claims' outstanding sums). Each through an index, the lines' without reading
    the table: the agreement's in ix_ledger_lines_entry_sums, the receivables' in
    ix_ledger_lines_claim_sums."""
    lo, hi = low.isoformat(), high.isoformat()
    out = {r[0] for r in _raw(session, "SELECT id FROM orders WHERE agreement_code = ? "
                              "AND order_on > ? AND order_on <= ?", [agreement, lo, hi])}
    out |= {r[0] for r in _raw(session, "SELECT order_id FROM claims WHERE agreement_code = ? "
                               "AND issued_on > ? AND issued_on <= ?", [agreement, lo, hi])}
    out |= {r[0] for r in _raw(session, (
        "SELECT DISTINCT e.order_id FROM ledger_entries e WHERE e.order_id IS NOT NULL AND "
        "e.id IN (SELECT entry_id FROM ledger_lines WHERE agreement_code = ? "
        "AND posted_on > ? AND posted_on <= ?)"), [agreement, lo, hi])}
    out |= {r[0] for r in _raw(session, (
        "SELECT DISTINCT c.order_id FROM claims c WHERE c.id IN (SELECT claim_id FROM "
        "ledger_lines WHERE account IN (?, ?, ?) AND posted_on > ? AND posted_on <= ?)"),
        [*RECEIVABLES, lo, hi])}
    return out


def _changes(session: Session, cached: dict[str, Any], pair: list[str], day: str, top: int,
             total: int, log: tuple[int, int]) -> set[int] | None:
    """The orders that may have changed since the cached summary, or None if the cache cannot
    be trusted. The ledger is append-only (UPDATE and DELETE are refused by triggers): if the
    lines with an id up to the cached watermark are as many as then, they are the same lines,
    and what came since is above it (on PostgreSQL a line with a lower id may commit later:
    the count sees it). The change log is append-only too but for pruning, which counts what
    it deletes: the same check holds with that count added back."""
    if cached.get("pair") != pair:
        return None
    w, n = int(cached["w"]), int(cached["n"])
    if w > top or (total if w == top else _lines_upto(session, w, total)) != n:
        return None
    cw = int(cached["cw"])
    log_top, log_rows = log
    upto = log_rows if cw >= log_top else digests.count_upto(session, cw)
    if upto + digests.pruned(session) - int(cached["p"]) != int(cached["cn"]):
        return None
    touched = digests.since(session, cw) if log_top > cw else set()
    if digests.EVERYTHING in touched:  # a TRUNCATE
        return None
    if top > w:
        touched |= _ledger_touched(session, w, day)
    return touched


def _update(session: Session, agreement: str, as_of: dt.date, pair: list[str], w: int,
            cached: dict[str, list[Any]], touched: set[int], scope: set[str] | None,
            keys: list[str] | None) -> tuple[dict[Key, Bucket], int] | None:
    """The cached buckets (of the months in scope), with those of the touched orders (where
    the cache had them and where they are now) and those whose leaves are asked for computed
    again from their members; and how many were. None if what is read contradicts the
    cache (then everything is computed)."""
    old: dict[Key, Bucket] = {}
    where: dict[int, Key] = {}
    for k, (root, n_orders, n_claims, members) in cached.items():
        key = (k[:7], k[8:])
        old[key] = Bucket(root, n_orders, n_claims, members)
    if touched:
        for key, b in old.items():
            for oid in b.members:
                if oid in touched:
                    where[oid] = key
    now = {oid: (m, bucket_of(number)) for oid, number, _, m
           in _orders(session, agreement, as_of.isoformat(), pair, ids=touched)}
    stale = set(where.values()) | set(now.values())
    redo = {k for k in stale if scope is None or k[0] in scope}
    for k in keys or ():
        m, _, b = k.partition("/")
        redo |= {(m, b)} if b else {x for x in set(old) | stale if x[0] == m}
    members: dict[Key, set[int]] = {}
    for key in redo:
        ids = set(old[key].members) - touched if key in old else set()
        members[key] = ids | {oid for oid, at in now.items() if at == key}
    built = _build(session, agreement, as_of, pair, w,
                   ids=[oid for ids in members.values() for oid in ids])
    if any(sorted(ids) != (built[key].members if key in built else [])
           for key, ids in members.items()) or not set(built) <= set(members):
        return None
    out = {key: b for key, b in old.items() if key not in redo
           and (scope is None or key[0] in scope)}
    out.update(built)
    return out, len(redo)


# --- our book ------------------------------------------------------------------------------
@dataclass
class Book:
    """Our book for one agreement as of a date, computed: what `summary` ships parts of."""

    agreement: str
    as_of: dt.date
    parties: list[str]
    party: str | None
    months: dict[str, dict[str, Bucket]]  # month -> bucket -> Bucket
    loaded: set[str]  # months and "month/bucket"s whose leaves are complete
    cache: str = "off"  # off, miss, or hit with how many buckets were recomputed
    current: bool = False  # the cache now holds this summary (written now, or already there)

    def buckets(self, m: str) -> dict[str, tuple[str, int, int]]:
        return {b: (x.root, x.orders, x.claims) for b, x in sorted(self.months[m].items())}

    def month(self, m: str) -> dict[str, Any]:
        buckets = self.buckets(m)
        n_orders = sum(x[1] for x in buckets.values())
        n_claims = sum(x[2] for x in buckets.values())
        return {"root": month_root(buckets, n_orders, n_claims), "orders": n_orders,
                "claims": n_claims, "buckets": {b: {"root": r, "orders": o, "claims": c}
                                                for b, (r, o, c) in buckets.items()}}

    @property
    def roots(self) -> dict[str, str]:
        return {m: self.month(m)["root"] for m in sorted(self.months)}

    @property
    def root(self) -> str:
        return book_root(self.agreement, self.as_of.isoformat(), self.parties, self.roots)

    def summary(self, months: Iterable[str] | None = None) -> dict[str, Any]:
        """Roots only (`months=None`): the book's root and every month's root, counts and
        bucket roots. With `months`: the entries of those months and the leaves of each month
        ("YYYY-MM") or bucket ("YYYY-MM/bb") given."""
        head: dict[str, Any] = {"format": FORMAT, "agreement": self.agreement,
                                "as_of": self.as_of.isoformat(), "parties": self.parties,
                                "party": self.party}
        if months is None:
            entries = {m: self.month(m) for m in sorted(self.months)}
            return {**head, "root": book_root(self.agreement, self.as_of.isoformat(),
                                              self.parties,
                                              {m: e["root"] for m, e in entries.items()}),
                    "months": entries}
        wanted = sorted(k for k in {check_key(k) for k in months} if k[:7] in self.months)
        missing = [k for k in wanted if k not in self.loaded and k[:7] not in self.loaded]
        if missing:
            raise ValueError(f"leaves of {', '.join(missing)} were not computed")
        return {**head, "months": {m: self.month(m) for m in sorted({k[:7] for k in wanted})},
                "leaves": {k: leaves_of(self.months[k[:7]], k[8:] or None) for k in wanted}}


def leaves_of(month: dict[str, Bucket], bucket: str | None = None) -> dict[str, Any]:
    """A month's leaves, or those of one of its buckets (computed, not cached)."""
    orders: list[OrderLeaf] = []
    claims: list[list[Any]] = []
    for b, x in month.items():
        if bucket is None or b == bucket:
            if x.leaves is None:
                raise ValueError(f"the leaves of bucket {b} were not computed")
            orders += x.leaves[0]
            claims += x.leaves[1]
    return {"orders": {n: {"state": s, "amounts": parse_amounts(t)}
                       for n, s, t in sorted(orders)},
            "claims": {c[0]: dict(zip(CLAIM_FIELDS, c[1:], strict=True))
                       for c in sorted(claims, key=itemgetter(0))}}


def _raw(session: Session, sql: str, params: Sequence[Any], *, heavy: bool = False
         ) -> list[tuple[Any, ...]]:
    """Rows as plain tuples straight from the driver (no result processing): `?` marks the
    parameters; dates are passed as ISO text, which both backends compare as dates.

    `heavy`: a statement that does much work per row (a correlated subquery). SQLite's driver
    lets go of the GIL for each row it steps to and must take it back to hand the row over;
    while another thread runs Python (the partner's summary computed beside ours) every row
    would wait for it (six times slower, measured), so on SQLite the rows are computed first,
    in one step, into a materialized CTE (SQLite 3.35 and later), and only then handed over."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    elif heavy and sqlite3.sqlite_version_info >= (3, 35):
        sql = f"WITH rows_ AS MATERIALIZED ({sql}) SELECT * FROM rows_"
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, tuple(params))
        return list(cur.fetchall())
    finally:
        cur.close()


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def compute(session: Session, *, agreement: str, as_of: dt.date, party_pair: Sequence[str],
            months: Iterable[str] | None = None, use_cache: bool = True) -> Book:
    """Our book for the agreement as of the date: every month, or only `months` (months
    "YYYY-MM" or buckets "YYYY-MM/bb" whose leaves are wanted: their months' entries are
    given, and the cache, when valid, gives the other buckets of those months; it is written
    only by a summary of every month). The cache is used only on a database with the change
    log of migration 0012, and on PostgreSQL only in a REPEATABLE READ transaction
    (`repeatable_read(session)` first)."""
    pair = _pair(session, agreement, party_pair)
    if use_cache and _pg(session) and not _one_snapshot(session):
        use_cache = False  # the cache's proof needs every statement to see the same data
    with gcpause.paused():
        return _compute(session, agreement, as_of, pair, months, use_cache)


clear_cache = digests.clear


def repeatable_read(session: Session) -> None:
    """Start the session's transaction as REPEATABLE READ on PostgreSQL (call it before any
    query of the transaction): the summary then reads one snapshot and may use its cache."""
    if _pg(session):
        session.connection().exec_driver_sql(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _one_snapshot(session: Session) -> bool:
    """On PostgreSQL: whether this transaction is REPEATABLE READ (or SERIALIZABLE), so that
    every statement of the summary reads one snapshot."""
    level = _raw(session, "SELECT current_setting('transaction_isolation')", [])[0][0]
    return level in ("repeatable read", "serializable")


def _compute(session: Session, agreement: str, as_of: dt.date, pair: list[str],
             months: Iterable[str] | None, use_cache: bool) -> Book:
    from acsa.sync.node import own_party

    keys = None if months is None else sorted({check_key(k) for k in months})
    scope = None if keys is None else {k[:7] for k in keys}
    top = int(_raw(session, "SELECT coalesce(max(id), 0) FROM ledger_lines", [])[0][0])
    total = _lines(session)
    if use_cache and not digests.installed(session):
        # the log's triggers are gone (or disabled): what changes now is logged nowhere, so no
        # summary cached before may be trusted again, even once they are back
        use_cache = False
        with contextlib.suppress(sa_exc.OperationalError, sa_exc.InternalError), \
                session.begin_nested():
            digests.clear(session)
    key = digests.key_for(agreement, as_of)
    cached, since = (digests.nearest(session, agreement, as_of) if use_cache
                     else (None, as_of))
    log = digests.head(session) if use_cache else (0, 0)
    found: tuple[dict[Key, Bucket], int] | None = None
    if cached is not None:
        touched = _changes(session, cached, pair, as_of.isoformat(), top, total, log)
        if touched is not None and since != as_of:
            touched |= _dated_between(session, agreement, min(since, as_of),
                                      max(since, as_of))
        if touched is not None:
            found = _update(session, agreement, as_of, pair, top, cached["buckets"], touched,
                            scope, keys)
    if found is not None:
        buckets, redone = found
        state = (f"hit{'' if since == as_of else ' (from ' + since.isoformat() + ')'}: "
                 f"{redone} of {len(buckets)} buckets recomputed")
    else:
        buckets = _build(session, agreement, as_of, pair, top,
                         ranges=None if scope is None else _ranges(scope))
        state = "miss" if use_cache else "off"
    result: dict[str, dict[str, Bucket]] = defaultdict(dict)
    for (m, b), x in sorted(buckets.items()):
        result[m][b] = x
    loaded = {m for m, bs in result.items() if all(x.leaves is not None for x in bs.values())}
    loaded |= {f"{m}/{b}" for (m, b), x in buckets.items() if x.leaves is not None}
    loaded |= {k for k in keys or () if "/" in k and k[:7] in result}  # empty buckets too
    # the log's position never goes back (pruned to nothing, its highest id is 0): a row that
    # appears below it later is caught by the count, not taken for a change seen
    cw = max(log[0], int(cached["cw"])) if found is not None and cached is not None else log[0]
    position = (top, total, cw, log[1], digests.pruned(session))
    current = use_cache and keys is None
    if current and (
            found is None or found[1] or since != as_of or cached is None
            or position != tuple(int(cached[x]) for x in ("w", "n", "cw", "cn", "p"))):
        current = digests.write(session, agreement, key, {
            "v": digests.CACHE_VERSION, "pair": pair, "w": top, "n": total, "cw": cw,
            "cn": log[1], "p": position[4],
            "buckets": {f"{m}/{b}": [x.root, x.orders, x.claims, x.members]
                        for (m, b), x in sorted(buckets.items())}})
    return Book(agreement, as_of, pair, own_party(session), dict(result), loaded, state,
                current)


_PREPARING: set[str] = set()  # partners whose summaries `prepare` is computing now
_PREPARING_LOCK = threading.Lock()


def prepare(engine: Engine, *, partner: str, as_of: dt.date, agreement: str | None = None
            ) -> list[str]:
    """Compute and cache our book of every agreement between this node's party and `partner`
    (or of `agreement` only) as of the date, each in a unit of work of its own, so that the
    next reconciliation, ours or the partner's asking for our summary, starts from the cache
    instead of reading every order, claim and ledger line (`acsa sync import` and `pull`, and
    a bundle pushed to `acsa serve`, call it for the sender once its events are applied;
    `acsa reconcile --prepare` calls it by hand, say after `acsa db upgrade`). Cheap when a
    summary is cached already: only the buckets changed since are recomputed.

    Each computation reads in a read-only unit of work, so it holds no write lock while it
    reads (on SQLite, writers are not kept waiting), and writes the cache at the end, best
    effort: a database busy with another writer by then keeps the old cache (see
    `digests.write`). A computation for a partner that is already running in this process is
    not started again (a server answering pushes in quick succession). The agreements whose
    summary as of the date is now in the cache."""
    from acsa.db.engine import unit_of_work
    from acsa.sync.node import require_party

    partner = partner.upper()
    with unit_of_work(engine, read_only=True) as s:
        ours = require_party(s)
        codes = [a.code for _, a in agreements.list_agreements(s)
                 if set(a.parties) == {ours, partner} and ours != partner
                 and agreement in (None, a.code)]
    with _PREPARING_LOCK:
        if partner in _PREPARING:
            return []
        _PREPARING.add(partner)
    try:
        done = []
        for code in codes:
            with unit_of_work(engine, read_only=True) as s:
                repeatable_read(s)
                if compute(s, agreement=code, as_of=as_of, party_pair=(ours, partner)).current:
                    done.append(code)
        return done
    finally:
        with _PREPARING_LOCK:
            _PREPARING.discard(partner)


def prepare_partners(engine: Engine, *, as_of: dt.date) -> dict[str, list[str]]:
    """`prepare` for every partner whose node key is registered here (active): partner ->
    the agreements whose summary is now cached. Nothing on a database that is no party's
    node. Run by `acsa db upgrade`, so that a node upgraded to a release that caches summaries
    (or changes the cache's version) starts warm instead of at the first reconciliation."""
    from sqlalchemy import select

    from acsa.db.engine import unit_of_work
    from acsa.sync import keys
    from acsa.sync.models import NodeKey
    from acsa.sync.node import own_party

    with unit_of_work(engine, read_only=True) as s:
        ours = own_party(s)
        partners = sorted(set(s.scalars(select(NodeKey.party).where(
            NodeKey.own.is_(False), NodeKey.official_code.is_(None),
            NodeKey.status == keys.ACTIVE)))) if ours else []
    return {p: prepare(engine, partner=p, as_of=as_of) for p in partners if p != ours}


def summary(session: Session, *, agreement: str, as_of: dt.date, party_pair: Sequence[str],
            months: Iterable[str] | None = None, use_cache: bool = True) -> dict[str, Any]:
    """Our book's summary for the agreement as of the date, in the exchanged form: roots only
    (`months=None`: the book's root, and per month its root, counts and bucket roots), or the
    entries of the months given with the leaves of each month ("YYYY-MM") or bucket
    ("YYYY-MM/bb") given."""
    months = None if months is None else list(months)
    book = compute(session, agreement=agreement, as_of=as_of, party_pair=party_pair,
                   months=months, use_cache=use_cache)
    with gcpause.paused():
        return book.summary(months)


def export_summary(session: Session, *, agreement: str, as_of: dt.date,
                   party_pair: Sequence[str], months: Iterable[str] | None = None,
                   roots_only: bool = False) -> dict[str, Any]:
    """The summary for a file: the roots of every month and the leaves of every month (or of
    `months`, or none with `roots_only`), for a partner that cannot ask again."""
    book = compute(session, agreement=agreement, as_of=as_of, party_pair=party_pair,
                   use_cache=False)
    with gcpause.paused():
        doc = book.summary()
        if not roots_only:
            wanted = list(book.months) if months is None else list(months)
            doc["leaves"] = book.summary(wanted)["leaves"]
    return doc


# --- signing the exchanged form --------------------------------------------------------------
def sign(session: Session, doc: dict[str, Any], passphrase: str | None = None
         ) -> dict[str, Any]:
    """The summary signed by our node key over its canonical JSON (without key and sig)."""
    from acsa.db.base import utcnow
    from acsa.sync import keys

    signer = keys.node_signer(session, passphrase)
    body = {k: v for k, v in doc.items() if k not in ("key", "sig")}
    body["signed_at"] = utcnow().isoformat()
    body["party"] = signer.party
    return {**body, "key": signer.fingerprint,
            "sig": signer.sign(canonical_json(body).encode("utf-8"))}


def verify(session: Session, doc: Any, *, party: str, agreement: str | None = None,
           to: str | None = None) -> dict[str, Any]:
    """A partner's signed summary, checked: its form, that it is `party`'s, signed by a key
    registered for `party` (and the agreement), and that the signature verifies. A changed
    byte anywhere is refused."""
    from acsa.sync import keys

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise errors.BundleInvalid(f"not a reconciliation summary ({FORMAT})")
    for name in ("key", "sig", "party", "agreement", "as_of", "months"):
        if name not in doc:
            raise errors.BundleInvalid(f"the summary has no {name!r}")
    if str(doc["party"]).upper() != party.upper():
        raise errors.NotOwner(f"the summary is {doc['party']}'s, not {party.upper()}'s")
    if to and doc.get("to") and str(doc["to"]).upper() != to.upper():
        raise errors.BundleNotForUs(f"the summary is for {doc['to']}, not {to.upper()}")
    if agreement and doc["agreement"] != agreement:
        raise errors.InvalidInput(f"the summary is of agreement {doc['agreement']}, not "
                                  f"{agreement}", field="agreement")
    body = {k: v for k, v in doc.items() if k not in ("key", "sig")}
    row = keys.key_for(session, party=party.upper(), fp=str(doc["key"]),
                       signed_at=str(doc.get("signed_at") or "") or None,
                       agreement=str(doc["agreement"]))
    if row.own or row.official_code is not None:
        raise errors.UnknownKey("the summary is not signed with the partner's node key")
    keys.verify(row.public_key, canonical_json(body).encode("utf-8"), str(doc["sig"]),
                f"{party.upper()}'s reconciliation summary")
    return body


def loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as e:
        raise errors.BundleInvalid(f"the summary is not JSON: {e}") from None


# --- the comparison --------------------------------------------------------------------------
KINDS = ("amount", "quantity", "state", "detail", "only_ours", "only_theirs")
KIND_TEXT = {"amount": "amount different", "quantity": "quantity different",
             "state": "state different", "detail": "details different",
             "only_ours": "only in our book", "only_theirs": "only in theirs"}


@dataclass
class Difference:
    month: str
    subject: str  # order, claim
    number: str
    kind: str  # one of KINDS
    field: str  # what differs: state, amount, quantity, outstanding, "PH assets:cash PHP" ...
    ours: str
    theirs: str

    def to_dict(self) -> dict[str, str]:
        return {"month": self.month, "subject": self.subject, "number": self.number,
                "kind": self.kind, "field": self.field, "ours": self.ours,
                "theirs": self.theirs}


@dataclass
class Report:
    agreement: str
    as_of: str
    parties: list[str]
    ours: str | None
    theirs: str | None
    our_root: str
    their_root: str
    months: int = 0
    months_differing: list[str] = field(default_factory=list)
    orders: int = 0  # orders compared (the larger side per month)
    claims: int = 0
    matched_orders: int = 0
    matched_claims: int = 0
    differences: list[Difference] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # differing months without leaves
    leaves_requested: list[str] = field(default_factory=list)  # differing months
    requested: list[str] = field(default_factory=list)  # the months and buckets asked for
    notes: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.differences and not self.unresolved and not self.months_differing

    def items(self) -> dict[tuple[str, str], set[str]]:
        """(subject, number) -> the kinds of difference found for it."""
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for d in self.differences:
            out[(d.subject, d.number)].add(d.kind)
        return dict(out)

    def to_dict(self) -> dict[str, Any]:
        return {"agreement": self.agreement, "as_of": self.as_of, "parties": self.parties,
                "ours": self.ours, "theirs": self.theirs, "agrees": self.agrees,
                "our_root": self.our_root, "their_root": self.their_root,
                "months": self.months, "months_differing": self.months_differing,
                "orders": self.orders, "claims": self.claims,
                "matched_orders": self.matched_orders, "matched_claims": self.matched_claims,
                "differences": [d.to_dict() for d in self.differences],
                "unresolved_months": self.unresolved,
                "leaves_requested": self.leaves_requested, "requested": self.requested,
                "notes": self.notes}


def differing_months(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The months whose roots differ or that only one side has (none if the roots agree)."""
    if ours.get("root") and ours.get("root") == theirs.get("root"):
        return []
    a, b = ours.get("months", {}), theirs.get("months", {})
    return sorted(m for m in set(a) | set(b)
                  if m not in a or m not in b or a[m]["root"] != b[m]["root"])


def check_leaves(doc: dict[str, Any], who: str) -> None:
    """Each month's root is the hash of its buckets' roots, and the leaves of each month or
    bucket hash to the root the same summary gives for it."""
    months = doc.get("months") or {}
    for m, entry in months.items():
        if "buckets" in entry and month_root(
                {b: (e["root"], e["orders"], e["claims"]) for b, e in entry["buckets"].items()},
                entry["orders"], entry["claims"]) != entry.get("root"):
            raise errors.IntegrityError(f"{who} root of {m} is not the hash of its buckets: "
                                        f"the summary is inconsistent")
    for k, leaves in (doc.get("leaves") or {}).items():
        m, _, b = k.partition("/")
        entry = months.get(m, {})
        if not b:
            ok = entry.get("root") is not None and root_of_leaves(leaves) == entry["root"]
        else:
            roots = bucket_roots_of_leaves(leaves)
            given = (entry.get("buckets") or {}).get(b)
            ok = set(roots) <= {b} and (
                roots.get(b, (None,))[0] == given["root"] if given else not roots)
        if not ok:
            raise errors.IntegrityError(f"{who} leaves of {k} do not hash to {who} root of "
                                        f"the {'bucket' if b else 'month'}: the summary is "
                                        f"inconsistent")


def bucket_roots_of_leaves(leaves: dict[str, Any]) -> dict[str, tuple[str, int, int]]:
    """bucket -> (root, #orders, #claims) of leaves (a month's, or part of one); a claim is in
    its order's bucket."""
    parts: dict[str, tuple[list[Any], list[Any]]] = defaultdict(lambda: ([], []))
    for n, o in leaves.get("orders", {}).items():
        parts[bucket_of(n)][0].append((n, o["state"], amounts_text(o["amounts"])))
    for n, c in leaves.get("claims", {}).items():
        parts[bucket_of(str(c["order"]))][1].append([n, *(c[f] for f in CLAIM_FIELDS)])
    return {b: (bucket_root(*month_digests(os_, cs), len(os_), len(cs)), len(os_), len(cs))
            for b, (os_, cs) in parts.items()}


def root_of_leaves(leaves: dict[str, Any]) -> str:
    """The root of a month from all its leaves."""
    return month_root(bucket_roots_of_leaves(leaves), len(leaves.get("orders", {})),
                      len(leaves.get("claims", {})))


def _bucket_entries(doc: dict[str, Any], m: str) -> dict[str, Any]:
    return ((doc.get("months") or {}).get(m) or {}).get("buckets") or {}


def differing_buckets(ours: dict[str, Any], theirs: dict[str, Any], m: str) -> list[str]:
    """The buckets of a month whose roots differ or that only one side has."""
    a, b = _bucket_entries(ours, m), _bucket_entries(theirs, m)
    return sorted(x for x in set(a) | set(b)
                  if x not in a or x not in b or a[x]["root"] != b[x]["root"])


def _leaves_in(doc: dict[str, Any], m: str, buckets: set[str]) -> dict[str, Any] | None:
    """The doc's leaves of the month's given buckets, from its leaves of the month or of each
    bucket; None if some are missing (empty for a month or bucket the side does not have)."""
    leaves = doc.get("leaves") or {}
    if m not in (doc.get("months") or {}):
        return {"orders": {}, "claims": {}}
    if m in leaves:
        whole = leaves[m]
        return {"orders": {n: o for n, o in whole["orders"].items()
                           if bucket_of(n) in buckets},
                "claims": {n: c for n, c in whole["claims"].items()
                           if bucket_of(str(c["order"])) in buckets}}
    have = _bucket_entries(doc, m)
    out: dict[str, Any] = {"orders": {}, "claims": {}}
    for b in buckets:
        if b not in have:
            continue
        part = leaves.get(f"{m}/{b}")
        if part is None:
            return None
        out["orders"].update(part["orders"])
        out["claims"].update(part["claims"])
    return out


def _value(commodity: str, amount: int | None) -> str:
    from acsa.ledger.reports import amount_text

    return "-" if amount is None else amount_text(commodity, int(amount))


def _amount_kind(commodity: str) -> str:
    return "amount" if books.is_currency(commodity) else "quantity"


def _compare_order(m: str, number: str, a: dict[str, Any], b: dict[str, Any]
                   ) -> list[Difference]:
    out = []
    if a["state"] != b["state"]:
        out.append(Difference(m, "order", number, "state", "state", a["state"], b["state"]))
    sa = {(x[0], x[1], x[2]): int(x[3]) for x in a["amounts"]}
    sb = {(x[0], x[1], x[2]): int(x[3]) for x in b["amounts"]}
    for key in sorted(set(sa) | set(sb)):
        va, vb = sa.get(key), sb.get(key)
        if va != vb:
            book, account, commodity = key
            out.append(Difference(m, "order", number, _amount_kind(commodity),
                                  f"{book} {account}", _value(commodity, va),
                                  _value(commodity, vb)))
    return out


def _compare_claim(m: str, number: str, a: dict[str, Any], b: dict[str, Any]
                   ) -> list[Difference]:
    out = []
    if a["state"] != b["state"]:
        out.append(Difference(m, "claim", number, "state", "state", a["state"], b["state"]))
    if a["amount"] != b["amount"]:
        out.append(Difference(m, "claim", number, "amount", "amount",
                              _value(a["currency"], a["amount"]),
                              _value(b["currency"], b["amount"])))
    if a["quantity"] != b["quantity"]:
        out.append(Difference(m, "claim", number, "quantity", "quantity",
                              f"{a['quantity']} {a['unit'] or ''}".strip(),
                              f"{b['quantity']} {b['unit'] or ''}".strip()))
    if a["outstanding"] != b["outstanding"]:
        out.append(Difference(m, "claim", number, _amount_kind(a["commodity"]), "outstanding",
                              _value(a["commodity"], a["outstanding"]),
                              _value(b["commodity"], b["outstanding"])))
    for name in ("order", "method", "currency", "unit", "commodity"):
        if a[name] != b[name]:
            out.append(Difference(m, "claim", number, "detail", name, str(a[name]),
                                  str(b[name])))
    return out


def _describe_order(o: dict[str, Any]) -> str:
    return o["state"]


def _describe_claim(c: dict[str, Any]) -> str:
    left = _value(c["commodity"], c["outstanding"])
    return f"{c['state']}, {_value(c['currency'], c['amount'])}, outstanding {left}"


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> Report:
    """Our summary against theirs: roots first (equal roots: every order and claim matched,
    no leaf looked at); then, only for the months whose roots differ, leaf by leaf. A differing
    month without leaves on a side that has it is reported as unresolved."""
    with gcpause.paused():
        return _compare(ours, theirs)


def _compare(ours: dict[str, Any], theirs: dict[str, Any]) -> Report:
    for name in ("format", "agreement", "as_of"):
        if ours.get(name) != theirs.get(name):
            raise errors.InvalidInput(f"the two summaries differ in {name}: "
                                      f"{ours.get(name)} and {theirs.get(name)}", field=name)
    if sorted(ours["parties"]) != sorted(theirs["parties"]):
        raise errors.InvalidInput("the two summaries are of different parties")
    check_leaves(ours, "our")
    check_leaves(theirs, "their")
    a_months, b_months = ours.get("months", {}), theirs.get("months", {})
    report = Report(ours["agreement"], ours["as_of"], list(ours["parties"]), ours.get("party"),
                    theirs.get("party"), ours.get("root", ""), theirs.get("root", ""),
                    months=len(set(a_months) | set(b_months)))
    differing = differing_months(ours, theirs)
    report.months_differing = differing
    for m in sorted(set(a_months) | set(b_months)):
        if m in differing:
            continue
        report.matched_orders += a_months[m]["orders"]
        report.matched_claims += a_months[m]["claims"]
    report.orders, report.claims = report.matched_orders, report.matched_claims
    for m in differing:
        buckets = differing_buckets(ours, theirs, m)
        la = _leaves_in(ours, m, set(buckets))
        lb = _leaves_in(theirs, m, set(buckets))
        if la is None or lb is None:
            report.unresolved.append(m)
            continue
        same = _bucket_entries(ours, m)
        for x in set(same) - set(buckets):  # equal buckets: every leaf matched by the root
            report.orders += same[x]["orders"]
            report.claims += same[x]["claims"]
            report.matched_orders += same[x]["orders"]
            report.matched_claims += same[x]["claims"]
        for subject, cmp, describe in (("order", _compare_order, _describe_order),
                                       ("claim", _compare_claim, _describe_claim)):
            xa, xb = la[f"{subject}s"], lb[f"{subject}s"]
            for number in sorted(set(xa) | set(xb)):
                if subject == "order":
                    report.orders += 1
                else:
                    report.claims += 1
                if number not in xb:
                    report.differences.append(Difference(m, subject, number, "only_ours", "",
                                                         describe(xa[number]), "-"))
                elif number not in xa:
                    report.differences.append(Difference(m, subject, number, "only_theirs",
                                                         "", "-", describe(xb[number])))
                else:
                    one, other = xa[number], xb[number]
                    found = [] if one == other else cmp(m, number, one, other)
                    report.differences.extend(found)
                    if not found:
                        if subject == "order":
                            report.matched_orders += 1
                        else:
                            report.matched_claims += 1
    return report


Fetch = Callable[[list[str] | None], dict[str, Any]]


def _both(ours: Fetch, theirs: Fetch, months: list[str] | None, parallel: bool
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    if not parallel:
        return ours(months), theirs(months)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # the partner computes while we do
        pending = pool.submit(theirs, months)
        a = ours(months)
        return a, pending.result()


def wanted_leaves(ours: dict[str, Any], theirs: dict[str, Any], differing: list[str]
                  ) -> list[str]:
    """What to ask both sides for: per differing month, the month whole ("YYYY-MM") when a
    side lacks it or its differing buckets hold at least WHOLE_MONTH of its orders, else only
    those buckets ("YYYY-MM/bb")."""
    out: list[str] = []
    for m in differing:
        a, b = (ours.get("months") or {}).get(m), (theirs.get("months") or {}).get(m)
        buckets = differing_buckets(ours, theirs, m)
        if a is None or b is None or "buckets" not in a or "buckets" not in b:
            out.append(m)
            continue
        ea, eb = a["buckets"], b["buckets"]
        inside = sum(max(ea.get(x, {}).get("orders", 0), eb.get(x, {}).get("orders", 0))
                     for x in buckets)
        if inside >= WHOLE_MONTH * max(a["orders"], b["orders"]):
            out.append(m)
        else:
            out += [f"{m}/{x}" for x in buckets]
    return out


def _holds(doc: dict[str, Any], keys: list[str]) -> bool:
    """Whether a first answer already holds the leaves of every key (a file does)."""
    leaves, months = doc.get("leaves") or {}, doc.get("months") or {}
    for k in keys:
        m, _, b = k.partition("/")
        if not (k in leaves or m in leaves or m not in months
                or (b and b not in (months[m].get("buckets") or {}))):
            return False
    return True


def reconcile(ours: Fetch, theirs: Fetch, *, parallel: bool = False) -> Report:
    """Roots from both sides; if they differ, the leaves of the differing months only (or of
    their differing buckets only, when those hold less than WHOLE_MONTH of a month's orders),
    from both sides; then `compare`. `ours`/`theirs` give a summary: roots for None, or the
    entries of the months and the leaves of the months or buckets given (a side whose first
    answer already holds those leaves, as a file does, is not asked again). `parallel`: ask
    the partner in a thread while ours is computed."""
    a, b = _both(ours, theirs, None, parallel)
    differing = differing_months(a, b)
    if not differing:
        return compare(a, b)
    check_leaves(a, "our")  # the bucket roots that choose what to ask for hash to the months'
    check_leaves(b, "their")
    keys = wanted_leaves(a, b, differing)
    ask_a, ask_b = not _holds(a, keys), not _holds(b, keys)
    if ask_a and ask_b:
        a_leaves, b_leaves = _both(ours, theirs, keys, parallel)
    else:
        a_leaves = ours(keys) if ask_a else a
        b_leaves = theirs(keys) if ask_b else b
    notes = []
    for who, roots, leaves in (("our", a, a_leaves), ("their", b, b_leaves)):
        for m in differing:
            first = roots.get("months", {}).get(m, {}).get("root")
            second = leaves.get("months", {}).get(m, {}).get("root")
            if first != second:
                notes.append(f"{who} book changed in {m} during the reconciliation")
    merged_a = {**a, "months": {**a.get("months", {})}, "leaves": a_leaves.get("leaves") or {}}
    merged_b = {**b, "months": {**b.get("months", {})}, "leaves": b_leaves.get("leaves") or {}}
    for merged, leaves in ((merged_a, a_leaves), (merged_b, b_leaves)):
        merged["months"].update({m: v for m, v in leaves.get("months", {}).items()
                                 if m in differing})
    report = compare(merged_a, merged_b)
    report.leaves_requested = differing
    report.requested = keys
    report.notes += notes
    return report


# --- the report as CSV and PDF ---------------------------------------------------------------
CSV_COLUMNS = ["agreement", "as_of", "month", "subject", "number", "kind", "field", "ours",
               "theirs"]


def report_csv(report: Report) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for d in report.differences:
        w.writerow([report.agreement, report.as_of, d.month, d.subject, d.number, d.kind,
                    d.field, d.ours, d.theirs])
    for m in report.unresolved:
        w.writerow([report.agreement, report.as_of, m, "month", m, "unresolved", "", "", ""])
    return buf.getvalue()


def report_pdf(report: Report) -> bytes:
    """A plain A4 landscape document: the verdict, the figures, the table of differences."""
    import io
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from acsa.documents import fonts

    font = fonts.font_for("en")
    bold = fonts.LATIN_BOLD if font == fonts.LATIN else font
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=15 * mm,
                            rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"Reconciliation {report.agreement} as of {report.as_of}")
    verdict = ("The two books agree." if report.agrees else
               f"The two books differ: {len(report.differences)} differences"
               + (f", {len(report.unresolved)} months unresolved" if report.unresolved else "")
               + ".")
    story: list[Any] = [
        Paragraph(escape(f"Reconciliation of agreement {report.agreement} as of "
                         f"{report.as_of}"), h1),
        Paragraph(escape(f"Our book ({report.ours or '-'}) against {report.theirs or '-'}'s. "
                         f"{verdict}"), body),
        Paragraph(escape(f"Months: {report.months}, differing: "
                         f"{', '.join(report.months_differing) or 'none'}. Orders matched: "
                         f"{report.matched_orders} of {report.orders}; claims matched: "
                         f"{report.matched_claims} of {report.claims}."), body),
        Paragraph(escape(f"Our root {report.our_root}; their root {report.their_root}."), body),
    ]
    story += [Paragraph(escape(n), body) for n in report.notes]
    story.append(Spacer(1, 5 * mm))
    if report.differences or report.unresolved:
        rows = [["Month", "Subject", "Number", "Difference", "Field", "Our book", "Their book"]]
        rows += [[d.month, d.subject, d.number, KIND_TEXT[d.kind], d.field, d.ours, d.theirs]
                 for d in report.differences]
        rows += [[m, "month", m, "leaves not available", "", "", ""] for m in report.unresolved]
        data = [[Paragraph(escape(str(c)), cell) for c in r] for r in rows]
        widths = [16 * mm, 14 * mm, 48 * mm, 30 * mm, 58 * mm, 50 * mm, 50 * mm]
        t = Table(data, colWidths=widths, repeatRows=1)
        t.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dce6f1")),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#8ea9c8")),
            ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(t)
    doc.build(story)
    return buf.getvalue()
