"""Test databases: every integration test runs on a migrated SQLite file and on a migrated
PostgreSQL database (a fresh copy of a migrated template per test).

PostgreSQL is reached at ACSA_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
Locally, PostgreSQL tests are skipped when it is unreachable; under CI (CI=true) that is an
error, so a PostgreSQL test can never silently not run there.
"""

from __future__ import annotations

import compileall
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

import acsa
from acsa.db import migrate
from acsa.db.engine import make_engine

PG_ADMIN_URL = os.environ.get("ACSA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_TEMPLATE = "acsa_test_template"


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the acsa package once, before the workers start: an environment with
    PYTHONDONTWRITEBYTECODE set (some CI images set it) would otherwise have every `acsa`
    process the tests start compile the whole package from source again (~0.08 s each, over
    thousands of processes). Python reads the .pyc files with or without that setting."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        compileall.compile_dir(Path(acsa.__file__).parent, quiet=2)


# The longest tests (each runs `acsa` many times, or drives a browser), started first: with
# `--dist worksteal` the short ones then fill the workers around them, instead of one long test
# starting last and running alone while the other workers idle (pytest's order is otherwise
# the files' alphabetical order, which put the browser tests at the very end).
SLOW_FIRST = ("tests/e2e/test_nodes.py", "tests/e2e/", "tests/web/test_browser",
              "tests/sync/test_sync_cli.py", "tests/sync/test_offsets_sync.py",
              "tests/documents/test_import.py", "tests/documents/test_reports_cli.py",
              "tests/documents/test_forms_cli.py", "tests/documents/test_audit_pack_cli.py",
              "tests/documents/test_import_cli.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        for i, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return i
        return len(SLOW_FIRST)
    items.sort(key=rank)  # stable: the order within each group is kept


def _pg_admin() -> Engine:
    return create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                         isolation_level="AUTOCOMMIT")


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def replace_database(engine: Engine, *, sqlite_copy: Path | None = None,
                     pg_template: str | None = None) -> Engine:
    """Replace `engine`'s database with a fresh copy of a prepared one: a SQLite file, or a
    PostgreSQL database used as a template (the dialect decides which is used)."""
    engine.dispose()
    database = engine.url.database
    assert database
    if engine.dialect.name == "sqlite":
        assert sqlite_copy is not None
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.copy(sqlite_copy, database)
    else:
        assert pg_template is not None
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{pg_template}"'))
    return engine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {PG_ADMIN_URL}: {e}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
    # unique per run and worker: several test runs may share one server
    name = f"{PG_TEMPLATE}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_pg_url(name))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "acsa.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"acsa_t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _pg_url(name)
    finally:
        from acsa.db.engine import engine_for
        engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _acsa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own acsa home, so no test reads a user's real files."""
    home = tmp_path / "acsa-home"
    (home / "agreements").mkdir(parents=True)
    monkeypatch.setenv("ACSA_HOME", str(home))
    monkeypatch.delenv("ACSA_DATABASE_URL", raising=False)
    monkeypatch.delenv("ACSA_AGREEMENTS_DIR", raising=False)
    return home
