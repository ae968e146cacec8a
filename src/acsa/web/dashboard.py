"""The dashboard's figures for one party, each query bounded.

* Orders by state: one aggregate over the party's orders, reused like the balances below.
* What needs my action: orders in one working state (draft, requested, accepted, delivered,
  settled) of the party, through the `state` index: a count and the first few. Those states
  hold work in progress, not the history.
* Claims due: open claims only (the `state` index), due within `SOON_DAYS`, first `LIMIT`.
* Balances, ageing buckets and ceilings: `ledger.reports` as of today, kept in a small cache
  keyed by the heads of the ledger and the audit chain (both primary-key lookups). Every change
  to the books or an order appends to them in its own transaction, so a cached figure is reused
  only while nothing it was computed from can have changed. `reports.balances` of an agreement
  is cached on its own too: the balance chart (`web.charts`) starts from the same figure.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.agreements import service as agreements
from acsa.audit.models import Event
from acsa.ledger import domain as ledger_domain
from acsa.ledger import reports
from acsa.ledger.models import Entry
from acsa.orders.models import Order
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim
from acsa.users.service import Viewer
from acsa.web import error_text, i18n

LIMIT = 5
SOON_DAYS = 30
CLAIMS_SHOWN = 10
# role -> (label key, order state, whose party: "requesting"/"supplying"/"either")
WORK: dict[str, list[tuple[str, str, str]]] = {
    "requesting": [("to_request", "draft", "requesting")],
    "approving": [("to_accept", "requested", "supplying")],
    "supplying": [("to_deliver", "accepted", "supplying")],
    "receiving": [("to_receive", "delivered", "requesting")],
    "finance": [("to_close", "settled", "either")],
}


def _of_party(party: str) -> Any:
    return or_(Order.requesting_party == party, Order.supplying_party == party)


def _count_states(s: Session, party: str) -> dict[str, int]:
    rows = s.execute(select(Order.state, func.count()).where(_of_party(party))
                     .group_by(Order.state))
    return {state: int(n) for state, n in rows}


@dataclass
class WorkItem:
    key: str  # what to do: to_request, to_accept, ..., to_pay, to_collect
    count: int
    orders: list[Order] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


def my_work(s: Session, viewer: Viewer) -> list[WorkItem]:
    party, out = viewer.party, []
    for key, state, whose in WORK.get(viewer.role or "", []):
        cond = _of_party(party) if whose == "either" else (
            Order.requesting_party == party if whose == "requesting"
            else Order.supplying_party == party)
        where = (Order.state == state, cond)
        count = s.scalar(select(func.count()).select_from(Order).where(*where)) or 0
        rows = list(s.scalars(select(Order).where(*where)
                              .order_by(Order.order_on, Order.id).limit(LIMIT)))
        out.append(WorkItem(key, count, orders=rows))
    if viewer.role == "finance":
        for key, cond in (("to_pay", Claim.debtor_party == party),
                          ("to_collect", Claim.creditor_party == party)):
            where = (Claim.state == "open", Claim.method == "cash", cond)
            count = s.scalar(select(func.count()).select_from(Claim).where(*where)) or 0
            rows = list(s.scalars(select(Claim).where(*where)
                                  .order_by(Claim.due_on, Claim.id).limit(LIMIT)))
            out.append(WorkItem(key, count, claims=rows))
    return out


@dataclass
class DueClaim:
    claim: Claim
    order_number: str
    days_left: int
    left: settlement.Outstanding


def claims_due(s: Session, party: str, today: dt.date) -> tuple[list[DueClaim], int]:
    """Open claims of the party (either side) overdue or due within SOON_DAYS, soonest first."""
    where = (Claim.state == "open",
             or_(Claim.creditor_party == party, Claim.debtor_party == party),
             Claim.due_on <= today + dt.timedelta(days=SOON_DAYS))
    count = s.scalar(select(func.count()).select_from(Claim).where(*where)) or 0
    rows = s.execute(select(Claim, Order.number).join(Order, Order.id == Claim.order_id)
                     .where(*where).order_by(Claim.due_on, Claim.id).limit(CLAIMS_SHOWN)).all()
    return [DueClaim(c, n, (c.due_on - today).days, settlement.outstanding(c))
            for c, n in rows], count


@dataclass
class PartnerBalance:
    partner: str
    owed_to_us: list[tuple[str, int, bool]] = field(default_factory=list)  # commodity, units, agree
    we_owe: list[tuple[str, int, bool]] = field(default_factory=list)
    net_to_us: int | None = None  # in the reporting currency: owed to us minus we owe
    to_us: int = 0
    by_us: int = 0
    converted: bool = True  # False: a rate is missing, so the reporting-currency sums are not shown


@dataclass
class AgeingBucket:
    bucket: str  # a name of `ledger.domain.AGEING_BUCKETS`
    to_us: int = 0  # open claims owed to us, in the reporting currency
    by_us: int = 0


@dataclass
class Books:
    currency: str
    partners: list[PartnerBalance]
    rates_used: list[str]
    rate_error: dict[str, str] | None  # why a partner could not be converted, per language
    ceilings: list[reports.CeilingLine]
    # the converted sums above by age from delivery, every bucket (agreements with every
    # rate only)
    ageing: list[AgeingBucket] = field(default_factory=list)
    views: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)  # charts


_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
T = TypeVar("T")
_LOCK = threading.Lock()
CACHE_SIZE = 64


def _heads(s: Session) -> tuple[int, int]:
    return (s.scalar(select(func.max(Entry.id))) or 0, s.scalar(select(func.max(Event.seq))) or 0)


def _cached(s: Session, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()`, reused while the ledger and audit heads of this database are unchanged."""
    full = (str(s.get_bind().url), *key, *_heads(s))
    with _LOCK:
        if full in _CACHE:
            _CACHE.move_to_end(full)
            return _CACHE[full]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        _CACHE[full] = value
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def state_counts(s: Session, party: str) -> dict[str, int]:
    """Orders of the party by state: one aggregate over all its orders, so reused while
    nothing has changed (every transition appends an audit event)."""
    return _cached(s, ("states", party), lambda: _count_states(s, party))


def book_balances(s: Session, agreement: str, as_of: dt.date) -> list[reports.BalanceRow]:
    """`reports.balances` of one agreement as of the date, reused like the figures here."""
    return _cached(s, ("balances", agreement, as_of),
                   lambda: reports.balances(s, as_of=as_of, agreement=agreement))


def books(s: Session, party: str, currency: str, today: dt.date) -> Books:
    return _cached(s, ("books", party, currency, today),
                   lambda: _compute_books(s, party, currency, today))


def _compute_books(s: Session, party: str, currency: str, today: dt.date) -> Books:
    covered = [a for _, a in agreements.list_for_party(s, party)]
    partners: dict[str, PartnerBalance] = {}
    for a in covered:
        for r in book_balances(s, a.code, today):
            if party == r.creditor:
                partners.setdefault(r.debtor, PartnerBalance(r.debtor)).owed_to_us.append(
                    (r.commodity, r.creditor_book, r.agrees))
            elif party == r.debtor:
                partners.setdefault(r.creditor, PartnerBalance(r.creditor)).we_owe.append(
                    (r.commodity, r.debtor_book, r.agrees))
    used: list[str] = []
    failed: list[dict[str, str]] = []  # each refusal in every language
    unconverted: set[str] = set()
    ageing = {name: AgeingBucket(name) for name, _, _ in ledger_domain.AGEING_BUCKETS}
    for a in covered:  # one agreement's missing rate does not hide the others' totals
        by_bucket: dict[str, list[reports.AgeingRow]] = {}
        for r in reports.ageing(s, as_of=today, agreement=a.code):
            if party in (r.creditor, r.debtor):
                by_bucket.setdefault(r.bucket, []).append(r)
        # converted bucket by bucket (each claim as before, so the buckets add up to the sums)
        converted: list[tuple[str, dict[tuple[str, str], int]]] = []
        notes: list[str] = []
        try:
            for bucket, rows in by_bucket.items():
                sums, named = reports.in_currency(s, {a.code: a}, rows, currency, today)
                converted.append((bucket, sums))
                notes += named
        except errors.AcsaError as e:
            failed.append(error_text.sentences(e))
            unconverted |= {r.debtor if r.creditor == party else r.creditor
                            for rows in by_bucket.values() for r in rows}
            continue
        used += notes
        for bucket, sums in converted:
            for (creditor, debtor), value in sums.items():
                if creditor == party:
                    partners.setdefault(debtor, PartnerBalance(debtor)).to_us += value
                    ageing[bucket].to_us += value
                elif debtor == party:
                    partners.setdefault(creditor, PartnerBalance(creditor)).by_us += value
                    ageing[bucket].by_us += value
    for p in partners.values():
        if p.partner not in unconverted:
            p.net_to_us = p.to_us - p.by_us
        else:
            p.converted = False
    error = {lang: "; ".join(f[lang] for f in failed) for lang in i18n.LANGS} if failed else None
    ceilings = [c for c in reports.ceiling_lines(s, covered, as_of=today) if c.party == party]
    money.check_currency(currency)
    return Books(currency, [partners[k] for k in sorted(partners)], sorted(set(used)), error,
                 ceilings, list(ageing.values()))


def bar_chart(partners: list[PartnerBalance]) -> list[dict[str, Any]]:
    """Bars for an inline SVG: what each partner owes us and we owe them, scaled to the
    largest (reporting currency)."""
    partners = [p for p in partners if p.converted]
    top = max([max(p.to_us, p.by_us) for p in partners] + [1])
    out = []
    for i, p in enumerate(partners):
        out.append({"partner": p.partner, "y": i * 56, "to_us": p.to_us, "by_us": p.by_us,
                    "w_to_us": round(300 * p.to_us / top), "w_by_us": round(300 * p.by_us / top)})
    return out
