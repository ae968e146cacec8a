"""Three sovereign nodes as separate processes with separate databases, on loopback: Japan's
on a SQLite file, the Philippines' on PostgreSQL (serving HTTPS with its own certificate),
the United States' on another SQLite file. Each is set up with acsa commands only, each step
of an order is taken on its owner's node, events travel by `acsa sync push/pull` over HTTPS
(JP <-> PH) and by bundle files (PH <-> US), and at the end the books agree and no node holds
what is not its business."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from tests.conftest import _pg_admin, _pg_url
from tests.e2e.conftest import ACSA, Cli, write_amendment

PASS = "node passphrase 2026"
ENV = {"ACSA_KEY_PASSPHRASE": PASS}
UNITS = {"JP": "JMSDF-ESC1", "PH": "PN-NFSL", "US": "USN-CTF73"}
LIMITS = {"JP": "150000000 JPY", "PH": "50000000 PHP", "US": "1000000 USD"}
ROLES = ("requesting", "approving", "supplying", "receiving", "finance")


class Node(Cli):
    def __init__(self, party: str, home: Path, db: str) -> None:
        super().__init__(home, db)
        self.party = party

    def run(self, *args: object, env: dict[str, str] | None = None):  # type: ignore[override]
        return super().run(*args, env={**ENV, **(env or {})})

    def off(self, role: str) -> str:
        return f"{self.party.lower()}-{role}"


def _cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the PH node's own CA, as partners may run)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ph-node.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "ph-cert.pem", folder / "ph-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(node: Node) -> str:
    """A node of its party with its own people, made with acsa commands; its public key."""
    write_amendment(node.home)
    node("init", "--party", node.party)
    node("units", "add", UNITS[node.party], "--party", node.party, "--name",
         f"{node.party} logistics unit", "--address", f"{node.party} finance office")
    for role in ROLES:
        limit = ["--limit", LIMITS[node.party]] if role in ("requesting", "approving") else []
        node("officials", "add", node.off(role), "--name", f"{node.party} {role} officer",
             "--party", node.party, "--role", role, "--valid-from", "2026-01-01",
             "--valid-to", "2028-12-31", "--unit", UNITS[node.party], *limit)
    node("keys", "init")
    shown = node.json("keys", "show")
    return str(next(k["public_key"] for k in shown["keys"] if k["own"]))


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[str, Node]]:
    pg_db = f"acsa_node_ph_{uuid.uuid4().hex[:10]}"
    with _pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{pg_db}"'))
    made = {"JP": Node("JP", tmp_path / "jp", f"sqlite:///{tmp_path / 'jp.db'}"),
            "PH": Node("PH", tmp_path / "ph", _pg_url(pg_db)),
            "US": Node("US", tmp_path / "us", f"sqlite:///{tmp_path / 'us.db'}")}
    try:
        yield made
    finally:
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)'))


@pytest.fixture
def ph_server(nodes: dict[str, Node], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The PH node serving HTTPS; started after its setup (the test calls `start`)."""
    cert, key = _cert(tmp_path)
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    ph = nodes["PH"]
    proc: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        environ = {**os.environ, **ENV, "ACSA_HOME": str(ph.home)}
        proc.append(subprocess.Popen(
            [str(ACSA), "--db", ph.db, "serve", "--port", str(port), "--ssl-certfile",
             str(cert), "--ssl-keyfile", str(key)], env=environ,
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "ph-server.log").open("wb")))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", verify=str(cert), timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the PH node did not start serving HTTPS")
    try:
        yield url, cert, start  # type: ignore[misc]
    finally:
        for p in proc:
            p.terminate()
            p.wait(timeout=10)


def _book(node: Node, number: str) -> dict[str, object]:
    view = node.json("orders", "show", number)
    return {"state": view["state"], "hash": view["content_hash"], "claims": [
        (c["number"], c["state"], c["outstanding"]) for c in view["claims"]]}


def test_three_nodes_each_step_on_its_owners_node(nodes: dict[str, Node], ph_server,
                                                  tmp_path: Path) -> None:
    jp, ph, us = nodes["JP"], nodes["PH"], nodes["US"]
    url, cert, start = ph_server
    public = {p: _setup(n) for p, n in nodes.items()}
    # keys handed over out of band; JP knows PH's address, PH and US exchange files
    jp("keys", "add-partner", "PH", public["PH"], "--agreement", "PHJP", "--url", url)
    ph("keys", "add-partner", "JP", public["JP"], "--agreement", "PHJP")
    ph("keys", "add-partner", "US", public["US"], "--agreement", "PHUS")
    us("keys", "add-partner", "PH", public["PH"], "--agreement", "PHUS")
    # shared reference data, each added once by one node and synced to the other
    jp("rates", "add", "JPY", "PHP", "0.3744", "--on", "2026-04-01", "--kind", "agreement_fy",
       "--agreement", "PHJP", "--source", "MOD FY2026 official rate (illustrative)")
    jp("activities", "add", "KAMANDAG-10", "--name", "KAMANDAG 10", "--type", "exercise",
       "--place", "Subic Bay", "--starts-on", "2026-05-01", "--ends-on", "2026-06-30",
       "--agreement", "PHJP")
    ph("rates", "add", "USD", "PHP", "58.10", "--on", "2026-01-02", "--kind", "market",
       "--source", "BSP reference rate")
    ph("activities", "add", "BALIKATAN-26", "--name", "Balikatan 2026", "--type", "exercise",
       "--place", "Luzon", "--starts-on", "2026-05-01", "--ends-on", "2026-06-30",
       "--agreement", "PHUS")
    start()

    # JP requests fuel from PH; its people, rate and activity travel first (HTTPS push)
    created = jp.json("orders", "create", "--agreement", "PHJP", "--activity", "KAMANDAG-10",
                      "--by", "jp-requesting", "--on", "2026-05-10", "--delivery-place",
                      "Alava Pier", "--delivery-on", "2026-05-12", "--fund-citation",
                      "FY2026 O&M 1234", "--requester-poc", "Lt Sato", "--requesting-unit",
                      "JMSDF-ESC1", "--line", "category=fuel;description=Diesel F-76;"
                      "qty=10000;unit=L;price=95.50;method=cash;stock=9140-00-273-2377")
    number = created["number"]
    jp("orders", "request", number, "--by", "jp-requesting", "--on", "2026-05-10")
    pushed = jp.json("sync", "push", "PH", "--ca", cert)
    assert pushed["events"] >= 9 and pushed["last"]["quarantined"] == []
    assert ph.json("orders", "show", number)["state"] == "requested"

    # PH, the supplier, accepts and delivers on its own node; JP pulls over HTTPS
    ph("orders", "accept", number, "--by", "ph-approving", "--on", "2026-05-10",
       "--supplying-unit", "PN-NFSL", "--supplier-poc", "Lt Reyes")
    slip = tmp_path / "issue-slip.pdf"
    slip.write_bytes(b"%PDF-1.4\n% issue slip 10000 L F-76\n")
    ph("orders", "deliver", number, "--by", "ph-supplying", "--on", "2026-05-12",
       "--line", "1=10000", "--document", slip)
    pulled = jp.json("sync", "pull", "PH", "--ca", cert)
    assert pulled["applied"] >= 2 and pulled["quarantined"] == []
    assert jp.json("orders", "show", number)["state"] == "delivered"

    # JP receives short and pays the bill; PH gets it by HTTPS push
    jp("orders", "receive", number, "--by", "jp-receiving", "--on", "2026-05-13",
       "--line", "1=9900", "--reason", "1=short by 100 L at the meter")
    claim = jp.json("orders", "show", number)["claims"][0]
    assert claim["outstanding"] == "945,450.00 PHP"
    jp("settle", "pay", claim["number"], "--by", "jp-finance", "--on", "2026-05-20",
       "--amount", "945450 PHP", "--reference", "TT-0001")
    jp("sync", "push", "PH", "--ca", cert)
    ph("orders", "close", number, "--by", "ph-finance", "--on", "2026-05-21")
    jp("sync", "pull", "PH", "--ca", cert)
    assert _book(jp, number) == _book(ph, number)
    assert _book(jp, number)["state"] == "closed"

    # meanwhile PH asks the US for an airlift; PH and US trade bundle files
    order = ph.json("orders", "create", "--agreement", "PHUS", "--activity", "BALIKATAN-26",
                    "--by", "ph-requesting", "--on", "2026-05-15", "--delivery-place", "Clark",
                    "--delivery-on", "2026-05-16", "--fund-citation", "AFP FY2026",
                    "--requester-poc", "Maj Garcia", "--requesting-unit", "PN-NFSL",
                    "--currency", "USD", "--line", "category=transportation;"
                    "description=C-17 airlift;qty=3;unit=h;price=20000;method=cash")["number"]
    ph("orders", "request", order, "--by", "ph-requesting", "--on", "2026-05-15")
    to_us = tmp_path / "ph-to-us.acsa"
    ph("sync", "export", "--to", "US", "-o", to_us)
    imported = us.json("sync", "import", to_us)
    assert imported["quarantined"] == [] and imported["pending"] == []
    us("orders", "accept", order, "--by", "us-approving", "--on", "2026-05-15",
       "--supplying-unit", "USN-CTF73", "--supplier-poc", "LT Nguyen")
    to_ph = tmp_path / "us-to-ph.acsa"
    us("sync", "export", "--to", "PH", "-o", to_ph)
    ph("sync", "import", to_ph)
    assert _book(ph, order) == _book(us, order)
    assert _book(ph, order)["state"] == "accepted"

    # the same bundle again changes nothing: refused as a replay
    again = ph.run("sync", "import", to_ph)
    assert again.code == 6 and "already imported" in again.err

    # nobody holds what is not its business: JP never saw the PH-US order, the US never saw
    # the PH-JP order, and no bundle to the US carried a PH-JP event
    assert order not in {o["number"] for o in jp.json("orders", "list")}
    assert number not in {o["number"] for o in us.json("orders", "list")}
    carried = json.loads(to_us.read_bytes())
    assert all(not e["subject"].startswith("PHJP") for e in carried["events"])
    assert {e["subject"] for e in carried["events"]} >= {order}
    # and each node's audit chain still verifies
    for n in nodes.values():
        n("audit", "verify")
    status = jp.json("sync", "status")
    assert status["quarantined"] == 0 and status["partners"][0]["not_acknowledged"] == 0


def test_an_unsigned_or_unknown_caller_is_refused(nodes: dict[str, Node], ph_server) -> None:
    """The sync routes answer only a registered partner node's signed request."""
    ph = nodes["PH"]
    url, cert, start = ph_server
    _setup(ph)
    start()
    r = httpx.get(url + "/api/v1/sync/bundles", verify=str(cert))
    assert r.status_code == 401 and "node signature" in r.json()["detail"]
    # a node PH never registered (JP's key is not added here) is refused with the reason
    jp = nodes["JP"]
    _setup(jp)
    jp("keys", "add-partner", "PH", json.loads(ph.run("keys", "show", "--json").out)["keys"][0]
       ["public_key"], "--agreement", "PHJP", "--url", url)
    refused = jp.run("sync", "pull", "PH", "--ca", cert)
    assert refused.code == 9, refused.describe()  # 401: not a node PH knows
    assert "not a registered key of JP" in refused.err
