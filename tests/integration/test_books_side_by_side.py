"""`reports.balances_and_ageing`: both reports of the same books, the balances summed on a
second connection while the ageing is made, where that is sound (a read-only unit of work on a
SQLite file), and one after the other everywhere else; and ageing's rows left out of the young
garbage-collection generation.
"""

from __future__ import annotations

import datetime as dt
import gc

import pytest
from sqlalchemy.engine import Engine

from acsa import money
from acsa.db.engine import make_engine, unit_of_work
from acsa.ledger import reports
from acsa.ledger.reports import RECEIVABLES
from tests.integration.test_speed_paths_ageing import (  # noqa: F401 (order_id: a fixture)
    add_claim,
    add_lines,
    line,
    order_id,
)

AS_OF = dt.date(2026, 12, 31)
ON = dt.date(2026, 3, 1)


@pytest.fixture
def books(world, order_id):  # type: ignore[no-untyped-def]  # noqa: F811
    """Two open claims and a paid one, with their lines in both books."""
    with unit_of_work(world) as s:
        kw = {"code": "PHJP", "due": ON, "quantity": None}
        owed = add_claim(s, order_id, method="cash", delivered=ON, amount=900, forward=True,
                         **kw)
        back = add_claim(s, order_id, method="cash", delivered=ON, amount=400, forward=False,
                         **kw)
        paid = add_claim(s, order_id, method="cash", delivered=ON, amount=50, forward=True, **kw)
        add_lines(s, [line(owed, RECEIVABLES[0], "PHP", 900, ON),
                      line(back, RECEIVABLES[0], "JPY", 400, ON),
                      line(paid, RECEIVABLES[0], "PHP", 50, ON),
                      line(paid, RECEIVABLES[0], "PHP", -50, ON + dt.timedelta(days=3))])
    return world


@pytest.fixture
def uptos(monkeypatch):  # type: ignore[no-untyped-def]
    """The `upto` of each `_balances` call: an int when summed on the second connection."""
    seen: list[int | None] = []
    real = reports._balances

    def spy(conn, as_of, agreement, upto=None):  # type: ignore[no-untyped-def]
        seen.append(upto)
        return real(conn, as_of, agreement, upto)
    monkeypatch.setattr(reports, "_balances", spy)
    return seen


def _sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def test_both_reports_equal_the_two_made_one_after_the_other(books, uptos):
    with unit_of_work(books, read_only=True) as s:
        want = (reports.balances(s, as_of=AS_OF), reports.ageing(s, as_of=AS_OF))
        for agreement in (None, "PHJP"):
            got = reports.balances_and_ageing(s, as_of=AS_OF, agreement=agreement)
            assert got == (reports.balances(s, as_of=AS_OF, agreement=agreement),
                           reports.ageing(s, as_of=AS_OF, agreement=agreement))
        assert reports.balances_and_ageing(s, as_of=AS_OF) == want
    assert len(want[0]) == 2 and len(want[1]) == 2  # two balances and two open claims
    side = [u for u in uptos if u is not None]
    # on a SQLite file, each call summed the balances on the second connection
    assert len(side) == (3 if _sqlite(books) else 0)


def test_the_second_connection_sums_only_the_lines_the_session_sees(books, order_id,  # noqa: F811
                                                                    uptos):
    """A line committed by another writer after the session's snapshot was taken is in the
    file the second connection reads, but not in what the session sees: it is not counted."""
    with unit_of_work(books, read_only=True) as s:
        before = reports.balances_and_ageing(s, as_of=AS_OF)
        with unit_of_work(books) as w:
            late = add_claim(w, order_id, method="cash", delivered=ON, due=ON, amount=7,
                             quantity=None, forward=True, code="PHJP")
            add_lines(w, [line(late, RECEIVABLES[0], "PHP", 7, ON)])
        got = reports.balances_and_ageing(s, as_of=AS_OF)
        assert got == (reports.balances(s, as_of=AS_OF), reports.ageing(s, as_of=AS_OF))
        if _sqlite(books):  # PostgreSQL reads committed: there the session sees the line too
            assert got == before
    with unit_of_work(books, read_only=True) as s:
        after = reports.balances_and_ageing(s, as_of=AS_OF)
    assert after != before
    assert sum(r.creditor_book for r in after[0]) == sum(r.creditor_book for r in before[0]) + 7
    # the three calls of balances_and_ageing on the second connection, on a SQLite file
    assert len([u for u in uptos if u is not None]) == (3 if _sqlite(books) else 0)


def test_one_after_the_other_where_a_second_connection_is_not_sound(books, uptos):
    """A unit of work that may write (not read-only), one with changes not yet flushed, and
    PostgreSQL: the balances are summed in the session itself."""
    with unit_of_work(books) as s:
        writable = reports.balances_and_ageing(s, as_of=AS_OF)
    with unit_of_work(books, read_only=True) as s:
        from acsa.sync.models import NodeSetting
        s.add(NodeSetting(key="test:pending", value="x"))  # pending: flushed by the call
        pending = reports.balances_and_ageing(s, as_of=AS_OF)
        s.rollback()
    assert writable == pending
    assert uptos and all(u is None for u in uptos)


def test_a_database_in_memory_is_read_one_after_the_other(uptos):
    """A second connection to `sqlite://` would open another, empty database."""
    from acsa.db import migrate
    engine = make_engine("sqlite://")
    migrate.upgrade(engine)
    with unit_of_work(engine, read_only=True) as s:
        assert reports.balances_and_ageing(s, as_of=AS_OF) == ([], [])
    assert uptos == [None]


def test_an_error_in_the_balances_reaches_the_caller(books, monkeypatch):
    monkeypatch.setattr(reports, "_balances", lambda *a: 1 / 0)
    with unit_of_work(books, read_only=True) as s, pytest.raises(ZeroDivisionError):
        reports.balances_and_ageing(s, as_of=AS_OF)


def test_ageing_rows_are_not_left_in_the_young_generation(books):
    """The rows ageing made while cyclic collection was off are moved, unwalked, to the oldest
    generation: the first young collection after it does not walk them all."""
    was = gc.isenabled()
    gc.enable()
    try:
        with unit_of_work(books, read_only=True) as s:
            rows = reports.ageing(s, as_of=AS_OF)
        young = {id(o) for o in gc.get_objects(generation=0)}
        assert rows and not any(id(r) in young for r in rows)
        assert all(id(r) in {id(o) for o in gc.get_objects(generation=2)} for r in rows)
    finally:
        gc.enable() if was else gc.disable()


def test_objects_someone_else_froze_stay_frozen(books):
    was = gc.isenabled()
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with unit_of_work(books, read_only=True) as s:
            rows = reports.ageing(s, as_of=AS_OF)
        assert gc.get_freeze_count() > frozen // 2  # not unfrozen by ageing (0 if it were)
        old = {id(o) for o in gc.get_objects(generation=2)}
        assert rows and not any(id(r) in old for r in rows)  # left young: walked as before
    finally:
        gc.unfreeze()
        gc.enable() if was else gc.disable()


def test_the_statement_with_a_reporting_currency_reads_both_reports(books, uptos):
    """`acsa books balance --currency` (read-only): the balances and the open claims' total
    in the reporting currency come from `balances_and_ageing`, and are what the two reports
    made one after the other give."""
    from acsa.agreements import service as agreements
    from acsa.cli.books import balance_data
    with unit_of_work(books, read_only=True) as s:
        data = balance_data(s, AS_OF.isoformat(), None, "php")
        defs = {a.code: a for _, a in agreements.list_agreements(s)}
        sums, used = reports.in_currency(s, defs, reports.ageing(s, as_of=AS_OF), "PHP", AS_OF)
        plain = balance_data(s, AS_OF.isoformat(), None, None)
    assert data["reporting_currency"] == "PHP"
    assert data["balances"] == plain["balances"] and len(plain["balances"]) == 2
    assert {(n["creditor"], n["debtor"]): n["amount"] for n in data["net"]} == {
        k: str(money.Money(v, "PHP")) for k, v in sums.items()}
    assert len(sums) == 2 and data["rates_used"] == used
    assert len([u for u in uptos if u is not None]) == (1 if _sqlite(books) else 0)
