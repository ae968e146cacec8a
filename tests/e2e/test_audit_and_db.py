"""The audit chain caught out by `acsa audit verify` when an event is altered behind acsa's
back, and `acsa db upgrade` / `acsa db current` on a database that has never seen acsa."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import _pg_admin, _pg_url
from tests.e2e.conftest import Cli, sql, sqlite_path

ORIGINAL, FORGED = '"rate":"0.3744"', '"rate":"0.3700"'


def _head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("acsa") / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head


def _forge_sqlite(path: Path) -> int:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        seq, payload = con.execute("SELECT seq, payload FROM audit_events "
                                   "WHERE action = 'rate.added'").fetchone()
        assert ORIGINAL in payload, payload
        forge = ("UPDATE audit_events SET payload = replace(payload, ?, ?) WHERE seq = ?",
                 (ORIGINAL, FORGED, seq))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(*forge)  # the trigger refuses it first
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute(*forge)
    finally:
        con.close()
    return int(seq)


def _forge_postgres(url: str) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                           poolclass=NullPool)
    try:
        with engine.connect() as conn:
            seq, payload = conn.execute(text("SELECT seq, payload FROM audit_events "
                                             "WHERE action = 'rate.added'")).one()
    finally:
        engine.dispose()
    assert ORIGINAL in payload, payload
    forge = (f"UPDATE audit_events SET payload = replace(payload, '{ORIGINAL}', '{FORGED}') "
             f"WHERE seq = {seq}")
    with pytest.raises(DBAPIError, match="append-only"):
        sql(url, forge)
    sql(url, "DROP TRIGGER audit_events_append_only ON audit_events", forge)
    return int(seq)


def test_audit_verify_names_the_altered_event(world: Cli, backend: str) -> None:
    intact = world.json("audit", "verify")
    assert intact["ok"] is True and intact["events"] > 10

    seq = (_forge_sqlite(sqlite_path(world.db)) if backend == "sqlite"
           else _forge_postgres(world.db))

    broken = world.refused("audit", "verify", code=8)
    assert broken.first_err_line.startswith(f"error: audit chain broken at event {seq}: ")
    assert "altered" in broken.first_err_line
    doc = world.refused("audit", "verify", "--json", code=8).error()
    assert (doc["error"], doc["kind"]) == ("IntegrityError", "integrity")
    assert doc["details"]["broken_at"] == seq


@contextmanager
def _empty_database(backend: str, folder: Path) -> Iterator[str]:
    """A database acsa has never touched: a new SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'new' / 'acsa.db'}"
        return
    name = f"acsa_e2e_empty_{uuid.uuid4().hex[:12]}"
    with _pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(name)
    finally:
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_commands_before_the_database_exists_say_so(backend: str, tmp_path: Path,
                                                     _acsa_home: Path) -> None:
    with _empty_database(backend, tmp_path) as url:
        missing = Cli(_acsa_home, url).refused("orders", "list", code=5)
        assert "not initialised" in missing.first_err_line


def test_db_upgrade_on_an_empty_database(backend: str, tmp_path: Path,
                                         _acsa_home: Path) -> None:
    head = _head()
    with _empty_database(backend, tmp_path) as url:
        cli = Cli(_acsa_home, url)
        assert cli("db", "current").out.strip() == f"empty (head is {head})"
        assert f"database at revision {head}" in cli("db", "upgrade").out
        assert cli("db", "current").out.strip() == f"{head} (head is {head})"
        assert cli.json("orders", "list") == []
