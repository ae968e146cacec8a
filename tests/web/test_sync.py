"""The sync page (issue #6 on the web): who sees it, what it shows of a node's exchanges with
its partners (progress, events waiting, quarantine, conflicts), a shared database said to be no
node, and a reconciliation against a partner's signed summary file."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from acsa.audit.chain import canonical_json
from acsa.db.base import utcnow
from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from acsa.sync import keys, node
from acsa.sync import reconcile as rc
from acsa.sync.models import Conflict, InboxEvent, NodeKey, PartnerProgress, Quarantined
from tests.web.conftest import csrf_of

Browser = Callable[..., TestClient]
AS_OF = dt.date(2026, 12, 31)
PASS = "sync page passphrase"


def make_node(world: Engine) -> Ed25519PrivateKey:
    """The world's database made JP's node, PH its partner, with some exchanges behind it; the
    PH node key (to sign PH's summaries)."""
    ph = Ed25519PrivateKey.generate()
    ph_pub = ph.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw).hex()
    jp_pub, jp_pem = keys.generate(PASS)
    now = utcnow()
    with unit_of_work(world) as s:
        node.set_party(s, "JP")
        s.add(NodeKey(fingerprint=keys.fingerprint(jp_pub), party="JP", own=True,
                      public_key=jp_pub, private_pem=jp_pem, status="active",
                      created_at=now - dt.timedelta(days=1)))
        s.add(NodeKey(fingerprint=keys.fingerprint(ph_pub), party="PH", own=False,
                      public_key=ph_pub, agreement_code="PHJP", status="active",
                      created_at=now - dt.timedelta(days=1)))
        s.add(PartnerProgress(party="PH", acked=3, received=5, ranges="[[8, 9]]",
                              last_export_at=now, last_import_at=now))
        s.add(InboxEvent(event_id="PH-000010", origin="PH", seq=10, kind="order.delivered",
                         subject="PHJP-JP-2026-0002", to_party="JP", at=now.isoformat(),
                         actor="ph-reyes", body="{}", key_fingerprint="x" * 64,
                         signature="y" * 128, bundle_id="b-1", status="pending",
                         waiting_for="PH-000007", received_at=now))
        s.add(Quarantined(event_id="PH-000012", origin="PH", kind="order.accepted",
                          subject="PHJP-JP-2026-0001", error="signature_invalid",
                          reason="the event's signature does not verify", at=now))
        s.add(Conflict(subject="PHJP-JP-2026-0003", winner="JP-000004", loser="PH-000007",
                       rule="a cancel made before the acceptance stands", at=now))
    return ph


def summary_of_ph(world: Engine, ph: Ed25519PrivateKey, **change: Any) -> bytes:
    """PH's signed summary of PHJP as of AS_OF for JP (PH's book: here the same as ours)."""
    with unit_of_work(world) as s:
        doc = rc.export_summary(s, agreement="PHJP", as_of=AS_OF, party_pair=("JP", "PH"))
    pub = ph.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw).hex()
    body = {**doc, "to": "JP", "party": "PH", "signed_at": utcnow().isoformat(), **change}
    signed = {**body, "key": keys.fingerprint(pub),
              "sig": ph.sign(canonical_json(body).encode("utf-8")).hex()}
    return json.dumps(signed).encode()


def upload(client: TestClient, raw: bytes, *, csrf: str | None = None) -> Any:
    token = csrf if csrf is not None else csrf_of(client.get("/sync").text)
    return client.post("/sync/reconcile", data={"csrf_token": token},
                       files={"summary": ("ph-summary.json", raw, "application/json")})


def test_a_shared_database_is_no_node(browser_for: Browser):
    r = browser_for("jp-fin").get("/sync")
    assert r.status_code == 200
    assert 'id="not-a-node"' in r.text and "is not a party" in r.text
    assert 'id="partners"' not in r.text


def test_who_sees_the_sync_page(world: Engine, browser_for: Browser, anonymous: TestClient):
    make_node(world)
    for user in ("jp-fin", "jp-audit", "jp-admin"):
        r = browser_for(user).get("/sync")
        assert r.status_code == 200 and 'id="partners"' in r.text, user
    for user in ("jp-req", "jp-rcv"):  # not finance, audit or administration
        r = browser_for(user).get("/sync")
        assert r.status_code == 403 and 'id="partners"' not in r.text, user
    for user in ("ph-fin", "ph-admin"):  # the partner's people: not on JP's node
        r = browser_for(user).get("/sync")
        assert r.status_code == 403 and "PH-000012" not in r.text, user
    r = anonymous.get("/sync", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    r = anonymous.post("/sync/reconcile", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    audit = browser_for("jp-fin").get("/audit").text
    assert 'href="/sync"' in audit


def test_the_node_status(world: Engine, browser_for: Browser):
    make_node(world)
    page = browser_for("jp-audit").get("/sync").text
    partners = page.split('id="partners"')[1].split("</table>")[0]
    assert "<th scope=\"row\">PH</th>" in partners
    assert ">3<" in partners and ">5<" in partners and "8–9" in partners
    pending = page.split('id="pending"')[1].split("</table>")[0]
    assert "PH-000010" in pending and "PH-000007" in pending and "order.delivered" in pending
    quarantine = page.split('id="quarantine"')[1].split("</table>")[0]
    assert "PH-000012" in quarantine and "signature_invalid" in quarantine
    assert "the event&#39;s signature does not verify" in quarantine
    conflicts = page.split('id="conflicts"')[1].split("</table>")[0]
    assert "PHJP-JP-2026-0003" in conflicts and "JP-000004" in conflicts
    assert "a cancel made before the acceptance stands" in conflicts
    assert "1 waiting" in page
    ja = browser_for("jp-audit", lang="ja").get("/sync").text
    assert "相手国ノードとの同期" in ja and "隔離" in ja and "待機中 1 件" in ja


def test_reconcile_with_a_summary_file(world: Engine, browser_for: Browser):
    ph = make_node(world)
    fin = browser_for("jp-fin")
    raw = summary_of_ph(world, ph)
    r = upload(fin, raw)
    assert r.status_code == 200, r.text
    assert 'id="reconciliation"' in r.text and "The books agree." in r.text
    assert 'id="differences"' not in r.text
    # our book differs from PH's summary: an order's state changed on our side only
    with unit_of_work(world) as s:
        number = s.scalar(select(Order.number).where(Order.agreement_code == "PHJP",
                                                     Order.state == "requested")
                          .order_by(Order.number).limit(1))
        s.execute(update(Order).where(Order.number == number).values(state="cancelled"))
    r = upload(fin, raw)
    assert r.status_code == 200
    assert "The books differ: 1 difference(s)." in r.text
    table = r.text.split('id="differences"')[1].split("</table>")[0]
    assert number in table and "state different" in table and "cancelled" in table
    ja = upload(browser_for("jp-fin", lang="ja"), raw).text
    assert "状態の相違" in ja


@pytest.mark.parametrize("case", ["tampered", "not json", "ours", "empty"])
def test_a_bad_summary_is_refused(world: Engine, browser_for: Browser, case: str):
    ph = make_node(world)
    fin = browser_for("jp-fin")
    raw = summary_of_ph(world, ph)
    if case == "tampered":  # a changed byte: the signature no longer verifies
        doc = json.loads(raw)
        doc["as_of"] = "2026-12-30"
        raw = json.dumps(doc).encode()
    elif case == "not json":
        raw = b"this is no summary"
    elif case == "ours":
        doc = json.loads(raw)
        doc["party"] = "JP"
        raw = json.dumps(doc).encode()
    else:
        raw = b""
    r = upload(fin, raw)
    assert r.status_code in (400, 401, 403, 409, 422), (case, r.status_code)
    assert 'role="alert"' in r.text and 'aria-invalid="true"' in r.text
    assert 'id="reconciliation"' not in r.text


def test_reconcile_needs_the_csrf_token_and_the_role(world: Engine, browser_for: Browser):
    ph = make_node(world)
    raw = summary_of_ph(world, ph)
    fin = browser_for("jp-fin")
    r = upload(fin, raw, csrf="forged")
    assert r.status_code == 403 and 'id="reconciliation"' not in r.text
    req = browser_for("jp-req")
    token = csrf_of(req.get("/orders").text)
    r = upload(req, raw, csrf=token)
    assert r.status_code == 403 and 'id="reconciliation"' not in r.text
