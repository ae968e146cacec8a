"""Key management and request signing of the two-node sync (issue #6 item 1), at the service
level, on a migrated SQLite and PostgreSQL database holding the test world; this node is JP's."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.sync import keys, node
from acsa.sync.models import NodeKey
from tests.factories import setup_world

PASS = "jp node passphrase"
SEC = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key unlocked by another test, no passphrase in the environment."""
    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    keys._UNLOCKED.clear()
    keys._UNLOCKED_BY.clear()
    yield
    keys._UNLOCKED.clear()
    keys._UNLOCKED_BY.clear()


@pytest.fixture
def world(engine: Engine, _acsa_home: Path) -> Engine:
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    return engine


@pytest.fixture
def shared(world: Engine) -> Iterator[Session]:
    """A session on the world as a shared book (no node party)."""
    with unit_of_work(world) as s:
        yield s


@pytest.fixture
def s(world: Engine) -> Iterator[Session]:
    """A session on the world as JP's node."""
    with unit_of_work(world) as session:
        node.set_party(session, "JP")
        yield session


class Partner:
    """A partner's key pair made outside our database, as the partner's node would."""

    def __init__(self, party: str = "PH") -> None:
        self.party = party
        self.key = Ed25519PrivateKey.generate()
        self.public_hex = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        self.fp = keys.fingerprint(self.public_hex)

    def signer(self) -> keys.Signer:
        return keys.Signer(NodeKey(fingerprint=self.fp, party=self.party, official_code=None),
                           self.key)

    def sign(self, data: bytes) -> str:
        return self.key.sign(data).hex()


def audit_events(s: Session, action: str) -> list[Event]:
    return list(s.scalars(select(Event).where(Event.action == action).order_by(Event.seq)))


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


# --- our own keys --------------------------------------------------------------------------
def test_init_key_stores_the_private_key_only_encrypted(s: Session) -> None:
    row = keys.init_key(s, passphrase=PASS)
    assert (row.party, row.official_code, row.own, row.status) == ("JP", None, True, "active")
    assert row.fingerprint == keys.fingerprint(row.public_key)
    assert row.private_pem is not None
    assert row.private_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):  # no password: the PEM is encrypted
        serialization.load_pem_private_key(row.private_pem.encode(), None)
    with pytest.raises(ValueError):  # the passphrase itself is not the PEM's password
        serialization.load_pem_private_key(row.private_pem.encode(), PASS.encode())
    key = serialization.load_pem_private_key(row.private_pem.encode(),
                                             keys.pem_password(PASS, row.public_key))
    assert isinstance(key, Ed25519PrivateKey)
    assert key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex() == row.public_key
    secret = raw_private(key)
    s.flush()
    # nothing stored anywhere in the row holds the private key in clear, nor the passphrase
    stored = json.dumps([list(r) for r in s.execute(select(NodeKey.__table__))], default=str)
    for form in (secret.hex(), base64.b64encode(secret).decode(), PASS):
        assert form not in stored
    assert not set(keys.key_view(row)) & {"private_pem", "private_key"}


def test_init_key_is_audited(s: Session) -> None:
    row = keys.init_key(s, passphrase=PASS)
    [event] = audit_events(s, "key.added")
    assert (event.party, event.subject) == ("JP", f"key:{row.fingerprint[:16]}")
    payload = json.loads(event.payload)
    assert payload["fingerprint"] == row.fingerprint
    assert payload["public_key"] == row.public_key
    assert "BEGIN" not in event.payload


def test_init_key_needs_the_node_party(shared: Session) -> None:
    with pytest.raises(errors.NodePartyNotSet):
        keys.init_key(shared, passphrase=PASS)
    assert shared.scalar(select(NodeKey)) is None


def test_a_second_active_key_is_refused(s: Session) -> None:
    first = keys.init_key(s, passphrase=PASS)
    with pytest.raises(errors.AlreadyExists, match=keys.display(first.fingerprint)) as e:
        keys.init_key(s, passphrase=PASS)
    assert "acsa keys rotate" in e.value.hint
    assert len(list(s.scalars(select(NodeKey)))) == 1


def test_a_short_passphrase_is_refused(s: Session) -> None:
    with pytest.raises(errors.InvalidInput, match="8 characters"):
        keys.init_key(s, passphrase="short")
    assert s.scalar(select(NodeKey)) is None


def test_officials_keys_are_our_officials_only(s: Session) -> None:
    node_key = keys.init_key(s, passphrase=PASS)
    official = keys.init_key(s, passphrase=PASS, official="jp-finance")
    assert official.official_code == "jp-finance" and official.party == "JP"
    assert keys.own_key(s).fingerprint == node_key.fingerprint
    assert keys.own_key(s, "jp-finance").fingerprint == official.fingerprint
    with pytest.raises(errors.AlreadyExists):
        keys.init_key(s, passphrase=PASS, official="jp-finance")
    with pytest.raises(errors.WrongParty):
        keys.init_key(s, passphrase=PASS, official="ph-finance")
    with pytest.raises(errors.NotFound):
        keys.init_key(s, passphrase=PASS, official="nobody")


def test_wrong_passphrase_is_refused(s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    row = keys.init_key(s, passphrase=PASS)
    with pytest.raises(errors.PassphraseWrong, match="wrong passphrase"):
        keys.unlock(row, "not the passphrase")
    with pytest.raises(errors.PassphraseWrong, match=keys.PASSPHRASE_ENV):
        keys.node_signer(s)  # none given, none in the environment
    signer = keys.node_signer(s, PASS)
    assert signer.fingerprint == row.fingerprint and signer.party == "JP"
    # once unlocked in this process, a wrong passphrase is still refused
    with pytest.raises(errors.PassphraseWrong):
        keys.node_signer(s, "not the passphrase")
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "not the passphrase either")
    with pytest.raises(errors.PassphraseWrong):
        keys.node_signer(s)
    keys._UNLOCKED.clear()
    monkeypatch.setenv(keys.PASSPHRASE_ENV, PASS)
    assert keys.node_signer(s).fingerprint == row.fingerprint


def test_signatures_verify_with_the_public_key(s: Session) -> None:
    row = keys.init_key(s, passphrase=PASS)
    signature = keys.node_signer(s, PASS).sign(b"order PHJP-JP-2026-0001 accepted")
    keys.verify(row.public_key, b"order PHJP-JP-2026-0001 accepted", signature, "the event")
    with pytest.raises(errors.SignatureInvalid):
        keys.verify(row.public_key, b"order PHJP-JP-2026-0001 cancelled", signature, "the event")


def test_rotation_keeps_old_signatures_and_refuses_new_ones(s: Session) -> None:
    old = keys.init_key(s, passphrase=PASS)
    old_fp, old_public = old.fingerprint, old.public_key
    signed_at = keys.utcnow().isoformat()
    signature = keys.node_signer(s, PASS).sign(b"before")
    new = keys.rotate(s, passphrase="a new passphrase")
    assert new.fingerprint != old_fp and new.status == "active"
    assert (old.status, old.private_pem) == ("rotated", None)
    assert old.rotated_at is not None and old.rotated_at >= dt.datetime.fromisoformat(signed_at)
    # what the old key signed before the rotation still verifies
    row = keys.key_for(s, party="JP", fp=old_fp, signed_at=signed_at)
    keys.verify(row.public_key, b"before", signature, "an old event")
    # it signs nothing more: a signature dated after the rotation is refused, and it is gone
    later = (old.rotated_at + SEC).isoformat()
    with pytest.raises(errors.UnknownKey, match="replaced"):
        keys.key_for(s, party="JP", fp=old_fp, signed_at=later)
    with pytest.raises(errors.KeyMissing):
        keys.unlock(old, PASS)
    signer = keys.node_signer(s, "a new passphrase")
    assert signer.fingerprint == new.fingerprint
    keys.verify(new.public_key, b"after", signer.sign(b"after"), "a new event")
    with pytest.raises(errors.SignatureInvalid):
        keys.verify(old_public, b"after", signer.sign(b"after"), "a new event")
    [event] = audit_events(s, "key.rotated")
    assert event.subject == f"key:{old_fp[:16]}"
    assert json.loads(event.payload)["replaced_by"] == new.fingerprint


def test_rotation_needs_a_key_to_rotate(s: Session) -> None:
    with pytest.raises(errors.KeyMissing):
        keys.rotate(s, passphrase=PASS)
    keys.init_key(s, passphrase=PASS)
    with pytest.raises(errors.KeyMissing):
        keys.rotate(s, passphrase=PASS, official="jp-finance")


# --- partners' keys ------------------------------------------------------------------------
def test_add_partner_registers_its_key_for_the_agreement(s: Session) -> None:
    ph = Partner("PH")
    row = keys.add_partner(s, party="ph", public_hex=ph.public_hex.upper(), agreement="phjp",
                           url="https://ph-node:8443/")
    assert (row.party, row.own, row.private_pem, row.agreement_code, row.url, row.status) == \
        ("PH", False, None, "PHJP", "https://ph-node:8443", "active")
    assert row.public_key == ph.public_hex and row.fingerprint == ph.fp
    assert keys.key_for(s, party="PH", fp=ph.fp, agreement="PHJP") is row
    with pytest.raises(errors.UnknownKey):
        keys.key_for(s, party="US", fp=ph.fp)
    [event] = audit_events(s, "key.added")
    assert (event.party, event.subject) == ("JP", f"key:{ph.fp[:16]}")
    assert json.loads(event.payload)["agreement"] == "PHJP"


@pytest.mark.parametrize(("party", "agreement", "error", "match"), [
    ("JP", "PHJP", errors.InvalidInput, "own party"),
    ("US", "PHJP", errors.WrongParty, "not a party to PHJP"),
    ("PH", "JPUS", errors.WrongParty, "not a party to JPUS"),
    ("PH", "PHUS", errors.NotFound, "no agreement"),  # not one of ours
    ("PH", "NOPE", errors.NotFound, "no agreement"),
    ("XX", "PHJP", errors.NotFound, "XX"),
])
def test_add_partner_refuses_a_party_that_is_not_the_agreements_other(
        s: Session, party: str, agreement: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        keys.add_partner(s, party=party, public_hex=Partner().public_hex, agreement=agreement)
    assert s.scalar(select(NodeKey)) is None


@pytest.mark.parametrize("text", ["abcd", "zz" * 32, "ab" * 33, ""])
def test_add_partner_refuses_what_is_not_a_public_key(s: Session, text: str) -> None:
    with pytest.raises(errors.InvalidInput, match="not an Ed25519 public key"):
        keys.add_partner(s, party="PH", public_hex=text, agreement="PHJP")
    assert s.scalar(select(NodeKey)) is None


def test_add_partner_refuses_duplicates_and_a_second_active_key(s: Session) -> None:
    ph = Partner("PH")
    keys.add_partner(s, party="PH", public_hex=ph.public_hex, agreement="PHJP")
    with pytest.raises(errors.AlreadyExists, match="already registered for PH under PHJP"):
        keys.add_partner(s, party="PH", public_hex=ph.public_hex, agreement="PHJP")
    with pytest.raises(errors.AlreadyExists, match="already has an active key") as e:
        keys.add_partner(s, party="PH", public_hex=Partner().public_hex, agreement="PHJP")
    assert "acsa keys rotate --partner PH" in e.value.hint
    ours = keys.init_key(s, passphrase=PASS)
    with pytest.raises(errors.AlreadyExists, match="own keys"):
        keys.add_partner(s, party="US", public_hex=ours.public_key, agreement="JPUS")
    with pytest.raises(errors.InvalidInput, match="URL"):
        keys.add_partner(s, party="US", public_hex=Partner().public_hex, agreement="JPUS",
                         url="us-node:8443")
    assert len(list(s.scalars(select(NodeKey)))) == 2


def test_partner_officials_keys(s: Session) -> None:
    node_key = keys.add_partner(s, party="PH", public_hex=Partner().public_hex,
                                agreement="PHJP")
    official = keys.add_partner(s, party="PH", public_hex=Partner().public_hex,
                                agreement="PHJP", official="ph-finance")
    assert official.official_code == "ph-finance" and node_key.official_code is None
    with pytest.raises(errors.WrongParty, match="jp-finance"):
        keys.add_partner(s, party="PH", public_hex=Partner().public_hex, agreement="PHJP",
                         official="jp-finance")


def test_rotate_partner(s: Session) -> None:
    old, new = Partner("PH"), Partner("PH")
    with pytest.raises(errors.KeyMissing, match="no active key under PHJP") as e:
        keys.rotate_partner(s, party="PH", public_hex=new.public_hex, agreement="PHJP")
    assert "acsa keys add-partner PH" in e.value.hint
    keys.add_partner(s, party="PH", public_hex=old.public_hex, agreement="PHJP",
                     url="https://ph-node")
    signed_at = keys.utcnow().isoformat()
    signature = old.sign(b"PH:1")
    row = keys.rotate_partner(s, party="PH", public_hex=new.public_hex, agreement="PHJP")
    assert (row.fingerprint, row.status, row.url) == (new.fp, "active", "https://ph-node")
    old_row = keys.key_for(s, party="PH", fp=old.fp, signed_at=signed_at)
    assert old_row.status == "rotated" and old_row.rotated_at is not None
    keys.verify(old_row.public_key, b"PH:1", signature, "an old event")
    with pytest.raises(errors.UnknownKey, match="replaced"):
        keys.key_for(s, party="PH", fp=old.fp, signed_at=(old_row.rotated_at + SEC).isoformat())
    assert keys.key_for(s, party="PH", fp=new.fp, signed_at=keys.utcnow().isoformat()) is row
    with pytest.raises(errors.AlreadyExists):  # the same new key twice
        keys.rotate_partner(s, party="PH", public_hex=new.public_hex, agreement="PHJP")
    [event] = audit_events(s, "key.rotated")
    assert json.loads(event.payload)["replaced_by"] == new.fp


# --- revocation ----------------------------------------------------------------------------
def test_revocation_refuses_everything_the_key_signed(s: Session) -> None:
    ph = Partner("PH")
    keys.add_partner(s, party="PH", public_hex=ph.public_hex, agreement="PHJP")
    signed_before = keys.utcnow().isoformat()
    row = keys.revoke(s, fingerprint=ph.fp[:8], reason="PH node laptop lost")
    assert (row.status, row.reason) == ("revoked", "PH node laptop lost")
    assert row.revoked_at is not None
    for signed_at in (signed_before, None, (row.revoked_at + SEC).isoformat()):
        with pytest.raises(errors.KeyRevoked, match="laptop lost"):
            keys.key_for(s, party="PH", fp=ph.fp, signed_at=signed_at)
    with pytest.raises(errors.AlreadyExists, match="already revoked"):
        keys.revoke(s, fingerprint=ph.fp, reason="again")
    with pytest.raises(errors.KeyRevoked):  # and it cannot come back
        keys.add_partner(s, party="PH", public_hex=ph.public_hex, agreement="PHJP")
    [event] = audit_events(s, "key.revoked")
    assert event.subject == f"key:{ph.fp[:16]}"
    assert json.loads(event.payload)["reason"] == "PH node laptop lost"
    # the partner's new key can be registered afresh
    keys.add_partner(s, party="PH", public_hex=Partner().public_hex, agreement="PHJP")


def test_revoking_our_own_key_drops_the_private_key(s: Session) -> None:
    row = keys.init_key(s, passphrase=PASS)
    keys.node_signer(s, PASS)
    keys.revoke(s, fingerprint=keys.display(row.fingerprint), reason="passphrase leaked")
    assert (row.status, row.private_pem) == ("revoked", None)
    with pytest.raises(errors.KeyMissing):
        keys.node_signer(s, PASS)
    with pytest.raises(errors.KeyMissing):
        keys.unlock(row, PASS)
    with pytest.raises(errors.KeyRevoked):
        keys.key_for(s, party="JP", fp=row.fingerprint)
    assert keys.init_key(s, passphrase=PASS).status == "active"  # a new one may be made


def test_revoke_needs_a_reason_and_an_unambiguous_fingerprint(s: Session) -> None:
    ph = Partner("PH")
    keys.add_partner(s, party="PH", public_hex=ph.public_hex, agreement="PHJP")
    with pytest.raises(errors.InvalidInput, match="reason"):
        keys.revoke(s, fingerprint=ph.fp, reason="  ")
    with pytest.raises(errors.InvalidInput, match="at least 8"):
        keys.revoke(s, fingerprint=ph.fp[:7], reason="lost")
    with pytest.raises(errors.InvalidInput, match="at least 8"):
        keys.revoke(s, fingerprint="not-hex!", reason="lost")
    with pytest.raises(errors.NotFound):
        keys.revoke(s, fingerprint="0" * 64 if not ph.fp.startswith("0" * 8) else "f" * 64,
                    reason="lost")
    # two keys sharing a prefix: the prefix is refused, naming both
    twin = "deadbeef" + "1" * 56, "deadbeef" + "2" * 56
    for fp in twin:
        s.add(NodeKey(fingerprint=fp, party="US", own=False, public_key="00" * 32,
                      agreement_code="JPUS", url="", status="active",
                      created_at=keys.utcnow(), reason=""))
    s.flush()
    with pytest.raises(errors.InvalidInput, match="names 2 keys"):
        keys.revoke(s, fingerprint="DEADBEEF", reason="lost")
    assert keys.revoke(s, fingerprint="deadbeef2", reason="lost").fingerprint == twin[1]
    assert keys.key_for(s, party="PH", fp=ph.fp).status == "active"


def test_show_lists_ours_then_partners(s: Session) -> None:
    ph = Partner("PH")
    keys.add_partner(s, party="PH", public_hex=ph.public_hex, agreement="PHJP")
    old = keys.init_key(s, passphrase=PASS)
    new = keys.rotate(s, passphrase=PASS)
    shown = keys.show(s)
    assert [(k["fingerprint"], k["status"], k["own"]) for k in shown] == [
        (new.fingerprint, "active", True), (old.fingerprint, "rotated", True),
        (ph.fp, "active", False)]
    assert shown[0]["display"] == keys.display(new.fingerprint)
    assert shown[0]["public_key"] == new.public_key
    assert shown[2]["agreement"] == "PHJP"
    assert "BEGIN" not in json.dumps(shown)


# --- signed requests between nodes ---------------------------------------------------------
PATH = "/api/v1/sync/bundles?since=PH:10"
BODY = b'{"format": "acsa-bundle/1"}'


@pytest.fixture
def ph(s: Session) -> Partner:
    partner = Partner("PH")
    keys.add_partner(s, party="PH", public_hex=partner.public_hex, agreement="PHJP")
    return partner


def test_a_signed_request_is_accepted(s: Session, ph: Partner) -> None:
    headers = keys.sign_request(ph.signer(), "post", PATH, BODY)
    assert set(headers) == {"X-Acsa-Node", "X-Acsa-Key", "X-Acsa-Date", "X-Acsa-Signature"}
    assert (headers["X-Acsa-Node"], headers["X-Acsa-Key"]) == ("PH", ph.fp)
    assert dt.datetime.fromisoformat(headers["X-Acsa-Date"]).utcoffset() == dt.timedelta(0)
    assert keys.verify_request(s, headers, "POST", PATH, BODY) == "PH"
    # header names are case-insensitive, as HTTP's are
    assert keys.verify_request(s, {k.lower(): v for k, v in headers.items()},
                               "POST", PATH, BODY) == "PH"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", PATH, BODY + b" "),  # tampered body
    ("POST", PATH, b""),
    ("GET", PATH, BODY),  # another method
    ("POST", "/api/v1/sync/bundles?since=PH:0", BODY),  # another query
    ("POST", "/api/v1/sync/bundles", BODY),
])
def test_a_request_changed_after_signing_is_refused(s: Session, ph: Partner, method: str,
                                                    path: str, body: bytes) -> None:
    headers = keys.sign_request(ph.signer(), "POST", PATH, BODY)
    with pytest.raises(errors.SignatureInvalid):
        keys.verify_request(s, headers, method, path, body)


def test_a_request_signed_by_another_key_is_refused(s: Session, ph: Partner) -> None:
    impostor = Partner("PH")
    headers = keys.sign_request(impostor.signer(), "POST", PATH, BODY)
    with pytest.raises(errors.UnknownKey, match="not a registered key of PH"):
        keys.verify_request(s, headers, "POST", PATH, BODY)
    headers["X-Acsa-Key"] = ph.fp  # claims the registered key, signed with another
    with pytest.raises(errors.SignatureInvalid):
        keys.verify_request(s, headers, "POST", PATH, BODY)
    headers = keys.sign_request(ph.signer(), "POST", PATH, BODY)
    headers["X-Acsa-Node"] = "US"  # PH's key, claimed for another party
    with pytest.raises(errors.UnknownKey):
        keys.verify_request(s, headers, "POST", PATH, BODY)


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86400])
def test_a_stale_or_future_request_is_refused(s: Session, ph: Partner, offset: int) -> None:
    headers = keys.sign_request(ph.signer(), "POST", PATH, BODY,
                                now=keys.utcnow() + dt.timedelta(seconds=offset))
    with pytest.raises(errors.InvalidInput, match="300 s"):
        keys.verify_request(s, headers, "POST", PATH, BODY)


@pytest.mark.parametrize("offset", [-290, 290])
def test_a_request_within_the_clock_skew_is_accepted(s: Session, ph: Partner,
                                                     offset: int) -> None:
    headers = keys.sign_request(ph.signer(), "POST", PATH, BODY,
                                now=keys.utcnow() + dt.timedelta(seconds=offset))
    assert keys.verify_request(s, headers, "POST", PATH, BODY) == "PH"


def test_unsigned_or_malformed_requests_are_refused(s: Session, ph: Partner) -> None:
    headers = keys.sign_request(ph.signer(), "POST", PATH, BODY)
    for name in headers:
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(errors.UnknownKey, match=name):
            keys.verify_request(s, partial, "POST", PATH, BODY)
    for date in ("yesterday", "2026-11-29T10:00:00"):  # not a date; no UTC offset
        with pytest.raises(errors.InvalidInput, match="X-Acsa-Date"):
            keys.verify_request(s, {**headers, "X-Acsa-Date": date}, "POST", PATH, BODY)
    with pytest.raises(errors.SignatureInvalid):
        keys.verify_request(s, {**headers, "X-Acsa-Signature": "zz"}, "POST", PATH, BODY)


def test_revoked_rotated_and_own_keys_do_not_authenticate(s: Session, ph: Partner) -> None:
    before = keys.sign_request(ph.signer(), "POST", PATH, BODY)
    new = Partner("PH")
    keys.rotate_partner(s, party="PH", public_hex=new.public_hex, agreement="PHJP")
    # the old key still authenticates what it signed before the rotation, nothing after it
    assert keys.verify_request(s, before, "POST", PATH, BODY) == "PH"
    after = keys.sign_request(ph.signer(), "POST", PATH, BODY,
                              now=keys.utcnow() + dt.timedelta(seconds=2))
    with pytest.raises(errors.UnknownKey, match="replaced"):
        keys.verify_request(s, after, "POST", PATH, BODY)
    later = keys.sign_request(new.signer(), "POST", PATH, BODY)
    assert keys.verify_request(s, later, "POST", PATH, BODY) == "PH"
    keys.revoke(s, fingerprint=new.fp, reason="compromised")
    with pytest.raises(errors.KeyRevoked, match="compromised"):
        keys.verify_request(s, later, "POST", PATH, BODY)
    # our own node key cannot authenticate a request as coming from a partner
    keys.init_key(s, passphrase=PASS)
    mine = keys.sign_request(keys.node_signer(s, PASS), "POST", PATH, BODY)
    with pytest.raises(errors.UnknownKey, match="not a partner's node key"):
        keys.verify_request(s, mine, "POST", PATH, BODY)
    # nor can a partner official's key: requests are signed by node keys
    official = Partner("PH")
    keys.add_partner(s, party="PH", public_hex=official.public_hex, agreement="PHJP",
                     official="ph-finance")
    with pytest.raises(errors.UnknownKey, match="not a partner's node key"):
        keys.verify_request(s, keys.sign_request(official.signer(), "POST", PATH, BODY),
                            "POST", PATH, BODY)
