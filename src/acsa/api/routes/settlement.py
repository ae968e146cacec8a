"""Settlement: the claims register, payments, returns in kind, equal-value exchanges, offsets
and the deadlines run.

A claim or offset is visible only to its two parties (creditor and debtor, proposer and
approver): any other is 404, exactly like one that does not exist. Every action signs as the
viewer's own official, so the services' role, party, validity and separation-of-duties checks
hold for the signed-in person; a refusal is a 403 naming the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors, money, units
from acsa.agreements import service as agreements
from acsa.api import deps
from acsa.api.routes.orders import today
from acsa.api.schemas import (
    PROBLEM_RESPONSES,
    Act,
    ClaimOut,
    ClaimSummary,
    DeadlineConversion,
    DeadlinesIn,
    DeadlinesOut,
    DueSoon,
    ExchangeIn,
    Identifier,
    OffsetItemOut,
    OffsetOut,
    OffsetProposeIn,
    Page,
    PayIn,
    ReasonIn,
    ReturnIn,
    SettlementOut,
    SettlementRecordOut,
    refuse_nul,
)
from acsa.orders.models import Order
from acsa.parties.models import Official
from acsa.settlement import service
from acsa.settlement.models import Claim, Offset, SettlementRecord
from acsa.users.service import Viewer

router = APIRouter(tags=["settlement"], responses=PROBLEM_RESPONSES)

REFERENCE_LENGTH = SettlementRecord.__table__.c.reference.type.length  # type: ignore[attr-defined]


def _party_filter(description: str) -> Any:
    return Query(None, pattern=r"^[A-Za-z]{2,3}$", description=description)


# --- views ---------------------------------------------------------------------------------
def _order_numbers(s: Session, order_ids: set[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    rows = s.execute(select(Order.id, Order.number).where(Order.id.in_(order_ids)))
    return {order_id: number for order_id, number in rows}


def _code(s: Session, official_id: int | None) -> str | None:
    official = s.get(Official, official_id) if official_id else None
    return official.code if official else None


def _summary(claim: Claim, order: str) -> ClaimSummary:
    left = service.outstanding(claim)
    return ClaimSummary(
        number=claim.number, order=order, agreement=claim.agreement_code, method=claim.method,
        creditor=claim.creditor_party, debtor=claim.debtor_party, item=claim.item,
        category=claim.category, amount=str(money.Money(claim.amount_minor, claim.currency)),
        amount_minor=claim.amount_minor, currency=claim.currency,
        quantity=format(claim.quantity, "f") if claim.quantity is not None else None,
        unit=claim.unit, outstanding=str(money.Money(left.minor, claim.currency)),
        outstanding_minor=left.minor,
        outstanding_quantity=format(left.quantity, "f") if left.quantity is not None else None,
        delivered_on=claim.delivered_on, issued_on=claim.issued_on, due_on=claim.due_on,
        state=claim.state, overdue=claim.overdue, settled_on=claim.settled_on)


def _record_out(s: Session, claim: Claim, rec: SettlementRecord) -> SettlementRecordOut:
    tendered = None
    if rec.tendered_minor is not None and rec.tendered_currency:
        tendered = str(money.Money(rec.tendered_minor, rec.tendered_currency))
    elif rec.tendered_quantity is not None:
        tendered = f"{format(rec.tendered_quantity, 'f')} {rec.tendered_unit or ''}".strip()
    offset = s.get(Offset, rec.offset_id) if rec.offset_id else None
    return SettlementRecordOut(
        id=rec.id, kind=rec.kind, settled_on=rec.settled_on,
        applied=str(money.Money(rec.applied_minor, claim.currency)),
        applied_minor=rec.applied_minor,
        applied_quantity=format(rec.applied_quantity, "f")
        if rec.applied_quantity is not None else None,
        tendered=tendered, rate=rec.rate, reference=rec.reference,
        description=rec.description, offset=offset.number if offset else None,
        recorded_by=_code(s, rec.recorded_by_id))


def _claim_out(s: Session, claim: Claim) -> ClaimOut:
    s.refresh(claim)  # with every settlement recorded in this unit of work
    order = _order_numbers(s, {claim.order_id})[claim.order_id]
    origin = s.get(Claim, claim.converted_from_id) if claim.converted_from_id else None
    return ClaimOut(**_summary(claim, order).model_dump(), stock_number=claim.stock_number,
                    converted_from=origin.number if origin else None,
                    settlements=[_record_out(s, claim, r) for r in claim.settlements])


def _settlement_out(s: Session, rec: SettlementRecord) -> SettlementOut:
    claim = s.get(Claim, rec.claim_id)
    assert claim is not None
    out = _claim_out(s, claim)
    return SettlementOut(settlement=_record_out(s, claim, rec), claim=out)


def _offset_out(s: Session, o: Offset) -> OffsetOut:
    claims = {c.id: c for c in s.scalars(select(Claim).where(
        Claim.id.in_([i.claim_id for i in o.items])))}
    items = []
    for i in o.items:
        c = claims[i.claim_id]
        items.append(OffsetItemOut(
            claim=c.number, creditor=c.creditor_party, debtor=c.debtor_party,
            applied=str(money.Money(i.applied_minor, c.currency)), applied_minor=i.applied_minor,
            value=str(money.Money(i.value_minor, o.currency)), value_minor=i.value_minor,
            rate=i.rate))
    return OffsetOut(
        number=o.number, agreement=o.agreement_code, state=o.state,
        proposing_party=o.proposing_party, approving_party=o.approving_party,
        amount=str(money.Money(o.amount_minor, o.currency)), amount_minor=o.amount_minor,
        currency=o.currency, offset_on=o.offset_on,
        proposed_by=_code(s, o.proposed_by_id), approved_by=_code(s, o.approved_by_id),
        note=o.note, items=items)


# --- claims --------------------------------------------------------------------------------
@router.get("/claims", response_model=Page[ClaimSummary])
def list_claims(request: Request, viewer: Viewer = deps.ViewerDep,
                state: Literal["open", "settled", "converted"] | None = None,
                agreement: Identifier | None = None,
                debtor: str | None = _party_filter("Claims this party owes."),
                creditor: str | None = _party_filter("Claims owed to this party."),
                overdue: bool | None = None,
                method: Literal["cash", "rik", "eve"] | None = None,
                order_number: Identifier | None = Query(None, description="Claims of this "
                                                        "order only."),
                sort: Literal["due_on", "number", "issued_on", "delivered_on",
                              "state"] = "due_on",
                order: Literal["asc", "desc"] = "asc",
                page: int = Query(1, ge=1, le=1_000_000),
                page_size: int = Query(50, ge=1, le=500)) -> Page[ClaimSummary]:
    """Bills and in-kind obligations the viewer's party is creditor or debtor of, filtered,
    sorted (oldest due first by default) and paginated."""
    def go(s: Session) -> Page[ClaimSummary]:
        query = service.ClaimQuery(state=state, agreement=agreement, debtor=debtor,
                                   creditor=creditor, overdue=overdue, method=method,
                                   order=order_number, sort=sort, descending=order == "desc")
        rows, count = service.search_claims(s, query, viewer_party=viewer.party,
                                            offset=(page - 1) * page_size, limit=page_size)
        numbers = _order_numbers(s, {c.order_id for c in rows})
        return Page[ClaimSummary](items=[_summary(c, numbers[c.order_id]) for c in rows],
                                  page=page, page_size=page_size, total=count)
    return deps.run(request, go)


@router.get("/claims/{number}", response_model=ClaimOut)
def get_claim(number: Identifier, request: Request, viewer: Viewer = deps.ViewerDep) -> ClaimOut:
    """One claim with every settlement recorded against it."""
    return deps.run(request, lambda s: _claim_out(
        s, service.find_claim(s, number, viewer_party=viewer.party)))


Settle = Callable[[Session, Claim, str], SettlementRecord]


def _settle(request: Request, response: Response, viewer: Viewer, number: str, action: str,
            call: Settle) -> SettlementOut:
    by = deps.require_official(viewer, action)

    def go(s: Session) -> SettlementOut:
        claim = service.find_claim(s, number, viewer_party=viewer.party)  # 404 before any 403
        rec = call(s, claim, by)
        response.headers["Location"] = request.url.path.rsplit("/", 1)[0]  # the claim
        return _settlement_out(s, rec)
    return deps.run(request, go)


@router.post("/claims/{number}/payments", response_model=SettlementOut, status_code=201)
def pay(number: Identifier, body: PayIn, request: Request, response: Response,
        viewer: Viewer = deps.ViewerDep) -> SettlementOut:
    """Record a cash payment of a bill (the debtor's finance official); partial payments are
    allowed, another currency is converted at the agreement's rate."""
    refuse_nul(body)
    if len(body.reference) > REFERENCE_LENGTH:
        raise errors.InvalidInput(f"reference: at most {REFERENCE_LENGTH} characters",
                                  field="reference")
    return _settle(request, response, viewer, number, "pay a bill",
                   lambda s, claim, by: service.pay(
                       s, claim_ref=claim.number, by=by, on=body.on or today(),
                       amount=money.Money.of(body.amount, body.currency),
                       reference=body.reference))


def _check_return_unit(claim: Claim, quantity: Decimal, unit: str) -> None:
    """Refuse a unit that cannot be read, or whose quantity cannot be expressed in the claim's
    unit, as bad input before the service converts it."""
    try:
        units.convert(quantity, unit, claim.unit or unit)
    except errors.AcsaError:
        raise
    except Exception:  # noqa: BLE001 - the units library's own errors on unreadable input
        raise errors.InvalidQuantity(f"cannot express {quantity} {unit} in {claim.unit}",
                                     field="unit") from None


@router.post("/claims/{number}/returns", response_model=SettlementOut, status_code=201)
def return_in_kind(number: Identifier, body: ReturnIn, request: Request, response: Response,
                   viewer: Viewer = deps.ViewerDep) -> SettlementOut:
    """Record a return in kind of an RIK claim (the debtor's finance or supplying official):
    the same item or type; partial returns allowed, units converted to the claim's."""
    refuse_nul(body)

    def call(s: Session, claim: Claim, by: str) -> SettlementRecord:
        if claim.method == "rik":
            _check_return_unit(claim, body.quantity, body.unit)
        return service.return_in_kind(
            s, claim_ref=claim.number, by=by, on=body.on or today(), quantity=body.quantity,
            unit=body.unit, stock_number=body.stock_number, category=body.category,
            description=body.description)
    return _settle(request, response, viewer, number, "return items in kind", call)


@router.post("/claims/{number}/exchanges", response_model=SettlementOut, status_code=201)
def exchange(number: Identifier, body: ExchangeIn, request: Request, response: Response,
             viewer: Viewer = deps.ViewerDep) -> SettlementOut:
    """Record an equal-value exchange against an EVE claim (the debtor's finance or supplying
    official): a service of the same category in return."""
    refuse_nul(body)
    return _settle(request, response, viewer, number, "provide an equal-value exchange",
                   lambda s, claim, by: service.exchange(
                       s, claim_ref=claim.number, by=by, on=body.on or today(),
                       value=money.Money.of(body.value, body.currency),
                       category=body.category, description=body.description))


# --- offsets -------------------------------------------------------------------------------
@router.post("/offsets", response_model=OffsetOut, status_code=201)
def propose_offset(body: OffsetProposeIn, request: Request, response: Response,
                   viewer: Viewer = deps.ViewerDep) -> OffsetOut:
    """Propose netting the open cash claims both ways under an agreement of the viewer's party
    (their finance official); binding once the other party's finance official approves."""
    refuse_nul(body)
    by = deps.require_official(viewer, "propose an offset")

    def go(s: Session) -> OffsetOut:
        agreements.get_for_party(s, body.agreement, viewer.party)
        o = service.propose_offset(s, agreement_code=body.agreement, by=by,
                                   on=body.on or today(), currency=body.currency,
                                   note=body.note)
        response.headers["Location"] = f"{request.url.path}/{o.number}"
        return _offset_out(s, o)
    return deps.run(request, go)


@router.post("/offsets/{number}/approve", response_model=OffsetOut)
def approve_offset(number: Identifier, body: Act, request: Request,
                   viewer: Viewer = deps.ViewerDep) -> OffsetOut:
    """Approve a proposed offset (the other party's finance official): both books net it."""
    by = deps.require_official(viewer, "approve an offset")

    def go(s: Session) -> OffsetOut:
        service.find_offset(s, number, viewer_party=viewer.party)
        return _offset_out(s, service.approve_offset(s, number=number, by=by,
                                                     on=body.on or today()))
    return deps.run(request, go)


@router.post("/offsets/{number}/withdraw", response_model=OffsetOut)
def withdraw_offset(number: Identifier, body: ReasonIn, request: Request,
                    viewer: Viewer = deps.ViewerDep) -> OffsetOut:
    """Withdraw a proposed offset before it is approved (the proposing party's finance
    official), with the reason: nothing was netted, and the claims it names may be settled
    again. An approved or already withdrawn offset is refused (409 `OffsetNotProposed`)."""
    refuse_nul(body)
    by = deps.require_official(viewer, "withdraw an offset")

    def go(s: Session) -> OffsetOut:
        service.find_offset(s, number, viewer_party=viewer.party)
        return _offset_out(s, service.withdraw_offset(s, number=number, by=by,
                                                      on=body.on or today(),
                                                      reason=body.reason))
    return deps.run(request, go)


@router.get("/offsets", response_model=Page[OffsetOut])
def list_offsets(request: Request, viewer: Viewer = deps.ViewerDep,
                 agreement: Identifier | None = None,
                 state: Literal["proposed", "approved", "withdrawn"] | None = None,
                 order: Literal["asc", "desc"] = "asc",
                 page: int = Query(1, ge=1, le=1_000_000),
                 page_size: int = Query(50, ge=1, le=500)) -> Page[OffsetOut]:
    """Offsets the viewer's party proposed or must approve, by number."""
    def go(s: Session) -> Page[OffsetOut]:
        rows, count = service.search_offsets(s, viewer_party=viewer.party, agreement=agreement,
                                             state=state, descending=order == "desc",
                                             offset=(page - 1) * page_size, limit=page_size)
        return Page[OffsetOut](items=[_offset_out(s, o) for o in rows], page=page,
                               page_size=page_size, total=count)
    return deps.run(request, go)


@router.get("/offsets/{number}", response_model=OffsetOut)
def get_offset(number: Identifier, request: Request, viewer: Viewer = deps.ViewerDep) -> OffsetOut:
    """One offset with the claims it nets."""
    return deps.run(request, lambda s: _offset_out(
        s, service.find_offset(s, number, viewer_party=viewer.party)))


# --- deadlines -----------------------------------------------------------------------------
@router.post("/deadlines", response_model=DeadlinesOut)
def run_deadlines(body: DeadlinesIn, request: Request,
                  viewer: Viewer = deps.ViewerDep) -> DeadlinesOut:
    """Run the deadlines for the viewer's party's claims (finance officials and
    administrators): claims past their deadline become overdue and each agreement's rule for
    an overdue return in kind applies. Not as of a later day than today (a day's grace for
    time zones ahead of UTC)."""
    if not (viewer.is_admin or viewer.role == "finance"):
        raise deps.Forbidden("only a finance official or an administrator may run the "
                             "deadlines", hint="Ask your party's finance official.")
    if body.as_of > today() + dt.timedelta(days=1):
        raise errors.InvalidInput(f"as_of {body.as_of} is in the future; deadlines are run as "
                                  "of today or an earlier day", field="as_of")

    def go(s: Session) -> DeadlinesOut:
        run = service.run_deadlines(s, as_of=body.as_of, soon_days=body.soon_days,
                                    party=viewer.party)
        return DeadlinesOut(
            as_of=body.as_of, newly_overdue=run.newly_overdue,
            converted=[DeadlineConversion(claim=a, cash_claim=b) for a, b in run.converted],
            due_soon=[DueSoon(claim=a, due_on=d) for a, d in run.due_soon],
            offset_eligible=run.offset_eligible)
    return deps.run(request, go)
