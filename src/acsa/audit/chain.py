"""The hash chain, pure: how an event's bytes and hash are made.

body  = seq, at, party, actor, action, subject, order_hash, payload joined by US (0x1f)
hash  = SHA-256(prev_hash + US + body), hex; the first event's prev_hash is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

GENESIS = "0" * 64
SEP = "\x1f"


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def content_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def body(seq: int, at: str, party: str, actor: str, action: str, subject: str,
         order_hash: str, payload: str) -> str:
    return SEP.join((str(seq), at, party, actor, action, subject, order_hash, payload))


def link(prev_hash: str, event_body: str) -> str:
    return hashlib.sha256(f"{prev_hash}{SEP}{event_body}".encode()).hexdigest()


def gap_reason(expected_seq: int, seq: int) -> str:
    """Why the event stored at `seq` breaks the chain when `expected_seq` was due there: the
    events before it are missing, or (numbered below the first, 1) it was inserted."""
    if seq < 1:
        return (f"event {seq} is not in the chain: its events are numbered from 1 (an event "
                "was inserted before the first)")
    if seq == expected_seq + 1:
        return f"event {expected_seq} is missing (next stored event is {seq})"
    return f"events {expected_seq} to {seq - 1} are missing (next stored event is {seq})"


def first_break(rows: Iterable[tuple[int, str, str, str]]) -> tuple[int, str] | None:
    """Walk (seq, prev_hash, hash, body) in order; the first link that does not hold, with why."""
    expected_prev = GENESIS
    expected_seq = 1
    sha = hashlib.sha256
    for seq, prev_hash, stored, event_body in rows:
        if seq != expected_seq:
            return seq, gap_reason(expected_seq, seq)
        if prev_hash != expected_prev:
            return seq, "prev_hash does not match the hash of the event before it"
        if sha(f"{prev_hash}{SEP}{event_body}".encode()).hexdigest() != stored:
            return seq, "content does not match its hash (the event was altered)"
        expected_prev = stored
        expected_seq += 1
    return None
