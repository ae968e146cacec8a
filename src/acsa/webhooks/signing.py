"""The message and its signature, pure (no database, no I/O, no clock).

Every POST carries:

    Content-Type: application/json
    X-ACSA-Event: <action, e.g. order.accepted>
    X-ACSA-Delivery: <delivery id: the same on every retry, so receivers can drop duplicates>
    X-ACSA-Timestamp: <Unix time in seconds when this attempt was signed>
    X-ACSA-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>

A receiver recomputes the HMAC over the timestamp header, a full stop and the raw request body
(bytes as received, before any JSON parsing), compares it in constant time, and refuses a
timestamp more than five minutes from its own clock: a captured request cannot be replayed
later, and the timestamp cannot be changed without breaking the signature. The body is the
same on every retry; the timestamp and signature are fresh on each attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "X-ACSA-Signature"
TIMESTAMP_HEADER = "X-ACSA-Timestamp"
EVENT_HEADER = "X-ACSA-Event"
DELIVERY_HEADER = "X-ACSA-Delivery"


def message(*, delivery_id: int, subscription_id: int, party: str, seq: int, at: str,
            event_party: str, actor: str, action: str, subject: str, order_hash: str,
            payload: str) -> bytes:
    """The JSON body: the delivery id, the audit event as stored, and whose subscription."""
    body: dict[str, Any] = {
        "id": delivery_id,
        "event": {"seq": seq, "at": at, "party": event_party, "actor": actor, "action": action,
                  "subject": subject, "order_hash": order_hash, "payload": json.loads(payload)},
        "subscription": {"id": subscription_id, "party": party},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-ACSA-Signature value for this body at this time."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, *, timestamp: str, body: bytes, signature: str, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent. Headers are
    compared as bytes, so that a forged one outside ASCII is a refusal, not an exception."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body).encode(),
                               signature.encode("utf-8", "surrogateescape"))


def headers(*, secret: str, timestamp: int, body: bytes, action: str,
            delivery_id: int, user_agent: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        EVENT_HEADER: action,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
