"""Web fixtures: a migrated database (SQLite and PostgreSQL, through the `engine` fixture)
holding the demo story and the users below, the application on it, and TestClients signed in
through the sign-in form.

- `world`, `app`: as in tests/api/conftest.py, with `WEB_USERS` (the API tests' users plus
  the officials the web flows need), all with the password `PASSWORD`.
- `browser_for(username, lang=None)`: a TestClient signed in with the web form.
- `api_for(username)`: a TestClient signed in to the API (CSRF header set).
- `csrf_of(html)`: the CSRF token in a page's forms.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from acsa.api.app import create_app
from acsa.db.engine import make_engine, unit_of_work
from acsa.users import service as users
from tests.api.conftest import API_USERS, CHEAP_HASHER, PASSWORD, build_world
from tests.conftest import _pg_admin, _pg_url, replace_database

WEB_USERS: dict[str, tuple[str, str | None, bool]] = {
    **API_USERS,
    "jp-app": ("JP", "jp-kato", False),  # approving, limit 500,000,000 JPY
    "ph-req": ("PH", "ph-garcia", False),  # requesting
    "ph-rcv": ("PH", "ph-lim", False),  # receiving
    "us-fin": ("US", "us-brooks", False),  # finance of a third nation
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
__all__ = ["PASSWORD", "WEB_USERS", "csrf_of", "web_sign_in"]


@pytest.fixture(autouse=True)
def _cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "HASHER", CHEAP_HASHER)


def build_web_world(engine: Engine, home: Path) -> None:
    build_world(engine, home)
    env = {"ACSA_HOME": str(home), "ACSA_AGREEMENTS_DIR": str(home / "agreements")}
    with mock.patch.dict(os.environ, env), mock.patch.object(users, "HASHER", CHEAP_HASHER), \
            unit_of_work(engine) as s:
        for name, (party, official, admin) in WEB_USERS.items():
            if name not in API_USERS:
                users.add_user(s, username=name, password=PASSWORD, party=party,
                               official=official, is_admin=admin, actor="test")


@pytest.fixture(scope="session")
def _sqlite_web_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("web-world")
    path = folder / "world.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    build_web_world(engine, folder / "home")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_web_world(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"acsa_web_world_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    engine = make_engine(_pg_url(name))
    build_web_world(engine, tmp_path_factory.mktemp("web-world-home"))
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def world(engine: Engine, request: pytest.FixtureRequest) -> Engine:
    """`engine`, its database replaced by a fresh copy of the web world."""
    if engine.dialect.name == "sqlite":
        return replace_database(engine, sqlite_copy=request.getfixturevalue("_sqlite_web_world"))
    return replace_database(engine, pg_template=request.getfixturevalue("_pg_web_world"))


@pytest.fixture
def app(world: Engine) -> FastAPI:
    return create_app(world)


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def web_sign_in(client: TestClient, username: str, password: str = PASSWORD,
                next_path: str = "/") -> TestClient:
    form = client.get("/signin")
    assert form.status_code == 200
    r = client.post("/signin", data={"username": username, "password": password,
                                     "csrf_token": csrf_of(form.text), "next": next_path},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def browser_for(app: FastAPI) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def sign_in(username: str, lang: str | None = None) -> TestClient:
        client = TestClient(app)
        if lang:
            client.cookies.set("acsa_lang", lang)
        clients.append(client)
        return web_sign_in(client, username)
    yield sign_in
    for client in clients:
        client.close()


@pytest.fixture
def api_for(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def sign_in(username: str) -> TestClient:
        client = TestClient(app)
        r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        clients.append(client)
        return client
    yield sign_in
    for client in clients:
        client.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client
