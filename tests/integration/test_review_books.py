"""Defects a review of the books' reports, exports and the audit chain and packs found, each
with the test that showed it."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import Engine

from acsa.audit import pack as packs
from acsa.db.engine import unit_of_work
from tests.documents import test_audit_pack
from tests.documents._pack_helpers import manifest, rezip
from tests.integration.helpers import claim_numbers, make_order, pay_in_full
from tests.integration.test_audit import tamper, verify

pack_a = test_audit_pack.pack_a  # the fixture: one activity pack, built once


# --- audit packs ------------------------------------------------------------------------------
def _problems(data: bytes) -> list[tuple[str, str]]:
    return [(p.file, p.reason) for p in packs.verify_pack(io.BytesIO(data)).problems]


def test_a_forged_form_whose_manifest_entry_was_dropped_is_named(pack_a):
    """A forger who swaps an order form and rewrites the manifest to say the order has no form
    (as a pack made without a form generator says) must not pass: the forged PDF is still in
    the pack, tied to no order."""
    data, story = pack_a
    form = f"orders/{story.a}/order-form-ja.pdf"
    m = manifest(data)
    for o in m["orders"]:
        if o["number"] == story.a:
            o["form"] = None
    forged = rezip(data, replace={form: b"%PDF-1.4 a forged form", packs.MANIFEST:
                                  json.dumps(m).encode()}, reseal=True)
    found = _problems(forged)
    assert found, "the forged form passed verification"
    assert any(f == form for f, _ in found), found


def test_a_planted_document_in_a_resealed_pack_is_named(pack_a):
    """A source document added under an order's documents/ and listed in the manifest's
    files (and SHA256SUMS) but in no order's documents, nor in any delivery event, is a file
    the events do not name."""
    data, story = pack_a
    path = f"orders/{story.a}/documents/delivery-009-receipt.pdf"
    forged = rezip(data, replace={path: b"%PDF-1.4 planted"}, reseal=True)
    found = _problems(forged)
    assert found, "the planted document passed verification"
    assert any(f == path for f, _ in found), found


@pytest.mark.parametrize("key, value", [("events", "events.jsonl"), ("chain_head", "abc"),
                                        ("events", {"path": ["events.jsonl"]}),
                                        ("chain_head", [1, 2])])
def test_a_manifest_with_a_malformed_section_is_a_problem_not_a_crash(pack_a, key, value):
    data, _ = pack_a
    m = manifest(data)
    m[key] = value
    found = _problems(rezip(data, replace={packs.MANIFEST: json.dumps(m).encode()}))
    assert found and found[0][0] == packs.MANIFEST, found


# --- the audit chain --------------------------------------------------------------------------
@pytest.fixture
def busy(world: Engine) -> str:
    number = make_order(world, "received")
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0])
    return number


# SQLite only: PostgreSQL refuses text that is not UTF-8, so there is nothing to tamper with
# (parametrized to SQLite rather than skipped on PostgreSQL: CI counts no skipped test)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_event_altered_to_bytes_that_are_not_utf8_is_named_not_a_crash(world, busy):
    """SQLite stores whatever bytes an intruder writes into a text column: the walk that names
    the first break must read them, not stop on a decoding error."""
    seq = verify(world).events // 2
    tamper(world, f"UPDATE audit_events SET payload = CAST(X'7B22FF227D' AS TEXT) "
                   f"WHERE seq = {seq}")
    result = verify(world)
    assert (result.ok, result.broken_at) == (False, seq)
    assert "altered" in (result.reason or "")


# SQLite only: PostgreSQL refuses text that is not UTF-8, so there is nothing to tamper with
# (parametrized to SQLite rather than skipped on PostgreSQL: CI counts no skipped test)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("column", ["hash", "prev_hash", "actor"])
def test_a_hash_or_field_altered_to_bytes_that_are_not_utf8_is_named(world, busy, column):
    seq = verify(world).events // 2
    tamper(world, f"UPDATE audit_events SET {column} = CAST(X'FF' || CAST({column} AS BLOB) "
                   f"AS TEXT) WHERE seq = {seq}")
    result = verify(world)
    assert (result.ok, result.broken_at) == (False, seq)


# SQLite only: PostgreSQL refuses text that is not UTF-8, so there is nothing to tamper with
# (parametrized to SQLite rather than skipped on PostgreSQL: CI counts no skipped test)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_head_altered_to_bytes_that_are_not_utf8_is_named(world, busy):
    last = verify(world).events
    tamper(world, f"UPDATE audit_events SET hash = CAST(X'FF' || CAST(hash AS BLOB) AS TEXT) "
                   f"WHERE seq = {last}")
    result = verify(world)
    assert (result.ok, result.broken_at) == (False, last)
