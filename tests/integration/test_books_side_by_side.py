"""`reports.balances_and_ageing`: both reports of the same books, the balances summed on a
second connection while the ageing is made where that is sound (a SQLite file in WAL mode, a
transaction that has written nothing, a pool that gives another connection), and one after the
other everywhere else.
"""

from __future__ import annotations

import datetime as dt
import gc

import pytest
from sqlalchemy import event
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


def test_one_after_the_other_in_a_transaction_that_has_written(books, order_id, uptos):  # noqa: F811
    """Lines the session wrote itself, flushed (ledger lines are written by a bulk INSERT, never
    pending objects): another connection cannot see them, so the balances are summed in the
    session, and they count. Likewise with an object not yet flushed."""
    with unit_of_work(books, read_only=True) as s:
        before = reports.balances_and_ageing(s, as_of=AS_OF)
    with unit_of_work(books, read_only=True) as s:
        mine = add_claim(s, order_id, method="cash", delivered=ON, due=ON, amount=7,
                         quantity=None, forward=True, code="PHJP")
        add_lines(s, [line(mine, RECEIVABLES[0], "PHP", 7, ON)])
        s.flush()
        got = reports.balances_and_ageing(s, as_of=AS_OF)
        assert got == (reports.balances(s, as_of=AS_OF), reports.ageing(s, as_of=AS_OF))
        s.rollback()
    assert sum(r.creditor_book for r in got[0]) == sum(r.creditor_book for r in before[0]) + 7
    with unit_of_work(books) as s:
        from acsa.sync.models import NodeSetting
        s.add(NodeSetting(key="test:pending", value="x"))  # pending, not yet flushed
        assert reports.balances_and_ageing(s, as_of=AS_OF) == before
    side = [u for u in uptos if u is not None]
    assert len(side) == (1 if _sqlite(books) else 0)  # the first call alone wrote nothing


def _sqlite_engine(url: str, **kw: object) -> Engine:
    """An engine with `make_engine`'s SQLite settings (WAL asked for, BEGIN, the count of
    changes at BEGIN), and the pool given."""
    from sqlalchemy import create_engine

    from acsa.db import engine as db
    engine = create_engine(url, **kw)  # type: ignore[arg-type]
    db._sqlite_pragmas(engine)
    return engine


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_a_pool_that_shares_one_connection_is_read_one_after_the_other(books, uptos):
    """StaticPool hands every caller the same connection: a second BEGIN on it would fail, and
    closing it would end the session's own transaction."""
    from sqlalchemy.pool import StaticPool
    shared = _sqlite_engine(books.url.render_as_string(False), poolclass=StaticPool)
    with unit_of_work(shared, read_only=True) as s:
        got = reports.balances_and_ageing(s, as_of=AS_OF)
        assert s.in_transaction()
    assert got[0] and uptos == [None]


@SQLITE_ONLY
def test_a_file_in_rollback_journal_mode_is_read_one_after_the_other(books, uptos):
    """Without WAL, a writer waiting to commit would lock the second reader out while the
    session holds its read: a deadlock until the busy timeout."""
    books.dispose()
    journal = _sqlite_engine(books.url.render_as_string(False))

    @event.listens_for(journal, "connect")
    def _rollback_journal(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA journal_mode=DELETE")  # after make_engine's WAL
    with unit_of_work(journal, read_only=True) as s:
        mode = s.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
        got = reports.balances_and_ageing(s, as_of=AS_OF)
    journal.dispose()
    assert mode == "delete" and got[0] and uptos == [None]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///file::memory:?cache=shared&uri=true"])
def test_a_database_in_memory_is_read_one_after_the_other(uptos, url):
    """A second connection to a memory database would open another, empty one, or share one
    without snapshots: not WAL, so not side by side."""
    import acsa.db.models  # noqa: F401 (every table)
    from acsa.db.base import Base
    engine = make_engine(url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
    with unit_of_work(engine, read_only=True) as s:
        assert reports.balances_and_ageing(s, as_of=AS_OF) == ([], [])
    engine.dispose()
    assert uptos == [None]


def test_an_error_in_the_second_connection_reaches_the_caller(books, monkeypatch):
    """The balances fail on the second connection only: the caller gets the error."""
    real, raised = reports._balances, []

    def side_fails(conn, as_of, agreement, upto=None):  # type: ignore[no-untyped-def]
        if upto is not None:
            raised.append(upto)
            raise ZeroDivisionError("the second connection")
        return real(conn, as_of, agreement, upto)
    monkeypatch.setattr(reports, "_balances", side_fails)
    with unit_of_work(books, read_only=True) as s:
        if _sqlite(books):
            with pytest.raises(ZeroDivisionError, match="the second connection"):
                reports.balances_and_ageing(s, as_of=AS_OF)
        else:
            reports.balances_and_ageing(s, as_of=AS_OF)  # one after the other: no side
    assert len(raised) == (1 if _sqlite(books) else 0)


def test_garbage_collection_is_left_as_it_was_found(books):
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            with unit_of_work(books, read_only=True) as s:
                reports.balances_and_ageing(s, as_of=AS_OF)
            assert gc.isenabled() is enabled
    finally:
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
