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

import contextlib
import datetime as dt
import gc
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from acsa import errors
from acsa.agreements import service as agreements
from acsa.audit.chain import canonical_json, content_hash
from acsa.ledger import domain as books
from acsa.sync.models import NodeSetting

FORMAT = "acsa-reconcile/2"
US, RS = "\x1f", "\x1e"  # field and record separators of the canonical amounts text
ZERO = f"{US}0"  # a part whose sum is zero
CACHE_PREFIX = "reconcile:"
CACHE_KEEP = 4  # as-of dates cached per agreement
BUCKETS = 64  # per month; a power of two
WHOLE_MONTH = 0.5  # ask a month whole when its differing buckets hold this share of orders
ID_QUERY_SHARE = 0.25  # sums of fewer orders than this share: by order, through the indexes
RECEIVABLES = [books.receivable(m) for m in ("cash", "rik", "eve")]
CLAIM_FIELDS = ("order", "state", "method", "currency", "amount", "quantity", "unit",
                "commodity", "outstanding")


# --- the summary -----------------------------------------------------------------------------
@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Hundreds of thousands of small tuples, lists and strings, none in a cycle: the cyclic
    collector would only run over and over for nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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


def bucket_of(number: str) -> str:
    """The bucket of an order (and of its claims) within its month: the low bits of the first
    byte of SHA-256 of its number, as two hex digits ("00" .. "3f")."""
    return f"{hashlib.sha256(number.encode('utf-8')).digest()[0] & (BUCKETS - 1):02x}"


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


@dataclass
class _Month:
    orders: list[tuple[str, str, str, str]] = field(default_factory=list)
    # number, state, amounts text, bucket
    claims: list[list[Any]] = field(default_factory=list)  # the leaf, then the bucket
    members: list[tuple[int, str]] = field(default_factory=list)  # (order id, number)


def _pair(session: Session, agreement: str, party_pair: Sequence[str]) -> list[str]:
    a = agreements.get(session, agreement)
    pair = sorted(p.upper() for p in party_pair)
    if pair != sorted(a.parties):
        raise errors.InvalidInput(
            f"agreement {agreement} is between {' and '.join(sorted(a.parties))}, "
            f"not {' and '.join(pair)}", field="agreement")
    return pair


def _amounts_sql(pg: bool, month_ranges: int) -> str:
    """Per order: the canonical amounts text of its ledger lines (ids in (?, ?], posted on or
    before the date), and how many lines it was made of. Parameters: US, US, US, RS (PG
    only), agreement, date, low, high, then the month ranges."""
    concat = "string_agg(part, ? ORDER BY part COLLATE \"C\")" if pg else "group_concat(part, ?)"
    months = ""
    if month_ranges:
        months = (" AND e.order_id IN (SELECT id FROM orders WHERE agreement_code = ? AND ("
                  + " OR ".join(["(order_on >= ? AND order_on < ?)"] * month_ranges) + "))")
    return (
        "SELECT order_id, text_, (SELECT count(*) FROM ledger_lines WHERE id <= ?) FROM ("
        f" SELECT order_id, sum(n) AS count_, {concat} AS text_ FROM ("
        "  SELECT e.order_id AS order_id, count(*) AS n,"
        "  l.book || ? || l.account || ? || l.commodity || ? || sum(l.amount) AS part"
        "  FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id"
        "  WHERE l.agreement_code = ? AND l.posted_on <= ? AND l.id > ? AND l.id <= ?"
        f"  AND e.order_id IS NOT NULL{months}"
        "  GROUP BY e.order_id, l.book, l.account, l.commodity"
        " ) parts GROUP BY order_id) sums")


def _canonical(concat: str | None) -> str:
    """The database's concatenation without zero sums, sorted (SQLite does not promise
    group_concat's order)."""
    if not concat:
        return ""
    return RS.join(sorted(p for p in concat.split(RS) if not p.endswith(ZERO)))


def _amounts(session: Session, agreement: str, as_of: dt.date, w: int,
             ranges: list[tuple[dt.date, dt.date]] | None) -> tuple[dict[int, str], int]:
    """order id -> canonical amounts text (lines with id <= w), and how many lines of the
    whole ledger have an id <= w, counted in the same statement (the same snapshot)."""
    pg = _pg(session)
    if ranges is not None and not ranges:
        return {}, _lines_upto(session, w)
    params: list[Any] = [w, RS, US, US, US, agreement, as_of.isoformat(), 0, w]
    if ranges:
        params += [agreement] + [d.isoformat() for span in ranges for d in span]
    out: dict[int, str] = {}
    rows = _raw(session, _amounts_sql(pg, len(ranges or ())), params)
    for order_id, concat, _ in rows:
        out[order_id] = _canonical(concat)
    return out, int(rows[0][2]) if rows else _lines_upto(session, w)


def _amounts_of(session: Session, agreement: str, as_of: dt.date, w: int,
                order_ids: Iterable[int]) -> dict[int, str]:
    """order id -> canonical amounts text (lines with id <= w) of the given orders only, by
    order through ix_ledger_entries_order and ix_ledger_lines_entry_sums (migration 0011): a
    few index lookups per order instead of a scan of the agreement's lines."""
    pg = _pg(session)
    concat = "string_agg(part, ? ORDER BY part COLLATE \"C\")" if pg else "group_concat(part, ?)"
    ids = sorted(set(order_ids))
    out: dict[int, str] = {}
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        sql = (f"SELECT order_id, {concat} FROM ("
               "  SELECT e.order_id AS order_id,"
               "  l.book || ? || l.account || ? || l.commodity || ? || sum(l.amount) AS part"
               "  FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id"
               f"  WHERE e.order_id IN ({', '.join('?' * len(chunk))})"
               "  AND l.agreement_code = ? AND l.posted_on <= ? AND l.id <= ?"
               "  GROUP BY e.order_id, l.book, l.account, l.commodity"
               " ) parts GROUP BY order_id")
        for order_id, concat_ in _raw(session, sql, [RS, US, US, US, *chunk, agreement,
                                                      as_of.isoformat(), w]):
            out[order_id] = _canonical(concat_)
    return out


def _lines_upto(session: Session, w: int, top: int | None = None) -> int:
    """How many ledger lines have an id <= w (`top`: the highest id, when known: then a
    count of every line, which the database answers from its smallest index)."""
    if top is not None and top == w:
        return int(_raw(session, "SELECT count(*) FROM ledger_lines", [])[0][0])
    return int(_raw(session, "SELECT count(*) FROM ledger_lines WHERE id <= ?", [w])[0][0])


def _touched(session: Session, agreement: str, as_of: dt.date, w: int) -> set[int]:
    """Orders with ledger lines newer than the watermark (posted on or before the date)."""
    return {r[0] for r in _raw(session, (
        "SELECT DISTINCT e.order_id FROM ledger_lines l JOIN ledger_entries e "
        "ON e.id = l.entry_id WHERE l.id > ? AND l.agreement_code = ? "
        "AND l.posted_on <= ? AND e.order_id IS NOT NULL"), [w, agreement, as_of.isoformat()])}


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
    return data if isinstance(data, dict) and data.get("v") == 2 else None


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


Digest = tuple[str, str, str, int, int]  # amounts, states, claims, #orders, #claims


@dataclass
class Book:
    """Our book for one agreement as of a date, computed: what `summary` ships parts of."""

    agreement: str
    as_of: dt.date
    parties: list[str]
    party: str | None
    months: dict[str, _Month]
    digests: dict[str, dict[str, Digest]]  # month -> bucket -> digests and counts
    loaded: set[str]  # months and "month/bucket"s whose leaves are complete
    cache: str = "off"  # off, miss, or hit with how many months were recomputed

    def buckets(self, m: str) -> dict[str, tuple[str, int, int]]:
        return {b: (bucket_root(*d), d[3], d[4]) for b, d in sorted(self.digests[m].items())}

    def month(self, m: str) -> dict[str, Any]:
        buckets = self.buckets(m)
        n_orders, n_claims = len(self.months[m].orders), len(self.months[m].claims)
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


def leaves_of(month: _Month, bucket: str | None = None) -> dict[str, Any]:
    """A month's leaves, or those of one of its buckets."""
    return {"orders": {n: {"state": s, "amounts": parse_amounts(t)}
                       for n, s, t, b in sorted(month.orders)
                       if bucket is None or b == bucket},
            "claims": {c[0]: dict(zip(CLAIM_FIELDS, c[1:-1], strict=True))
                       for c in sorted(month.claims, key=itemgetter(0))
                       if bucket is None or c[-1] == bucket}}


def _raw(session: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows as plain tuples straight from the driver (no result processing): `?` marks the
    parameters; dates are passed as ISO text, which both backends compare as dates."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
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
    """Our book for the agreement as of the date: every month, or only `months` (then
    computed from those months' orders alone, and never cached). On PostgreSQL the cache is
    used only in a REPEATABLE READ transaction (`repeatable_read(session)` first)."""
    pair = _pair(session, agreement, party_pair)
    if use_cache and _pg(session) and not _one_snapshot(session):
        use_cache = False  # the cache's proof needs every statement to see the same data
    with _no_gc():
        return _compute(session, agreement, as_of, pair, months, use_cache)


def repeatable_read(session: Session) -> None:
    """Start the session's transaction as REPEATABLE READ on PostgreSQL (call it before any
    query of the transaction): the summary then reads one snapshot and may use its cache."""
    if _pg(session):
        session.connection().exec_driver_sql(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _one_snapshot(session: Session) -> bool:
    """On PostgreSQL: make this transaction REPEATABLE READ (possible before its first query),
    so that every statement of the summary reads one snapshot; False if it cannot be."""
    level = _raw(session, "SELECT current_setting('transaction_isolation')", [])[0][0]
    if level in ("repeatable read", "serializable"):
        return True
    return False


def _compute(session: Session, agreement: str, as_of: dt.date, pair: list[str],
             months: Iterable[str] | None, use_cache: bool) -> Book:
    from acsa.sync.node import own_party

    keys = None if months is None else sorted({check_key(k) for k in months})
    wanted = None if keys is None else sorted({k[:7] for k in keys})
    ranges = None if wanted is None else _ranges(wanted)
    day = as_of.isoformat()
    month_of = "to_char(o.order_on, 'YYYY-MM')" if _pg(session) else "substr(o.order_on, 1, 7)"

    # the orders and claims: always read fresh
    sql = (f"SELECT o.id, o.number, o.state, {month_of} FROM orders o "
           "WHERE o.agreement_code = ? AND o.order_on <= ? AND o.requesting_party IN (?, ?) "
           "AND o.supplying_party IN (?, ?)")
    params: list[Any] = [agreement, day, *pair, *pair]
    if ranges is not None:
        sql += " AND (" + " OR ".join(["(o.order_on >= ? AND o.order_on < ?)"] * len(ranges)
                                      or ["1 = 0"]) + ")"
        params += [d.isoformat() for span in ranges for d in span]
    by_id: dict[int, tuple[str, str, str, str]] = {}  # number, state, month, bucket
    result: dict[str, _Month] = defaultdict(_Month)
    in_bucket: dict[tuple[str, str], list[int]] = defaultdict(list)
    for oid, number, state, m in _raw(session, sql, params):
        b = bucket_of(number)
        by_id[oid] = (number, state, m, b)
        result[m].members.append((oid, number))
        in_bucket[(m, b)].append(oid)

    # in the order of the covering index ix_ledger_lines_claim_sums: no sort, no table reads
    outstanding: dict[int, int] = defaultdict(int)
    for cid, total in _raw(session, (
            "SELECT claim_id, sum(amount) FROM ledger_lines WHERE account IN (?, ?, ?) "
            "AND claim_id IS NOT NULL AND posted_on <= ? GROUP BY account, claim_id"),
            [*RECEIVABLES, day]):
        outstanding[cid] += int(total)
    for (cid, number, oid, state, method, currency, amount, quantity, unit,
         commodity) in _raw(session, (
            "SELECT id, number, order_id, state, method, currency, amount_minor, quantity, "
            "unit, commodity FROM claims WHERE agreement_code = ? AND issued_on <= ?"),
            [agreement, day]):
        order = by_id.get(oid)
        if order is not None:
            result[order[2]].claims.append([number, order[0], state, method, currency,
                                            int(amount), quantity, unit, commodity,
                                            int(outstanding.get(cid, 0)), order[3]])

    # the leaves asked for need their orders' sums
    need: set[tuple[str, str]] = set()
    for k in keys or ():
        m, _, b = k.partition("/")
        need |= {(m, x) for (mm, x) in in_bucket if mm == m} if not b else {(m, b)}

    # the ledger sums: the bulk of the work; per bucket digests cached
    w = int(_raw(session, "SELECT coalesce(max(id), 0) FROM ledger_lines", [])[0][0])
    members = {m: _membership(v.members) for m, v in result.items()}
    key = _cache_key(agreement, as_of)
    cached = _cache_read(session, key) if use_cache else None
    reused: dict[tuple[str, str], str] = {}
    state = "off" if not use_cache else "miss"
    n: int | None = None
    if cached is not None and _lines_upto(session, int(cached["w"]), w) == int(cached["n"]):
        w_old = int(cached["w"])
        stale = {(by_id[o][2], by_id[o][3]) for o in _touched(session, agreement, as_of, w_old)
                 if o in by_id} if w != w_old else set()
        for m, (member, digests) in cached["months"].items():
            if m in result and members[m] == member:
                for b, digest in digests.items():
                    if (m, b) in in_bucket and (m, b) not in stale and (m, b) not in need:
                        reused[(m, b)] = digest
        state = "hit"
    todo = [mb for mb in in_bucket if mb not in reused]  # buckets whose sums are computed
    texts: dict[int, str] = {}
    if len(todo) == len(in_bucket) and state != "hit":
        texts, n = _amounts(session, agreement, as_of, w, ranges)
    elif todo:
        ids = [o for mb in todo for o in in_bucket[mb]]
        if len(ids) < ID_QUERY_SHARE * len(by_id) or len(ids) < 2000:
            texts = _amounts_of(session, agreement, as_of, w, ids)
        else:
            texts, _ = _amounts(session, agreement, as_of, w, _ranges({m for m, _ in todo}))
    if n is None:
        n = _lines_upto(session, w, w)
    if state == "hit":
        state = f"hit: {len({m for m, _ in todo})} of {len(result)} months recomputed"
    for oid, (number, st, m, b) in by_id.items():
        result[m].orders.append((number, st, texts.get(oid, ""), b))

    grouped: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {
        mb: ([], []) for mb in in_bucket}
    for m, month in result.items():
        for o in month.orders:
            grouped[(m, o[3])][0].append(o)
        for c in month.claims:
            grouped[(m, c[-1])][1].append(c[:-1])
    digests: dict[str, dict[str, Digest]] = defaultdict(dict)
    for (m, b), (os_, cs) in sorted(grouped.items()):
        amounts, states, claims = month_digests(os_, cs, skip_amounts=(m, b) in reused)
        digests[m][b] = (reused.get((m, b), amounts), states, claims, len(os_), len(cs))
    loaded = {m for m in result if not any((m, b) in reused for b in digests[m])}
    loaded |= {f"{m}/{b}" for (m, b) in in_bucket if (m, b) not in reused}
    if use_cache and keys is None:
        _cache_write(session, agreement, key, {
            "v": 2, "w": w, "n": n,
            "months": {m: [members[m], {b: d[0] for b, d in sorted(digests[m].items())}]
                       for m in sorted(result)}})
    return Book(agreement, as_of, pair, own_party(session), dict(result), dict(digests), loaded,
                state)


def summary(session: Session, *, agreement: str, as_of: dt.date, party_pair: Sequence[str],
            months: Iterable[str] | None = None, use_cache: bool = True) -> dict[str, Any]:
    """Our book's summary for the agreement as of the date, in the exchanged form: roots only
    (`months=None`: the book's root, and per month its root, counts and bucket roots), or the
    entries of the months given with the leaves of each month ("YYYY-MM") or bucket
    ("YYYY-MM/bb") given."""
    months = None if months is None else list(months)
    book = compute(session, agreement=agreement, as_of=as_of, party_pair=party_pair,
                   months=months, use_cache=use_cache)
    with _no_gc():
        return book.summary(months)


def export_summary(session: Session, *, agreement: str, as_of: dt.date,
                   party_pair: Sequence[str], months: Iterable[str] | None = None,
                   roots_only: bool = False) -> dict[str, Any]:
    """The summary for a file: the roots of every month and the leaves of every month (or of
    `months`, or none with `roots_only`), for a partner that cannot ask again."""
    book = compute(session, agreement=agreement, as_of=as_of, party_pair=party_pair,
                   use_cache=False)
    with _no_gc():
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
    with _no_gc():
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
