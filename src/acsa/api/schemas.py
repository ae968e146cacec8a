"""Request and response bodies of the HTTP API. Requests refuse unknown fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

Text = Annotated[str, StringConstraints(max_length=500)]
ShortText = Annotated[str, StringConstraints(max_length=120)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1e15"), max_digits=22, decimal_places=3)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1e16"), max_digits=22, decimal_places=2)]
PositiveAmount = Annotated[Decimal, Field(gt=0, le=Decimal("1e16"), max_digits=22,
                                          decimal_places=2)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


# --- auth ----------------------------------------------------------------------------------
class Login(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SignedIn(BaseModel):
    username: str
    party: str
    official: str | None
    role: str | None
    is_admin: bool
    csrf_token: str | None = None


class TokenCreate(Input):
    name: ShortText = "token"
    days: int = Field(90, ge=1, le=366)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    token: str | None = Field(None, description="Shown once, when the token is created.")


# --- orders --------------------------------------------------------------------------------
class LineIn(Input):
    category: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    stock_number: Annotated[str, StringConstraints(max_length=40)] = ""
    quantity: Quantity
    unit: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    unit_price: Amount
    method: Literal["cash", "rik", "eve"]


class OrderCreate(Input):
    agreement: Code
    activity: Code
    order_on: dt.date
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    currency: Currency | None = None
    delivery_place: Text = ""
    delivery_on: dt.date | None = None
    fund_citation: Text = ""
    billing_address: Text | None = None
    requester_poc: Text = ""
    supplier_poc: Text = ""
    requesting_unit: Code | None = None
    supplying_unit: Code | None = None
    implementing_arrangement: Text = ""
    notes: Annotated[str, StringConstraints(max_length=4000)] = ""


class OrderEdit(Input):
    delivery_place: Text | None = None
    delivery_on: dt.date | None = None
    fund_citation: Text | None = None
    billing_address: Text | None = None
    requester_poc: Text | None = None
    supplier_poc: Text | None = None
    implementing_arrangement: Text | None = None
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None
    requesting_unit: Code | None = None
    supplying_unit: Code | None = None
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=200)


class Act(Input):
    on: dt.date | None = None


class AcceptIn(Act):
    supplier_poc: Text | None = None
    supplying_unit: Code | None = None


class ReasonIn(Act):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ResolveIn(Act):
    resolution: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ReceiptLineIn(Input):
    line: int = Field(ge=1, le=10_000)
    received: Annotated[Decimal, Field(ge=0, le=Decimal("1e15"), max_digits=22,
                                       decimal_places=3)]
    damaged: Annotated[Decimal, Field(ge=0, le=Decimal("1e15"), max_digits=22,
                                      decimal_places=3)] = Decimal(0)
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""


class ReceiptIn(Act):
    lines: list[ReceiptLineIn] = Field(default_factory=list, max_length=200)
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class OrderSummary(BaseModel):
    number: str
    agreement: str
    activity: str | None
    requesting_party: str
    supplying_party: str
    order_on: dt.date
    state: str
    overdue: bool
    total: str
    total_minor: int
    currency: str
    version: int


class OrderOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    number: str
    state: str
    version: int
    agreement: str
    requesting_party: str
    supplying_party: str
    lines: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    receipts: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    total: str
    fund_citation: str | None = Field(None, description="Only for the requesting party.")
    notes: str | None = Field(None, description="Only for the requesting party.")


class DeliveryOut(BaseModel):
    delivery_id: int
    document_sha256: str
    document_size: int
    order: OrderOut


class EventOut(BaseModel):
    seq: int
    at: str
    party: str
    actor: str
    action: str
    order_hash: str
    payload: dict[str, Any]
    hash: str


# --- settlement ----------------------------------------------------------------------------
class PayIn(Act):
    amount: PositiveAmount
    currency: Currency
    reference: Text = ""


class ReturnIn(Act):
    quantity: Quantity
    unit: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    stock_number: Annotated[str, StringConstraints(max_length=40)] = ""
    category: Annotated[str, StringConstraints(max_length=30)] = ""
    description: Text = ""


class ExchangeIn(Act):
    value: PositiveAmount
    currency: Currency
    category: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class OffsetProposeIn(Act):
    agreement: Code
    currency: Currency | None = None
    note: Text = ""


class DeadlinesIn(Input):
    as_of: dt.date
    soon_days: int = Field(30, ge=0, le=365)


class RateIn(Input):
    base: Currency
    quote: Currency
    rate: Annotated[Decimal, Field(gt=0, le=Decimal("1e9"), max_digits=24, decimal_places=12)]
    on: dt.date
    source: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    kind: Literal["market", "agreement_fy"] = "market"
    agreement: Code | None = None


# --- reference data ------------------------------------------------------------------------
class UnitIn(Input):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    address: Text = ""


class OfficialIn(Input):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Literal["requesting", "approving", "supplying", "receiving", "finance", "auditor"]
    valid_from: dt.date
    valid_to: dt.date | None = None
    limit_amount: PositiveAmount | None = None
    limit_currency: Currency | None = None
    unit: Code | None = None
    person: Code | None = None
    rank_title: ShortText = ""
    email: ShortText = ""


class UserIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=80,
                                               pattern=r"^\S+$")]
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)]
    official: Code | None = None
    is_admin: bool = False
    display_name: ShortText = ""


class ActivityIn(Input):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    type: Literal["exercise", "training", "peacekeeping", "hadr", "disaster_response",
                  "evacuation", "liaison", "other"]
    place: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    starts_on: dt.date
    ends_on: dt.date
    agreements: list[Code] = Field(min_length=1, max_length=10)


class WebhookIn(Input):
    url: Annotated[str, StringConstraints(min_length=8, max_length=500,
                                          pattern=r"^https?://[^\s]+$")]
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)]
    description: ShortText = ""
