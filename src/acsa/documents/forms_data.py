"""What a printed form proves: the verification payload in its QR code, the content hash of
each kind of document, and the document's object found as a viewer may see it.

The payload (also printed as text under the QR code and kept as the PDF's subject) is

    ACSA1:<KIND>:<REF>:<SHA-256 hex, lower case>

    KIND     REF                 the hash
    ORDER    order number        the order's content hash (`Order.content_hash`): SHA-256 of
                                 its canonical snapshot, the hash every order event carries
                                 in the audit chain
    CLAIM    claim number        SHA-256 of `claim_document` (the bill and its settlements)
    RECEIPT  settlement id       SHA-256 of `receipt_document` (one payment, return or
                                 exchange, and what it left outstanding)
    OFFSET   offset number       SHA-256 of `offset_document` (the netting, its state and
                                 who proposed and approved it)

`ACSA1` names this format; a change of what is hashed gets a new prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit.chain import content_hash
from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.parties.models import Official
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim, Offset, SettlementRecord

PREFIX = "ACSA1"
KINDS = ("ORDER", "CLAIM", "RECEIPT", "OFFSET")
PAYLOAD_RE = re.compile(
    rf"{PREFIX}:({'|'.join(KINDS)}):([A-Za-z0-9][A-Za-z0-9._-]{{0,79}}):([0-9a-f]{{64}})")
RECEIPT_KINDS = ("payment", "return", "exchange")  # an offset or conversion has its own paper


@dataclass(frozen=True)
class Payload:
    kind: str
    ref: str
    sha256: str

    def __str__(self) -> str:
        return f"{PREFIX}:{self.kind}:{self.ref}:{self.sha256}"

    @classmethod
    def parse(cls, text: str) -> Payload:
        match = PAYLOAD_RE.fullmatch(text.strip())
        if match is None:
            raise errors.InvalidInput(
                f"{text.strip()[:120]!r} is not an acsa verification code", field="file",
                hint=f"An acsa form's code reads {PREFIX}:KIND:NUMBER:SHA256.")
        return cls(*match.groups())


def find_payloads(text: str) -> list[Payload]:
    """Every distinct payload in a text, in order of appearance."""
    seen: dict[str, Payload] = {}
    for m in PAYLOAD_RE.finditer(text):
        seen.setdefault(m.group(0), Payload(*m.groups()))
    return list(seen.values())


def code_of(session: Session, official_id: int | None) -> str | None:
    official = session.get(Official, official_id) if official_id else None
    return official.code if official else None


# --- the order -----------------------------------------------------------------------------
def order_payload(order: Order) -> Payload:
    return Payload("ORDER", order.number, order.content_hash)


# --- a claim -------------------------------------------------------------------------------
def claim_document(session: Session, claim: Claim,
                   records: Sequence[SettlementRecord]) -> dict[str, Any]:
    """What a claim notice states, as plain values: the bill and the settlements recorded so
    far (its state and what is outstanding follow from them). The overdue flag is left out:
    the deadline run sets it without anything being paid."""
    order = session.get(Order, claim.order_id)
    origin = session.get(Claim, claim.converted_from_id) if claim.converted_from_id else None
    return {
        "doc": "claim", "number": claim.number, "order": order.number if order else None,
        "agreement": claim.agreement_code, "method": claim.method,
        "creditor": claim.creditor_party, "debtor": claim.debtor_party,
        "currency": claim.currency, "amount_minor": claim.amount_minor,
        "quantity": format(claim.quantity, "f") if claim.quantity is not None else None,
        "unit": claim.unit, "item": claim.item, "stock_number": claim.stock_number,
        "delivered_on": claim.delivered_on.isoformat(), "issued_on": claim.issued_on.isoformat(),
        "due_on": claim.due_on.isoformat(), "converted_from": origin.number if origin else None,
        "settlements": [{
            "id": r.id, "kind": r.kind, "on": r.settled_on.isoformat(),
            "applied_minor": r.applied_minor,
            "applied_quantity": format(r.applied_quantity, "f")
            if r.applied_quantity is not None else None} for r in records],
    }


def claim_hashes(session: Session, claim: Claim) -> list[tuple[str, SettlementRecord | None]]:
    """The claim notice's hash as it stood after each settlement: first as issued (no
    settlement), then after each one; each with the settlement that made it."""
    records = list(claim.settlements)
    out: list[tuple[str, SettlementRecord | None]] = []
    for k in range(len(records) + 1):
        out.append((content_hash(claim_document(session, claim, records[:k])),
                    records[k - 1] if k else None))
    return out


def claim_payload(session: Session, claim: Claim) -> Payload:
    return Payload("CLAIM", claim.number, claim_hashes(session, claim)[-1][0])


def outstanding_after(claim: Claim, records: Sequence[SettlementRecord]) -> settlement.Outstanding:
    """What was outstanding on `claim` once `records` (its first settlements) were recorded:
    the settlement service's own rule, applied to part of the history."""
    partial = SimpleNamespace(method=claim.method, quantity=claim.quantity,
                              amount_minor=claim.amount_minor, currency=claim.currency,
                              settlements=list(records))
    return settlement.outstanding(cast(Claim, partial))


# --- a payment receipt ---------------------------------------------------------------------
def receipt_document(session: Session, claim: Claim, record: SettlementRecord) -> dict[str, Any]:
    """What a payment receipt states. Nothing on it changes after it is recorded."""
    before = [r for r in claim.settlements if r.id <= record.id]
    left = outstanding_after(claim, before)
    return {
        "doc": "receipt", "id": record.id, "claim": claim.number, "kind": record.kind,
        "on": record.settled_on.isoformat(), "creditor": claim.creditor_party,
        "debtor": claim.debtor_party, "currency": claim.currency,
        "applied_minor": record.applied_minor,
        "applied_quantity": format(record.applied_quantity, "f")
        if record.applied_quantity is not None else None,
        "tendered_minor": record.tendered_minor, "tendered_currency": record.tendered_currency,
        "tendered_quantity": format(record.tendered_quantity, "f")
        if record.tendered_quantity is not None else None,
        "tendered_unit": record.tendered_unit, "rate": record.rate,
        "reference": record.reference, "description": record.description,
        "recorded_by": code_of(session, record.recorded_by_id),
        "outstanding_minor": left.minor,
        "outstanding_quantity": format(left.quantity, "f") if left.quantity is not None else None,
    }


def receipt_payload(session: Session, claim: Claim, record: SettlementRecord) -> Payload:
    return Payload("RECEIPT", str(record.id),
                   content_hash(receipt_document(session, claim, record)))


# --- an offset -----------------------------------------------------------------------------
def offset_document(session: Session, offset: Offset, *, state: str | None = None,
                    approved_by: int | None | str = "current") -> dict[str, Any]:
    """What an offset document states; `state` and `approved_by` rebuild an earlier stage
    (the proposal, before approval)."""
    claims = {c.id: c for c in session.scalars(
        select(Claim).where(Claim.id.in_([i.claim_id for i in offset.items])))}
    approver = offset.approved_by_id if approved_by == "current" else approved_by
    return {
        "doc": "offset", "number": offset.number, "agreement": offset.agreement_code,
        "proposing": offset.proposing_party, "approving": offset.approving_party,
        "currency": offset.currency, "amount_minor": offset.amount_minor,
        "offset_on": offset.offset_on.isoformat(), "state": state or offset.state,
        "proposed_by": code_of(session, offset.proposed_by_id),
        "approved_by": code_of(session, approver if isinstance(approver, int) else None),
        "note": offset.note,
        "items": [{"claim": claims[i.claim_id].number, "applied_minor": i.applied_minor,
                   "value_minor": i.value_minor, "rate": i.rate} for i in offset.items],
    }


def offset_hashes(session: Session, offset: Offset) -> list[tuple[str, str]]:
    """The offset document's hash at each stage it has passed: (hash, stage)."""
    stages = [(content_hash(offset_document(session, offset, state="proposed",
                                            approved_by=None)), "proposed")]
    if offset.state != "proposed":
        stages.append((content_hash(offset_document(session, offset)), offset.state))
    return stages


def offset_payload(session: Session, offset: Offset) -> Payload:
    return Payload("OFFSET", offset.number, offset_hashes(session, offset)[-1][0])


# --- finding the object as a viewer may see it ---------------------------------------------
def find_order(session: Session, number: str, viewer_party: str | None) -> Order:
    return orders.get_order(session, number, viewer_party=viewer_party)


def find_claim(session: Session, number: str, viewer_party: str | None) -> Claim:
    return settlement.find_claim(session, number, viewer_party=viewer_party)


def find_offset(session: Session, number: str, viewer_party: str | None) -> Offset:
    return settlement.find_offset(session, number, viewer_party=viewer_party)


def find_receipt(session: Session, ref: int | str,
                 viewer_party: str | None) -> tuple[Claim, SettlementRecord]:
    """A settlement a receipt can be made for, by its id; one of a claim the viewer's party
    is neither creditor nor debtor of is not found, exactly like one that does not exist."""
    text = str(ref).strip()
    record = session.get(SettlementRecord, int(text)) if text.isdigit() else None
    claim = session.get(Claim, record.claim_id) if record else None
    if record is None or claim is None or (
            viewer_party is not None
            and viewer_party not in (claim.creditor_party, claim.debtor_party)):
        raise errors.NotFound(f"no settlement {text!r}", field="settlement",
                              hint="Settlement ids are shown by `acsa settle pay --json` "
                              "(settlement_id) and on the claim (GET /claims/{number}).")
    if record.kind not in RECEIPT_KINDS:
        raise errors.InvalidInput(
            f"settlement {record.id} is a {record.kind}, not a payment, return or exchange",
            field="settlement",
            hint="An offset has its own document (acsa docs offset); a conversion is shown "
            "on the claim notice of the claim it created.")
    return claim, record
