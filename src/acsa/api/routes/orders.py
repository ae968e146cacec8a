"""Orders: the register, creation, every transition as its own action, deliveries with their
source documents, receipts, claims and the order's events.

Reads are scoped to the viewer's party inside the query (an order of other parties is 404);
every action signs as the viewer's own official, so the services' role, party, limit and
separation-of-duties checks hold for the signed-in person.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import Response as RawResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors, money
from acsa.agreements import service as agreements
from acsa.api import deps
from acsa.api.schemas import (
    AcceptIn,
    Act,
    DeliveryOut,
    EventOut,
    OrderCreate,
    OrderEdit,
    OrderOut,
    OrderSummary,
    Page,
    ReasonIn,
    ReceiptIn,
    ResolveIn,
)
from acsa.audit import service as audit
from acsa.orders import service
from acsa.orders.domain import ReceiptLineInput
from acsa.orders.models import Delivery, Document, Order
from acsa.parties import service as parties
from acsa.users.service import Viewer

router = APIRouter(prefix="/orders", tags=["orders"])
documents = APIRouter(prefix="/documents", tags=["orders"])

ALLOWED_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/tiff", "text/plain",
                 "text/csv", "application/octet-stream",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MAGIC = {"application/pdf": b"%PDF", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}
MAX_FILENAME = 300  # characters of a source document's name (`Document.filename`)


def check_document_name(name: str) -> str:
    """A source document's file name as stored: refused, naming the document, when longer
    than the record holds or holding a NUL (instead of a database error on PostgreSQL and a
    name stored whole on SQLite)."""
    if len(name) > MAX_FILENAME or "\x00" in name:
        raise errors.InvalidInput(
            f"the document's file name has {len(name)} characters; at most {MAX_FILENAME}, "
            "without NUL characters", field="document",
            hint="Rename the file to a shorter name and send it again.")
    return name


def attachment(filename: str) -> str:
    """Content-Disposition for a stored file name as the uploader gave it (any script, e.g.
    a Japanese name): an ASCII fallback and the exact name in RFC 5987 form, without control
    characters or quotes that could break the header."""
    clean = "".join(c for c in filename if c.isprintable() and c not in '"\\') or "document"
    fallback = "".join(c if c.isascii() else "_" for c in clean)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _out(s: Session, order: Order, viewer: Viewer, response: Response | None = None) -> OrderOut:
    if response is not None:
        response.headers["ETag"] = deps.etag(order.version)
    return OrderOut.model_validate(service.order_view(s, order, viewer_party=viewer.party))


def _summary(order: Order, activity: str | None) -> OrderSummary:
    t = service.total(order)
    return OrderSummary(number=order.number, agreement=order.agreement_code, activity=activity,
                        requesting_party=order.requesting_party,
                        supplying_party=order.supplying_party, order_on=order.order_on,
                        state=order.state, overdue=order.overdue, total=str(t),
                        total_minor=t.minor, currency=order.currency, version=order.version)


def _lines(s: Session, agreement: str, by: str, currency: str | None,
           lines: list[Any]) -> list[service.LineInput]:
    if currency is None:
        requesting = parties.get_official(s, by).party_code
        supplier = agreements.get(s, agreement).other_party(requesting)
        currency = parties.get_party(s, supplier).currency
    return [service.LineInput(category=ln.category.lower(), description=ln.description,
                              quantity=ln.quantity, unit=ln.unit,
                              unit_price=money.Money.of(ln.unit_price, currency),
                              method=ln.method, stock_number=ln.stock_number) for ln in lines]


@router.get("", response_model=Page[OrderSummary])
def list_orders(request: Request, viewer: Viewer = deps.ViewerDep,
                state: str | None = None, agreement: str | None = None,
                activity: str | None = None, party: str | None = None,
                overdue: bool | None = None, date_from: dt.date | None = None,
                date_to: dt.date | None = None,
                q: str | None = Query(None, max_length=100,
                                      description="Text in the number or a line description."),
                sort: Literal["number", "order_on", "state", "agreement"] = "number",
                order: Literal["asc", "desc"] = "asc",
                page: int = Query(1, ge=1, le=1_000_000),
                page_size: int = Query(50, ge=1, le=500)) -> Page[OrderSummary]:
    """The order register: orders of the viewer's party, filtered, sorted and paginated."""
    def go(s: Session) -> Page[OrderSummary]:
        query = service.OrderQuery(agreement=agreement, state=state, activity=activity,
                                   party=party, overdue=overdue, date_from=date_from,
                                   date_to=date_to, text=q, sort=sort,
                                   descending=order == "desc")
        rows, count = service.search_orders(s, query, viewer_party=viewer.party,
                                            offset=(page - 1) * page_size, limit=page_size)
        acts: dict[int, str] = {i: c for i, c in s.execute(
            select(service.activities.Activity.id, service.activities.Activity.code))}
        return Page[OrderSummary](items=[_summary(o, acts.get(o.activity_id)) for o in rows],
                                  page=page, page_size=page_size, total=count)
    return deps.run(request, go)


@router.post("", response_model=OrderOut, status_code=201)
def create_order(body: OrderCreate, request: Request, response: Response,
                 viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Create a draft order signed by the viewer's requesting official."""
    by = deps.require_official(viewer, "create an order")

    def go(s: Session) -> OrderOut:
        agreements.get_for_party(s, body.agreement, viewer.party)  # others': 404, not 403
        order = service.create_order(
            s, agreement_code=body.agreement, activity_code=body.activity, by=by,
            order_on=body.order_on, lines=_lines(s, body.agreement, by, body.currency,
                                                 body.lines),
            currency=body.currency, delivery_place=body.delivery_place,
            delivery_on=body.delivery_on, fund_citation=body.fund_citation,
            billing_address=body.billing_address, requester_poc=body.requester_poc,
            supplier_poc=body.supplier_poc, requesting_unit=body.requesting_unit,
            supplying_unit=body.supplying_unit,
            implementing_arrangement=body.implementing_arrangement, notes=body.notes)
        response.headers["Location"] = f"{request.url.path}/{order.number}"
        return _out(s, order, viewer, response)
    return deps.run(request, go)


@router.get("/{number}", response_model=OrderOut)
def get_order(number: str, request: Request, response: Response,
              viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """One order with its lines, deliveries, receipts and claims; ETag is its version."""
    return deps.run(request, lambda s: _out(
        s, service.get_order(s, number, viewer_party=viewer.party), viewer, response))


@router.patch("/{number}", response_model=OrderOut)
def edit_order(number: str, body: OrderEdit, request: Request, response: Response,
               viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Change a draft (If-Match: its ETag)."""
    by = deps.require_official(viewer, "edit an order")

    def go(s: Session) -> OrderOut:
        order = service.get_order(s, number, viewer_party=viewer.party)
        fields = body.model_dump(exclude_unset=True,
                                 exclude={"lines", "requesting_unit", "supplying_unit"})
        lines = _lines(s, order.agreement_code, by, order.currency, body.lines) \
            if body.lines is not None else None
        order = service.edit_order(s, number=number, by=by, on=today(),
                                   changes={k: v for k, v in fields.items() if v is not None},
                                   lines=lines, requesting_unit=body.requesting_unit,
                                   supplying_unit=body.supplying_unit,
                                   expected_version=deps.expected_version(request))
        return _out(s, order, viewer, response)
    return deps.run(request, go)


def _transition(request: Request, response: Response, viewer: Viewer, number: str,
                action: str, call: Any) -> OrderOut:
    by = deps.require_official(viewer, action)
    version = deps.expected_version(request)

    def go(s: Session) -> OrderOut:
        service.check_visible(s, number, viewer.party)  # 404 before any 403
        result = call(s, by, version)
        order = result.order if isinstance(result, service.Outcome) else result
        if not isinstance(order, Order):  # a receipt: the order it was recorded on
            order = service.get_order(s, number)
        out = _out(s, order, viewer, response)  # the order as the transition left it
        if isinstance(result, service.Outcome) and result.warnings:
            response.headers["Warning"] = '199 acsa "' + "; ".join(result.warnings) + '"'
        return out
    return deps.run(request, go)


@router.post("/{number}/request", response_model=OrderOut)
def request_order(number: str, body: Act, request: Request, response: Response,
                  viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Sign the request (requesting official)."""
    return _transition(request, response, viewer, number, "request an order",
                       lambda s, by, v: service.request_order(
                           s, number=number, by=by, on=body.on or today(), expected_version=v))


@router.post("/{number}/accept", response_model=OrderOut)
def accept_order(number: str, body: AcceptIn, request: Request, response: Response,
                 viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Accept (the supplier's approving official): the order becomes binding."""
    return _transition(request, response, viewer, number, "accept an order",
                       lambda s, by, v: service.accept_order(
                           s, number=number, by=by, on=body.on or today(),
                           supplier_poc=body.supplier_poc, supplying_unit=body.supplying_unit,
                           expected_version=v))


@router.post("/{number}/cancel", response_model=OrderOut)
def cancel_order(number: str, body: ReasonIn, request: Request, response: Response,
                 viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Cancel before anything is delivered."""
    return _transition(request, response, viewer, number, "cancel an order",
                       lambda s, by, v: service.cancel_order(
                           s, number=number, by=by, on=body.on or today(), reason=body.reason,
                           expected_version=v))


@router.post("/{number}/dispute", response_model=OrderOut)
def dispute_order(number: str, body: ReasonIn, request: Request, response: Response,
                  viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Open a dispute."""
    return _transition(request, response, viewer, number, "dispute an order",
                       lambda s, by, v: service.dispute_order(
                           s, number=number, by=by, on=body.on or today(), reason=body.reason,
                           expected_version=v))


@router.post("/{number}/resolve", response_model=OrderOut)
def resolve_dispute(number: str, body: ResolveIn, request: Request, response: Response,
                    viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Resolve a dispute with agreed terms."""
    return _transition(request, response, viewer, number, "resolve a dispute",
                       lambda s, by, v: service.resolve_dispute(
                           s, number=number, by=by, on=body.on or today(),
                           resolution=body.resolution, expected_version=v))


@router.post("/{number}/close", response_model=OrderOut)
def close_order(number: str, body: Act, request: Request, response: Response,
                viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Close a settled order that ties out (finance official)."""
    return _transition(request, response, viewer, number, "close an order",
                       lambda s, by, v: service.close_order(
                           s, number=number, by=by, on=body.on or today(), expected_version=v))


@router.post("/{number}/deliveries", response_model=DeliveryOut, status_code=201)
def deliver(number: str, request: Request, response: Response,
            document: UploadFile = File(..., description="The source document."),
            lines: str = Form("", description='JSON object of line number to quantity, e.g. '
                              '{"1": "50000"}; empty: everything still to deliver.'),
            on: dt.date | None = Form(None), note: str = Form("", max_length=2000),
            viewer: Viewer = deps.ViewerDep) -> DeliveryOut:
    """Record a delivery (supplying official) with its source document (multipart upload;
    PDF, image, text, CSV or spreadsheet, at most 25 MB). Returns the document's SHA-256."""
    by = deps.require_official(viewer, "record a delivery")
    version = deps.expected_version(request)
    content = document.file.read(service.MAX_DOCUMENT_BYTES + 1)
    ctype = (document.content_type or "application/octet-stream").split(";")[0].strip()
    if ctype not in ALLOWED_TYPES:
        raise errors.InvalidInput(f"document type {ctype!r} is not accepted", field="document",
                                  hint="Send a PDF, PNG, JPEG, TIFF, text, CSV or XLSX file.")
    if ctype in MAGIC and not content.startswith(MAGIC[ctype]):
        raise errors.InvalidInput(f"the document's content is not {ctype}", field="document")
    document_name = check_document_name(document.filename or "document")
    try:
        parsed = json.loads(lines) if lines.strip() else {}
        if not isinstance(parsed, dict):
            raise ValueError
        qty = {int(k): Decimal(str(v)) for k, v in parsed.items()}
    except (ValueError, ArithmeticError):
        raise errors.InvalidInput('lines must be a JSON object like {"1": "50000"}',
                                  field="lines") from None

    def go(s: Session) -> DeliveryOut:
        order = service.get_order(s, number, viewer_party=viewer.party)
        quantities = qty or {n: p.ordered - p.delivered
                             for n, p in service.line_progress(order).items()
                             if p.ordered > p.delivered}
        delivery = service.record_delivery(
            s, number=number, by=by, on=on or today(), quantities=quantities,
            document_name=document_name, document=content,
            content_type=ctype, note=note, expected_version=version)
        return DeliveryOut(delivery_id=delivery.id, document_sha256=delivery.document_sha256,
                           document_size=len(content),
                           order=_out(s, service.get_order(s, number), viewer, response))
    return deps.run(request, go)


@router.post("/{number}/receipts", response_model=OrderOut, status_code=201)
def receive(number: str, body: ReceiptIn, request: Request, response: Response,
            viewer: Viewer = deps.ViewerDep) -> OrderOut:
    """Receive what was delivered (receiving official); the claims exist from now."""
    deps.require_official(viewer, "receive a delivery")
    given = {x.line: ReceiptLineInput(received=x.received, damaged=x.damaged, reason=x.reason)
             for x in body.lines}
    if len(given) != len(body.lines):
        raise errors.InvalidInput("a line appears twice in the receipt", field="lines")
    return _transition(request, response, viewer, number, "receive a delivery",
                       lambda s, by, v: service.record_receipt(
                           s, number=number, by=by, on=body.on or today(), lines=given,
                           note=body.note, expected_version=v))


@router.get("/{number}/events", response_model=list[EventOut])
def order_events(number: str, request: Request,
                 viewer: Viewer = deps.ViewerDep) -> list[EventOut]:
    """Every event of the order, oldest first, with who did it and the hash chain."""
    def go(s: Session) -> list[EventOut]:
        service.check_visible(s, number, viewer.party)
        return [EventOut(seq=e.seq, at=e.at, party=e.party, actor=e.actor, action=e.action,
                         order_hash=e.order_hash, payload=json.loads(e.payload), hash=e.hash)
                for e in audit.history(s, number)]
    return deps.run(request, go)


def _document(s: Session, sha: str, viewer: Viewer) -> Document:
    """A document the viewer may see: one delivered against an order of their party."""
    visible = s.scalar(select(Delivery.id).join(Order, Order.id == Delivery.order_id).where(
        Delivery.document_sha256 == sha,
        (Order.requesting_party == viewer.party) | (Order.supplying_party == viewer.party))
        .limit(1))
    doc = s.get(Document, sha) if visible else None
    if doc is None:
        raise errors.NotFound(f"no document {sha}", field="sha256")
    return doc


@documents.get("/{sha256}", response_class=RawResponse,
               responses={200: {"content": {"application/octet-stream": {}}}})
def download_document(sha256: str, request: Request,
                      viewer: Viewer = deps.ViewerDep) -> RawResponse:
    """Download a source document by its SHA-256 (the hash is in the X-Content-SHA256 header
    so the copy can be checked)."""
    def go(s: Session) -> RawResponse:
        doc = _document(s, sha256.lower(), viewer)
        return RawResponse(doc.content, media_type=doc.content_type, headers={
            "Content-Disposition": attachment(doc.filename),
            "X-Content-SHA256": doc.sha256})
    return deps.run(request, go)
