"""Append-only storage and the audit chain: the database itself refuses to change or remove
audit events and ledger rows; a stored event altered behind its back is caught by `verify`,
which names the first broken link."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, exc, text

from acsa.audit import chain
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from tests.integration.helpers import claim_numbers, make_order, pay_in_full

STATEMENTS = {
    "update": "UPDATE {t} SET {c} = {c}",
    "delete": "DELETE FROM {t}",
}
TABLES = {"audit_events": "payload", "ledger_entries": "memo", "ledger_lines": "amount"}


def table_rows(engine: Engine, table: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]


@pytest.fixture
def busy(world):
    """A world with an order received and paid: audit events, entries and lines to tamper
    with."""
    number = make_order(world, "received")
    with unit_of_work(world) as s:
        pay_in_full(s, claim_numbers(world, number)[0])
    return number


@pytest.mark.parametrize("table", list(TABLES))
def test_the_database_refuses_changes(world, busy, table):
    before = table_rows(world, table)
    assert before
    for verb, sql in STATEMENTS.items():
        with pytest.raises(exc.DBAPIError, match="append-only"):
            with world.begin() as conn:
                conn.execute(text(sql.format(t=table, c=TABLES[table])))
        assert table_rows(world, table) == before, verb


def test_emptying_a_table_whole_is_refused(world, busy):
    """PostgreSQL's TRUNCATE, and SQLite's form of it (an unqualified DELETE, which SQLite
    turns into a truncate when no trigger stops it)."""
    pg = world.dialect.name == "postgresql"
    for table in TABLES:
        before = table_rows(world, table)
        with pytest.raises(exc.DBAPIError, match="append-only"):
            with world.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE" if pg else f"DELETE FROM {table}"))
        assert table_rows(world, table) == before, table


def test_new_events_may_still_be_appended(world, busy):
    with unit_of_work(world) as s:
        count = audit.verify(s).events
        audit.append(s, party="PH", actor="ph-auditor", action="audit.note",
                     subject=f"order:{busy}", payload={"note": "checked"})
    with unit_of_work(world) as s:
        result = audit.verify(s)
        assert (result.ok, result.events) == (True, count + 1)


def tamper(engine: Engine, *statements: str) -> None:
    """Run statements past the append-only triggers, as an intruder with the database's
    superuser (PostgreSQL) or file (SQLite) would."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for sql in statements:
            conn.execute(text(sql))


def verify(engine: Engine) -> audit.Verification:
    with unit_of_work(engine) as s:
        return audit.verify(s)


def test_an_intact_chain_verifies(world, busy):
    result = verify(world)
    assert result.ok and result.broken_at is None and result.events > 30
    with unit_of_work(world) as s:
        actions = [e.action for e in audit.history(s, busy)]
    assert actions == ["order.created", "order.requested", "order.accepted", "order.delivered",
                       "claim.issued", "order.received", "claim.payment", "order.settled"]


def middle(engine: Engine) -> int:
    return verify(engine).events // 2


def test_an_altered_payload_breaks_its_own_link(world, busy):
    seq = middle(world)
    tamper(world, f"UPDATE audit_events SET payload = payload || ' ' WHERE seq = {seq}")
    result = verify(world)
    assert (result.ok, result.broken_at) == (False, seq)
    assert "altered" in result.reason


def test_every_field_is_covered_by_the_hash(world, busy):
    seq = middle(world)
    with unit_of_work(world) as s:
        original = s.get(Event, seq)
    for column in ("at", "party", "actor", "action", "subject", "order_hash"):
        tamper(world, f"UPDATE audit_events SET {column} = 'X' WHERE seq = {seq}")
        assert verify(world).broken_at == seq, column
        with world.begin() as conn:  # put it back: the chain holds again
            conn.execute(text(f"UPDATE audit_events SET {column} = :v WHERE seq = {seq}"),
                         {"v": getattr(original, column)})
        assert verify(world).ok, column


def test_an_event_rehashed_after_altering_breaks_the_next_link(world, busy):
    """An intruder who recomputes the altered event's own hash still cannot fix the next
    event's prev_hash without rewriting the rest of the chain."""
    seq = middle(world)
    with unit_of_work(world) as s:
        ev = s.get(Event, seq)
        forged = chain.body(ev.seq, ev.at, ev.party, "intruder", ev.action, ev.subject,
                            ev.order_hash, ev.payload)
        new_hash = chain.link(ev.prev_hash, forged)
    tamper(world, f"UPDATE audit_events SET actor = 'intruder', hash = '{new_hash}' "
                  f"WHERE seq = {seq}")
    result = verify(world)
    assert (result.broken_at, result.reason) == (
        seq + 1, "prev_hash does not match the hash of the event before it")


def test_a_removed_event_is_named(world, busy):
    seq = middle(world)
    tamper(world, f"DELETE FROM audit_events WHERE seq = {seq}")
    result = verify(world)
    assert result.broken_at == seq + 1 and f"event {seq} is missing" in result.reason


def test_removing_the_newest_events_changes_the_head(world, busy):
    """A chain cut at its end still links; what gives it away is the head hash and count an
    auditor kept, which `verify` reports for comparison."""
    kept = verify(world)
    tamper(world, f"DELETE FROM audit_events WHERE seq > {kept.events - 2}")
    cut = verify(world)
    assert cut.ok and (cut.events, cut.head) != (kept.events, kept.head)
