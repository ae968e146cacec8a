"""`audit.verify`'s fast paths answer exactly what the plain walk, `chain.first_break` over
every row, answers: for an intact chain and for every way of breaking one, at the start, the
end and either side of a batch boundary. On SQLite the hashes are checked batch by batch over
the raw sqlite3 cursor; on PostgreSQL by a join and count the server runs in parallel; on both,
a slower walk runs only to name a break."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy import exc as sa_exc

from acsa.audit import chain
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work

N = 1_234  # more than two of the fast path's batches of 500
EDGES = [1, 500, 501, 1_000, N]


def build_chain(engine: Engine, n: int = N) -> None:
    prev, rows = chain.GENESIS, []
    for seq in range(1, n + 1):
        payload = chain.canonical_json({"n": seq, "note": "受領 — recibido" if seq % 7 else "x"})
        fields = (seq, f"2026-05-01T00:00:{seq % 60:02d}.{seq:06d}+00:00", "PH", "ph-finance",
                  "claim.payment", f"order:PHJP-JP-2026-{seq:04d}",
                  f"{seq:064x}" if seq % 3 else "", payload)
        digest = chain.link(prev, chain.body(*fields))
        rows.append(dict(zip(("seq", "at", "party", "actor", "action", "subject", "order_hash",
                              "payload"), fields, strict=True), prev_hash=prev, hash=digest))
        prev = digest
    with engine.begin() as conn:
        conn.execute(insert(Event), rows)


@pytest.fixture
def chained(engine: Engine) -> Engine:
    build_chain(engine)
    return engine


def tamper(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(sql), params)


def event(engine: Engine, seq: int) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"),
                                 {"s": seq}).mappings().one())


def rehash(ev: dict[str, object], **changed: object) -> str:
    """The hash an intruder would store for the event with `changed` fields."""
    ev = {**ev, **changed}
    body = chain.body(*(ev[k] for k in ("seq", "at", "party", "actor", "action", "subject",
                                         "order_hash", "payload")))  # type: ignore[arg-type]
    return chain.link(str(ev["prev_hash"]), body)


def check(engine: Engine) -> audit.Verification:
    """verify's answer, after checking it is the plain walk's, and (on SQLite) that the fast
    path itself said whether the chain holds."""
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        assert (result.broken_at, result.reason) == (
            chain.first_break(audit._rows(s)) or (None, None))
        if engine.dialect.name == "sqlite":
            assert audit._sqlite_chain_holds(s, result.events) is result.ok
        else:
            assert audit._pg_chain_holds(s, result.events) is result.ok
    return result


def test_an_intact_chain_holds_on_the_fast_path(chained):
    result = check(chained)
    assert (result.ok, result.events) == (True, N)


def test_an_empty_chain_holds(engine):
    result = check(engine)
    assert (result.ok, result.events, result.head) == (True, 0, chain.GENESIS)


@pytest.mark.parametrize("seq", EDGES)
def test_an_altered_payload(chained, seq):
    tamper(chained, "UPDATE audit_events SET payload = payload || ' ' WHERE seq = :s", s=seq)
    result = check(chained)
    assert result.broken_at == seq and "altered" in (result.reason or "")


@pytest.mark.parametrize("seq", EDGES)
def test_a_rehashed_event_breaks_the_next_link(chained, seq):
    ev = event(chained, seq)
    tamper(chained, "UPDATE audit_events SET actor = 'intruder', hash = :h WHERE seq = :s",
           h=rehash(ev, actor="intruder"), s=seq)
    result = check(chained)
    if seq == N:  # the newest event rehashed: the chain links; only the head gives it away
        assert result.ok
    else:
        assert (result.broken_at, result.reason) == (
            seq + 1, "prev_hash does not match the hash of the event before it")


@pytest.mark.parametrize("seq", EDGES)
def test_a_prev_hash_that_only_starts_right(chained, seq):
    """prev_hash = the right hash + US + more, and the event rehashed to match: its first 65
    bytes are what the fast path expects, so only the length check stops it."""
    ev = event(chained, seq)
    longer = f"{ev['prev_hash']}{chain.SEP}x"
    if chained.dialect.name != "sqlite":
        # PostgreSQL refuses a prev_hash longer than its varchar(64): the tampering fails
        with pytest.raises(sa_exc.DBAPIError, match="(?i)too long"):
            tamper(chained, "UPDATE audit_events SET prev_hash = :p WHERE seq = :s",
                   p=longer, s=seq)
        assert check(chained).ok
        return
    tamper(chained, "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s",
           p=longer, h=rehash(ev, prev_hash=longer), s=seq)
    result = check(chained)
    assert (result.broken_at, result.reason) == (
        seq, "prev_hash does not match the hash of the event before it")


@pytest.mark.parametrize("column", ["hash", "prev_hash"])
def test_a_hash_in_capitals_or_cut_short(chained, column):
    tamper(chained, f"UPDATE audit_events SET {column} = upper({column}) WHERE seq = 700")
    assert not check(chained).ok
    tamper(chained, f"UPDATE audit_events SET {column} = substr({column}, 1, 63) "
                    "WHERE seq = 701")
    assert not check(chained).ok


def test_a_first_event_not_linked_to_genesis(chained):
    ev = event(chained, 1)
    other = "1" * 64
    tamper(chained, "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = 1",
           p=other, h=rehash(ev, prev_hash=other))
    assert check(chained).broken_at == 1


@pytest.mark.parametrize("seq", EDGES)
def test_a_removed_event(chained, seq):
    tamper(chained, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    result = check(chained)
    if seq == N:
        assert result.ok and result.events == N - 1
    else:
        assert result.broken_at == seq + 1 and f"event {seq} is missing" in (result.reason or "")


def test_renumbered_events(chained):
    tamper(chained, "UPDATE audit_events SET seq = seq + 5000 WHERE seq > 900")
    assert check(chained).broken_at == 5901


@pytest.mark.parametrize("column", ["payload", "subject", "actor", "prev_hash"])
def test_a_nul_inside_a_value_is_hashed_too(chained, column):
    """SQLite text may hold a NUL; the stored hash left as it was must not match a value with
    "\\0..." appended (a printf('%s') of the value would stop at the NUL and match)."""
    if chained.dialect.name != "sqlite":
        # PostgreSQL text cannot hold a NUL at all: the tampering itself is refused
        with pytest.raises(sa_exc.DBAPIError, match="(?i)null|0x00"):
            tamper(chained, f"UPDATE audit_events SET {column} = {column} || chr(0) || 'x' "
                            "WHERE seq = 600")
        assert check(chained).ok
        return
    tamper(chained, f"UPDATE audit_events SET {column} = {column} || char(0) || 'x' "
                    "WHERE seq = 600")
    result = check(chained)
    assert result.broken_at == 600
