"""Ed25519 keys. Our node's key (and optionally our officials' keys) are created here, with the
private key kept only encrypted under a passphrase (PKCS#8, `BestAvailableEncryption`); partners'
public keys are registered per agreement, with their fingerprint shown for checking out of
band. A rotated key still verifies what it signed before it was rotated; a revoked key verifies
nothing.

The passphrase comes from `ACSA_KEY_PASSPHRASE` (servers, scripts) or is asked for by the CLI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.agreements import service as agreements
from acsa.audit import service as audit
from acsa.db.base import utcnow
from acsa.parties import service as parties
from acsa.sync import node
from acsa.sync.models import NodeKey

PASSPHRASE_ENV = "ACSA_KEY_PASSPHRASE"
_UNLOCKED: dict[str, Ed25519PrivateKey] = {}  # fingerprint -> key, for this process
_UNLOCKED_BY: dict[str, bytes] = {}  # fingerprint -> digest of the passphrase that unlocked it


def fingerprint(public_hex: str) -> str:
    """SHA-256 of the raw 32-byte public key, hex."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()


def display(fp: str) -> str:
    """The fingerprint as people read it aloud: the first 32 hex digits in groups of four."""
    return " ".join(fp[i:i + 4] for i in range(0, 32, 4)).upper()


def pem_password(passphrase: str, public_hex: str) -> bytes:
    """What the PKCS#8 PEM is encrypted with: the passphrase stretched by scrypt (N=2^15, r=8:
    32 MB and about 0.1 s per try), salted with the key's own public key. The PEM's own
    PBKDF2 (2,048 rounds) alone would let a stolen database be attacked far faster."""
    kdf = Scrypt(salt=b"acsa-key/1\x1f" + bytes.fromhex(public_hex), length=32, n=2**15, r=8,
                 p=1)
    return kdf.derive(passphrase.encode()).hex().encode()


def generate(passphrase: str) -> tuple[str, str]:
    """A new key pair: (public key hex, private key as encrypted PKCS#8 PEM, see
    `pem_password`)."""
    if len(passphrase) < 8:
        raise errors.InvalidInput("a key passphrase needs at least 8 characters",
                                  field="passphrase")
    key = Ed25519PrivateKey.generate()
    public_hex = key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw).hex()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(
                                pem_password(passphrase, public_hex)))
    return public_hex, pem.decode()


def _digest(passphrase: str) -> bytes:
    return hashlib.sha256(b"acsa-key-unlock\x1f" + passphrase.encode()).digest()


def unlock(row: NodeKey, passphrase: str | None) -> Ed25519PrivateKey:
    """Our private key `row`, decrypted with `passphrase` (or ACSA_KEY_PASSPHRASE) and kept for
    this process. Once unlocked, a call without any passphrase gets it again, and one with a
    passphrase is still checked against the one that unlocked it."""
    if row.private_pem is None:
        if row.own and row.status != ACTIVE:
            raise errors.KeyMissing(f"key {display(row.fingerprint)} was {row.status} and "
                                    "signs nothing more")
        raise errors.KeyMissing(f"key {display(row.fingerprint)} is not one of ours")
    passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)
    if row.fingerprint in _UNLOCKED and (
            not passphrase or hmac.compare_digest(_UNLOCKED_BY[row.fingerprint],
                                                  _digest(passphrase))):
        return _UNLOCKED[row.fingerprint]
    if not passphrase:
        raise errors.PassphraseWrong(f"the passphrase of key {display(row.fingerprint)} is "
                                     f"needed (set {PASSPHRASE_ENV})")
    try:
        key = serialization.load_pem_private_key(row.private_pem.encode(),
                                                 pem_password(passphrase, row.public_key))
    except (ValueError, TypeError):
        raise errors.PassphraseWrong(
            f"wrong passphrase for key {display(row.fingerprint)}") from None
    assert isinstance(key, Ed25519PrivateKey)
    _UNLOCKED[row.fingerprint] = key
    _UNLOCKED_BY[row.fingerprint] = _digest(passphrase)
    return key


class Signer:
    """Signs with one of our private keys."""

    def __init__(self, row: NodeKey, key: Ed25519PrivateKey) -> None:
        self.fingerprint = row.fingerprint
        self.party = row.party
        self.official_code = row.official_code
        self._key = key

    def sign(self, data: bytes) -> str:
        return self._key.sign(data).hex()


def own_key(session: Session, official: str | None = None) -> NodeKey:
    """Our active node key (or the named official's)."""
    row = session.scalar(select(NodeKey).where(
        NodeKey.own.is_(True), NodeKey.status == "active",
        NodeKey.official_code.is_(None) if official is None
        else NodeKey.official_code == official))
    if row is None:
        who = f"official {official}" if official else "this node"
        raise errors.KeyMissing(f"{who} has no active key")
    return row


def node_signer(session: Session, passphrase: str | None = None) -> Signer:
    row = own_key(session)
    return Signer(row, unlock(row, passphrase))


def public_key(public_hex: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))


def key_for(session: Session, *, party: str, fp: str, signed_at: str | None = None,
            agreement: str | None = None) -> NodeKey:
    """The registered key `fp` of `party` that may verify something signed at `signed_at`:
    unknown, another party's, revoked, or rotated before the signing time are refused."""
    row = session.scalar(select(NodeKey).where(NodeKey.fingerprint == fp))
    if row is None or row.party != party:
        raise errors.UnknownKey(f"key {display(fp)} is not a registered key of {party}")
    if row.status == "revoked":
        when = f" on {row.revoked_at.date()}" if row.revoked_at else ""
        raise errors.KeyRevoked(f"key {display(fp)} of {party} was revoked{when}"
                                f"{': ' + row.reason if row.reason else ''}")
    if row.status == "rotated" and row.rotated_at is not None and signed_at:
        if dt.datetime.fromisoformat(signed_at) > row.rotated_at:
            raise errors.UnknownKey(f"key {display(fp)} of {party} was replaced on "
                                    f"{row.rotated_at.date()} and cannot sign after it")
    if agreement and not row.own and row.agreement_code not in (None, agreement):
        raise errors.UnknownKey(f"key {display(fp)} of {party} is registered for "
                                f"{row.agreement_code}, not {agreement}")
    return row


def verify(public_hex: str, data: bytes, signature_hex: str, what: str) -> None:
    try:
        public_key(public_hex).verify(bytes.fromhex(signature_hex), data)
    except (InvalidSignature, ValueError):
        raise errors.SignatureInvalid(f"the signature of {what} does not verify") from None


# --- managing keys -------------------------------------------------------------------------
# statuses of a key row
ACTIVE, ROTATED, REVOKED = "active", "rotated", "revoked"
MIN_PREFIX = 8  # hex digits of a fingerprint that name a key on the command line
MAX_SKEW = 300  # seconds a signed request's date may differ from this node's clock
_HEX = frozenset("0123456789abcdef")


def key_view(row: NodeKey) -> dict[str, Any]:
    """A key as `acsa keys show --json` and the API show it (no private material)."""
    return {"fingerprint": row.fingerprint, "display": display(row.fingerprint),
            "party": row.party, "official": row.official_code, "own": row.own,
            "public_key": row.public_key, "agreement": row.agreement_code, "url": row.url,
            "status": row.status, "created_at": row.created_at.isoformat(),
            "rotated_at": row.rotated_at.isoformat() if row.rotated_at else None,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "reason": row.reason}


def show(session: Session) -> list[dict[str, Any]]:
    """Every key this node knows: ours first (the node's, then officials'), then partners' by
    party and agreement; within each, active before rotated before revoked, newest first."""
    node.require_party(session)
    rank = {ACTIVE: 0, ROTATED: 1, REVOKED: 2}
    rows = sorted(session.scalars(select(NodeKey)),
                  key=lambda r: (not r.own, r.party, r.agreement_code or "",
                                 r.official_code or "", rank.get(r.status, 3),
                                 -r.created_at.timestamp(), r.id))
    return [key_view(r) for r in rows]


def _audit(session: Session, *, party: str, actor: str, action: str, row: NodeKey,
           **extra: Any) -> None:
    payload: dict[str, Any] = {"fingerprint": row.fingerprint, "party": row.party,
                               "official": row.official_code, "own": row.own,
                               "public_key": row.public_key, "agreement": row.agreement_code}
    payload.update(extra)
    audit.append(session, party=party, actor=actor, action=action,
                 subject=f"key:{row.fingerprint[:16]}", payload=payload)


def _own_official(session: Session, party: str, official: str | None) -> str | None:
    if official is None:
        return None
    person = parties.get_official(session, official)
    if person.party_code != party:
        raise errors.WrongParty(f"official {official} is of {person.party_code}, not of this "
                                f"node's party {party}", field="official",
                                hint="Create keys only for officials of this node's party; a "
                                "partner's official's key is registered with `acsa keys "
                                "add-partner ... --official CODE`.")
    return person.code


def check_init(session: Session, official: str | None = None) -> tuple[str, str | None]:
    """(our party, the official's code) if a new own key may be created: refused when the node
    has no party or the node (or official) already has an active key."""
    party = node.require_party(session)
    official = _own_official(session, party, official)
    current = session.scalar(select(NodeKey).where(
        NodeKey.own.is_(True), NodeKey.status == ACTIVE,
        NodeKey.official_code.is_(None) if official is None
        else NodeKey.official_code == official))
    if current is not None:
        who = f"official {official}" if official else f"this node ({party})"
        raise errors.AlreadyExists(
            f"{who} already has an active key {display(current.fingerprint)}",
            hint="Replace it with `acsa keys rotate`"
                 + (f" --official {official}" if official else "")
                 + " (or revoke it first with `acsa keys revoke`).")
    return party, official


def _new_own(session: Session, *, party: str, official: str | None,
             passphrase: str) -> NodeKey:
    public_hex, pem = generate(passphrase)
    row = NodeKey(fingerprint=fingerprint(public_hex), party=party, official_code=official,
                  own=True, public_key=public_hex, private_pem=pem, agreement_code=None, url="",
                  status=ACTIVE, created_at=utcnow(), reason="")
    session.add(row)
    session.flush()
    return row


def init_key(session: Session, *, passphrase: str, official: str | None = None,
             actor: str = "admin") -> NodeKey:
    """Create the node's key for its own party (or a key for one of our officials); the
    private key is stored only encrypted under `passphrase`."""
    party, official = check_init(session, official)
    row = _new_own(session, party=party, official=official, passphrase=passphrase)
    _audit(session, party=party, actor=actor, action="key.added", row=row)
    return row


def rotate(session: Session, *, passphrase: str, official: str | None = None,
           actor: str = "admin") -> NodeKey:
    """Replace our active node key (or an official's) by a new one: the old key becomes
    `rotated` (it still verifies what it signed before now, and signs nothing more: its
    private key is dropped), the new one `active`."""
    party = node.require_party(session)
    official = _own_official(session, party, official)
    old = own_key(session, official)
    now = utcnow()
    old.status, old.rotated_at, old.private_pem = ROTATED, now, None
    _UNLOCKED.pop(old.fingerprint, None)
    _UNLOCKED_BY.pop(old.fingerprint, None)
    session.flush()
    new = _new_own(session, party=party, official=official, passphrase=passphrase)
    new.created_at = now
    _audit(session, party=party, actor=actor, action="key.rotated", row=old,
           replaced_by=new.fingerprint, new_public_key=new.public_key)
    return new


def _public_hex(text: str) -> str:
    value = "".join(text.split()).lower()
    value = value.removeprefix("0x")
    if len(value) != 64 or not set(value) <= _HEX:
        raise errors.InvalidInput(
            f"{text!r} is not an Ed25519 public key: expected 64 hex digits (32 bytes), got "
            f"{len(value)} characters" + ("" if set(value) <= _HEX else " with non-hex ones"),
            field="public_key",
            hint="Copy the public key that `acsa keys show` prints on the partner's node.")
    try:
        public_key(value)
    except ValueError:
        raise errors.InvalidInput(f"{text!r} is not an Ed25519 public key",
                                  field="public_key") from None
    return value


def _partner(session: Session, *, party: str, agreement: str,
             official: str | None) -> tuple[str, str, str, str | None]:
    """(our party, the partner, the agreement's code, the official) checked: the partner is the
    agreement's other party, and the official, when known here, is the partner's."""
    own = node.require_party(session)
    party = party.strip().upper()
    if party == own:
        raise errors.InvalidInput(
            f"{party} is this node's own party: a partner's key belongs to the other party",
            field="party", hint="Create or replace our own key with `acsa keys init` or "
                                "`acsa keys rotate`.")
    parties.get_party(session, party)
    found = agreements.get_for_party(session, agreement, own)
    other = found.other_party(own)
    if party != other:
        raise errors.WrongParty(f"{party} is not a party to {found.code}: its partner of "
                                f"{own} is {other}", field="party",
                                hint=f"Register {party}'s key under an agreement between "
                                     f"{own} and {party}.")
    if official is not None:
        from acsa.parties.models import Official

        person = session.scalar(select(Official).where(Official.code == official))
        if person is not None and person.party_code != party:
            raise errors.WrongParty(f"official {official} is of {person.party_code}, not of "
                                    f"{party}", field="official")
    return own, party, found.code, official


def _new_partner(session: Session, *, party: str, public_hex: str, agreement: str,
                 official: str | None, url: str) -> NodeKey:
    fp = fingerprint(public_hex)
    existing = session.scalar(select(NodeKey).where(NodeKey.fingerprint == fp))
    if existing is not None:
        if existing.own:
            raise errors.AlreadyExists(f"key {display(fp)} is one of this node's own keys, "
                                       "not a partner's", field="public_key")
        if existing.status == REVOKED:
            raise errors.KeyRevoked(f"key {display(fp)} of {existing.party} was revoked and "
                                    "cannot be registered again", field="public_key")
        raise errors.AlreadyExists(
            f"key {display(fp)} is already registered for {existing.party} under "
            f"{existing.agreement_code} ({existing.status})", field="public_key",
            hint="Nothing to do: `acsa keys show` lists it.")
    row = NodeKey(fingerprint=fp, party=party, official_code=official, own=False,
                  public_key=public_hex, private_pem=None, agreement_code=agreement, url=url,
                  status=ACTIVE, created_at=utcnow(), reason="")
    session.add(row)
    session.flush()
    return row


def _active_partner(session: Session, party: str, agreement: str,
                    official: str | None) -> NodeKey | None:
    return session.scalar(select(NodeKey).where(
        NodeKey.own.is_(False), NodeKey.party == party, NodeKey.agreement_code == agreement,
        NodeKey.status == ACTIVE,
        NodeKey.official_code.is_(None) if official is None
        else NodeKey.official_code == official))


def _url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url and not url.startswith(("https://", "http://")):
        raise errors.InvalidInput(f"{url!r} is not a node URL", field="url",
                                  hint="Give the partner node's base URL, e.g. "
                                       "https://ph-node.example:8443.")
    return url


def add_partner(session: Session, *, party: str, public_hex: str, agreement: str,
                url: str = "", official: str | None = None, actor: str = "admin") -> NodeKey:
    """Register a partner's public key (its node's, or with `official` one of its officials')
    for an agreement between us. Check the fingerprint with the partner out of band first."""
    own, party, code, official = _partner(session, party=party, agreement=agreement,
                                          official=official)
    public_hex = _public_hex(public_hex)
    url = _url(url)
    current = _active_partner(session, party, code, official)
    if current is not None and current.fingerprint != fingerprint(public_hex):
        who = f"official {official} of {party}" if official else party
        raise errors.AlreadyExists(
            f"{who} already has an active key {display(current.fingerprint)} under {code}",
            field="public_key",
            hint=f"Register its new key with `acsa keys rotate --partner {party} --key HEX "
                 f"--agreement {code}`" + (f" --official {official}" if official else "")
                 + " (the old one then verifies only what it signed before).")
    row = _new_partner(session, party=party, public_hex=public_hex, agreement=code,
                       official=official, url=url)
    _audit(session, party=own, actor=actor, action="key.added", row=row, url=url)
    return row


def rotate_partner(session: Session, *, party: str, public_hex: str, agreement: str,
                   official: str | None = None, url: str | None = None,
                   actor: str = "admin") -> NodeKey:
    """The partner replaced its key: its active key for the agreement becomes `rotated` (it
    verifies what it signed before now), `public_hex` the active one. The URL is kept unless
    a new one is given."""
    own, party, code, official = _partner(session, party=party, agreement=agreement,
                                          official=official)
    public_hex = _public_hex(public_hex)
    old = _active_partner(session, party, code, official)
    who = f"official {official} of {party}" if official else party
    if old is None:
        raise errors.KeyMissing(f"{who} has no active key under {code} to replace",
                                hint=f"Register its key with `acsa keys add-partner {party} "
                                     f"HEX --agreement {code}`.")
    now = utcnow()
    new = _new_partner(session, party=party, public_hex=public_hex, agreement=code,
                       official=official, url=old.url if url is None else _url(url))
    old.status, old.rotated_at = ROTATED, now
    new.created_at = now
    session.flush()
    _audit(session, party=own, actor=actor, action="key.rotated", row=old,
           replaced_by=new.fingerprint, new_public_key=new.public_key)
    return new


def find(session: Session, prefix: str) -> NodeKey:
    """The key whose fingerprint starts with `prefix` (at least 8 hex digits; spaces, as in
    the grouped display, are ignored)."""
    value = "".join(prefix.split()).lower()
    if len(value) < MIN_PREFIX or not set(value) <= _HEX:
        raise errors.InvalidInput(
            f"{prefix!r} is not a fingerprint: give at least {MIN_PREFIX} of its hex digits",
            field="fingerprint", hint="`acsa keys show` lists the fingerprints.")
    rows = list(session.scalars(select(NodeKey).where(NodeKey.fingerprint.startswith(value))
                                .order_by(NodeKey.id)))
    if not rows:
        raise errors.NotFound(f"no key with fingerprint {display(value.ljust(32, '.'))}...",
                              field="fingerprint", hint="`acsa keys show` lists the keys.")
    if len(rows) > 1:
        raise errors.InvalidInput(
            f"{prefix!r} names {len(rows)} keys: "
            + ", ".join(f"{display(r.fingerprint)} ({r.party})" for r in rows),
            field="fingerprint", hint="Give more digits of the fingerprint.")
    return rows[0]


def revoke(session: Session, *, fingerprint: str, reason: str,
           actor: str = "admin") -> NodeKey:
    """Revoke a key, ours or a partner's (`fingerprint`: the full one or a prefix of at least
    8 hex digits): from now on it verifies nothing, not even what it signed before. Revoking
    our own key drops its private key; create a new one with `acsa keys init`."""
    if not reason.strip():
        raise errors.InvalidInput("a revocation needs a reason", field="reason",
                                  hint="Say why, e.g. --reason 'laptop lost on exercise'.")
    party = node.require_party(session)
    row = find(session, fingerprint)
    if row.status == REVOKED:
        raise errors.AlreadyExists(f"key {display(row.fingerprint)} of {row.party} was already "
                                   f"revoked on {row.revoked_at.date() if row.revoked_at else '?'}",
                                   field="fingerprint")
    was = row.status
    row.status, row.revoked_at, row.reason = REVOKED, utcnow(), reason.strip()
    if row.own:
        row.private_pem = None
        _UNLOCKED.pop(row.fingerprint, None)
        _UNLOCKED_BY.pop(row.fingerprint, None)
    session.flush()
    _audit(session, party=party, actor=actor, action="key.revoked", row=row,
           reason=row.reason, previous_status=was)
    return row


# --- signed requests between nodes ---------------------------------------------------------
H_NODE, H_KEY, H_DATE, H_SIG = "X-Acsa-Node", "X-Acsa-Key", "X-Acsa-Date", "X-Acsa-Signature"


def _request_text(method: str, path_with_query: str, date: str, body: bytes) -> bytes:
    return (f"{method.upper()}\n{path_with_query}\n{date}\n"
            f"{hashlib.sha256(body).hexdigest()}").encode()


def sign_request(signer: Signer, method: str, path_with_query: str, body: bytes,
                 *, now: dt.datetime | None = None) -> dict[str, str]:
    """The headers that authenticate a request to a partner node: who (party and key), when,
    and an Ed25519 signature over method, path with query, date and the body's SHA-256."""
    date = (now or utcnow()).astimezone(dt.UTC).isoformat(timespec="seconds")
    return {H_NODE: signer.party, H_KEY: signer.fingerprint, H_DATE: date,
            H_SIG: signer.sign(_request_text(method, path_with_query, date, body))}


def verify_request(session: Session, headers: Mapping[str, str], method: str,
                   path_with_query: str, body: bytes, *, now: dt.datetime | None = None,
                   max_skew: int = MAX_SKEW) -> str:
    """The partner party a signed request comes from, or a refusal: headers missing or
    malformed, a date more than `max_skew` seconds from now, a key that is not a partner's
    registered node key (unknown, ours, an official's, revoked, or rotated before the date),
    or a signature that does not verify."""
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in (H_NODE, H_KEY, H_DATE, H_SIG) if not lower.get(h.lower())]
    if missing:
        raise errors.UnknownKey(f"the request is not signed: {', '.join(missing)} missing",
                                hint="Requests between nodes are signed with the node key "
                                     "(`acsa sync push/pull`).")
    party = lower[H_NODE.lower()].strip().upper()
    fp = lower[H_KEY.lower()].strip().lower()
    date, signature = lower[H_DATE.lower()].strip(), lower[H_SIG.lower()].strip()
    try:
        when = dt.datetime.fromisoformat(date)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise errors.InvalidInput(f"{H_DATE} {date!r} is not an ISO date and time with a UTC "
                                  "offset", field=H_DATE)
    skew = abs(((now or utcnow()) - when).total_seconds())
    if skew > max_skew:
        raise errors.InvalidInput(
            f"the request is dated {date}, {skew:.0f} s from this node's clock (at most "
            f"{max_skew} s allowed): stale or replayed", field=H_DATE,
            hint="Check both nodes' clocks (NTP) and send the request again.")
    row = key_for(session, party=party, fp=fp, signed_at=when.isoformat())
    if row.own or row.official_code is not None:
        raise errors.UnknownKey(f"key {display(fp)} is not a partner's node key",
                                hint="Requests between nodes are signed with the partner's "
                                     "node key, registered with `acsa keys add-partner`.")
    verify(row.public_key, _request_text(method, path_with_query, date, body), signature,
           f"the request {method.upper()} {path_with_query} from {party}")
    return party
