"""End-to-end fixtures: the INSTALLED `acsa` console script run as a subprocess, on the
`db_url` database of each backend (SQLite and PostgreSQL), with ACSA_HOME in the test's folder.

`cli` is an `acsa` bound to the test's empty, migrated database. `world` is the same, but the
database first receives the reference data of a small PH-JP world (agreement amendment,
units, officials, rate, activities), made by `acsa` commands only: the world is built once per
test run and backend (whichever xdist worker needs it first builds it under a file lock) and
copied into each test's database, because building it costs ~18 commands.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from tests.conftest import _pg_admin, _pg_url

ACSA = Path(sys.executable).parent / "acsa"

# one folder per test run, shared by the xdist workers of that run
RUN = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:12]
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
SHARED = Path(tempfile.gettempdir()) / f"acsa-e2e-{RUN}"
PG_WORLD = f"acsa_e2e_world_{RUN}"


# --- running acsa --------------------------------------------------------------------------
@dataclass
class Result:
    args: list[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def error(self) -> dict[str, Any]:
        """The JSON error document a `--json` command writes to stderr."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, f"expected one JSON line on stderr, got:\n{self.err}"
        doc = json.loads(lines[0])
        assert isinstance(doc, dict)
        return doc

    @property
    def first_err_line(self) -> str:
        lines = self.err.strip().splitlines()
        return lines[0] if lines else ""

    def describe(self) -> str:
        return (f"$ acsa {' '.join(self.args)}\nexit {self.code}\n--- stdout\n{self.out}"
                f"--- stderr\n{self.err}")


class Cli:
    """`acsa --db URL ...` with ACSA_HOME set, as a user would run it."""

    def __init__(self, home: Path, db: str) -> None:
        self.home, self.db = home, db

    def run(self, *args: object, env: dict[str, str] | None = None) -> Result:
        argv = [str(a) for a in args]
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("ACSA_DATABASE_URL", "ACSA_AGREEMENTS_DIR")}
        environ.update({"ACSA_HOME": str(self.home), "NO_COLOR": "1"}, **(env or {}))
        db = [] if env and "ACSA_DATABASE_URL" in env else ["--db", self.db]
        p = subprocess.run([str(ACSA), *db, *argv], capture_output=True, text=True,
                           env=environ, timeout=120, check=False)
        return Result(argv, p.returncode, p.stdout, p.stderr)

    def __call__(self, *args: object, env: dict[str, str] | None = None) -> Result:
        """Run and require success."""
        r = self.run(*args, env=env)
        if r.code != 0:
            pytest.fail(f"command failed:\n{r.describe()}", pytrace=False)
        return r

    def json(self, *args: object) -> Any:
        return self(*args, "--json").json()

    def refused(self, *args: object, code: int) -> Result:
        r = self.run(*args)
        assert r.code == code, f"expected exit {code}:\n{r.describe()}"
        assert r.out == "", f"a refused command printed on stdout:\n{r.describe()}"
        return r


# --- the database as data, to prove a refused command changed nothing ----------------------
def _sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def db_state(url: str) -> dict[str, list[str]]:
    """Every row of every table, in a stable order."""
    engine = create_engine(_sa_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            return {t: sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{t}"')))
                    for t in tables}
    finally:
        engine.dispose()


def sql(url: str, *statements: str) -> None:
    """Run statements in one transaction (used to tamper with a database)."""
    engine = create_engine(_sa_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for s in statements:
                conn.execute(text(s))
    finally:
        engine.dispose()


def sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1])


# --- the world -----------------------------------------------------------------------------
PHJP_IN_FORCE = "2026-03-01"
AMENDMENT = f"""# e2e tests: PH-JP ACSA ASSUMED in force from {PHJP_IN_FORCE} (date not public).
amends = "PHJP"
version = 2
in_force_on = {PHJP_IN_FORCE}
"""
UNITS = {
    "PH": ("PN-NFSL", "Philippine Navy, Naval Forces Support Logistics, Subic",
           "NFSL Finance Office, Subic Bay Freeport, Zambales"),
    "JP": ("JMSDF-ESC1", "JMSDF Escort Flotilla 1", "Escort Flotilla 1 accounts, Yokosuka"),
}
LIMITS = {"PH": "50000000 PHP", "JP": "150000000 JPY"}
ROLES = {"req": "requesting", "app": "approving", "sup": "supplying", "rcv": "receiving",
         "fin": "finance"}
NAMES = {
    "ph-req": "LTC Paolo Bautista", "ph-app": "Capt Maria Cruz PN", "ph-sup": "Lt Jose Reyes PN",
    "ph-rcv": "Capt Ramon Lim PAF", "ph-fin": "Ms Liza Santos",
    "jp-req": "Lt Cdr Sato Kenji", "jp-app": "Capt Kato Hiroshi", "jp-sup": "Lt Ono Yuki",
    "jp-rcv": "CPO Ito Daisuke", "jp-fin": "Ms Abe Naoko",
}
# one person registered (by mistake) as a JP requesting and a PH approving official
LIAISON = ("jp-liaison", "ph-liaison", "person-tanaka-h")


def official(party: str, role: str) -> str:
    """The world's official of `party` in `role` ('req', 'app', 'sup', 'rcv', 'fin')."""
    return f"{party.lower()}-{role}"


def write_amendment(home: Path) -> None:
    (home / "agreements").mkdir(parents=True, exist_ok=True)
    (home / "agreements" / "phjp-in-force.toml").write_text(AMENDMENT, encoding="utf-8")


def populate(cli: Cli) -> None:
    """The reference data of the world, with acsa commands only."""
    write_amendment(cli.home)
    cli("agreements", "load")
    for party, (code, name, address) in UNITS.items():
        cli("units", "add", code, "--party", party, "--name", name, "--address", address)
    for party in UNITS:
        for short, role in ROLES.items():
            code = official(party, short)
            limit = ["--limit", LIMITS[party]] if short in ("req", "app") else []
            cli("officials", "add", code, "--name", NAMES[code], "--party", party,
                "--role", role, "--valid-from", "2026-01-01", "--valid-to", "2028-12-31",
                "--unit", UNITS[party][0], "--person", f"person-{code}", *limit)
    jp, ph, person = LIAISON
    cli("officials", "add", jp, "--name", "Cdr Tanaka Hiro (liaison)", "--party", "JP",
        "--role", "requesting", "--valid-from", "2026-01-01", "--unit", "JMSDF-ESC1",
        "--person", person, "--limit", LIMITS["JP"])
    cli("officials", "add", ph, "--name", "Cdr Tanaka Hiro (liaison)", "--party", "PH",
        "--role", "approving", "--valid-from", "2026-01-01", "--unit", "PN-NFSL",
        "--person", person, "--limit", LIMITS["PH"])
    cli("rates", "add", "JPY", "PHP", "0.3744", "--on", "2026-04-01", "--kind", "agreement_fy",
        "--agreement", "PHJP", "--source", "MOD FY2026 official rate (illustrative)")
    cli("activities", "add", "KAMANDAG-10", "--name", "KAMANDAG 10", "--type", "exercise",
        "--place", "Subic Bay and Zambales", "--starts-on", "2026-05-01",
        "--ends-on", "2026-06-30", "--agreement", "PHJP")
    cli("activities", "add", "HADR-CEBU", "--name", "Typhoon relief, Cebu", "--type", "hadr",
        "--place", "Cebu", "--starts-on", "2026-08-01", "--ends-on", "2026-09-30",
        "--agreement", "PHJP")


@contextmanager
def _locked(name: str) -> Iterator[None]:
    SHARED.mkdir(parents=True, exist_ok=True)
    with open(SHARED / name, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_sqlite(template: Path) -> Path:
    path = SHARED / "sqlite" / "acsa.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, path)
    populate(Cli(SHARED / "sqlite-home", f"sqlite:///{path}"))
    con = sqlite3.connect(path)  # fold the WAL into the file, so one file is the world
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def _build_postgres(template: str) -> None:
    with _pg_admin().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_WORLD}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_WORLD}" TEMPLATE "{template}"'))
    populate(Cli(SHARED / "postgres-home", _pg_url(PG_WORLD)))


@pytest.fixture
def cli(db_url: str, _acsa_home: Path) -> Cli:
    """`acsa` on the test's empty, migrated database."""
    return Cli(_acsa_home, db_url)


@pytest.fixture
def backend(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgres"


@pytest.fixture
def sqlite_only(backend: str) -> None:
    """Marks checks of the command's text, which is the same code on every backend; they run
    on both all the same (under CI no PostgreSQL variant is ever skipped)."""


@pytest.fixture
def world(db_url: str, backend: str, _acsa_home: Path, request: pytest.FixtureRequest) -> Cli:
    """`acsa` on the test's database holding the world's reference data (no orders)."""
    with _locked(f"{backend}.lock"):
        done = SHARED / f"{backend}.done"
        if backend == "sqlite":
            source = SHARED / "sqlite" / "acsa.db"
            if not done.exists():
                _build_sqlite(request.getfixturevalue("sqlite_template"))
                done.touch()
            shutil.copy(source, sqlite_path(db_url))
        else:
            if not done.exists():
                _build_postgres(request.getfixturevalue("pg_template"))
                done.touch()
            name = db_url.rsplit("/", 1)[1]
            with _pg_admin().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{PG_WORLD}"'))
    write_amendment(_acsa_home)
    return Cli(_acsa_home, db_url)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The last worker of the run to finish drops the shared world."""
    with _locked("finish.lock"):
        finished = SHARED / "finished"
        with finished.open("a") as fh:
            fh.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\n")
        if len(finished.read_text().split()) < WORKERS:
            return
        if (SHARED / "postgres.done").exists():
            try:
                with _pg_admin().connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_WORLD}" WITH (FORCE)'))
            except Exception:  # noqa: BLE001 - best effort: never fail a run on cleanup
                pass
    shutil.rmtree(SHARED, ignore_errors=True)
