"""The dashboard's charts: the net balance with each partner at each month end of the last 12
months and today, and support provided and received in those months by category and by
activity, in the reporting currency; then the geometry of their inline SVG (pure). The ageing
buckets come with `dashboard.books`, from the same open claims as its table.

The money lines read are those of the window only (12 months and today), and everything is
cached per ledger and audit head (`dashboard._cached`, one lookup for both charts) like the
other dashboard figures:

* Balance over time starts from today's balance per agreement and commodity in the party's own
  book (`reports.balances`, which the dashboard's table reads anyway: one cached figure for
  both) and takes off the movements after each month end. The movements are one grouped query
  over the party's receivable and payable lines of the window: every column of
  `ix_ledger_lines_balances` before `posted_on` is fixed (the accounts, the agreements, our
  book, the partner, the currencies), so the database seeks to the window's first day and reads
  the index alone, grouped in its order (no sort). Items owed in kind are valued per claim at
  the order price, as `reports.ageing` values them, from the party's in-kind lines: all of
  them, but only returns in kind have any.
* Support reads the party's support-provided and support-received lines of the window the same
  way, and the table row of each for its category and activity (no index holds them: a
  covering index would make this an index-only read too).

Each point is converted at the agreement's rate on its own date (`rates.conversion`); a point
whose rate is missing is left out of the line, and the reason shown.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from babel.dates import format_skeleton
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.activities.models import Activity
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.documents import labels
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.ledger.models import LedgerLine
from acsa.rates import service as rates
from acsa.settlement.models import Claim
from acsa.web import dashboard, error_text, i18n
from acsa.web import labels as web_labels
from acsa.web.labels import N_

MONTHS = 12  # month ends before today's month
ACTIVITIES_SHOWN = 8  # the busiest; the rest are summed as "other activities"
CURRENCIES = sorted(money.EXPONENTS)
KIND_ACCOUNTS = [books.receivable("rik"), books.payable("rik")]


def month_end(year: int, month: int) -> dt.date:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def points(today: dt.date) -> list[dt.date]:
    """The month ends of the `MONTHS` months before today's, then today."""
    out = []
    for back in range(MONTHS, 0, -1):
        index = today.year * 12 + today.month - 1 - back
        out.append(month_end(index // 12, index % 12 + 1))
    return out + [today]


def _slot(pts: list[dt.date], on: dt.date) -> int:
    """The first point on or after `on` (`on` is after the first point and not after today)."""
    for i, p in enumerate(pts):
        if on <= p:
            return i
    return len(pts) - 1


def _partners(party: str, covered: list[Agreement]) -> list[str]:
    return sorted({a.other_party(party) for a in covered})


def _date(value: str | dt.date) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


class _Rates:
    """Conversions into the reporting currency, one lookup per agreement, currency and date;
    the notes of the rates used and the reasons of the ones missing."""

    def __init__(self, s: Session, currency: str) -> None:
        self.s, self.currency = s, currency
        self.memo: dict[tuple[str, str, dt.date], rates.Conversion | None] = {}
        self.used: set[str] = set()
        self.missing: dict[str, dict[str, str]] = {}  # English message: every language

    def refusals(self) -> list[dict[str, str]]:
        """Why each missing conversion failed, in every language, in the English order."""
        return [self.missing[k] for k in sorted(self.missing)]

    def convert(self, agreement: Agreement, commodity: str, minor: int, on: dt.date
                ) -> int | None:
        if minor == 0:
            return 0
        key = (agreement.code, commodity, on)
        if key not in self.memo:
            try:
                self.memo[key] = rates.conversion(self.s, agreement, commodity, self.currency,
                                                  on)
            except errors.AcsaError as e:
                self.memo[key] = None
                self.missing.setdefault(e.message, error_text.sentences(e))
        conv = self.memo[key]
        if conv is None:
            return None
        if conv.note:
            self.used.add(f"{agreement.code}: {conv.note}")
        return conv.apply(money.Money(minor, commodity), self.currency).minor


# --- balance over time -----------------------------------------------------------------------
@dataclass
class Line:
    partner: str
    values: list[int | None]  # net owed to us at each point; None: a rate is missing


@dataclass
class History:
    currency: str
    points: list[dt.date]
    lines: list[Line]
    rates_used: list[str]
    rate_errors: list[dict[str, str]]  # each missing rate's refusal, per language
    views: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


def _money_moves(s: Session, party: str, covered: list[Agreement], start: dt.date,
                 today: dt.date) -> list[tuple[str, str, dt.date, int]]:
    """(agreement, currency, date, sum) of the party's receivable and payable lines posted
    after `start`, up to today: the index seeks, one per fixed prefix, to the window. Grouped
    in the index's own order (account first), so the sums are added up as the index is read,
    with no sort; a day's sums in several accounts come back as several rows."""
    accounts = reports.RECEIVABLES + reports.PAYABLES
    stmt = (select(LedgerLine.agreement_code, LedgerLine.commodity, LedgerLine.posted_on,
                   func.sum(LedgerLine.amount))
            .where(LedgerLine.account.in_(accounts),
                   LedgerLine.agreement_code.in_([a.code for a in covered]),
                   LedgerLine.book == party,
                   LedgerLine.counterparty.in_(_partners(party, covered)),
                   LedgerLine.commodity.in_(CURRENCIES),
                   LedgerLine.posted_on > start, LedgerLine.posted_on <= today)
            .group_by(LedgerLine.account, LedgerLine.agreement_code, LedgerLine.counterparty,
                      LedgerLine.commodity, LedgerLine.posted_on))
    return [(a, c, _date(on), int(v)) for a, c, on, v in s.execute(stmt)]


class _InKind(NamedTuple):
    """What values a claim to be returned in kind: its order value for its quantity."""

    agreement: str
    currency: str
    amount_minor: int
    quantity: Decimal | None

    def value(self, units: int) -> int:
        """What `units` of the item are worth at the order price (as `reports.ageing`)."""
        if self.quantity is not None and (qty := Decimal(self.quantity)):
            return money.Money(self.amount_minor, self.currency).times(
                books.from_kind_units(units) / qty).minor
        return units


def _kind_moves(s: Session, party: str, covered: list[Agreement], start: dt.date,
                today: dt.date) -> list[tuple[int, _InKind, dt.date, int]]:
    """(claim, date, units) of the party's in-kind receivable and payable lines: everything up
    to `start` summed on `start`, then day by day; claims settled by then are left out."""
    lines = (select(LedgerLine.claim_id, LedgerLine.amount,
                    case((LedgerLine.posted_on <= start, start),
                         else_=LedgerLine.posted_on).label("at_point"))
             .where(LedgerLine.book == party, LedgerLine.account.in_(KIND_ACCOUNTS),
                    LedgerLine.agreement_code.in_([a.code for a in covered]),
                    LedgerLine.posted_on <= today, LedgerLine.claim_id.is_not(None))
             .subquery())
    stmt = (select(lines.c.claim_id, lines.c.at_point, func.sum(lines.c.amount))
            .group_by(lines.c.claim_id, lines.c.at_point))
    sums = [(cid, _date(d), int(v)) for cid, d, v in s.execute(stmt) if int(v)]
    ids = {cid for cid, _, _ in sums}
    claims = {row[0]: _InKind(*row[1:]) for row in s.execute(
        select(Claim.id, Claim.agreement_code, Claim.currency, Claim.amount_minor,
               Claim.quantity).where(Claim.id.in_(ids)))} if ids else {}
    return [(cid, claims[cid], d, v) for cid, d, v in sums if cid in claims]


def _compute_history(s: Session, party: str, currency: str, today: dt.date) -> History:
    covered = [a for _, a in agreements.list_for_party(s, party)]
    pts = points(today)
    n = len(pts)
    # per (agreement, currency): our book's money balance at each point, then in-kind value
    native: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * n)
    for a in covered:
        for r in dashboard.book_balances(s, a.code, today):
            if not books.is_currency(r.commodity) or party not in (r.creditor, r.debtor):
                continue
            ours = r.creditor_book if r.creditor == party else -r.debtor_book
            row = native[(a.code, r.commodity)]
            for i in range(n):
                row[i] += ours
    if covered:
        for code, cur, on, amount in _money_moves(s, party, covered, pts[0], today):
            row = native[(code, cur)]
            for i in range(_slot(pts, on)):  # points before the movement did not have it
                row[i] -= amount
        units: dict[int, list[int]] = {}
        held: dict[int, _InKind] = {}
        for cid, claim, on, amount in _kind_moves(s, party, covered, pts[0], today):
            held[cid] = claim
            row = units.setdefault(cid, [0] * n)
            for i in range(_slot(pts, on), n):  # on each point from its date onwards
                row[i] += amount
        for cid, row in units.items():
            claim = held[cid]
            values = native[(claim.agreement, claim.currency)]
            for i in range(n):
                values[i] += claim.value(row[i])
    by_code = {a.code: a for a in covered}
    conv = _Rates(s, currency)
    lines: dict[str, list[int | None]] = {}
    for (code, cur), row in sorted(native.items()):
        a = by_code[code]
        line = lines.setdefault(a.other_party(party), [0] * n)
        for i in range(n):
            value, so_far = conv.convert(a, cur, row[i], pts[i]), line[i]
            line[i] = None if value is None or so_far is None else so_far + value
    shown = [Line(p, v) for p, v in sorted(lines.items()) if any(x != 0 for x in v)]
    return History(currency, pts, shown, sorted(conv.used), conv.refusals())


# --- support by category and by activity -----------------------------------------------------
@dataclass
class SupportRow:
    key: str  # category code, or activity code ("" for none; "*" for the other activities)
    provided: int = 0  # by us, in the reporting currency
    received: int = 0
    name: str = ""  # the activity's name

    @property
    def total(self) -> int:
        return self.provided + self.received


@dataclass
class Support:
    currency: str
    from_on: dt.date  # the window: after this day, up to `to_on`
    to_on: dt.date
    by_category: list[SupportRow] = field(default_factory=list)
    by_activity: list[SupportRow] = field(default_factory=list)
    rates_used: list[str] = field(default_factory=list)
    rate_errors: list[dict[str, str]] = field(default_factory=list)
    views: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


def _compute_support(s: Session, party: str, currency: str, today: dt.date) -> Support:
    """Support the party's book records in the window: provided (income:support-provided,
    a credit) and received (expenses:support-received, a debit), each day's sum converted at
    the rate of its point. The window is found in `ix_ledger_lines_balances` as for the
    balances; the category and activity are read from each line of it (no index holds them),
    grouped in the index's order."""
    covered = [a for _, a in agreements.list_for_party(s, party)]
    pts = points(today)
    out = Support(currency, pts[0], today)
    if not covered:
        return out
    stmt = (select(LedgerLine.agreement_code, LedgerLine.account, LedgerLine.category,
                   LedgerLine.activity_id, LedgerLine.commodity, LedgerLine.posted_on,
                   func.sum(LedgerLine.amount))
            .where(LedgerLine.account.in_([books.PROVIDED, books.RECEIVED]),
                   LedgerLine.agreement_code.in_([a.code for a in covered]),
                   LedgerLine.book == party,
                   LedgerLine.counterparty.in_(_partners(party, covered)),
                   LedgerLine.commodity.in_(CURRENCIES),
                   LedgerLine.posted_on > pts[0], LedgerLine.posted_on <= today)
            .group_by(LedgerLine.account, LedgerLine.agreement_code, LedgerLine.counterparty,
                      LedgerLine.commodity, LedgerLine.posted_on, LedgerLine.category,
                      LedgerLine.activity_id))
    # native sums per point first, so each is converted once
    native: dict[tuple[str, str, str, int | None, str, int], int] = defaultdict(int)
    for code, account, cat, act, cur, on, amount in s.execute(stmt):
        slot = _slot(pts, _date(on))
        way = "provided" if account == books.PROVIDED else "received"
        value = -int(amount) if way == "provided" else int(amount)
        native[(code, way, cat or "", act, cur, slot)] += value
    by_code = {a.code: a for a in covered}
    conv = _Rates(s, currency)
    cats: dict[str, SupportRow] = {}
    acts: dict[int | None, SupportRow] = {}
    for (code, way, cat, act, cur, slot), value in native.items():
        converted = conv.convert(by_code[code], cur, value, pts[slot])
        if converted is None:
            continue
        for row in (cats.setdefault(cat, SupportRow(cat)), acts.setdefault(act, SupportRow(""))):
            setattr(row, way, getattr(row, way) + converted)
    ids = [i for i in acts if i is not None]
    named = {a.id: a for a in s.scalars(select(Activity).where(Activity.id.in_(ids)))} \
        if ids else {}
    for act, row in acts.items():
        if act in named:
            row.key, row.name = named[act].code, named[act].name
    out.by_category = sorted((r for r in cats.values() if r.provided or r.received),
                             key=lambda r: (-r.total, r.key))
    ranked = sorted((r for r in acts.values() if r.provided or r.received),
                    key=lambda r: (-r.total, r.key))
    if len(ranked) > ACTIVITIES_SHOWN:
        rest = SupportRow("*", sum(r.provided for r in ranked[ACTIVITIES_SHOWN - 1:]),
                          sum(r.received for r in ranked[ACTIVITIES_SHOWN - 1:]))
        ranked = ranked[:ACTIVITIES_SHOWN - 1] + [rest]
    out.by_activity = ranked
    out.rates_used, out.rate_errors = sorted(conv.used), conv.refusals()
    return out


# --- both, cached -----------------------------------------------------------------------------
@dataclass
class Charts:
    history: History
    support: Support


def figures(s: Session, party: str, currency: str, today: dt.date) -> Charts:
    """The charts' figures for the party in the reporting currency, reused while the ledger
    and audit heads stand still (one cache lookup for both)."""
    return dashboard._cached(s, ("charts", party, currency, today),
                             lambda: Charts(_compute_history(s, party, currency, today),
                                            _compute_support(s, party, currency, today)))


# --- geometry (pure) ---------------------------------------------------------------------------
PALETTE = 6  # line styles in app.css: .series-0 ... .series-5 (colour and dash both differ)


def nice_step(span: int, exp: int, parts: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten, whole major units) that cuts `span` minor
    units into about `parts`."""
    raw, unit, power = max(span // parts, 1), 10 ** exp, 1
    while True:
        for d in (1, 2, 5):
            step = d * power
            if step >= raw and step % unit == 0:
                return step
        power *= 10


def axis(values: list[int], exp: int) -> list[int]:
    """Ticks from a round value at or below the lowest (and zero) to one at or above the
    highest."""
    lo, hi = min(values + [0]), max(values + [0])
    step = nice_step(hi - lo, exp)
    first, last = (lo // step) * step, -(-hi // step) * step
    if first == last:
        last = first + step
    return list(range(first, last + step, step))


def month_label(on: dt.date, lang: str, with_year: bool, with_day: bool = False
                ) -> tuple[str, str]:
    """An axis label: the month (and day, for today), and the year under it where the year
    changes."""
    locale = i18n._babel_locale(lang)
    return format_skeleton("MMMd" if with_day else "MMM", on, locale=locale), \
        (format_skeleton("y", on, locale=locale) if with_year else "")


def _view(owner: History | Support | dashboard.Books, key: tuple[Any, ...],
          build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`build()`, kept on the cached figures it draws: a page served from the cache formats
    no number or date again."""
    if key not in owner.views:
        owner.views[key] = build()
    return owner.views[key]


def line_chart(history: History, lang: str) -> dict[str, Any]:
    """The balance chart in `lang`: geometry and texts, computed once per figures and
    language."""
    return _view(history, ("line", lang), lambda: _line_chart(history, lang))


def _line_chart(history: History, lang: str, width: int = 640, height: int = 300
                ) -> dict[str, Any]:
    """Where everything of the balance chart goes, in viewBox units, with its texts (money
    and dates as the `money` and `date` filters write them)."""
    cur = history.currency
    values = [v for ln in history.lines for v in ln.values if v is not None]
    ticks = axis(values, money.exponent(cur))
    tick_texts = [i18n.fmt_money(t, cur, lang) for t in ticks]
    left, right, top, bottom = 14 + 7 * max(len(x) for x in tick_texts), 34, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = ticks[0], ticks[-1]
    n = len(history.points)
    days = [i18n.fmt_date(on, lang) for on in history.points]
    texts = [[None if v is None else i18n.fmt_money(v, cur, lang) for v in ln.values]
             for ln in history.lines]

    def x(i: int) -> float:
        return round(left + i * plot_w / (n - 1), 1)

    def y(v: int) -> float:
        return round(top + (hi - v) * plot_h / (hi - lo), 1)

    series = []
    for k, ln in enumerate(history.lines):
        segments, run = [], []
        for i, v in enumerate(ln.values):
            if v is None:
                if run:
                    segments.append(" ".join(run))
                run = []
            else:
                run.append(f"{x(i)},{y(v)}")
        if run:
            segments.append(" ".join(run))
        series.append({"partner": ln.partner, "style": k % PALETTE, "segments": segments,
                       "marks": [{"x": x(i), "y": y(v), "day": days[i], "text": texts[k][i]}
                                 for i, v in enumerate(ln.values) if v is not None]})
    labels = []
    for i, on in enumerate(history.points):
        month, year = month_label(on, lang, i == 0 or on.year != history.points[i - 1].year,
                                  with_day=i == n - 1)
        labels.append({"x": x(i), "month": month, "year": year})
    return {"width": width, "height": height, "left": left, "right": width - right,
            "top": top, "bottom": height - bottom, "series": series, "labels": labels,
            "ticks": [{"value": t, "y": y(t), "text": s} for t, s in zip(ticks, tick_texts,
                                                                       strict=True)],
            "first_day": days[0], "last_day": days[-1],
            "table": [(days[i], [row[i] for row in texts]) for i in range(n)]}


def ageing_bars(books_: dashboard.Books, lang: str) -> dict[str, Any]:
    """The ageing chart: every bucket, owed to us and by us (none if nothing is open)."""
    def build() -> dict[str, Any]:
        rows = [(i18n.gettext(lang, web_labels.BUCKET[b.bucket]), b.to_us, b.by_us)
                for b in books_.ageing]
        if not any(a or b for _, a, b in rows):
            rows = []
        return bar_rows(rows, lambda m: i18n.fmt_money(m, books_.currency, lang))
    return _view(books_, ("ageing", lang), build)


OTHER_ACTIVITIES, NO_ACTIVITY = N_("Other activities"), N_("No activity")


def support_bars(support_: Support, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two support charts, by category and by activity: provided and received."""
    def fmt(m: int) -> str:
        return i18n.fmt_money(m, support_.currency, lang)

    def activity(r: SupportRow) -> str:
        if r.key == "*":
            return i18n.gettext(lang, OTHER_ACTIVITIES)
        return r.key or i18n.gettext(lang, NO_ACTIVITY)
    return (_view(support_, ("category", lang), lambda: bar_rows(
                [(labels.label(labels.CATEGORIES, r.key, lang) if r.key else "—", r.provided,
                  r.received) for r in support_.by_category], fmt)),
            _view(support_, ("activity", lang), lambda: bar_rows(
                [(activity(r), r.provided, r.received) for r in support_.by_activity], fmt)))


def bar_rows(rows: list[tuple[str, int, int]], fmt: Callable[[int], str], width: int = 480,
             label_h: int = 18, bar_h: int = 16, room: int = 150) -> dict[str, Any]:
    """Two bars a row (ours, theirs), under the row's label, scaled to the largest, with
    their values written by `fmt`; `room` units are left on the right for the value."""
    top = max([a for _, a, _ in rows] + [b for _, _, b in rows] + [1])
    scale = width - room
    step = label_h + 2 * bar_h + 14
    out = []
    for i, (label, a, b) in enumerate(rows):
        y = i * step
        wa, wb = round(scale * max(a, 0) / top), round(scale * max(b, 0) / top)
        out.append({"label": label, "a": fmt(a), "b": fmt(b), "label_y": y + 13,
                    "a_y": y + label_h, "b_y": y + label_h + bar_h + 2, "wa": max(wa, 1),
                    "wb": max(wb, 1), "a_x": wa + 6, "b_x": wb + 6})
    return {"width": width, "height": max(len(rows) * step, step), "bar_h": bar_h,
            "rows": out}
