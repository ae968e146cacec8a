"""The real server: `acsa serve` started as a process on a migrated database of each backend
holding the test world's reference data; an administrator of each party made with `acsa users
add --admin --password-stdin`, who adds the other users over HTTP; an order's whole life over
HTTP by the people who sign in: create, request, accept, deliver with a PDF upload, receive,
pay, close; the source document downloaded back unchanged; then the server stopped cleanly."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from acsa.db.engine import make_engine, unit_of_work
from tests.e2e.conftest import ACSA
from tests.factories import official, setup_world

PASSWORD = "a long passphrase for e2e"
# username -> the official of tests/factories.py's world it signs as
PEOPLE = {"sato": ("JP", "requesting"), "cruz": ("PH", "approving"),
          "reyes": ("PH", "supplying"), "ito": ("JP", "receiving"), "abe": ("JP", "finance")}
ON = "2026-06-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ACSA_DATABASE_URL", "ACSA_AGREEMENTS_DIR")}
    return {**env, "ACSA_HOME": str(home), "NO_COLOR": "1"}


@dataclass
class Db:
    url: str
    home: Path


@pytest.fixture
def db(db_url: str, _acsa_home: Path) -> Db:
    """The migrated database of `db_url` with the test world's reference data (parties, units,
    an official of every role, agreements, rates, activities), made in-process: fast."""
    engine = make_engine(db_url)
    try:
        with unit_of_work(engine) as s:
            setup_world(s, _acsa_home)
    finally:
        engine.dispose()
    return Db(db_url, _acsa_home)


@pytest.fixture
def server(db: Db, tmp_path: Path) -> Iterator[Server]:
    """`acsa --db URL serve --port P` on that database, up and answering /health."""
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ACSA), "--db", db.url, "serve", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=_env(db.home))
    srv = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"acsa serve exited {process.returncode}:\n" \
                                           f"{srv.output()}"
            try:
                if httpx.get(f"{srv.base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no /health in 30 s:\n{srv.output()}"
            time.sleep(0.1)
        yield srv
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def add_users(db: Db, base: str) -> None:
    """An administrator of each party with `acsa users add --admin --password-stdin` (both at
    once, while the server runs), who then adds their party's people over HTTP."""
    runs = [subprocess.Popen(
        [str(ACSA), "--db", db.url, "users", "add", f"{party.lower()}-admin", "--party", party,
         "--admin", "--password-stdin", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(db.home)) for party in ("JP", "PH")]
    for p in runs:
        out, err = p.communicate(f"{PASSWORD}\n".encode(), timeout=60)
        assert p.returncode == 0, (p.args, out, err)
        assert json.loads(out)["is_admin"] is True
    for party in ("JP", "PH"):
        admin = sign_in(base, f"{party.lower()}-admin")
        try:
            for name, (of, role) in PEOPLE.items():
                if of == party:
                    ok(admin.post("/users", json={"username": name, "password": PASSWORD,
                                                  "official": official(of, role)}), 201)
        finally:
            admin.close()


def sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{base}/api/v1", timeout=30)
    r = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    if username in PEOPLE:
        assert r.json()["official"] == official(*PEOPLE[username])
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.text}"
    return r.json()


def test_an_order_lives_its_whole_life_over_http(db: Db, server: Server):
    add_users(db, server.base)
    people = {name: sign_in(server.base, name) for name in PEOPLE}
    try:
        sato, cruz, reyes, ito, abe = (people[n] for n in PEOPLE)
        created = ok(sato.post("/orders", json={
            "agreement": "PHJP", "activity": "KAMANDAG-10", "order_on": ON,
            "delivery_place": "Alava Pier, Subic Bay", "delivery_on": "2026-06-03",
            "fund_citation": "JMSDF FY2026 O&M 02-31-118", "requesting_unit": "JMSDF-ESC1",
            "requester_poc": "Lt Cdr Sato, +81 46 822 0000",
            "lines": [{"category": "fuel", "description": "Diesel fuel, marine (F-76)",
                       "stock_number": "9140-00-273-2377", "quantity": "12000", "unit": "L",
                       "unit_price": "68.50", "method": "cash"}]}), 201)
        number = created["number"]
        assert created["state"] == "draft" and created["total"] == "822,000.00 PHP"
        ok(sato.post(f"/orders/{number}/request", json={"on": ON}))
        etag = cruz.get(f"/orders/{number}").headers["etag"]
        accepted = ok(cruz.post(f"/orders/{number}/accept", headers={"If-Match": etag}, json={
            "on": ON, "supplier_poc": "Lt Reyes, +63 47 252 0000",
            "supplying_unit": "PN-NFSL"}))
        assert accepted["state"] == "accepted" and accepted["fund_citation"] is None

        pdf = (b"%PDF-1.4\n% fuel delivery ticket 0441, signed by the supplying official\n"
               + os.urandom(2048) + b"\n%%EOF\n")
        sha = hashlib.sha256(pdf).hexdigest()
        delivered = ok(reyes.post(f"/orders/{number}/deliveries",
                                  files={"document": ("ticket-0441.pdf", pdf,
                                                      "application/pdf")},
                                  data={"on": "2026-06-03"}), 201)
        assert delivered["document_sha256"] == sha
        assert delivered["document_size"] == len(pdf)
        received = ok(ito.post(f"/orders/{number}/receipts", json={"on": "2026-06-03"}), 201)
        [bill] = received["claims"]
        claim = ok(abe.get(f"/claims/{bill['number']}"))
        assert claim["outstanding"] == "822,000.00 PHP"
        paid = ok(abe.post(f"/claims/{bill['number']}/payments", json={
            "amount": "822000.00", "currency": "PHP", "on": "2026-06-20",
            "reference": "JMSDF wire 2026-0620-01"}), 201)
        assert paid["claim"]["state"] == "settled"
        closed = ok(abe.post(f"/orders/{number}/close", json={"on": "2026-06-21"}))
        assert closed["state"] == "closed"
        events = iter(e["action"] for e in ok(cruz.get(f"/orders/{number}/events")))
        for action in ("order.created", "order.requested", "order.accepted", "order.delivered",
                       "order.received", "claim.payment", "order.closed"):
            assert action in events, f"no {action} (in this order) among the order's events"

        for who in (cruz, sato):  # both parties may read the supplier's source document
            copy = who.get(f"/documents/{sha}")
            assert copy.status_code == 200, copy.text
            assert hashlib.sha256(copy.content).hexdigest() == sha
            assert copy.headers["x-content-sha256"] == sha
            assert copy.headers["content-type"] == "application/pdf"
        balance = ok(abe.get("/books/balance", params={"agreement": "PHJP"}))
        assert all(r["books_agree"] for r in balance["balances"])
    finally:
        for client in people.values():
            client.close()

    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(15) == 0, server.output()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base}/health", timeout=1)
