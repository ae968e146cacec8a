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
    rate: Annotated[Decimal, Field(ge=Decimal("1e-9"), le=Decimal("1e9"), max_digits=24,
                                   decimal_places=12)]
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


class OfficialChangeIn(Input):
    """A change of an official: only the fields sent change; null clears a limit (no limit),
    `valid_to` (open-ended) or `unit` (none)."""

    limit_amount: PositiveAmount | None = None
    limit_currency: Currency | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    unit: Code | None = None


class OfficialDeactivateIn(Input):
    on: dt.date  # the last day of the official's authority


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


# --- problem details (documented on the settlement, books, reference and audit routes) -----
class Problem(BaseModel):
    """An RFC 9457 problem-details document."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str | None = None
    hint: str | None = None
    errors: list[dict[str, Any]] | None = None


def _problem_response(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("The body could not be read (not JSON, not UTF-8)."),
    401: _problem_response("Not signed in."),
    403: _problem_response("The viewer's role or party may not do this; the reason is given."),
    404: _problem_response("No such object among those the viewer's party may see."),
    409: _problem_response("An ACSA rule forbids it, or it conflicts with the stored state."),
    412: _problem_response("If-Match named a version the object has moved past."),
    413: _problem_response("The body is over the size limit."),
    422: _problem_response("The request is malformed; each bad field is named."),
    429: _problem_response("Too many attempts: wait (see Retry-After)."),
}


# --- settlement: claims, settlements, offsets, deadlines -----------------------------------
class ClaimSummary(BaseModel):
    number: str
    order: str
    agreement: str
    method: str = Field(description="cash, rik or eve")
    creditor: str
    debtor: str
    item: str
    category: str
    amount: str = Field(description="What was billed, e.g. '1,234.50 PHP' (in-kind: the value "
                        "at the order price).")
    amount_minor: int
    currency: str
    quantity: str | None = Field(None, description="In-kind (rik) claims: the quantity owed.")
    unit: str | None = None
    outstanding: str
    outstanding_minor: int
    outstanding_quantity: str | None = None
    delivered_on: dt.date
    issued_on: dt.date
    due_on: dt.date
    state: str = Field(description="open, settled or converted")
    overdue: bool
    settled_on: dt.date | None = None


class SettlementRecordOut(BaseModel):
    id: int
    kind: str = Field(description="payment, return, exchange, offset or conversion")
    settled_on: dt.date
    applied: str = Field(description="What the settlement discharged, in the claim currency.")
    applied_minor: int
    applied_quantity: str | None = None
    tendered: str | None = Field(None, description="What was paid, returned or given, as "
                                 "tendered (before any conversion).")
    rate: str | None = None
    reference: str
    description: str
    offset: str | None = None
    recorded_by: str | None = Field(None, description="Official code; none for the system.")


class ClaimOut(ClaimSummary):
    stock_number: str
    converted_from: str | None = None
    settlements: list[SettlementRecordOut]


class SettlementOut(BaseModel):
    settlement: SettlementRecordOut
    claim: ClaimOut


class OffsetItemOut(BaseModel):
    claim: str
    creditor: str
    debtor: str
    applied: str
    applied_minor: int
    value: str
    value_minor: int
    rate: str


class OffsetOut(BaseModel):
    number: str
    agreement: str
    state: str = Field(description="proposed, approved or withdrawn")
    proposing_party: str
    approving_party: str
    amount: str
    amount_minor: int
    currency: str
    offset_on: dt.date
    proposed_by: str | None
    approved_by: str | None
    note: str
    items: list[OffsetItemOut]


class DeadlineConversion(BaseModel):
    claim: str
    cash_claim: str


class DueSoon(BaseModel):
    claim: str
    due_on: dt.date


class DeadlinesOut(BaseModel):
    as_of: dt.date
    newly_overdue: list[str]
    converted: list[DeadlineConversion]
    due_soon: list[DueSoon]
    offset_eligible: list[str]


# --- books ---------------------------------------------------------------------------------
class BalanceOut(BaseModel):
    agreement: str
    creditor: str
    debtor: str
    method: str = Field(description="cash, rik or eve")
    commodity: str
    creditor_book: str = Field(description="What the creditor's book says it is owed.")
    debtor_book: str = Field(description="What the debtor's book says it owes.")
    creditor_book_units: int = Field(description="Minor units (in-kind: thousandths).")
    debtor_book_units: int
    books_agree: bool


class NetOut(BaseModel):
    creditor: str
    debtor: str
    amount: str
    amount_minor: int
    currency: str


class BalanceReport(BaseModel):
    as_of: dt.date
    balances: list[BalanceOut]
    reporting_currency: str | None = None
    net: list[NetOut] = Field(default_factory=list, description="Everything owed, in the "
                              "reporting currency (when one is asked for).")
    rates_used: list[str] = Field(default_factory=list)


class AgeingClaimOut(BaseModel):
    claim: str
    agreement: str
    creditor: str
    debtor: str
    method: str = Field(description="cash, rik or eve")
    outstanding: str
    outstanding_units: int
    value: str
    value_minor: int
    currency: str
    delivered_on: dt.date
    due_on: dt.date
    age_days: int
    bucket: str
    overdue: bool


class AgeingBucketsOut(BaseModel):
    creditor: str
    debtor: str
    currency: str
    amounts: dict[str, str] = Field(description="Bucket name -> value outstanding.")
    amounts_minor: dict[str, int]


class AgeingReport(BaseModel):
    as_of: dt.date
    bucket_names: list[str]
    claims: list[AgeingClaimOut]
    buckets: list[AgeingBucketsOut]


class SupportTotalOut(BaseModel):
    agreement: str
    supplier: str
    recipient: str
    fiscal_year: int
    activity: str | None
    category: str | None
    kind: str | None
    commodity: str
    amount: str
    amount_units: int


class CeilingUseOut(BaseModel):
    agreement: str
    party: str
    fiscal_year: int
    part: str = Field(description="supplies, services or total")
    currency: str
    ceiling: str
    ceiling_minor: int
    used: str
    used_minor: int
    headroom: str
    headroom_minor: int
    percent: str


class SupportReport(BaseModel):
    as_of: dt.date
    totals: list[SupportTotalOut]
    ceilings: list[CeilingUseOut]


# --- reference data ------------------------------------------------------------------------
class AgreementSummary(BaseModel):
    code: str
    version: int
    title: str
    short_name: str
    parties: list[str]
    signed_on: dt.date
    in_force_on: dt.date | None
    ends_on: dt.date | None
    status: str = Field(description="'in force', or why orders are refused today.")


class AgreementOut(AgreementSummary):
    definition: dict[str, Any] = Field(description="The agreement's terms as loaded.")


class PartyOut(BaseModel):
    code: str
    name: str
    force: str
    currency: str


class UnitOut(BaseModel):
    code: str
    party: str
    name: str
    address: str


class OfficialOut(BaseModel):
    code: str
    name: str
    person: str
    party: str
    role: str
    unit: str | None
    rank_title: str
    email: str
    limit: str | None
    limit_minor: int | None
    limit_currency: str | None
    valid_from: dt.date
    valid_to: dt.date | None


class UserOut(BaseModel):
    username: str
    display_name: str
    party: str
    official: str | None
    role: str | None
    is_admin: bool
    disabled: bool
    locked: bool


class ActivityOut(BaseModel):
    code: str
    name: str
    type: str
    place: str
    starts_on: dt.date
    ends_on: dt.date
    agreements: list[str] = Field(description="Those of the viewer's party only.")


class RateOut(BaseModel):
    id: int
    base: str
    quote: str
    rate: str
    effective_on: dt.date
    kind: str
    agreement: str | None
    fiscal_year: int | None
    source: str


# --- audit ---------------------------------------------------------------------------------
class VerifyOut(BaseModel):
    events: int
    head: str
    ok: bool
    broken_at: int | None
    reason: str | None


class AuditEventOut(EventOut):
    subject: str
    prev_hash: str


# --- webhooks ------------------------------------------------------------------------------
class WebhookOut(BaseModel):
    """A subscription as the API shows it: never its secret."""

    id: int
    party: str
    url: str
    description: str
    active: bool
    created_by: str
    created_at: dt.datetime
    deactivated_at: dt.datetime | None


class WebhookAttemptOut(BaseModel):
    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str
    duration_ms: int


class WebhookDeliveryOut(BaseModel):
    id: int
    event_seq: int
    action: str
    subject: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    log: list[WebhookAttemptOut]


# --- path and query identifiers; text PostgreSQL can store ---------------------------------
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=60,
                                              pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
"""A claim, offset, order or agreement number in a path or query (never a control byte)."""

NO_CONTROL = r"^[^\x00-\x1f]*$"  # free text in a query: no control characters


def refuse_nul(body: BaseModel) -> None:
    """Refuse a NUL character in any text of a request body as bad input (422): PostgreSQL
    cannot store it, and no field of acsa has a use for it."""
    from acsa import errors  # here only: the bodies themselves need nothing but pydantic

    for name, value in body:
        if isinstance(value, str) and "\x00" in value:
            raise errors.InvalidInput(f"{name}: text may not contain NUL characters",
                                      field=name)
