"""Money: every amount in acsa passes through here.

An amount is an integer number of the currency's minor units plus its ISO 4217 code
(JPY has no minor unit, PHP and USD have two). Arithmetic is exact `Decimal`; rounding happens
only where a rate or a price times a quantity makes a fraction of a minor unit, always with an
explicit mode, and allocation spreads remainders so no minor unit is ever lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

from acsa.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency

# ISO 4217 minor-unit exponents of the currencies an ACSA partner of Japan, the Philippines or
# the US settles in. Adding a partner's currency is one line here.
EXPONENTS: dict[str, int] = {
    "JPY": 0,
    "PHP": 2,
    "USD": 2,
    "AUD": 2,
    "GBP": 2,
    "EUR": 2,
    "CAD": 2,
    "INR": 2,
    "NZD": 2,
    "KRW": 0,
}

_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")

ROUNDING = ROUND_HALF_EVEN  # banker's rounding: no drift when many conversions are summed

# Amounts are stored as integer minor units in 64-bit (BIGINT) columns, which end at about
# 9.2 x 10^18: an amount is kept to at most 18 digits of minor units, so that it fits with room
# for a few sums. `Money.of` refuses a larger amount as input, and the services check a value
# computed from amounts (a line's price times its quantity, a conversion) with `storable`
# before they store it: never left to fail in the database. (Arithmetic on Money itself is
# not capped: a report may compute with larger intermediate values.)
MAX_MINOR = 10**18 - 1

# Rates are stored as text of at most 40 characters (the rate as recorded, and the rate a
# settlement or an offset used, which for a pair recorded the other way round is the
# reciprocal to 28 significant digits): a rate is kept between these bounds, and short enough.
MIN_RATE, MAX_RATE, RATE_CHARS = Decimal("1E-9"), Decimal("1E+9"), 40


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None


def check_currency(currency: str) -> str:
    exponent(currency)
    return currency


def storable(amount: Money, *, field: str | None, what: str = "") -> Money:
    """`amount` if it can be stored (at most MAX_MINOR minor units either way); otherwise
    InvalidAmount naming `field`, saying what the amount is (`what`, e.g. "line 1: 10,000 L at
    9,000,000 JPY")."""
    if abs(amount.minor) <= MAX_MINOR:
        return amount
    largest = Money(MAX_MINOR, amount.currency)
    raise InvalidAmount(
        f"{what + ' is ' if what else ''}{amount}: too large; acsa keeps amounts up to "
        f"{largest} (18 digits of {amount.currency} minor units)", field=field,
        hint="Check the amount, the quantity and the unit price: no real support is worth "
             "this much.")


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: `minor` units of `currency`."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise InvalidAmount(f"{self.minor!r} is not a whole number of minor units")
        check_currency(self.currency)

    # construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str, *,
           field: str | None = None) -> Money:
        """An amount written in major units ("1250.50", PHP). More decimals than the currency
        has are refused rather than silently rounded: a price is what the officer wrote. More
        than MAX_MINOR minor units either way is refused as too large to store; `field` names
        the input in the refusal."""
        exp = exponent(currency)
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise InvalidAmount(f"{amount!r} is not a number", field=field) from None
        if not value.is_finite():
            raise InvalidAmount(f"{amount!r} is not a finite number", field=field)
        too_large = InvalidAmount(
            f"{amount} {currency} is too large to be a real amount: acsa keeps amounts up to "
            f"{Money(MAX_MINOR, currency)} (18 digits of {currency} minor units)", field=field)
        if value.adjusted() >= 18:
            raise too_large
        with localcontext() as ctx:
            ctx.prec = 60
            scaled = value.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(
                f"{amount} {currency} has more than {exp} decimal place(s); "
                f"{currency} is counted in units of {Decimal(1).scaleb(-exp)}", field=field
            )
        if abs(scaled) > MAX_MINOR:
            raise too_large
        return cls(int(scaled), currency)

    @classmethod
    def parse(cls, text: str) -> Money:
        """'1250.50 PHP', 'PHP 1250.50' or '1,250.50 PHP' (commas only as thousands groups:
        a decimal comma is refused rather than read as a hundredfold amount)."""
        parts = text.split()
        if len(parts) != 2:
            raise InvalidAmount(f"{text!r}: write an amount and a currency, e.g. '1250.50 PHP'")
        a, b = parts
        if a.isalpha():
            a, b = b, a
        if "," in a:
            if not _GROUPED.match(a):
                raise InvalidAmount(f"{a!r}: commas may only group thousands (1,250.50); "
                                    "write decimals with a point")
            a = a.replace(",", "")
        return cls.of(a, b.upper())

    # views --------------------------------------------------------------------------------
    @property
    def amount(self) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 60
            return Decimal(self.minor).scaleb(-exponent(self.currency))

    def __str__(self) -> str:
        exp = exponent(self.currency)
        return f"{self.amount:,.{exp}f} {self.currency}"

    # arithmetic ---------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def is_zero(self) -> bool:
        return self.minor == 0

    def times(self, quantity: Decimal | int | str) -> Money:
        """Unit price times a quantity, rounded once to the minor unit."""
        with localcontext() as ctx:
            ctx.prec = 60
            exact = Decimal(self.minor) * Decimal(str(quantity))
            return Money(int(exact.to_integral_value(rounding=ROUNDING)), self.currency)

    def convert(self, rate: Decimal | str, to: str) -> Money:
        """This amount in `to`, where `rate` is units of `to` per one unit of this currency."""
        with localcontext() as ctx:
            ctx.prec = 60
            major = self.amount * Decimal(str(rate))
            scaled = major.scaleb(exponent(to))
            return Money(int(scaled.to_integral_value(rounding=ROUNDING)), to)

    def convert_dividing(self, rate: Decimal | str, to: str) -> Money:
        """This amount in `to`, where `rate` is units of this currency per one unit of `to`
        (a rate recorded the other way round): divided exactly, rounded once with ROUNDING.
        Never through a rounded reciprocal, which can turn an exact half into more than one."""
        value = Decimal(str(rate))
        if not value.is_finite() or value <= 0:
            raise InvalidAmount(f"rate {rate!r} must be a positive number")
        # minor * 10^(exp(to) - exp(self)) / (digits * 10^e), exactly, as num / den
        sign, digits, e = value.as_tuple()
        assert isinstance(e, int)
        n = int("".join(map(str, digits)) or "0")
        shift = exponent(to) - exponent(self.currency) - e
        num, den = self.minor * 10 ** max(shift, 0), n * 10 ** max(-shift, 0)
        whole, rest = divmod(num, den)  # floor; 0 <= rest < den
        if rest == 0:
            return Money(whole, to)
        # a stand-in with the same whole part and the same side of the half: rounds alike
        frac = Decimal("0.5") if 2 * rest == den else \
            Decimal("0.25") if 2 * rest < den else Decimal("0.75")
        with localcontext() as ctx:
            ctx.prec = 60
            return Money(int((Decimal(whole) + frac).to_integral_value(rounding=ROUNDING)), to)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split into parts proportional to `weights`; the parts always sum to the whole
        (largest-remainder method), so allocation never creates or loses a minor unit."""
        if not weights or any(Decimal(str(w)) < 0 for w in weights):
            raise InvalidAmount("allocation needs at least one weight and no negative weight")
        total = sum(Decimal(str(w)) for w in weights)
        if total == 0:
            raise InvalidAmount("allocation weights sum to zero")
        with localcontext() as ctx:
            ctx.prec = 60
            exact = [Decimal(self.minor) * Decimal(str(w)) / total for w in weights]
            floors = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
            rest = self.minor - sum(floors)
            order = sorted(range(len(weights)), key=lambda i: exact[i] - floors[i], reverse=True)
            for i in order[:rest]:
                floors[i] += 1
        return [Money(m, self.currency) for m in floors]


def total(amounts: Sequence[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for a in amounts:
        result = result + a
    return result


def parse_rate(text: str | Decimal) -> Decimal:
    """A rate as recorded: a positive number between MIN_RATE and MAX_RATE, written out (as
    it is stored) in at most RATE_CHARS characters."""
    try:
        rate = Decimal(str(text))
    except InvalidOperation:
        raise InvalidAmount(f"rate {text!r} is not a number", field="rate") from None
    if not rate.is_finite() or rate <= 0:
        raise InvalidAmount(f"rate {text!r} must be a positive number", field="rate")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidAmount(
            f"rate {text} is out of range: acsa keeps rates from {MIN_RATE:f} to {MAX_RATE:f} "
            "units of the quote currency per unit of the base currency", field="rate",
            hint="Check the rate and its direction: record the pair the other way round if "
                 "that gives a rate in range.")
    if len(format(rate, "f")) > RATE_CHARS:
        raise InvalidAmount(
            f"rate {text} has too many digits: written out it is {len(format(rate, 'f'))} "
            f"characters, more than the {RATE_CHARS} a rate is kept in", field="rate",
            hint="Give the rate with fewer decimal places, as its source publishes it.")
    return rate
