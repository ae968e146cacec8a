"""Two or three acsa nodes (JP, PH, US), each with its own migrated database seeded alike with
the test world (`tests.factories.setup_world`), its own party and Ed25519 node key, and the
partners' public keys registered: the fixture of the sync tests (issue #6).

On SQLite every node is its own file; on PostgreSQL every node is its own database, created
from a per-worker template of the seeded world and dropped afterwards (names carry a random
suffix, so test runs and xdist workers never collide).

Test modules import the fixtures they use:

    from tests.sync._nodes import cluster, sync_backend, world_template  # noqa: F401
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.db.engine import make_engine, unit_of_work
from acsa.ledger.models import LedgerLine
from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.settlement import service as settlement
from acsa.settlement.models import Claim, SettlementRecord
from acsa.sync import bundle, keys, node
from acsa.sync import service as sync
from acsa.sync.models import (
    BundleSeen,
    Conflict,
    InboxEvent,
    NodeKey,
    OutboxEvent,
    PartnerProgress,
    Quarantined,
)
from tests import factories as f
from tests.conftest import _pg_admin, _pg_url

PASS = "sync test passphrase"
D = dt.date(2026, 5, 10)
SUP_UNIT = {"PH": "PN-NFSL", "JP": "JMSDF-ESC1", "US": "USN-CTF73"}
AGREEMENT = {frozenset({"PH", "JP"}): "PHJP", frozenset({"PH", "US"}): "PHUS",
             frozenset({"JP", "US"}): "JPUS"}

_KEYS: dict[str, tuple[str, str]] = {}  # party -> (public hex, encrypted pem), per process


def node_key(party: str) -> tuple[str, str]:
    """The party's node key pair, made once per process (keys are per node database, and every
    test gets new databases, so one pair per party is enough and keeps the suite fast)."""
    if party not in _KEYS:
        _KEYS[party] = keys.generate(PASS)
    return _KEYS[party]


# --- the world, once per worker and backend --------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sync_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        Callable[[str], str]]:
    """backend -> the seeded world to copy each node from: a SQLite file path or the name of
    a PostgreSQL template database (made on first use, dropped at the end of the session)."""
    made: dict[str, str] = {}
    pg_made: list[str] = []
    home = tmp_path_factory.mktemp("sync-world-home")

    def get(backend: str, request: pytest.FixtureRequest | None = None) -> str:
        if backend in made:
            return made[backend]
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("sync-world") / "world.db"
            engine = make_engine(f"sqlite:///{path}")
            from acsa.db import migrate

            migrate.upgrade(engine)
        else:
            assert request is not None
            template = request.getfixturevalue("pg_template")
            name = f"acsa_syncw_{uuid.uuid4().hex[:10]}"
            with _pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            pg_made.append(name)
            engine = make_engine(_pg_url(name))
            path = Path(name)
        with unit_of_work(engine) as s:
            f.setup_world(s, home)
        engine.dispose()
        made[backend] = str(path)
        return made[backend]

    yield get  # type: ignore[misc]
    for done in _DROPS:  # every node database of the session is gone before the template
        done.result()
    if pg_made:
        with _pg_admin().connect() as conn:
            for name in pg_made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- a node ----------------------------------------------------------------------------------
class Node:
    """One party's node: its own database, reached through `engine`."""

    def __init__(self, party: str, url: str, engine: Engine) -> None:
        self.party, self.url, self.engine = party, url, engine

    def __repr__(self) -> str:
        return f"Node({self.party})"

    def session(self) -> Any:
        return unit_of_work(self.engine)

    # exchange
    def export(self, to: str | Node, since: int | None = None) -> dict[str, Any]:
        party = to.party if isinstance(to, Node) else to
        with self.session() as s:
            return sync.export(s, to=party, since=since, passphrase=PASS)

    def import_(self, data: dict[str, Any] | bytes) -> sync.ImportResult:
        raw = data if isinstance(data, bytes) else bundle.dumps(data)
        return sync.import_bundle(self.engine, raw)

    def send(self, to: Node, since: int | None = None) -> sync.ImportResult:
        return to.import_(self.export(to, since))

    def signer(self) -> keys.Signer:
        with self.session() as s:
            return keys.node_signer(s, PASS)

    # what the node holds
    def counts(self) -> dict[str, int]:
        """Row counts of what an import may change (the bundles seen and the quarantine are
        reported apart: a refusal adds to the quarantine and nothing else)."""
        tables = {"orders": Order, "inbox": InboxEvent, "ledger": LedgerLine, "claims": Claim,
                  "settlements": SettlementRecord, "audit": Event, "outbox": OutboxEvent,
                  "conflicts": Conflict}
        with self.session() as s:
            out = {k: s.scalar(select(func.count()).select_from(m)) or 0
                   for k, m in tables.items()}
            out["applied"] = s.scalar(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.status == "applied")) or 0
            progress = {p.party: (p.acked, p.received, p.ranges)
                        for p in s.scalars(select(PartnerProgress))}
            out["progress"] = hash(json.dumps(progress, sort_keys=True))
            out["orders_state"] = hash(tuple(s.execute(select(
                Order.number, Order.state, Order.content_hash).order_by(Order.number)).all()))
        return out

    def quarantined(self) -> list[Quarantined]:
        with self.session() as s:
            return list(s.scalars(select(Quarantined).order_by(Quarantined.id)))

    def inbox(self) -> dict[str, str]:
        with self.session() as s:
            return {r[0]: r[1] for r in s.execute(select(InboxEvent.event_id, InboxEvent.status))}

    def bundle_state(self, bundle_id: str) -> str | None:
        with self.session() as s:
            seen = s.get(BundleSeen, bundle_id)
            return seen.state if seen else None

    def progress(self, partner: str) -> PartnerProgress | None:
        with self.session() as s:
            return s.get(PartnerProgress, partner)

    def order(self, number: str) -> Order:
        with self.session() as s:
            return orders.get_order(s, number)

    def book(self, numbers: list[str] | None = None) -> dict[str, Any]:
        """What two nodes must agree on: per order its state, the reasons, the content hash
        and the state before a dispute; per claim its state and what is outstanding; the ledger
        line sums per book, account, counterparty and commodity (optionally only of the orders
        `numbers`)."""
        with self.session() as s:
            q = select(Order).order_by(Order.number)
            if numbers is not None:
                q = q.where(Order.number.in_(numbers))
            order_rows = list(s.scalars(q))
            out_orders = {o.number: (o.state, o.cancel_reason, o.dispute_reason,
                                     o.content_hash, o.state_before_dispute)
                          for o in order_rows}
            claims = {}
            for o in order_rows:
                for c in settlement.claims_of(s, o):
                    v = settlement.claim_view(c)
                    claims[c.number] = (c.state, str(v["outstanding"]))
            lq = (select(LedgerLine.book, LedgerLine.account, LedgerLine.counterparty,
                         LedgerLine.commodity, func.sum(LedgerLine.amount),
                         func.count())
                  .group_by(LedgerLine.book, LedgerLine.account, LedgerLine.counterparty,
                            LedgerLine.commodity))
            if numbers is not None:
                ids = [c.id for o in order_rows for c in settlement.claims_of(s, o)]
                lq = lq.where(LedgerLine.claim_id.in_(ids or [-1]))
            ledger = {tuple(r[:4]): (int(r[4]), int(r[5])) for r in s.execute(lq).all()}
        return {"orders": out_orders, "claims": claims, "ledger": ledger}


def assert_same_books(*nodes: Node, numbers: list[str] | None = None) -> dict[str, Any]:
    books = [n.book(numbers) for n in nodes]
    for n, b in zip(nodes[1:], books[1:], strict=True):
        if b != books[0]:
            diff = {part: {k: (books[0][part].get(k), b[part].get(k))
                           for k in set(books[0][part]) | set(b[part])
                           if books[0][part].get(k) != b[part].get(k)}
                    for part in b}
            raise AssertionError(f"{n} disagrees with {nodes[0]}: {diff}")
    return books[0]


# --- making the nodes ------------------------------------------------------------------------
class Cluster:
    """The nodes of one test, by party; dropped at the end."""

    def __init__(self, backend: str, template: str, workdir: Path) -> None:
        self.backend, self.template, self.workdir = backend, template, workdir
        self.nodes: dict[str, Node] = {}
        self._pg: list[str] = []

    def __getitem__(self, party: str) -> Node:
        return self.nodes[party]

    def add(self, party: str, partners: tuple[str, ...]) -> Node:
        if self.backend == "sqlite":
            path = self.workdir / f"{party.lower()}-{uuid.uuid4().hex[:6]}.db"
            shutil.copy(self.template, path)
            url = f"sqlite:///{path}"
        else:
            name = f"acsa_sync_{party.lower()}_{uuid.uuid4().hex[:10]}"
            with _pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            self._pg.append(name)
            url = _pg_url(name)
        engine = make_engine(url)
        pub, pem = node_key(party)
        with unit_of_work(engine) as s:
            node.set_party(s, party)
            s.add(NodeKey(fingerprint=keys.fingerprint(pub), party=party, own=True,
                          public_key=pub, private_pem=pem, status="active",
                          created_at=utcnow() - dt.timedelta(days=1)))
            for p in partners:
                ppub, _ = node_key(p)
                s.add(NodeKey(fingerprint=keys.fingerprint(ppub), party=p, own=False,
                              public_key=ppub, agreement_code=AGREEMENT[frozenset({party, p})],
                              status="active", created_at=utcnow() - dt.timedelta(days=1)))
        self.nodes[party] = Node(party, url, engine)
        return self.nodes[party]

    def close(self) -> None:
        for n in self.nodes.values():
            n.engine.dispose()
        if self._pg:  # dropped in the background while the next test runs
            _DROPS.append(_DROPPER.submit(_drop, list(self._pg)))


def _drop(names: list[str]) -> None:
    with _pg_admin().connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_DROPPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="acsa-sync-drop")
_DROPS: list[Future[None]] = []


def make_cluster(backend: str, template: str, workdir: Path,
                 parties: tuple[str, ...] = ("JP", "PH")) -> Cluster:
    c = Cluster(backend, template, workdir)
    for p in parties:
        c.add(p, tuple(q for q in parties if q != p))
    return c


@pytest.fixture
def cluster(sync_backend: str, world_template: Callable[..., str], tmp_path: Path,
            request: pytest.FixtureRequest) -> Iterator[Callable[..., Cluster]]:
    """cluster(("JP", "PH")) -> the nodes of those parties on the test's backend."""
    made: list[Cluster] = []

    def make(parties: tuple[str, ...] = ("JP", "PH")) -> Cluster:
        template = world_template(sync_backend, request)
        c = make_cluster(sync_backend, template, tmp_path, parties)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


# --- steps, each taken on its owner's node ---------------------------------------------------
def lines_for(requester: str, supplier: str) -> list[orders.LineInput]:
    currency = {"PH": "PHP", "JP": "JPY", "US": "USD"}[supplier]
    price = {"PHP": "95.50", "JPY": "150", "USD": "1.25"}[currency]
    return [f.fuel_line(currency=currency, price=price)]


def create(n: Node, *, supplier: str | None = None, request: bool = True,
           lines: list[orders.LineInput] | None = None) -> str:
    """A new order of n's party (requester) to `supplier`; requested unless told not to."""
    supplier = supplier or ("PH" if n.party != "PH" else "JP")
    agreement = AGREEMENT[frozenset({n.party, supplier})]
    with n.session() as s:
        o = f.draft(s, requester=n.party, agreement=agreement,
                    lines=lines or lines_for(n.party, supplier))
        number = o.number
        if request:
            orders.request_order(s, number=number, by=f.official(n.party, "requesting"), on=D)
    return number


def supplier_of(n: Node, number: str) -> str:
    return n.order(number).supplying_party


def accept(n: Node, number: str) -> None:
    with n.session() as s:
        orders.accept_order(s, number=number, by=f.official(n.party, "approving"), on=D,
                            supplying_unit=SUP_UNIT[n.party], supplier_poc="Lt Reyes")


def deliver(n: Node, number: str, qty: str = "10000") -> None:
    with n.session() as s:
        orders.record_delivery(s, number=number, by=f.official(n.party, "supplying"), on=D,
                               quantities={1: Decimal(qty)}, document_name="dn.pdf",
                               document=f"%PDF delivery note {number} {qty}".encode())


def receive(n: Node, number: str, received: str | None = None) -> None:
    lines = {}
    if received is not None:
        lines = {1: f.ReceiptLineInput(received=Decimal(received), reason="short")}
    with n.session() as s:
        orders.record_receipt(s, number=number, by=f.official(n.party, "receiving"),
                              on=D + dt.timedelta(days=1), lines=lines)


def pay_all(n: Node, number: str) -> None:
    """Pay every open claim of the order in full, in the claim's currency."""
    from acsa.money import Money

    with n.session() as s:
        o = orders.get_order(s, number)
        for c in settlement.claims_of(s, o):
            v = settlement.claim_view(c)
            if c.state in ("settled",):
                continue
            settlement.pay(s, claim_ref=c.number, by=f.official(n.party, "finance"),
                           on=D + dt.timedelta(days=5),
                           amount=Money.parse(str(v["outstanding"])))


def cancel(n: Node, number: str, reason: str = "not needed") -> None:
    with n.session() as s:
        orders.cancel_order(s, number=number, by=f.official(n.party, "requesting") if
                            orders.get_order(s, number).requesting_party == n.party
                            else f.official(n.party, "approving"), on=D, reason=reason)


def dispute(n: Node, number: str, reason: str = "wrong fuel") -> None:
    with n.session() as s:
        orders.dispute_order(s, number=number, by=f.official(n.party, "approving"), on=D,
                             reason=reason)


def resolve(n: Node, number: str, resolution: str = "agreed") -> None:
    with n.session() as s:
        orders.resolve_dispute(s, number=number, by=f.official(n.party, "approving"), on=D,
                               resolution=resolution)


def close(n: Node, number: str) -> None:
    with n.session() as s:
        # on the day pay_all pays, or later: a close is not dated before the last settlement
        orders.close_order(s, number=number, by=f.official(n.party, "finance"),
                           on=D + dt.timedelta(days=5))


# --- hand-made bundles -----------------------------------------------------------------------
def sign_event(event: dict[str, Any], signer: keys.Signer) -> dict[str, Any]:
    event = {k: v for k, v in event.items() if k != "sig"}
    event["key"] = signer.fingerprint
    event["sig"] = signer.sign(bundle.event_bytes(event))
    return event


def seal(data: dict[str, Any], signer: keys.Signer, *, resign_events: bool = False
         ) -> dict[str, Any]:
    """`data` made a well-formed bundle again after a change: count, digest, a new id, the
    header signed by `signer` (and each event too if `resign_events`)."""
    data = json.loads(json.dumps(data))
    if resign_events:
        data["events"] = [sign_event(e, signer) for e in data["events"]]
    data["bundle_id"] = str(uuid.uuid4())
    data["count"] = len(data["events"])
    data["events_sha256"] = bundle.events_digest(data["events"])
    data["key"] = signer.fingerprint
    data["sig"] = signer.sign(bundle.header_bytes(data))
    return data


def crafted(sender: Node, to: str, events: list[dict[str, Any]],
            signer: keys.Signer | None = None, rng: tuple[int, int] = (0, 0)
            ) -> dict[str, Any]:
    """A bundle from `sender` to `to` holding `events` (signed here by `signer`, default the
    sender's node key)."""
    signer = signer or sender.signer()
    data = {"format": bundle.FORMAT, "bundle_id": "", "from": sender.party, "to": to,
            "created_at": utcnow().isoformat(timespec="microseconds"), "range": list(rng),
            "acks": {to: 0}, "count": 0, "events_sha256": "", "key": "", "events": events,
            "sig": ""}
    return seal(data, signer, resign_events=True)


def event(origin: str, seq: int, kind: str, subject: str, to: str, body: dict[str, Any], *,
          actor: str, deps: list[str] | None = None) -> dict[str, Any]:
    return {"id": f"{origin}:{seq}", "origin": origin, "seq": seq, "kind": kind,
            "subject": subject, "to": to, "deps": deps or [],
            "at": utcnow().isoformat(timespec="microseconds"), "actor": actor, "body": body,
            "key": ""}
