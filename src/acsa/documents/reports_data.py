"""What the statements and reports say, read from the books: the statement of account of one
party's book against a partner, the ageing of open claims with the 12- and 18-month marks,
the register of an activity and the annual report of a party's fiscal year.

Every figure comes from `acsa.ledger.reports` (balances, ageing, totals, ceiling use) or from
the same ledger lines, orders and claims those read; nothing is stored and no rate is ever
invented: a conversion names the recorded rate it used, and a missing one is an error (or,
for the default reporting currency of a statement, a gap the document names). The renderers
(`reports_pdf`, `reports_xlsx`) only lay these objects out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.activities import service as activities
from acsa.agreements import service as agreements
from acsa.agreements.domain import Agreement
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.ledger.models import Entry, LedgerLine
from acsa.orders.domain import add_months
from acsa.orders.models import Order
from acsa.parties import service as parties
from acsa.rates import service as rates
from acsa.rates.models import Rate
from acsa.settlement.models import Claim

# dates a report may be asked for: wide enough for any real book, narrow enough that every
# fiscal-year bound and 18-month mark is a real date
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
ACCOUNTS = reports.RECEIVABLES + reports.PAYABLES


def check_date(on: dt.date, option: str) -> dt.date:
    if not EARLIEST <= on <= LATEST:
        raise errors.InvalidInput(f"{option}: {on} is outside {EARLIEST.year}-{LATEST.year}",
                                  field=option.lstrip("-").replace("-", "_"),
                                  hint="Give a date of the books, YYYY-MM-DD.")
    return on


def places(commodity: str) -> int:
    return money.exponent(commodity) if books.is_currency(commodity) else books.KIND_SCALE


def major(commodity: str, units: int) -> Decimal:
    """Units of a commodity (minor units, or thousandths of an item's unit) as a number."""
    return Decimal(units).scaleb(-places(commodity))


def unit_of(commodity: str) -> str:
    """The unit an in-kind commodity is counted in: 'RIK:FUEL:X[L]' -> 'L'."""
    if "[" in commodity and commodity.endswith("]"):
        return commodity[commodity.rindex("[") + 1:-1]
    return commodity


def amount_text(commodity: str, units: int) -> str:
    """'PHP 1,234.50', 'JPY 4,000' or '10,000.5 L' (a code first: the fonts lack ₱)."""
    value = major(commodity, units)
    if books.is_currency(commodity):
        return f"{commodity} {value:,.{places(commodity)}f}"
    text = f"{value.normalize():,f}" if value else "0"
    return f"{text} {unit_of(commodity)}"


# --- statement of account --------------------------------------------------------------------
@dataclass(frozen=True)
class Movement:
    on: dt.date
    entry_id: int
    kind: str  # the ledger entry's kind: claim, payment, return, exchange, offset, ...
    order: str | None
    claim: str | None
    memo: str
    amount: int  # + debit (the partner owes the party more), - credit
    balance: int  # running balance after this movement

    @property
    def debit(self) -> int:
        return self.amount if self.amount > 0 else 0

    @property
    def credit(self) -> int:
        return -self.amount if self.amount < 0 else 0


@dataclass
class Section:
    """The movements of one commodity (a claim currency or an in-kind item)."""

    commodity: str
    opening: int
    movements: list[Movement] = field(default_factory=list)

    @property
    def closing(self) -> int:
        return self.movements[-1].balance if self.movements else self.opening

    @property
    def debits(self) -> int:
        return sum(m.debit for m in self.movements)

    @property
    def credits(self) -> int:
        return sum(m.credit for m in self.movements)

    @property
    def is_currency(self) -> bool:
        return books.is_currency(self.commodity)


@dataclass(frozen=True)
class RateUsed:
    agreement: str
    base: str
    quote: str
    rate: str
    kind: str
    effective_on: dt.date
    source: str


@dataclass(frozen=True)
class Translation:
    """A section's opening and closing balance in the reporting currency."""

    commodity: str
    value_currency: str  # the claim currency (in-kind items: valued at the order price)
    opening_value: int
    closing_value: int
    opening: int | None  # in the reporting currency; None: no rate recorded
    closing: int | None
    rate: Decimal | None
    missing: str = ""  # what rate would be needed


@dataclass
class Statement:
    agreement: Agreement
    party: str
    partner: str
    from_on: dt.date
    as_of: dt.date
    sections: list[Section]
    currency: str
    translations: list[Translation]
    rates: list[RateUsed]

    @property
    def movement_count(self) -> int:
        return sum(len(s.movements) for s in self.sections)

    @property
    def complete(self) -> bool:
        return all(t.closing is not None for t in self.translations)

    @property
    def opening_total(self) -> int | None:
        return sum(t.opening or 0 for t in self.translations) if self.complete else None

    @property
    def closing_total(self) -> int | None:
        return sum(t.closing or 0 for t in self.translations) if self.complete else None


def _book_filter(party: str, partner: str, code: str) -> list:  # type: ignore[type-arg]
    return [LedgerLine.book == party, LedgerLine.counterparty == partner,
            LedgerLine.agreement_code == code, LedgerLine.account.in_(ACCOUNTS)]


def statement(session: Session, *, party: str, agreement: str, as_of: dt.date,
              partner: str | None = None, from_on: dt.date | None = None,
              currency: str | None = None) -> Statement:
    """The statement of account of `party`'s book against its partner under `agreement`:
    opening balance on `from_on` (default: the start of `party`'s fiscal year, or the first
    movement if later), every movement to `as_of` with its running balance, the closing
    balance, per commodity, and the balances in `currency` (default: `party`'s own; with
    `currency` given, a missing rate is refused rather than left out)."""
    a = agreements.get(session, agreement)
    party = party.upper()
    if party not in a.parties:
        raise errors.InvalidInput(f"--party: {party} is not a party to {a.code} "
                                  f"({' and '.join(a.parties)})", field="party")
    other = a.other_party(party)
    if partner is not None and partner.upper() != other:
        raise errors.InvalidInput(f"--partner: the partner of {party} under {a.code} is "
                                  f"{other}, not {partner.upper()}", field="partner")
    check_date(as_of, "--as-of")
    conds = _book_filter(party, other, a.code)
    if from_on is None:
        fy_start, _ = a.fiscal_years[party].bounds(a.fiscal_year(party, as_of))
        first = session.scalar(select(func.min(LedgerLine.posted_on)).where(*conds))
        from_on = first if first is not None and fy_start < first <= as_of else fy_start
    check_date(from_on, "--from")
    if from_on > as_of:
        raise errors.InvalidInput(f"--from: {from_on} is after --as-of {as_of}", field="from")
    strict = currency is not None
    reporting = money.check_currency((currency or parties.get_party(session, party).currency)
                                     .upper())

    opening = dict(session.execute(
        select(LedgerLine.commodity, func.sum(LedgerLine.amount))
        .where(*conds, LedgerLine.posted_on < from_on).group_by(LedgerLine.commodity)).all())
    sections = {c: Section(c, int(v)) for c, v in sorted(opening.items()) if int(v)}
    lines = (select(LedgerLine.posted_on, LedgerLine.entry_id, LedgerLine.claim_id,
                    LedgerLine.commodity, func.sum(LedgerLine.amount).label("amount"))
             .where(*conds, LedgerLine.posted_on >= from_on, LedgerLine.posted_on <= as_of)
             .group_by(LedgerLine.posted_on, LedgerLine.entry_id, LedgerLine.claim_id,
                       LedgerLine.commodity)
             .subquery())
    stmt = (select(lines.c.posted_on, lines.c.entry_id, lines.c.commodity, lines.c.amount,
                   Entry.kind, Entry.memo, Claim.number, Order.number)
            .join(Entry, Entry.id == lines.c.entry_id)
            .outerjoin(Claim, Claim.id == lines.c.claim_id)
            .outerjoin(Order, Order.id == Entry.order_id)
            .order_by(lines.c.posted_on, lines.c.entry_id, func.coalesce(lines.c.claim_id, 0),
                      lines.c.commodity))
    running = {c: s.opening for c, s in sections.items()}
    for on, entry_id, commodity, amount, kind, memo, claim, order in session.execute(stmt):
        amount = int(amount)
        if amount == 0:
            continue
        section = sections.get(commodity)
        if section is None:
            section = sections[commodity] = Section(commodity, 0)
            running[commodity] = 0
        running[commodity] += amount
        if claim and memo.startswith(f"{claim}: "):
            memo = memo[len(claim) + 2:]
        section.movements.append(Movement(on, entry_id, kind, order, claim, memo, amount,
                                          running[commodity]))
    ordered = sorted(sections.values(), key=lambda s: (not s.is_currency, s.commodity))
    translations, used = _translate(session, a, party, other, ordered, from_on, as_of,
                                    reporting, strict)
    return Statement(a, party, other, from_on, as_of, ordered, reporting, translations, used)


def _kind_values(session: Session, party: str, partner: str, code: str, before: dt.date,
                 upto: dt.date) -> dict[str, tuple[int, int, str]]:
    """In-kind balances valued at the order price, per commodity: (opening value, closing
    value, claim currency), opening before `before`, closing up to `upto`."""
    conds = _book_filter(party, partner, code)
    out: dict[str, list] = {}  # type: ignore[type-arg]
    for label, bound in (("open", LedgerLine.posted_on < before),
                         ("close", LedgerLine.posted_on <= upto)):
        stmt = (select(LedgerLine.commodity, Claim.amount_minor, Claim.quantity, Claim.currency,
                       func.sum(LedgerLine.amount))
                .join(Claim, Claim.id == LedgerLine.claim_id)
                .where(*conds, bound, LedgerLine.commodity.not_in(list(money.EXPONENTS)))
                .group_by(LedgerLine.claim_id, LedgerLine.commodity, Claim.amount_minor,
                          Claim.quantity, Claim.currency))
        for commodity, amount_minor, quantity, cur, left in session.execute(stmt):
            left = int(left)
            value = money.Money(amount_minor, cur).times(books.from_kind_units(left) / quantity
                                                         ).minor if quantity else 0
            slot = out.setdefault(commodity, [0, 0, cur])
            slot[0 if label == "open" else 1] += value
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _translate(session: Session, a: Agreement, party: str, partner: str,
               sections: list[Section], from_on: dt.date, as_of: dt.date, reporting: str,
               strict: bool) -> tuple[list[Translation], list[RateUsed]]:
    kinds = _kind_values(session, party, partner, a.code, from_on, as_of) \
        if any(not s.is_currency for s in sections) else {}
    out: list[Translation] = []
    used: dict[int, RateUsed] = {}
    for s in sections:
        if s.is_currency:
            cur, opening, closing = s.commodity, s.opening, s.closing
        else:
            opening, closing, cur = kinds.get(s.commodity, (0, 0, reporting))
        try:
            conv = rates.conversion(session, a, cur, reporting, as_of)
        except errors.RateMissing as e:
            if strict:
                raise
            out.append(Translation(s.commodity, cur, opening, closing, None, None, None,
                                   e.message))
            continue
        if conv.rate_id is not None and conv.rate_id not in used:
            row = session.get(Rate, conv.rate_id)
            assert row is not None
            used[conv.rate_id] = RateUsed(a.code, row.base, row.quote, row.rate, row.kind,
                                          row.effective_on, row.source)
        out.append(Translation(
            s.commodity, cur, opening, closing,
            conv.apply(money.Money(opening, cur), reporting).minor,
            conv.apply(money.Money(closing, cur), reporting).minor, conv.rate))
    return out, list(used.values())


# --- ageing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgeingLine:
    row: reports.AgeingRow
    order: str
    mark_12: dt.date
    mark_18: dt.date
    past_12: bool
    past_18: bool


@dataclass
class Ageing:
    as_of: dt.date
    agreement: str | None
    party: str | None
    lines: list[AgeingLine]
    bucket_names: list[str]

    @property
    def buckets(self) -> dict[tuple[str, str, str], dict[str, int]]:
        """(creditor, debtor, currency) -> bucket -> value in minor units."""
        sums: dict[tuple[str, str, str], dict[str, int]] = {}
        for ln in self.lines:
            r = ln.row
            slot = sums.setdefault((r.creditor, r.debtor, r.currency),
                                   dict.fromkeys(self.bucket_names, 0))
            slot[r.bucket] += r.value_minor
        return dict(sorted(sums.items()))


def ageing(session: Session, *, as_of: dt.date, agreement: str | None = None,
           party: str | None = None, agreement_codes: list[str] | None = None) -> Ageing:
    """Open claims as of the date (`reports.ageing`), of `party` only when given (owed to it
    or by it) and of `agreement_codes` only when given, with each claim's 12-month
    (settlement deadline) and 18-month (US offset) marks."""
    check_date(as_of, "--as-of")
    code = agreements.get(session, agreement).code if agreement else None
    if party is not None:
        party = party.upper()
        if party not in {p for _, a in agreements.list_agreements(session) for p in a.parties}:
            raise errors.InvalidInput(f"--party: no agreement has a party {party}",
                                      field="party")
    rows = reports.ageing(session, as_of=as_of, agreement=code)
    rows = [r for r in rows if (party is None or party in (r.creditor, r.debtor))
            and (agreement_codes is None or r.agreement in agreement_codes)]
    numbers = dict(session.execute(select(Order.id, Order.number).where(
        Order.id.in_({r.order_id for r in rows}))).all()) if rows else {}
    lines = []
    for r in rows:
        m12, m18 = add_months(r.delivered_on, 12), add_months(r.delivered_on, 18)
        lines.append(AgeingLine(r, numbers.get(r.order_id, ""), m12, m18, as_of > m12,
                                as_of > m18))
    return Ageing(as_of, code, party, lines, [b[0] for b in books.AGEING_BUCKETS])


# --- activity register -----------------------------------------------------------------------
@dataclass(frozen=True)
class RegisterOrder:
    number: str
    agreement: str
    order_on: dt.date
    requester: str
    supplier: str
    state: str
    currency: str
    value: int  # minor units of `currency`: the order's lines at their prices
    by_category: dict[str, int]
    by_kind: dict[str, int]

    @property
    def counted(self) -> bool:
        return self.state != "cancelled"


@dataclass
class Register:
    code: str
    name: str
    type: str
    place: str
    starts_on: dt.date
    ends_on: dt.date
    agreements: list[str]
    orders: list[RegisterOrder]

    def _sum(self, part: str) -> dict[tuple[str, str], int]:
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for o in self.orders:
            if o.counted:
                for key, v in getattr(o, part).items():
                    sums[(key, o.currency)] += v
        return dict(sorted(sums.items()))

    @property
    def by_category(self) -> dict[tuple[str, str], int]:
        return self._sum("by_category")

    @property
    def by_kind(self) -> dict[tuple[str, str], int]:
        return self._sum("by_kind")

    @property
    def totals(self) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for o in self.orders:
            if o.counted:
                sums[o.currency] += o.value
        return dict(sorted(sums.items()))


def activity_register(session: Session, code: str, *, viewer_party: str | None = None
                      ) -> Register:
    """Every order of the activity (with `viewer_party`, only its orders under its own
    agreements; an activity under none of them is not found), valued from its lines."""
    act = activities.get_activity(session, code)
    codes = sorted(r.code for r in act.agreements)
    stmt = select(Order).where(Order.activity_id == act.id)
    if viewer_party is not None:
        own = {a.code for _, a in agreements.list_for_party(session, viewer_party)}
        codes = [c for c in codes if c in own]
        if not codes:  # answered exactly as for an activity that does not exist
            raise errors.NotFound(f"no activity {code!r}", field="activity",
                                  hint="List activities with `acsa activities list`.")
        stmt = stmt.where(Order.agreement_code.in_(codes),
                          or_(Order.requesting_party == viewer_party,
                              Order.supplying_party == viewer_party))
    out = []
    for order in session.scalars(stmt.order_by(Order.order_on, Order.number)):
        cats: dict[str, int] = defaultdict(int)
        kinds: dict[str, int] = defaultdict(int)
        for ln in order.lines:
            value = money.Money(ln.unit_price_minor, ln.currency).times(ln.quantity).minor
            cats[ln.category] += value
            kinds[ln.kind] += value
        out.append(RegisterOrder(order.number, order.agreement_code, order.order_on,
                                 order.requesting_party, order.supplying_party, order.state,
                                 order.currency, sum(cats.values()), dict(cats), dict(kinds)))
    return Register(act.code, act.name, act.type, act.place, act.starts_on, act.ends_on, codes,
                    out)


# --- annual report ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnualRow:
    agreement: str
    direction: str  # provided (by the party) or received (by the party)
    partner: str
    activity: str
    category: str | None
    kind: str | None
    currency: str
    amount: int


@dataclass
class Annual:
    party: str
    fiscal_year: int
    first: dt.date
    last: dt.date
    agreements: list[str]
    rows: list[AnnualRow]
    ceilings: list[reports.CeilingLine]

    def by(self, *keys: str) -> dict[tuple, int]:  # type: ignore[type-arg]
        sums: dict[tuple, int] = defaultdict(int)  # type: ignore[type-arg]
        for r in self.rows:
            sums[tuple(getattr(r, k) or "" for k in keys)] += r.amount
        return dict(sorted(sums.items()))


def annual_report(session: Session, *, party: str, fiscal_year: int,
                  agreement: str | None = None) -> Annual:
    """Support `party` provided and received in its fiscal year `fiscal_year` (by the
    fiscal-year start the agreement gives that party): net billed value posted in the year,
    from `reports.totals`, by partner, category, activity and supplies vs services; and the
    use of every ceiling of the agreements (`reports.ceiling_lines`): the party's own in that
    fiscal year, its partners' in each of their fiscal years that overlap it."""
    party = party.upper()
    if not 1900 <= fiscal_year <= 2200:
        raise errors.InvalidInput(f"--fy: {fiscal_year} is not a fiscal year", field="fy")
    if agreement:
        covered = [agreements.get(session, agreement)]
        if party not in covered[0].parties:
            raise errors.InvalidInput(f"--party: {party} is not a party to {covered[0].code}",
                                      field="party")
    else:
        covered = [a for _, a in agreements.list_for_party(session, party)]
        if not covered:
            raise errors.InvalidInput(f"--party: no agreement has a party {party}",
                                      field="party")
    acts = {x.id: x.code for x in activities.list_activities(session)}
    rows: list[AnnualRow] = []
    first = last = None
    for a in covered:
        start, end = a.fiscal_years[party].bounds(fiscal_year)
        first, last = first or start, last or end
        net: dict[tuple, int] = defaultdict(int)  # type: ignore[type-arg]
        for sign, on in ((1, end), (-1, start - dt.timedelta(days=1))):
            for t in reports.totals(session, agreement=a.code, as_of=on):
                if party in (t.supplier, t.recipient):
                    net[(t.supplier, t.recipient, t.activity_id, t.category, t.kind,
                         t.commodity)] += sign * t.amount
        for (sup, rec, act, cat, kind, cur), amount in sorted(
                net.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
            if amount:
                provided = sup == party
                rows.append(AnnualRow(a.code, "provided" if provided else "received",
                                      rec if provided else sup, acts.get(act, "") if act else "",
                                      cat, kind, cur, amount))
    assert first is not None and last is not None
    own = [c for c in reports.ceiling_lines(session, covered, as_of=last,
                                            fiscal_year=fiscal_year) if c.party == party]
    # a partner's ceilings in each of its fiscal years that overlap the party's year
    theirs_fys = {(p, a.fiscal_year(p, on)) for a in covered for p in a.parties if p != party
                  for on in (first, last)}
    theirs = [c for fy in sorted({fy for _, fy in theirs_fys})
              for c in reports.ceiling_lines(session, covered, as_of=last, fiscal_year=fy)
              if (c.party, c.fiscal_year) in theirs_fys]
    return Annual(party, fiscal_year, first, last, [a.code for a in covered], rows,
                  own + theirs)
