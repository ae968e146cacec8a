"""Engines and the unit of work.

SQLite is opened in WAL mode with `synchronous=FULL` (a system of record loses no acknowledged
write on power loss), foreign keys on, and every transaction started with `BEGIN IMMEDIATE` so
two writers queue instead of deadlocking on a lock upgrade. PostgreSQL is used as it comes.

Adapters (CLI, HTTP) open exactly one unit of work per command or request; services only
flush, so a change, its ledger entry and its audit event commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from acsa import config


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # a read-only unit of work takes no write lock: readers never queue behind writers
        read_only = conn.get_execution_options().get("acsa_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
        # how many rows this connection had changed when the transaction began: a reader can
        # then tell whether the transaction has written anything (`written_since_begin`)
        conn.info[CHANGES_AT_BEGIN] = conn.connection.driver_connection.total_changes


CHANGES_AT_BEGIN = "acsa_total_changes_at_begin"


def written_since_begin(conn: Connection) -> bool:
    """Whether this SQLite transaction has inserted, updated or deleted a row, flushed or not
    (SQLite's count of the connection's changes since its BEGIN; pending ORM objects are not
    counted: flush first). True when it cannot be told (a connection not begun by
    `make_engine`'s listener)."""
    before = conn.info.get(CHANGES_AT_BEGIN)
    return before is None or conn.connection.driver_connection.total_changes != before


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(url: str | None = None) -> Engine:
    return engine_for(config.database_url(url))


def _keep_alive(session: Session, instance: object) -> None:
    # The identity map holds objects weakly; a unit of work is short, so holding what it
    # loaded saves reloading the same agreement, official or order several times over.
    session.info.setdefault("loaded", []).append(instance)


class UnitOfWorkSession(Session):
    """The session of `unit_of_work`: a plain Session that keeps what it loads (`_keep_alive`,
    registered once on this class rather than on each session, which cost more than
    opening the session)."""


event.listen(UnitOfWorkSession, "loaded_as_persistent", _keep_alive)


@contextmanager
def unit_of_work(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. `read_only` is a promise
    that nothing is written; on SQLite it starts a deferred transaction instead of taking the
    write lock (a write inside it would still be correct, only not queued up front)."""
    bind = engine.execution_options(acsa_read_only=True) if read_only else engine
    factory = sessionmaker(bind, class_=UnitOfWorkSession, expire_on_commit=False,
                           autoflush=True)
    with factory() as session:
        with session.begin():
            yield session
