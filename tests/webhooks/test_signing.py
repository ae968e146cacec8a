"""The signature scheme, pure: what a receiver checks."""

from __future__ import annotations

import hashlib
import hmac
import json

from acsa.webhooks import signing

BODY = signing.message(delivery_id=7, subscription_id=3, party="JP", seq=42,
                       at="2026-05-10T00:00:00.000000+00:00", event_party="JP",
                       actor="jp-requesting", action="order.requested",
                       subject="PHJP-JP-2026-0001", order_hash="ab" * 32,
                       payload='{"on":"2026-05-10"}')
SECRET = "0123456789abcdef-secret"
T = 1_780_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, T, BODY) == f"sha256={expected}"


def test_a_receiver_accepts_a_fresh_signed_message():
    h = signing.headers(secret=SECRET, timestamp=T, body=BODY, action="order.requested",
                        delivery_id=7, user_agent="t")
    assert h["X-ACSA-Event"] == "order.requested" and h["X-ACSA-Delivery"] == "7"
    assert signing.verify(SECRET, timestamp=h["X-ACSA-Timestamp"], body=BODY,
                          signature=h["X-ACSA-Signature"], now=T + 30)


def test_a_receiver_refuses_tampering_replay_and_the_wrong_secret():
    sig = signing.sign(SECRET, T, BODY)
    assert not signing.verify(SECRET, timestamp=str(T), body=BODY.replace(b"JP", b"US"),
                              signature=sig, now=T)
    assert not signing.verify(SECRET, timestamp=str(T + 1), body=BODY, signature=sig, now=T)
    assert not signing.verify(SECRET, timestamp=str(T), body=BODY, signature=sig,
                              now=T + signing.TOLERANCE_SECONDS + 1)
    assert not signing.verify("another-secret-entirely", timestamp=str(T), body=BODY,
                              signature=sig, now=T)
    assert not signing.verify(SECRET, timestamp="soon", body=BODY, signature=sig, now=T)


def test_the_message_carries_the_event_and_the_subscription():
    data = json.loads(BODY)
    assert data == {
        "id": 7,
        "event": {"seq": 42, "at": "2026-05-10T00:00:00.000000+00:00", "party": "JP",
                  "actor": "jp-requesting", "action": "order.requested",
                  "subject": "PHJP-JP-2026-0001", "order_hash": "ab" * 32,
                  "payload": {"on": "2026-05-10"}},
        "subscription": {"id": 3, "party": "JP"},
    }


def test_a_receiver_refuses_headers_outside_ascii_instead_of_failing():
    """A forged header is what a receiver meets: a signature with a non-ASCII character made
    hmac.compare_digest raise TypeError, and a timestamp of digits int() cannot read ('²' is
    a digit to str.isdigit) raised ValueError. Both are refusals."""
    sig = signing.sign(SECRET, T, BODY)
    assert not signing.verify(SECRET, timestamp=str(T), body=BODY, signature=sig[:-1] + "é",
                              now=T)
    assert not signing.verify(SECRET, timestamp="²", body=BODY, signature=sig, now=T)
    assert not signing.verify(SECRET, timestamp="١٧٨٠٠٠٠٠٠٠", body=BODY, signature=sig, now=T)
