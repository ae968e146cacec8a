"""Recording exchange rates and choosing the one an agreement's rate policy prescribes."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.agreements.domain import Agreement
from acsa.audit import service as audit
from acsa.db.base import utcnow
from acsa.rates.models import Rate

KINDS = ("agreement_fy", "market")


def add_rate(session: Session, *, base: str, quote: str, rate: str, on: dt.date, source: str,
             kind: str = "market", agreement: Agreement | None = None,
             recorded_by: str = "admin") -> Rate:
    base, quote = money.check_currency(base.upper()), money.check_currency(quote.upper())
    if base == quote:
        raise errors.InvalidInput("a rate needs two different currencies", field="quote")
    value = money.parse_rate(rate)
    if kind not in KINDS:
        raise errors.InvalidInput(f"unknown rate kind {kind!r}", field="kind",
                                  hint="Use agreement_fy (fixed for a fiscal year) or market.")
    if not source.strip():
        raise errors.InvalidInput("every rate needs its source", field="source",
                                  hint="Say where it comes from, e.g. 'MOD FY2026 rate'.")
    fiscal_year = None
    if kind == "agreement_fy":
        if agreement is None:
            raise errors.InvalidInput("an agreement fiscal-year rate needs --agreement",
                                      field="agreement")
        if agreement.rates.policy != "fixed_fiscal_year" or not agreement.rates.fiscal_year_party:
            raise errors.InvalidInput(
                f"{agreement.code} converts at the rate on the date, not a fixed FY rate",
                field="kind", hint="Record it as --kind market.")
        fiscal_year = agreement.fiscal_year(agreement.rates.fiscal_year_party, on)
        first, _ = agreement.fiscal_years[agreement.rates.fiscal_year_party].bounds(fiscal_year)
        on = first
        clash = session.scalar(select(Rate).where(
            Rate.kind == kind, Rate.agreement_code == agreement.code,
            Rate.fiscal_year == fiscal_year,
            or_(and_(Rate.base == base, Rate.quote == quote),
                and_(Rate.base == quote, Rate.quote == base))))
        if clash:
            raise errors.AlreadyExists(
                f"{agreement.code} already has a FY{fiscal_year} rate for {base}/{quote} "
                f"({clash.rate}); fixed rates do not change within a fiscal year", field="rate")
    row = Rate(base=base, quote=quote, rate=format(value, "f"), effective_on=on, kind=kind,
               agreement_code=agreement.code if agreement else None, fiscal_year=fiscal_year,
               source=source.strip(), recorded_at=utcnow())
    session.add(row)
    session.flush()
    audit.append(session, party="", actor=recorded_by, action="rate.added",
                 subject=f"rate:{row.id}",
                 payload={"base": base, "quote": quote, "rate": row.rate, "on": on, "kind": kind,
                          "agreement": row.agreement_code, "fiscal_year": fiscal_year,
                          "source": row.source})
    return row


def list_rates(session: Session, base: str | None = None) -> list[Rate]:
    stmt = select(Rate).order_by(Rate.effective_on, Rate.base, Rate.quote)
    if base:
        stmt = stmt.where(or_(Rate.base == base.upper(), Rate.quote == base.upper()))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Conversion:
    """A conversion from `base` into `quote`. `rate` is the units of `quote` per one unit of
    `base` as shown and recorded (for a pair recorded the other way round, the reciprocal of
    the recorded rate, to 28 digits, for reading only). `divisor`, when set, is the rate as
    recorded (units of `base` per one unit of `quote`): amounts are then converted by dividing
    by it exactly, never by multiplying by the rounded reciprocal."""

    rate: Decimal
    rate_id: int | None
    note: str
    divisor: Decimal | None = None

    def apply(self, amount: money.Money, to: str) -> money.Money:
        """`amount` (in base) in `to` (the quote currency), rounded once."""
        if self.divisor is not None:
            return amount.convert_dividing(self.divisor, to)
        return amount.convert(self.rate, to)

    def back(self, amount: money.Money, to: str) -> money.Money:
        """`amount` (in the quote currency) back in `to` (the base currency), rounded once:
        the exact inverse of `apply` before rounding."""
        if self.divisor is not None:
            return amount.convert(self.divisor, to)
        return amount.convert_dividing(self.rate, to)


@functools.cache
def _rate_statement(fixed: bool) -> Select[tuple[Rate]]:
    """The rate of the pair :base/:quote either way round (built once): the agreement's
    fixed rate of :fiscal_year, or the latest market rate effective on or before :on."""
    base, quote = bindparam("base"), bindparam("quote")
    pair = or_(and_(Rate.base == base, Rate.quote == quote),
               and_(Rate.base == quote, Rate.quote == base))
    if fixed:
        return select(Rate).where(pair, Rate.kind == "agreement_fy",
                                  Rate.agreement_code == bindparam("agreement"),
                                  Rate.fiscal_year == bindparam("fiscal_year")).limit(1)
    return (select(Rate).where(pair, Rate.kind == "market",
                               Rate.effective_on <= bindparam("on"))
            .order_by(Rate.effective_on.desc(), Rate.id.desc()).limit(1))


def conversion(session: Session, agreement: Agreement, base: str, quote: str,
               on: dt.date) -> Conversion:
    """The rate to turn `base` into `quote` on `on` under the agreement's rate policy."""
    if base == quote:
        return Conversion(Decimal(1), None, "")
    fixed = agreement.rates.policy == "fixed_fiscal_year"
    params: dict[str, object] = {"base": base, "quote": quote}
    if fixed:
        party = agreement.rates.fiscal_year_party
        assert party is not None
        fy = agreement.fiscal_year(party, on)
        params.update(agreement=agreement.code, fiscal_year=fy)
        wanted = f"the {agreement.code} FY{fy} ({party}) rate for {base}/{quote}"
        hint = (f"Record it with `acsa rates add {base} {quote} RATE --kind agreement_fy "
                f"--agreement {agreement.code} --on {on} --source ...`.")
    else:
        params["on"] = on
        wanted = f"a market rate for {base}/{quote} on or before {on}"
        hint = f"Record it with `acsa rates add {base} {quote} RATE --on {on} --source ...`."
    row = session.scalars(_rate_statement(fixed), params).first()
    if row is None:
        raise errors.RateMissing(f"no exchange rate: {agreement.code} needs {wanted}", hint=hint,
                                 field="rate", agreement=agreement.code, base=base, quote=quote,
                                 on=on.isoformat(),
                                 fiscal_year=fy if fixed else None)
    recorded = Decimal(row.rate)
    note = f"{row.base}/{row.quote} {row.rate} ({row.kind}, {row.effective_on}, {row.source})"
    if row.base != base:  # recorded the other way round: divide by it, exactly
        return Conversion(Decimal(1) / recorded, row.id, note, divisor=recorded)
    return Conversion(recorded, row.id, note)


def search_rates(session: Session, *, agreement_codes: list[str], currency: str | None = None,
                 kind: str | None = None, agreement: str | None = None, offset: int = 0,
                 limit: int | None = None) -> tuple[list[Rate], int]:
    """A page of the rate table (oldest first) and the number matching in all: market rates,
    and the fixed rates of the agreements in `agreement_codes` only."""
    conds = [or_(Rate.agreement_code.is_(None), Rate.agreement_code.in_(agreement_codes))]
    if currency:
        conds.append(or_(Rate.base == currency.upper(), Rate.quote == currency.upper()))
    if kind:
        conds.append(Rate.kind == kind)
    if agreement:
        conds.append(Rate.agreement_code == agreement.upper())
    stmt = (select(Rate).where(*conds)
            .order_by(Rate.effective_on, Rate.base, Rate.quote, Rate.id).offset(offset))
    if limit is not None:
        stmt = stmt.limit(limit)
    count = session.scalar(select(func.count()).select_from(Rate).where(*conds)) or 0
    return list(session.scalars(stmt)), count
