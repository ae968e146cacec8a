"""The forms as PDF downloads: an order's order and receipt form, a claim notice, a payment
receipt and an offset document, each in English with Japanese or Filipino.

Each is found as the viewer's party may see it (anyone else's is 404, exactly like one that
does not exist), and a viewer of the supplying party gets the order form without the
requester's internal fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from acsa.api import deps
from acsa.api.schemas import PROBLEM_RESPONSES, Identifier
from acsa.documents import forms
from acsa.users.service import Viewer

router = APIRouter(tags=["documents"], responses=PROBLEM_RESPONSES)

PDF = "application/pdf"
PDF_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
          "description": "The PDF, as an attachment."}}
Lang = Literal["ja", "fil"]
LangQuery = Query("ja", description="The form's language beside English: ja or fil.")


def _pdf(request: Request, filename: str, build: Callable[[Session], bytes]) -> Response:
    pdf = deps.run(request, build)
    return Response(pdf, media_type=PDF,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/orders/{number}/form.pdf", response_class=Response, responses=PDF_RESPONSE)
def order_form(request: Request, number: Identifier, lang: Lang = LangQuery,
               viewer: Viewer = deps.ViewerDep) -> Response:
    """The bilingual order and receipt form of an order, with its verification QR code."""
    return _pdf(request, f"{number}-{lang}.pdf", lambda s: forms.order_form_pdf(
        s, number, lang=lang, viewer_party=viewer.party))


@router.get("/claims/{number}/notice.pdf", response_class=Response, responses=PDF_RESPONSE)
def claim_notice(request: Request, number: Identifier, lang: Lang = LangQuery,
                 viewer: Viewer = deps.ViewerDep) -> Response:
    """The claim notice (bill) of a claim the viewer's party is creditor or debtor of."""
    return _pdf(request, f"{number}-notice-{lang}.pdf", lambda s: forms.claim_notice_pdf(
        s, number, lang=lang, viewer_party=viewer.party))


@router.get("/settlements/{settlement_id}/receipt.pdf", response_class=Response,
            responses=PDF_RESPONSE)
def payment_receipt(request: Request,
                    settlement_id: int = Path(..., ge=1, le=2**31 - 1,
                                              description="The settlement's id."),
                    lang: Lang = LangQuery, viewer: Viewer = deps.ViewerDep) -> Response:
    """The receipt of one payment, return in kind or equal-value exchange of a claim the
    viewer's party is creditor or debtor of."""
    return _pdf(request, f"receipt-{settlement_id}-{lang}.pdf",
                lambda s: forms.payment_receipt_pdf(s, settlement_id, lang=lang,
                                                    viewer_party=viewer.party))


@router.get("/offsets/{number}/document.pdf", response_class=Response, responses=PDF_RESPONSE)
def offset_document(request: Request, number: Identifier, lang: Lang = LangQuery,
                    viewer: Viewer = deps.ViewerDep) -> Response:
    """The offset (netting) document of an offset the viewer's party proposed or approves."""
    return _pdf(request, f"{number}-{lang}.pdf", lambda s: forms.offset_pdf(
        s, number, lang=lang, viewer_party=viewer.party))
