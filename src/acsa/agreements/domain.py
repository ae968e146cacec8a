"""What an agreement says: the validated shape of an agreement file and the rules it sets.

Pure: no database, no clock, no I/O. An agreement file (TOML) is parsed by `loader.py` and
validated here; every rule that depends on the agreement (in force, eligible activity and
category, ammunition, settlement methods, deadlines, fiscal years, rate policy, ceilings)
is answered by a method of `Agreement`.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from acsa import errors, money


class Kind(enum.StrEnum):
    SUPPLY = "supply"
    SERVICE = "service"


class Method(enum.StrEnum):
    CASH = "cash"
    RIK = "rik"  # replacement in kind: the same item, or the same type, quality and quantity
    EVE = "eve"  # equal-value exchange: a service of the same type and equal value


# The 16 categories of Japan's ACSAs, with whether each is a supply or a service.
CATEGORIES: dict[str, Kind] = {
    "food": Kind.SUPPLY,
    "water": Kind.SUPPLY,
    "billeting": Kind.SERVICE,
    "transportation": Kind.SERVICE,
    "fuel": Kind.SUPPLY,  # fuel, oil and lubricants
    "clothing": Kind.SUPPLY,
    "communications": Kind.SERVICE,
    "medical": Kind.SERVICE,
    "base_support": Kind.SERVICE,
    "storage": Kind.SERVICE,
    "facilities": Kind.SERVICE,  # use of facilities
    "training": Kind.SERVICE,
    "spare_parts": Kind.SUPPLY,  # spare parts and components
    "repair": Kind.SERVICE,  # repair and maintenance
    "port_services": Kind.SERVICE,  # airport and seaport services
    "ammunition": Kind.SUPPLY,
}
CATEGORY_LABELS = {
    "food": "Food", "water": "Water", "billeting": "Billeting",
    "transportation": "Transportation (incl. airlift)", "fuel": "Fuel, oil and lubricants",
    "clothing": "Clothing", "communications": "Communications",
    "medical": "Medical services", "base_support": "Base support", "storage": "Storage",
    "facilities": "Use of facilities", "training": "Training services",
    "spare_parts": "Spare parts and components", "repair": "Repair and maintenance",
    "port_services": "Airport and seaport services", "ammunition": "Ammunition",
}
WEAPONS = {"weapon", "weapons", "arms", "weapon_systems"}

ACTIVITY_TYPES = {
    "exercise": "Bilateral or multilateral exercise",
    "training": "Training",
    "peacekeeping": "UN peacekeeping or coordinated peace operation",
    "hadr": "Humanitarian assistance and disaster relief",
    "disaster_response": "Large-scale disaster response",
    "evacuation": "Protection or evacuation of nationals abroad",
    "liaison": "Liaison and routine activities (port call)",
    "other": "Other activity each side's law allows",
}

CategoryCode = Literal[
    "food", "water", "billeting", "transportation", "fuel", "clothing", "communications",
    "medical", "base_support", "storage", "facilities", "training", "spare_parts", "repair",
    "port_services", "ammunition",
]
ActivityType = Literal[
    "exercise", "training", "peacekeeping", "hadr", "disaster_response", "evacuation",
    "liaison", "other",
]
PartyCode = Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FiscalYear(_Strict):
    start: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
                       description="MM-DD the fiscal year starts")
    named_by: Literal["start", "end"] = Field(
        description="whether FY N is named by the calendar year it starts or ends in")

    @field_validator("start")
    @classmethod
    def _real_day(cls, v: str) -> str:
        month, day = (int(x) for x in v.split("-"))
        if (month, day) == (2, 29):
            raise ValueError("a fiscal year cannot start on 29 February")
        try:
            dt.date(2001, month, day)
        except ValueError:
            raise ValueError(f"{v} is not a day of the year") from None
        return v

    def year_of(self, on: dt.date) -> int:
        month, day = (int(x) for x in self.start.split("-"))
        started = on >= dt.date(on.year, month, day)
        start_year = on.year if started else on.year - 1
        if (month, day) == (1, 1):
            return start_year
        return start_year if self.named_by == "start" else start_year + 1

    def bounds(self, year: int) -> tuple[dt.date, dt.date]:
        """First and last day of fiscal year `year`."""
        month, day = (int(x) for x in self.start.split("-"))
        start_year = year if (self.named_by == "start" or (month, day) == (1, 1)) else year - 1
        first = dt.date(start_year, month, day)
        nxt = dt.date(start_year + 1, month, day)
        return first, nxt - dt.timedelta(days=1)


class Ammunition(_Strict):
    allowed: bool
    activity_types: list[ActivityType] = []

    @model_validator(mode="after")
    def _types_only_when_allowed(self) -> Ammunition:
        if not self.allowed and self.activity_types:
            raise ValueError("activity_types must be empty when ammunition is not allowed")
        return self


class Settlement(_Strict):
    supply_methods: list[Method] = Field(min_length=1)
    service_methods: list[Method] = Field(min_length=1)
    deadline_months: int = Field(ge=1, le=120, description="months from delivery to settle")
    days_to_pay: int = Field(ge=1, le=365, description="days from the bill to pay in cash")
    offset: Literal["approved_netting", "after_months"] = Field(
        description="approved_netting: both sides approve a netting document; after_months: "
        "unpaid credits may also be offset unilaterally after offset_after_months")
    offset_after_months: int | None = Field(default=None, ge=1, le=120)
    overdue_in_kind: Literal["convert_to_cash", "flag_only"] = Field(
        description="what `acsa deadlines` does to a return in kind not made in time")

    @field_validator("supply_methods")
    @classmethod
    def _supply(cls, v: list[Method]) -> list[Method]:
        if Method.EVE in v:
            raise ValueError("supplies settle in cash or in kind (rik), never by eve")
        return v

    @field_validator("service_methods")
    @classmethod
    def _service(cls, v: list[Method]) -> list[Method]:
        if Method.RIK in v:
            raise ValueError("services settle in cash or by equal-value exchange (eve), not rik")
        return v

    @model_validator(mode="after")
    def _after_months(self) -> Settlement:
        if self.offset == "after_months" and self.offset_after_months is None:
            raise ValueError("offset_after_months is required when offset = 'after_months'")
        return self


class Rates(_Strict):
    policy: Literal["fixed_fiscal_year", "rate_on_date"]
    fiscal_year_party: PartyCode | None = Field(
        default=None, description="whose fiscal year fixes the rate (fixed_fiscal_year only)")

    @model_validator(mode="after")
    def _fy_party(self) -> Rates:
        if self.policy == "fixed_fiscal_year" and not self.fiscal_year_party:
            raise ValueError("fiscal_year_party is required for policy 'fixed_fiscal_year'")
        return self


class Ceiling(_Strict):
    party: PartyCode = Field(description="the party whose acquisitions are capped")
    currency: str
    supplies: Decimal | None = Field(default=None, gt=0)
    services: Decimal | None = Field(default=None, gt=0)
    total: Decimal | None = Field(default=None, gt=0)
    fiscal_year: int | None = Field(default=None, description="omit: every fiscal year")
    warn_at_percent: int = Field(default=80, ge=1, le=100)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if v not in money.EXPONENTS:
            raise ValueError(f"unknown currency {v!r}; use an ISO 4217 code such as USD")
        return v


class Agreement(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,11}$")
    version: int = Field(ge=1)
    title: str = Field(min_length=3)
    short_name: str = Field(min_length=2)
    parties: list[PartyCode] = Field(min_length=2, max_length=2)
    signed_on: dt.date
    in_force_on: dt.date | None = Field(description="unknown: orders are refused")
    term_years: int | None = Field(default=None, ge=1, le=99)
    auto_renew: bool = False
    ends_on: dt.date | None = None
    categories: list[CategoryCode] = Field(min_length=1)
    activity_types: list[ActivityType] = Field(min_length=1)
    ammunition: Ammunition
    settlement: Settlement
    rates: Rates
    fiscal_years: dict[PartyCode, FiscalYear]
    ceilings: list[Ceiling] = []
    unconfirmed: list[str] = Field(
        default=[], description="dotted names of values not confirmed from public sources")
    sources: list[str] = []
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Agreement:
        if len(set(self.parties)) != 2:
            raise ValueError("parties must be two different parties")
        if set(self.fiscal_years) != set(self.parties):
            raise ValueError("fiscal_years must give exactly the two parties' fiscal years")
        if "ammunition" in self.categories and not self.ammunition.allowed:
            raise ValueError("categories lists ammunition but ammunition.allowed is false")
        if self.ammunition.allowed and "ammunition" not in self.categories:
            raise ValueError("ammunition.allowed is true but ammunition is not in categories")
        for c in self.ceilings:
            if c.party not in self.parties:
                raise ValueError(f"ceiling party {c.party} is not a party to the agreement")
        if self.rates.fiscal_year_party and self.rates.fiscal_year_party not in self.parties:
            raise ValueError("rates.fiscal_year_party must be one of the parties")
        if self.in_force_on and self.in_force_on < self.signed_on:
            raise ValueError("in_force_on is before signed_on")
        if self.ends_on and self.ends_on < (self.in_force_on or self.signed_on):
            raise ValueError("ends_on is before the agreement enters into force")
        known = set(type(self).model_fields) | {
            f"{k}.{f}" for k in ("ammunition", "settlement", "rates")
            for f in type(getattr(self, k)).model_fields}
        for name in self.unconfirmed:
            if name.split(".")[0] not in known:
                raise ValueError(f"unconfirmed names unknown field {name!r}")
        return self

    # --- rules ----------------------------------------------------------------------------
    def end_on(self) -> dt.date | None:
        if self.ends_on:
            return self.ends_on
        if self.in_force_on and self.term_years and not self.auto_renew:
            f = self.in_force_on
            try:
                return f.replace(year=f.year + self.term_years) - dt.timedelta(days=1)
            except ValueError:  # 29 February
                return dt.date(f.year + self.term_years, 3, 1) - dt.timedelta(days=1)
        return None

    def check_in_force(self, on: dt.date) -> None:
        if self.in_force_on is None:
            raise errors.AgreementNotInForce(
                f"{self.code} ({self.short_name}) has no known entry-into-force date, so no "
                "order can be placed under it yet",
                hint=f"When it enters into force, amend it: add a file with amends = "
                f"\"{self.code}\" and in_force_on = YYYY-MM-DD, then `acsa agreements load`.",
                field="agreement", agreement=self.code)
        if on < self.in_force_on:
            raise errors.AgreementNotInForce(
                f"{self.code} enters into force on {self.in_force_on}; {on} is before that",
                hint="Date the order on or after the entry-into-force date.", field="order_on",
                agreement=self.code, in_force_on=self.in_force_on.isoformat(),
                on=on.isoformat())
        end = self.end_on()
        if end and on > end:
            raise errors.AgreementExpired(
                f"{self.code} expired on {end}; {on} is after that",
                hint="Use an agreement in force, or load the amendment that extends it.",
                field="order_on", agreement=self.code, ended_on=end.isoformat(),
                on=on.isoformat())

    def check_activity_type(self, activity_type: str) -> None:
        if activity_type not in self.activity_types:
            raise errors.ActivityNotEligible(
                f"activity type {activity_type!r} is not eligible under {self.code}",
                hint=f"Eligible types: {', '.join(self.activity_types)}.", field="activity",
                activity_type=activity_type, agreement=self.code,
                activity_types=list(self.activity_types))

    def check_category(self, category: str, activity_type: str) -> Kind:
        if category.lower() in WEAPONS:
            raise errors.WeaponsExcluded(
                f"weapons are excluded from every ACSA, including {self.code}", field="category",
                agreement=self.code)
        if category not in CATEGORIES:
            raise errors.CategoryNotEligible(
                f"{category!r} is not an ACSA category",
                hint=f"Use one of: {', '.join(CATEGORIES)}.", field="category",
                category=category, categories=list(CATEGORIES))
        if category == "ammunition":
            if not self.ammunition.allowed:
                raise errors.AmmunitionNotAllowed(
                    f"{self.code} does not allow ammunition", field="category",
                    hint="Remove the ammunition line; it cannot be provided under this agreement.",
                    agreement=self.code)
            if activity_type not in self.ammunition.activity_types:
                raise errors.AmmunitionNotAllowed(
                    f"{self.code} allows ammunition only for "
                    f"{', '.join(self.ammunition.activity_types) or 'no activity'}, "
                    f"not for {activity_type!r}", field="category",
                    hint="Remove the ammunition line or order it under an eligible activity.",
                    agreement=self.code, activity_type=activity_type,
                    activity_types=list(self.ammunition.activity_types))
        if category not in self.categories:
            raise errors.CategoryNotEligible(
                f"category {category!r} is not eligible under {self.code}",
                hint=f"Eligible: {', '.join(self.categories)}.", field="category",
                category=category, agreement=self.code, categories=list(self.categories))
        return CATEGORIES[category]

    def check_method(self, kind: Kind, method: str) -> Method:
        allowed = (self.settlement.supply_methods if kind is Kind.SUPPLY
                   else self.settlement.service_methods)
        if method not in [m.value for m in allowed]:
            raise errors.MethodNotAllowed(
                f"a {kind.value} cannot be settled by {method!r} under {self.code}",
                hint=f"Allowed for a {kind.value}: {', '.join(m.value for m in allowed)}.",
                field="method", kind=kind.value, method=method, agreement=self.code,
                methods=[m.value for m in allowed])
        return Method(method)

    def fiscal_year(self, party: str, on: dt.date) -> int:
        return self.fiscal_years[party].year_of(on)

    def other_party(self, party: str) -> str:
        a, b = self.parties
        if party not in (a, b):
            raise errors.WrongParty(f"{party} is not a party to {self.code}", field="party",
                                    party=party, agreement=self.code)
        return b if party == a else a
