"""The audit hash chain: a clean chain holds, and the first altered, missing or relinked event
is found."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from acsa.audit.chain import GENESIS, SEP, body, canonical_json, content_hash, first_break, link

Row = tuple[int, str, str, str]


def event_body(seq: int, action: str = "order.accept") -> str:
    payload = canonical_json({"order": "PHJP-PH-2026-0007", "seq": seq})
    return body(seq, f"2026-10-0{seq % 9 + 1}T08:00:00+00:00", "JP", "JP-APP-01", action,
                "PHJP-PH-2026-0007", "ab" * 32, payload)


def chain(n: int) -> list[Row]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        b = event_body(seq)
        h = link(prev, b)
        rows.append((seq, prev, h, b))
        prev = h
    return rows


def test_link_is_sha256_of_the_previous_hash_and_the_body():
    assert link(GENESIS, "x") == hashlib.sha256(f"{GENESIS}\x1fx".encode()).hexdigest()
    assert body(1, "a", "b", "c", "d", "e", "f", "g").split(SEP) == list("1abcdefg")


def test_a_clean_chain_has_no_break():
    assert first_break(chain(6)) is None
    assert first_break([]) is None


def test_an_altered_event_is_found():
    rows = chain(6)
    seq, prev, h, b = rows[2]
    rows[2] = (seq, prev, h, b.replace("order.accept", "order.cancel"))
    assert first_break(rows) == (3, "content does not match its hash (the event was altered)")


def test_an_altered_event_whose_hash_was_recomputed_breaks_the_next_link():
    rows = chain(6)
    seq, prev, _, b = rows[2]
    forged = b.replace("order.accept", "order.cancel")
    rows[2] = (seq, prev, link(prev, forged), forged)
    assert first_break(rows) == (4, "prev_hash does not match the hash of the event before it")


def test_a_missing_event_is_found():
    rows = chain(6)
    del rows[3]
    assert first_break(rows) == (5, "event 4 is missing (next stored event is 5)")


def test_a_missing_first_event_is_found():
    assert first_break(chain(3)[1:]) == (2, "event 1 is missing (next stored event is 2)")


def test_a_broken_prev_hash_is_found():
    rows = chain(6)
    seq, _, h, b = rows[4]
    rows[4] = (seq, "f" * 64, h, b)
    found = first_break(rows)
    assert found is not None and found[0] == 5
    assert "prev_hash does not match" in found[1]


def test_the_first_event_must_start_from_genesis():
    b = event_body(1)
    prev = "1" * 64
    assert first_break([(1, prev, link(prev, b), b)]) == (
        1, "prev_hash does not match the hash of the event before it")


def test_only_the_first_break_is_reported():
    rows = chain(6)
    for i in (1, 4):
        seq, prev, h, b = rows[i]
        rows[i] = (seq, prev, h, b + "tampered")
    assert first_break(rows)[0] == 2  # type: ignore[index]


def test_canonical_json_ignores_key_order_and_keeps_non_ascii():
    a = {"amount": Decimal("900000000"), "on": dt.date(2026, 1, 15), "note": "¥ 9兆"}
    b = dict(reversed(list(a.items())))
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == '{"amount":"900000000","note":"¥ 9兆","on":"2026-01-15"}'
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "note": "¥ 9"})
