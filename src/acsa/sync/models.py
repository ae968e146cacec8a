"""The node's settings, keys, outbox and inbox of signed events, bundles seen, conflicts and
quarantine."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from acsa.db.base import Base, UTCDateTime


class NodeSetting(Base):
    """Key-value settings of this node (`party`: the node's own party)."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class NodeKey(Base):
    """An Ed25519 public key: our node's or one of our officials' (`own`, with the private key
    encrypted under a passphrase in `private_pem`), or a partner's, registered per agreement.
    `status`: active, rotated (still verifies what it signed before `rotated_at`), revoked."""

    __tablename__ = "node_keys"
    __table_args__ = (Index("ix_node_keys_party", "party", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    party: Mapped[str] = mapped_column(String(3))
    official_code: Mapped[str | None] = mapped_column(String(40))  # None: the node's own key
    own: Mapped[bool] = mapped_column(default=False)
    public_key: Mapped[str] = mapped_column(String(64))  # raw 32 bytes, hex
    private_pem: Mapped[str | None] = mapped_column(Text)  # encrypted PKCS#8, own keys only
    agreement_code: Mapped[str | None] = mapped_column(String(20))  # partner keys: registered for
    url: Mapped[str] = mapped_column(String(300), default="")  # partner node's base URL
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")


class OutboxEvent(Base):
    """A fact this node authored, as sent to partners. `seq` is our per-node sequence: the
    event's id is `<party>:<seq>`. Signed when first exported (the signature covers `canonical`
    text of every field but the signature)."""

    __tablename__ = "sync_outbox"
    __table_args__ = (Index("ix_sync_outbox_to", "to_party", "seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60))
    to_party: Mapped[str] = mapped_column(String(3))  # '*' = every partner
    deps: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of event ids
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))
    after: Mapped[str] = mapped_column(Text, default="")  # order fields after it (to undo the next)


class InboxEvent(Base):
    """A partner's event that passed every check of its bundle: `pending` (waiting for what it
    depends on), `applied`, or `superseded` (lost a conflict: kept, not applied)."""

    __tablename__ = "sync_inbox"
    __table_args__ = (Index("ix_sync_inbox_status", "status", "origin", "seq"),)

    event_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    origin: Mapped[str] = mapped_column(String(3))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60))
    to_party: Mapped[str] = mapped_column(String(3))
    deps: Mapped[str] = mapped_column(Text, default="[]")
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    bundle_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    waiting_for: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    after: Mapped[str] = mapped_column(Text, default="")  # order fields after it (to undo the next)


class SubjectHead(Base):
    """The last event applied or authored on a subject (an order): what the next event on it
    depends on, and how a concurrent one is recognised."""

    __tablename__ = "sync_heads"

    subject: Mapped[str] = mapped_column(String(60), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(30))


class BundleSeen(Base):
    """Every bundle written or read: imported ones are refused a second time (replay)."""

    __tablename__ = "sync_bundles"

    bundle_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in, out
    party: Mapped[str] = mapped_column(String(3))  # the partner: sender or addressee
    sha256: Mapped[str] = mapped_column(String(64))
    events: Mapped[int]
    state: Mapped[str] = mapped_column(String(10))  # stored, done
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PartnerProgress(Base):
    """Per partner: `acked`, the seq up to which it has confirmed receiving all our events for
    it (from the acknowledgements in its bundles; an export without --since starts after it);
    `received`, the seq up to which we hold all of its events for us, and `ranges`, the seq
    ranges received beyond a gap (a bundle lost on the way), as JSON [[from, to], ...]."""

    __tablename__ = "sync_partners"

    party: Mapped[str] = mapped_column(String(3), primary_key=True)
    acked: Mapped[int] = mapped_column(default=0)
    received: Mapped[int] = mapped_column(default=0)
    ranges: Mapped[str] = mapped_column(Text, default="[]")
    last_export_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_import_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Conflict(Base):
    """Two parties acted at once on the same subject; the rule named in `rule` decided."""

    __tablename__ = "sync_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(60), index=True)
    winner: Mapped[str] = mapped_column(String(30))
    loser: Mapped[str] = mapped_column(String(30))
    rule: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Quarantined(Base):
    """A refused event (or a refused bundle), kept for a person to inspect; nothing of it was
    applied."""

    __tablename__ = "sync_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str | None] = mapped_column(String(30))
    origin: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(60), default="")
    bundle_id: Mapped[str] = mapped_column(String(40), default="")
    error: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
