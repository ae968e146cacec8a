"""Quantities with units, through one pint registry.

Counted items use `each` (a dimension of its own, so 12 each never converts to litres).
pint is imported when a unit is first checked or converted, not when this module is: it costs
a tenth of a second, and most `acsa` commands never touch a unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

from acsa.errors import IncompatibleUnits, InvalidQuantity

if TYPE_CHECKING:
    import pint

# quantities are kept to a thousandth of their unit (the books count in-kind items so)
PRECISION = Decimal("0.001")


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    import pint

    ureg = pint.UnitRegistry(non_int_type=Decimal, cache_folder=None)
    ureg.define("each = [item] = ea = pc = piece = unit_item")
    ureg.define("person_day = [person_time] = pd")
    ureg.define("sortie = [sortie]")
    return ureg


def check_unit(unit: str) -> str:
    if not isinstance(unit, str) or not unit.strip():
        raise InvalidQuantity("a unit of measure is required", field="unit",
                              hint="Use a unit such as L, gal, kg, t, each, h, day.")
    if len(unit) > 30 or not all(c.isalnum() or c in " _*/^." for c in unit):
        raise InvalidQuantity(f"unknown unit {unit!r}", field="unit",
                              hint="Use a unit such as L, gal, kg, t, each, h, day.")
    try:
        parsed = registry().Unit(unit)
    except Exception:  # noqa: BLE001 - pint's parser raises many kinds on odd input
        raise InvalidQuantity(f"unknown unit {unit!r}", field="unit",
                              hint="Use a unit such as L, gal, kg, t, each, h, day.") from None
    if parsed.dimensionless:
        raise InvalidQuantity(f"{unit!r} is not a unit of measure", field="unit",
                              hint="Count items in 'each'; use L, kg, h... for the rest.")
    return unit


def parse_quantity(text: str | Decimal, *, field: str = "quantity",
                   allow_zero: bool = False) -> Decimal:
    try:
        q = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidQuantity(f"{field}: {text!r} is not a number", field=field) from None
    if not q.is_finite() or q < 0 or (q == 0 and not allow_zero):
        raise InvalidQuantity(f"{field}: {text} must be a positive number", field=field)
    if q > Decimal("1e15"):
        raise InvalidQuantity(f"{field}: {text} is too large to be a real quantity", field=field)
    if q != q.quantize(PRECISION):
        raise InvalidQuantity(f"{field}: {text} has more than 3 decimal places", field=field)
    return q


def convert(quantity: Decimal, unit: str, to: str) -> Decimal:
    """`quantity` `unit` expressed in `to`, rounded to a thousandth of `to`."""
    import pint

    ureg = registry()
    try:
        value = ureg.Quantity(Decimal(quantity), check_unit(unit)).to(check_unit(to)).magnitude
    except pint.DimensionalityError:
        raise IncompatibleUnits(f"cannot convert {unit} to {to}: different kinds of quantity",
                                field="unit") from None
    except (ArithmeticError, ValueError, OverflowError):
        raise InvalidQuantity(f"{quantity} {unit} cannot be expressed in {to}",
                              field="quantity") from None
    return Decimal(value).quantize(PRECISION, rounding=ROUND_HALF_EVEN)
