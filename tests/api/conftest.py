"""API fixtures: a FastAPI TestClient on a migrated database (SQLite and PostgreSQL, through
the `engine` fixture) holding the demo story and the API users below.

- `world`: `engine`, its database holding the demo story (`acsa.demo.load`, without the demo's
  own users) and the `API_USERS`, all with the password `PASSWORD`.
- `app`: the application on `world`.
- `client_for(username)`: a TestClient signed in as that user, with the CSRF header set.
- `anonymous`: a TestClient signed in as nobody.

Building the world costs seconds, so it is built once per backend and test process and each
test gets its own copy. Passwords are hashed with cheap argon2 parameters: these tests are
about who may do what, not about the cost of hashing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from acsa import demo
from acsa.api.app import create_app
from acsa.api.deps import CSRF_HEADER
from acsa.db.engine import make_engine, unit_of_work
from acsa.parties import service as parties
from acsa.users import service as users
from tests.conftest import _pg_admin, _pg_url, replace_database

PASSWORD = "correct horse battery staple"
# username -> (party, official it signs as, administrator?)
API_USERS: dict[str, tuple[str, str | None, bool]] = {
    "jp-req": ("JP", "jp-sato", False),  # requesting
    "ph-app": ("PH", "ph-cruz", False),  # approving, limit 50,000,000 PHP
    "ph-fin": ("PH", "ph-santos", False),  # finance
    "jp-fin": ("JP", "jp-abe", False),  # finance
    "jp-rcv": ("JP", "jp-ito", False),  # receiving
    "ph-sup": ("PH", "ph-reyes", False),  # supplying
    "us-app": ("US", "us-miller", False),  # approving
    "jp-audit": ("JP", "jp-audit", False),  # auditor
    "ph-admin": ("PH", None, True),
    "jp-admin": ("JP", None, True),
}
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
API = "/api/v1"


@pytest.fixture(autouse=True)
def _cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "HASHER", CHEAP_HASHER)


def build_world(engine: Engine, home: Path) -> None:
    """The demo story and the API users, in the (migrated, empty) database of `engine`."""
    env = {"ACSA_HOME": str(home), "ACSA_AGREEMENTS_DIR": str(home / "agreements")}
    with mock.patch.dict(os.environ, env), mock.patch.object(users, "HASHER", CHEAP_HASHER), \
            mock.patch.object(demo, "add_users", lambda s: None):
        with unit_of_work(engine) as s:
            parties.ensure_parties(s)
            demo.load(s)
            for username, (party, official, admin) in API_USERS.items():
                users.add_user(s, username=username, password=PASSWORD, party=party,
                               official=official, is_admin=admin, actor="test")


@pytest.fixture(scope="session")
def _sqlite_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("api-world")
    path = folder / "world.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    build_world(engine, folder / "home")
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture(scope="session")
def _pg_world(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"acsa_api_world_{uuid.uuid4().hex[:10]}"  # several test runs may share a server
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    engine = make_engine(_pg_url(name))
    build_world(engine, tmp_path_factory.mktemp("api-world-home"))
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def world(engine: Engine, request: pytest.FixtureRequest) -> Engine:
    """`engine`, its database replaced by a fresh copy of the demo world with the API users."""
    if engine.dialect.name == "sqlite":
        return replace_database(engine, sqlite_copy=request.getfixturevalue("_sqlite_world"))
    return replace_database(engine, pg_template=request.getfixturevalue("_pg_world"))


@pytest.fixture
def app(world: Engine) -> FastAPI:
    return create_app(world)


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """Sign in as a user of `API_USERS`: a TestClient with the session cookie and the CSRF
    header of that sign-in."""
    clients: list[TestClient] = []

    def sign_in(username: str) -> TestClient:
        client = TestClient(app)
        r = client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers[CSRF_HEADER] = r.json()["csrf_token"]
        clients.append(client)
        return client
    yield sign_in
    for client in clients:
        client.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client
