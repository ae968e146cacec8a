"""`audit.verify` on SQLite with the chain split among processes (`audit/verify.py` run as a
child per stretch, the last stretch checked in the caller): the same answers as the plain walk,
`chain.first_break` over every row, for a chain that holds and for breaks inside a child's
stretch, inside the caller's, and at the seam between two stretches; and the caller's own
transaction, not the children's view of the committed file, has the last word."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from acsa.audit import chain
from acsa.audit import service as audit
from acsa.audit import verify as stretches
from acsa.db.engine import make_engine, unit_of_work
from tests.integration.test_speed_paths_audit import N, build_chain, event, rehash, tamper

# two processes: the child checks 1..617, this process 618..1234
SEAM = N // 2
# three processes: children 1..411 and 412..822, this process 823..1234
SECOND_OF_THREE = (N // 3 + 1, 2 * N // 3)


@pytest.fixture
def engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "acsa.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    build_chain(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[int, int]]]:
    """Every chain of more than one event split among two processes; records the stretches
    given to children and the ones checked in this process."""
    seen: dict[str, list[tuple[int, int]]] = {"children": [], "here": []}
    start, check = audit._start_stretch_check, stretches.check_stretch

    def start_child(file: str, first: int, last: int):  # type: ignore[no-untyped-def]
        seen["children"].append((first, last))
        return start(file, first, last)

    def check_here(conn, first: int, last: int):  # type: ignore[no-untyped-def]
        seen["here"].append((first, last))
        return check(conn, first, last)

    monkeypatch.setattr(audit, "PARALLEL_FROM", 2)
    monkeypatch.setattr(audit, "_processes", lambda file, count: 2 if file and count > 1 else 1)
    monkeypatch.setattr(audit, "_start_stretch_check", start_child)
    monkeypatch.setattr(stretches, "check_stretch", check_here)
    return seen


def three_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_processes", lambda file, count: 3 if file and count > 2 else 1)


def check(engine: Engine) -> audit.Verification:
    """verify's answer, after checking it is the plain walk's and that the split check itself
    said whether the chain holds."""
    with unit_of_work(engine) as s:
        result = audit.verify(s)
        assert (result.broken_at, result.reason) == (
            chain.first_break(audit._rows(s)) or (None, None))
        assert audit._sqlite_chain_holds(s, result.events) is result.ok
    return result


def test_an_intact_chain_holds_with_a_child_checking_the_first_half(engine, spy):
    result = check(engine)
    assert (result.ok, result.events) == (True, N)
    assert spy["children"] == [(1, SEAM), (1, SEAM)]  # verify, then check's own call
    assert spy["here"] == [(SEAM + 1, N), (SEAM + 1, N)]  # the child's answer was taken


def test_an_intact_chain_holds_in_three_stretches(engine, spy, monkeypatch):
    three_processes(monkeypatch)
    assert check(engine).ok
    assert spy["children"][:2] == [(1, N // 3), SECOND_OF_THREE]
    assert spy["here"][0] == (2 * N // 3 + 1, N)


@pytest.mark.parametrize("seq", [1, SEAM // 2, SEAM + 1, (SEAM + N) // 2, N])
def test_an_altered_event_in_either_stretch_is_named(engine, spy, seq):
    tamper(engine, "UPDATE audit_events SET payload = payload || ' ' WHERE seq = :s", s=seq)
    result = check(engine)
    assert (result.broken_at, result.reason) == (
        seq, "content does not match its hash (the event was altered)")


def test_an_altered_event_in_the_middle_of_the_second_of_three_stretches(engine, spy,
                                                                         monkeypatch):
    three_processes(monkeypatch)
    seq = sum(SECOND_OF_THREE) // 2
    tamper(engine, "UPDATE audit_events SET action = 'order.cancelled' WHERE seq = :s", s=seq)
    result = check(engine)
    assert result.broken_at == seq and "altered" in (result.reason or "")
    # the child that found it was not taken at its word: its stretch was checked here too
    assert SECOND_OF_THREE in spy["here"]


@pytest.mark.parametrize("seq", [SEAM, SEAM + 1])
def test_a_rehashed_event_at_the_seam_breaks_the_next_link(engine, spy, seq):
    """Each stretch holds on its own when the last event of the first is rehashed (or the
    first of the second): only the check that joins them can see that the second does not
    start where the first ended."""
    ev = event(engine, seq)
    tamper(engine, "UPDATE audit_events SET actor = 'intruder', hash = :h WHERE seq = :s",
           h=rehash(ev, actor="intruder"), s=seq)
    result = check(engine)
    assert (result.broken_at, result.reason) == (
        seq + 1, "prev_hash does not match the hash of the event before it")


def test_a_second_stretch_chained_anew_from_elsewhere(engine, spy):
    """Every event of the caller's stretch relinked and rehashed from another starting hash:
    that stretch holds on its own, and only its start fails to meet the child's end."""
    prev = "1" * 64
    for seq in range(SEAM + 1, N + 1):
        digest = rehash(event(engine, seq), prev_hash=prev)
        tamper(engine, "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s",
               p=prev, h=digest, s=seq)
        prev = digest
    result = check(engine)
    assert (result.broken_at, result.reason, result.head) == (
        SEAM + 1, "prev_hash does not match the hash of the event before it", prev)


@pytest.mark.parametrize("seq", [SEAM // 2, SEAM, SEAM + 1, (SEAM + N) // 2])
def test_a_deleted_event_is_named(engine, spy, seq):
    tamper(engine, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    result = check(engine)
    assert (result.broken_at, result.reason) == (
        seq + 1, f"event {seq} is missing (next stored event is {seq + 1})")


@pytest.mark.parametrize("shift", [N, N - 1, N + 7])
def test_events_renumbered_down_to_zero_or_below(engine, spy, shift):
    """The length of a chain that holds is its highest seq: one whose highest seq is 0 or less
    holds nothing, and is counted and walked like any broken chain."""
    tamper(engine, "UPDATE audit_events SET seq = seq - :d", d=shift)
    result = check(engine)
    assert (result.events, result.broken_at) == (N, 1 - shift)


def test_a_child_that_cannot_run_or_answers_nonsense_leaves_the_stretch_to_the_caller(
        engine, spy, monkeypatch):
    for command in (["/nonexistent/python"],  # no process at all
                    [audit.sys.executable, "-c", "raise SystemExit(3)"],  # fails
                    [audit.sys.executable, "-c", "print('ok zz')"]):  # not an answer
        monkeypatch.setattr(audit, "_stretch_command", lambda *_, c=command: c)
        spy["here"].clear()
        assert check(engine).ok
        assert (1, SEAM) in spy["here"]
    tamper(engine, "UPDATE audit_events SET payload = 'x' WHERE seq = 3")
    assert check(engine).broken_at == 3


def test_a_child_whose_answer_does_not_meet_the_next_stretch_is_not_believed(
        engine, spy, monkeypatch):
    """A child answering "holds" with a head that is not the hash the next stretch starts
    from: the stretches do not join, and the slow walk decides (here: the chain holds)."""
    lie = stretches.report(stretches.Stretch(1, SEAM, chain.GENESIS, "f" * 64))
    monkeypatch.setattr(audit, "_stretch_command",
                        lambda *_: [audit.sys.executable, "-c", f"print({lie!r})"])
    with unit_of_work(engine) as s:
        assert audit._sqlite_chain_holds(s, N) is False
        assert audit.verify(s).ok


def test_events_this_transaction_appended_are_checked_in_it(engine, spy):
    """The child reads the committed file; the events this unit of work appended are only in
    its own view, at the end of the chain, in the stretch this process checks."""
    with unit_of_work(engine) as s:
        for i in range(5):
            audit.append(s, party="PH", actor="ph-finance", action="claim.payment",
                         subject=f"order:PHJP-JP-2026-9{i:03d}", payload={"i": i})
        result = audit.verify(s)
        assert (result.ok, result.events) == (True, N + 5)
        assert spy["here"] == [((N + 5) // 2 + 1, N + 5)]


def test_a_child_that_cannot_see_this_transactions_events_is_checked_again(engine, spy):
    """More uncommitted events than the caller's stretch holds: the child's stretch runs past
    what it can see and it reports a break, which this process checks again and refutes."""
    more = N + 10
    with unit_of_work(engine) as s:
        for i in range(more):
            audit.append(s, party="PH", actor="ph-finance", action="claim.payment",
                         subject=f"order:PHJP-JP-2026-{i:05d}", payload={"i": i})
        result = audit.verify(s)
        assert (result.ok, result.events) == (True, N + more)
        assert (1, (N + more) // 2) in spy["here"]


def test_a_database_in_memory_is_checked_in_one_process(monkeypatch):
    monkeypatch.setattr(audit, "PARALLEL_FROM", 2)
    engine = make_engine("sqlite://")
    from acsa.db import migrate

    migrate.upgrade(engine)
    build_chain(engine, 50)
    with unit_of_work(engine) as s:
        raw = s.connection().connection.driver_connection
        assert audit._database_file(raw) == ""
        assert audit._processes("", 50) == 1
        assert audit.verify(s).ok


def test_a_long_chain_is_split_by_the_cpus_and_a_short_one_is_not(monkeypatch):
    monkeypatch.setattr(audit.os, "sched_getaffinity", lambda _: {0, 1, 2, 3, 4, 5, 6, 7},
                        raising=False)
    assert audit._processes("/x.db", audit.PARALLEL_FROM) == audit.MAX_PROCESSES
    assert audit._processes("/x.db", audit.PARALLEL_FROM - 1) == 1
    assert audit._processes("", 10 * audit.PARALLEL_FROM) == 1
    monkeypatch.setattr(audit.os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert audit._processes("/x.db", 10 * audit.PARALLEL_FROM) == 1


# --- the stretches themselves ------------------------------------------------------------------
def test_the_module_keeps_the_chains_constants():
    assert (stretches.GENESIS, stretches.SEP) == (chain.GENESIS, chain.SEP)


def test_stretches_join_only_end_to_start_from_genesis_to_the_count():
    def s(first: int, last: int, prev: str, head: str) -> stretches.Stretch:
        return stretches.Stretch(first, last, prev, head)

    a, b = s(1, 5, chain.GENESIS, "a" * 64), s(6, 9, "a" * 64, "b" * 64)
    assert stretches.chained([a, b], 9)
    assert not stretches.chained([a, b], 10)  # does not reach the last event
    assert not stretches.chained([a, s(7, 9, "a" * 64, "b" * 64)], 9)  # a gap
    assert not stretches.chained([a, s(6, 9, "c" * 64, "b" * 64)], 9)  # not linked
    assert not stretches.chained([s(1, 5, "c" * 64, "a" * 64), b], 9)  # not from genesis
    assert not stretches.chained([a, None], 9)  # a stretch that does not hold
    assert stretches.chained([], 0)


def test_a_stretch_reports_its_ends_and_a_child_answer_reads_back(engine):
    path = engine.url.database
    with sqlite3.connect(path) as conn:
        whole = stretches.check_stretch(conn, 1, N)
        part = stretches.check_stretch(conn, 100, 200)
        assert stretches.check_stretch(conn, 1, N + 1) is None  # one event short
    assert whole is not None and part is not None
    assert (whole.prev_hash, whole.head) == (chain.GENESIS, event(engine, N)["hash"])
    assert (part.prev_hash, part.head) == (event(engine, 99)["hash"], event(engine, 200)["hash"])
    odd = stretches.Stretch(3, 4, "a b\nc" + "x" * 59, "d" * 64)  # any text, until compared
    assert stretches.read_report(stretches.report(odd), 3, 4) == odd
    assert stretches.read_report("broken\n", 3, 4) is None
    with pytest.raises(ValueError):
        stretches.read_report("ok 12", 3, 4)


def test_the_script_checks_a_stretch_of_a_file(engine):
    import subprocess
    import sys

    path = engine.url.database
    assert path
    out = subprocess.run([sys.executable, "-I", "-S", stretches.__file__, path, "1", str(SEAM)],
                         capture_output=True, text=True, check=True).stdout
    assert stretches.read_report(out, 1, SEAM) == stretches.Stretch(
        1, SEAM, chain.GENESIS, event(engine, SEAM)["hash"])
    tamper(engine, "UPDATE audit_events SET payload = 'x' WHERE seq = 7")
    out = subprocess.run([sys.executable, "-I", "-S", stretches.__file__, path, "1", str(SEAM)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "broken"
