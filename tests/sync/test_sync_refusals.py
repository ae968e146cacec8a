"""Every refusal of issue #6 item 3, at the service level on SQLite and PostgreSQL: the bundle or
the event is refused with a named error, nothing of the book changes (orders, inbox, ledger,
claims, audit, outbox, the partner's progress: all counted before and after), and the refusal
is kept in the quarantine with its reason.

The refusals change nothing by definition, so the tests of a backend share one pair of nodes
(JP and PH, with an order of JP already requested from PH and synced); a refusal that failed
to refuse would show up in its own test as a change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from acsa import errors
from acsa.sync import bundle
from acsa.sync.models import NodeKey, OutboxEvent
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    D,
    Node,
    crafted,
    create,
    event,
    make_cluster,
    seal,
    sign_event,
)

# the fixtures of the nodes
world_template = _nodes.world_template


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, world_template, tmp_path_factory
         ) -> Iterator[tuple[Node, Node, str]]:
    template = world_template(request.param, request)
    c = make_cluster(request.param, template, tmp_path_factory.mktemp("refusals"))
    jp, ph = c["JP"], c["PH"]
    number = create(jp)
    r = jp.send(ph)
    assert r.applied == ["JP:1", "JP:2"]
    yield jp, ph, number
    c.close()


@contextmanager
def refused(n: Node, error: str, *, event_id: str | None = None,
            bundle_id: str | None = None) -> Iterator[None]:
    """Nothing of `n`'s book changes inside, and exactly one refusal is added to its
    quarantine, with the error `error` and a reason."""
    before = n.counts()
    seen = len(n.quarantined())
    yield
    assert n.counts() == before, "a refusal changed the book"
    added = n.quarantined()[seen:]
    assert [(q.error, q.event_id) for q in added] == [(error, event_id)], added
    assert added[0].reason
    if bundle_id is not None:
        assert added[0].bundle_id == bundle_id


def fresh_events(jp: Node, ph: Node) -> dict[str, Any]:
    """A genuine JP bundle for PH holding only a new order of JP (created and requested), not
    imported yet."""
    with jp.session() as s:
        last = max(s.scalars(select(OutboxEvent.seq)))
    create(jp)
    data = jp.export(ph, since=last)
    assert [e["kind"] for e in data["events"]] == ["order.created", "order.requested"]
    return data


def foreign_signer() -> Any:
    from acsa.sync import keys

    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes_raw().hex()
    return keys.Signer(NodeKey(fingerprint=keys.fingerprint(pub), party="JP",
                               official_code=None), key)


def flip(hex_text: str) -> str:
    return ("1" if hex_text[0] != "1" else "2") + hex_text[1:]


# --- the bundle refused whole ----------------------------------------------------------------
def test_bad_bundle_signature(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    data["sig"] = flip(data["sig"])
    with refused(ph, "SignatureInvalid", bundle_id=data["bundle_id"]), \
            pytest.raises(errors.SignatureInvalid):
        ph.import_(data)


def test_unknown_key(pair):
    jp, ph, _ = pair
    data = seal(fresh_events(jp, ph), foreign_signer(), resign_events=True)
    with refused(ph, "UnknownKey"), pytest.raises(errors.UnknownKey):
        ph.import_(data)


def test_key_of_another_party_is_unknown(pair):
    """PH's own key is registered on PH's node, but it is not JP's: a bundle 'from JP' signed
    with it is refused."""
    jp, ph, _ = pair
    data = seal(fresh_events(jp, ph), ph.signer(), resign_events=True)
    with refused(ph, "UnknownKey"), pytest.raises(errors.UnknownKey):
        ph.import_(data)


def test_revoked_key(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    with ph.session() as s:
        row = s.scalar(select(NodeKey).where(NodeKey.party == "JP"))
        row.status, row.reason = "revoked", "laptop lost"
    try:
        with refused(ph, "KeyRevoked"), pytest.raises(errors.KeyRevoked) as exc:
            ph.import_(data)
        assert "laptop lost" in exc.value.message
    finally:
        with ph.session() as s:
            s.scalar(select(NodeKey).where(NodeKey.party == "JP")).status = "active"
    # with the key active again, the same bundle goes in
    r = ph.import_(data)
    assert len(r.applied) == 2


def test_tampered_event_after_signing(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    data["events"][0]["body"]["lines"][0]["quantity"] = "99999"
    with refused(ph, "BundleInvalid"), pytest.raises(errors.BundleInvalid):
        ph.import_(data)


def test_tampered_header_after_signing(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    data["acks"] = {"PH": 10_000}  # would make PH believe JP holds everything of it
    with refused(ph, "SignatureInvalid"), pytest.raises(errors.SignatureInvalid):
        ph.import_(data)


def test_events_reordered_after_signing(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    data["events"].reverse()
    with refused(ph, "BundleInvalid"), pytest.raises(errors.BundleInvalid):
        ph.import_(data)


@pytest.mark.parametrize("cut", ["half", "one event less", "empty"])
def test_truncated_bundle(pair, cut):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    raw = bundle.dumps(data)
    if cut == "half":
        raw = raw[: len(raw) // 2]
    elif cut == "one event less":
        data["events"] = data["events"][:-1]
        raw = bundle.dumps(data)
    else:
        raw = b""
    with refused(ph, "BundleInvalid"), pytest.raises(errors.BundleInvalid):
        ph.import_(raw)


def test_replayed_bundle(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    r = ph.import_(data)
    assert len(r.applied) == 2
    assert ph.bundle_state(data["bundle_id"]) == "done"
    with refused(ph, "BundleReplayed", bundle_id=data["bundle_id"]), \
            pytest.raises(errors.BundleReplayed):
        ph.import_(data)


def test_bundle_for_another_party(pair):
    jp, ph, _ = pair
    with jp.session() as s:
        last = max(s.scalars(select(OutboxEvent.seq)))
    create(jp)
    data = jp.export("US", since=last)
    assert data["to"] == "US"
    with refused(ph, "BundleNotForUs"), pytest.raises(errors.BundleNotForUs):
        ph.import_(data)


def test_not_a_bundle(pair):
    _, ph, _ = pair
    with refused(ph, "BundleInvalid"), pytest.raises(errors.BundleInvalid):
        ph.import_(b'{"format": "something-else/1"}')


# --- one event refused, the bundle accepted --------------------------------------------------
def test_bad_event_signature(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = data["events"][0]
    ev["sig"] = flip(ev["sig"])
    data["events"] = [ev]
    data["range"] = [0, 0]
    data = seal(data, jp.signer())  # the header is genuine, the event's signature is not
    with refused(ph, "SignatureInvalid", event_id=ev["id"]):
        r = ph.import_(data)
    assert [q["error"] for q in r.quarantined] == ["SignatureInvalid"]


def test_event_altered_and_resealed(pair):
    """Someone holding the bundle changes an event, recomputes the digest but cannot sign the
    event: refused by the event's own signature."""
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = data["events"][0]
    ev["body"]["lines"][0]["unit_price"] = "1.00"
    data["events"], data["range"] = [ev], [0, 0]
    data = seal(data, jp.signer())
    with refused(ph, "SignatureInvalid", event_id=ev["id"]):
        ph.import_(data)


def test_event_signed_by_unknown_key(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = sign_event(data["events"][0], foreign_signer())
    data["events"], data["range"] = [ev], [0, 0]
    data = seal(data, jp.signer())
    with refused(ph, "UnknownKey", event_id=ev["id"]):
        ph.import_(data)


def test_event_addressed_to_another_party(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = dict(data["events"][0], to="US")
    data["events"], data["range"] = [ev], [0, 0]
    data = seal(data, jp.signer(), resign_events=True)
    with refused(ph, "BundleNotForUs", event_id=ev["id"]):
        ph.import_(data)


def test_partner_cannot_request_our_order(pair):
    """PH signs an `order.requested` for JP's order: only the requester (JP) may."""
    jp, ph, number = pair
    ev = event("PH", 50, "order.requested", number, "JP", {"on": D.isoformat(),
                                                          "order_hash": "0" * 64},
               actor="ph-requesting", deps=["JP:2"])
    data = crafted(ph, "JP", [ev])
    with refused(jp, "NotOwner", event_id="PH:50"):
        r = jp.import_(data)
    assert [q["error"] for q in r.quarantined] == ["NotOwner"]


def test_partner_cannot_accept_on_our_behalf(pair):
    """JP signs an `order.accepted` of its own order, which only PH (the supplier) may."""
    jp, ph, number = pair
    ev = event("JP", 900, "order.accepted", number, "PH",
               {"on": D.isoformat(), "supplier_poc": "Lt X", "supplying_unit": "PN-NFSL",
                "order_hash": "0" * 64}, actor="jp-approving", deps=["JP:2"])
    data = crafted(jp, "PH", [ev])
    with refused(ph, "NotOwner", event_id="JP:900"):
        ph.import_(data)
    assert ph.order(number).state == "requested"


def test_event_of_another_origin_in_the_bundle(pair):
    """A PH bundle carrying an acceptance claimed by JP: a node forwards only its own events."""
    jp, ph, number = pair
    ev = event("JP", 901, "order.accepted", number, "JP",
               {"on": D.isoformat(), "supplier_poc": "", "supplying_unit": "PN-NFSL",
                "order_hash": "0" * 64}, actor="ph-approving", deps=["JP:2"])
    data = crafted(ph, "JP", [sign_event(ev, ph.signer())])
    with refused(jp, "NotOwner", event_id="JP:901"):
        jp.import_(data)


def test_partner_cannot_create_our_order(pair):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    body = dict(data["events"][0]["body"])
    number = body["number"]
    ev = event("PH", 51, "order.created", number, "JP", body, actor="ph-requesting")
    with refused(jp, "NotOwner", event_id="PH:51"):
        jp.import_(crafted(ph, "JP", [ev]))


def test_official_acting_for_the_other_party(pair):
    """A JP event whose actor is a PH official is refused: JP cannot act in PH's name."""
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = dict(data["events"][0], actor="ph-requesting")
    data["events"], data["range"] = [ev], [0, 0]
    data = seal(data, jp.signer(), resign_events=True)
    with refused(ph, "NotOwner", event_id=ev["id"]):
        ph.import_(data)


@pytest.mark.parametrize("change,error", [
    ({"category": "weapons", "description": "Rifles"}, "WeaponsExcluded"),
    ({"method": "eve"}, "MethodNotAllowed"),  # fuel is a supply: cash or rik under PHJP
    ({"quantity": "-5"}, None),  # any refusal of the rules, as long as it is named
])
def test_event_breaking_the_agreement_rules(pair, change, error):
    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = json.loads(json.dumps(data["events"][0]))
    ev["body"]["lines"][0].update(change)
    data["events"], data["range"] = [ev], [0, 0]
    data = seal(data, jp.signer(), resign_events=True)  # genuinely signed by JP
    before = ph.counts()
    seen = len(ph.quarantined())
    r = ph.import_(data)
    assert ph.counts() == before
    added = ph.quarantined()[seen:]
    assert len(added) == 1 and added[0].event_id == ev["id"]
    assert added[0].kind == "order.created" and added[0].reason
    if error:
        assert added[0].error == error
    else:
        assert added[0].error in {"InvalidQuantity", "InvalidInput", "InvalidAmount"}
    assert [q["event"] for q in r.quarantined] == [ev["id"]]
    assert not ph.inbox().get(ev["id"])


def test_quarantine_is_listed(pair):
    """The quarantine lists every refused event with its error and reason. The test refuses
    one itself: under xdist the module's other tests may run on another worker's pair."""
    from acsa.sync import service as sync

    jp, ph, _ = pair
    data = fresh_events(jp, ph)
    ev = dict(data["events"][0], actor="ph-requesting")
    data["events"], data["range"] = [ev], [0, 0]
    with refused(ph, "NotOwner", event_id=ev["id"]):
        ph.import_(seal(data, jp.signer(), resign_events=True))
    with ph.session() as s:
        rows = sync.quarantine(s)
        st = sync.status(s)
    assert rows and all(r["error"] and r["reason"] for r in rows)
    assert ev["id"] in {r["event"] for r in rows}
    assert st["quarantined"] == len(ph.quarantined())
