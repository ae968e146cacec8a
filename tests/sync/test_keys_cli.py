"""`acsa keys ...` as a user runs it, on SQLite nodes: through typer's CliRunner (in process)
and, where the terminal and the database file matter, the installed `acsa` as a subprocess."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from acsa.cli import keys as keys_cli
from acsa.cli.main import app
from acsa.db.engine import engine_for, make_engine, unit_of_work
from acsa.sync import keys
from acsa.sync.models import NodeKey

ACSA = Path(sys.executable).parent / "acsa"
PASS = "jp node passphrase"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    keys._UNLOCKED.clear()
    keys._UNLOCKED_BY.clear()
    yield
    keys._UNLOCKED.clear()
    keys._UNLOCKED_BY.clear()
    engine_for.cache_clear()


class Node:
    """One party's node: a SQLite database made by `acsa init --party CODE`."""

    def __init__(self, path: Path, party: str | None) -> None:
        self.path, self.url = path, f"sqlite:///{path}"
        r = self.run("init", *(["--party", party] if party else []))
        assert r.exit_code == 0, r.stderr

    def run(self, *args: str, passphrase: str | None = PASS, input: str | None = None) -> Any:
        env = {keys.PASSPHRASE_ENV: passphrase}  # None: not set
        return runner.invoke(app, ["--db", self.url, *args], env=env, input=input)

    def ok(self, *args: str, **kw: Any) -> Any:
        r = self.run(*args, **kw)
        assert r.exit_code == 0, (r.stdout, r.stderr)
        return r

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def refused(self, code: int, *args: str, **kw: Any) -> str:
        """Run a command that must be refused with exit `code`; its stderr."""
        r = self.run(*args, **kw)
        assert r.exit_code == code, (r.stdout, r.stderr)
        return str(r.stderr)

    def keys(self) -> list[dict[str, Any]]:
        return list(self.json("keys", "show")["keys"])

    def subprocess(self, *args: str, env: dict[str, str] | None = None,
                   ) -> subprocess.CompletedProcess[str]:
        full = {k: v for k, v in os.environ.items() if k != keys.PASSPHRASE_ENV}
        full.update(env or {})
        return subprocess.run([str(ACSA), "--db", self.url, *args], env=full, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def _node(tmp_path: Path, template: Path, name: str, party: str | None) -> Node:
    path = tmp_path / f"{name}.db"
    shutil.copy(template, path)
    return Node(path, party)


@pytest.fixture
def jp(tmp_path: Path, sqlite_template: Path) -> Node:
    return _node(tmp_path, sqlite_template, "jp", "JP")


@pytest.fixture
def ph(tmp_path: Path, sqlite_template: Path) -> Node:
    return _node(tmp_path, sqlite_template, "ph", "PH")


def partner_key() -> str:
    return Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


# --- our key -------------------------------------------------------------------------------
def test_init_then_show_gives_the_public_key_and_fingerprint(jp: Node) -> None:
    created = jp.ok("keys", "init").stdout
    [key] = jp.keys()
    assert (key["party"], key["own"], key["status"], key["official"]) == ("JP", True, "active",
                                                                         None)
    assert key["fingerprint"] == keys.fingerprint(key["public_key"])
    assert key["display"] == keys.display(key["fingerprint"])
    assert "private_pem" not in key
    for text in (created, jp.ok("keys", "show").stdout):
        assert key["public_key"] in text  # in full, on one line, to hand to the partner
        assert key["display"] in text  # in groups of four, to read aloud
    shown = jp.ok("keys", "show").stdout
    assert "active" in shown and "This is the node of JP" in shown


def test_private_key_is_never_in_the_database_file_in_clear(jp: Node) -> None:
    r = jp.subprocess("keys", "init", "--json", env={keys.PASSPHRASE_ENV: PASS})
    assert r.returncode == 0, r.stderr
    fp = json.loads(r.stdout)["fingerprint"]
    engine_for.cache_clear()
    with sqlite3.connect(jp.path) as conn:
        pem, public_hex = conn.execute("SELECT private_pem, public_key FROM node_keys "
                                       "WHERE fingerprint = ?", (fp,)).fetchone()
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem.encode(), None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem.encode(), b"not the passphrase")
    key = serialization.load_pem_private_key(pem.encode(), keys.pem_password(PASS, public_hex))
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    assert key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex() == public_hex
    clear_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    clear_body = b"".join(clear_pem.splitlines()[1:-1])
    files = [p for p in jp.path.parent.iterdir() if p.name.startswith(jp.path.name)]
    content = b"".join(p.read_bytes() for p in files)
    assert public_hex.encode() in content  # the scan does see what is stored
    for form in (raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw),
                 clear_body, PASS.encode()):
        assert form not in content


def test_no_passphrase_and_no_terminal_is_a_clear_error(jp: Node) -> None:
    r = jp.subprocess("keys", "init")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert keys.PASSPHRASE_ENV in r.stderr and "Traceback" not in r.stderr
    assert jp.keys() == []  # nothing created
    jp.ok("keys", "init")
    [key] = jp.keys()
    r = jp.subprocess("keys", "rotate")
    assert r.returncode == 3 and keys.PASSPHRASE_ENV in r.stderr
    assert [k["fingerprint"] for k in jp.keys()] == [key["fingerprint"]]


def test_the_passphrase_is_asked_twice_and_hidden_on_a_terminal(
        jp: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_cli, "_interactive", lambda: True)
    r = jp.run("keys", "init", passphrase=None, input="typed secret 1\ntyped secret 2\n")
    assert r.exit_code != 0 and jp.keys() == []  # the two entries differ: nothing made
    r = jp.ok("keys", "init", passphrase=None, input="typed secret 1\ntyped secret 1\n")
    assert "typed secret" not in r.stdout + r.stderr
    with unit_of_work(make_engine(jp.url)) as s:
        with pytest.raises(Exception, match="wrong passphrase"):
            keys.unlock(keys.own_key(s), "typed secret 2")
        assert keys.node_signer(s, "typed secret 1").party == "JP"
    # a second key is refused before any passphrase is asked for
    assert "acsa keys rotate" in jp.refused(6, "keys", "init", passphrase=None, input="")


def test_init_refusals(jp: Node, tmp_path: Path, sqlite_template: Path) -> None:
    shared = _node(tmp_path, sqlite_template, "shared", None)
    assert "acsa init --party" in shared.refused(3, "keys", "init")
    assert "acsa init --party" in shared.refused(3, "keys", "show")
    assert "8 characters" in jp.refused(3, "keys", "init", passphrase="short")
    jp.ok("keys", "init")
    err = jp.refused(6, "keys", "init", "--json")
    assert json.loads(err)["error"] == "AlreadyExists"
    assert "no official 'nobody'" in jp.refused(5, "keys", "init", "--official", "nobody")


def test_officials_keys(jp: Node) -> None:
    jp.ok("officials", "add", "jp-abe", "--name", "Abe", "--party", "JP", "--role", "finance",
          "--valid-from", "2026-01-01")
    jp.ok("officials", "add", "ph-santos", "--name", "Santos", "--party", "PH", "--role",
          "finance", "--valid-from", "2026-01-01")
    jp.ok("keys", "init")
    jp.ok("keys", "init", "--official", "jp-abe")
    assert "of PH" in jp.refused(7, "keys", "init", "--official", "ph-santos")
    assert sorted((k["official"] or "") for k in jp.keys()) == ["", "jp-abe"]
    assert "jp-abe" in jp.ok("keys", "show").stdout
    before = {k["official"]: k["fingerprint"] for k in jp.keys()}
    jp.ok("keys", "rotate", "--official", "jp-abe")
    active = {k["official"]: k["fingerprint"] for k in jp.keys() if k["status"] == "active"}
    assert active[None] == before[None] and active["jp-abe"] != before["jp-abe"]


def test_rotate_our_key(jp: Node) -> None:
    assert "acsa keys init" in jp.refused(5, "keys", "rotate")
    old = jp.json("keys", "init")
    new = jp.json("keys", "rotate", passphrase="another passphrase")
    assert new["fingerprint"] != old["fingerprint"]
    assert [(k["fingerprint"], k["status"]) for k in jp.keys()] == [
        (new["fingerprint"], "active"), (old["fingerprint"], "rotated")]
    shown = jp.ok("keys", "show").stdout
    assert new["public_key"] in shown and old["public_key"] not in shown  # only the current
    assert keys.display(old["fingerprint"]) in shown and "rotated" in shown
    with unit_of_work(make_engine(jp.url)) as s:
        assert keys.node_signer(s, "another passphrase").fingerprint == new["fingerprint"]


# --- partners' keys ------------------------------------------------------------------------
def test_add_partner_with_the_key_its_node_shows(jp: Node, ph: Node) -> None:
    ph.ok("keys", "init", passphrase="ph node passphrase")
    ph_shown = ph.ok("keys", "show").stdout
    [ph_key] = ph.keys()
    assert ph_key["public_key"] in ph_shown
    r = jp.ok("keys", "add-partner", "PH", ph_key["public_key"], "--agreement", "PHJP",
              "--url", "https://ph-node:8443")
    assert ph_key["display"] in r.stdout  # to compare with what PH reads out
    [key] = jp.keys()
    assert (key["party"], key["own"], key["agreement"], key["url"], key["fingerprint"]) == (
        "PH", False, "PHJP", "https://ph-node:8443", ph_key["fingerprint"])
    shown = jp.ok("keys", "show").stdout
    assert "Partners' keys" in shown and ph_key["display"] in shown
    assert "https://ph-node:8443" in shown and "It has no key yet" in shown
    # refusals, with nothing changed
    err = jp.refused(6, "keys", "add-partner", "PH", ph_key["public_key"], "--agreement",
                     "PHJP", "--json")
    assert json.loads(err)["error"] == "AlreadyExists"
    assert "rotate --partner PH" in jp.refused(6, "keys", "add-partner", "PH", partner_key(),
                                               "--agreement", "PHJP")
    assert "64 hex digits" in jp.refused(3, "keys", "add-partner", "PH", "abc123",
                                         "--agreement", "PHJP")
    assert "own party" in jp.refused(3, "keys", "add-partner", "JP", partner_key(),
                                     "--agreement", "PHJP")
    assert "not a party to PHJP" in jp.refused(7, "keys", "add-partner", "US", partner_key(),
                                               "--agreement", "PHJP")
    assert "no agreement" in jp.refused(5, "keys", "add-partner", "PH", partner_key(),
                                        "--agreement", "PHUS")
    assert jp.refused(2, "keys", "add-partner", "PH", partner_key())  # --agreement required
    assert len(jp.keys()) == 1


def test_rotate_a_partners_key(jp: Node) -> None:
    old, new = partner_key(), partner_key()
    jp.ok("keys", "add-partner", "PH", old, "--agreement", "PHJP", "--url", "https://ph")
    jp.ok("keys", "rotate", "--partner", "PH", "--key", new, "--agreement", "PHJP")
    assert [(k["public_key"], k["status"], k["url"]) for k in jp.keys()] == [
        (new, "active", "https://ph"), (old, "rotated", "https://ph")]
    assert jp.refused(2, "keys", "rotate", "--partner", "PH", "--key", new)  # no agreement
    assert jp.refused(2, "keys", "rotate", "--key", new, "--agreement", "PHJP")  # no partner
    assert "add-partner" in jp.refused(5, "keys", "rotate", "--partner", "US", "--key",
                                       partner_key(), "--agreement", "JPUS")


def test_revoke_by_fingerprint_prefix(jp: Node) -> None:
    hex_ = partner_key()
    fp = keys.fingerprint(hex_)
    jp.ok("keys", "add-partner", "PH", hex_, "--agreement", "PHJP")
    assert jp.refused(2, "keys", "revoke", fp[:8])  # --reason is required
    assert "at least 8" in jp.refused(3, "keys", "revoke", fp[:7], "--reason", "lost")
    assert "reason" in jp.refused(3, "keys", "revoke", fp[:8], "--reason", " ")
    assert "no key" in jp.refused(5, "keys", "revoke", "0123456789abcdef0123"
                                  if not fp.startswith("0123456789") else "f" * 20,
                                  "--reason", "lost")
    r = jp.ok("keys", "revoke", fp[:8].upper(), "--reason", "PH laptop lost")
    assert keys.display(fp) in r.stdout and "revoked" in r.stdout
    [key] = jp.keys()
    assert (key["status"], key["reason"]) == ("revoked", "PH laptop lost")
    assert "REVOKED" in jp.ok("keys", "show").stdout
    assert "already revoked" in jp.refused(6, "keys", "revoke", fp, "--reason", "again")


def test_an_ambiguous_prefix_is_refused(jp: Node) -> None:
    with unit_of_work(make_engine(jp.url)) as s:
        for fp in ("cafebabe" + "1" * 56, "cafebabe" + "2" * 56):
            s.add(NodeKey(fingerprint=fp, party="PH", own=False, public_key="00" * 32,
                          agreement_code="PHJP", url="", status="active",
                          created_at=keys.utcnow(), reason=""))
    err = jp.refused(3, "keys", "revoke", "cafebabe", "--reason", "lost")
    assert "names 2 keys" in err and "CAFE BABE 1111" in err and "CAFE BABE 2222" in err
    jp.ok("keys", "revoke", "CAFE BABE 2", "--reason", "lost")  # as displayed, with spaces
    assert {k["fingerprint"][8]: k["status"] for k in jp.keys()} == {"1": "active",
                                                                      "2": "revoked"}


def test_help_names_every_command(jp: Node) -> None:
    text = jp.ok("keys", "--help").stdout
    for command in ("init", "show", "add-partner", "rotate", "revoke"):
        assert command in text
    assert keys.PASSPHRASE_ENV in jp.ok("keys", "init", "--help").stdout
