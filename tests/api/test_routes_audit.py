"""The audit chain over HTTP: verification for those who check it, and the events each party
may read."""

from __future__ import annotations

from sqlalchemy import Engine, select, text

from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from tests.api.helpers import API, refused


def test_auditors_finance_and_administrators_verify_the_chain(client_for):
    for user in ("jp-audit", "jp-fin", "ph-admin"):
        r = client_for(user).get(f"{API}/audit/verify")
        assert r.status_code == 200, (user, r.text)
        body = r.json()
        assert body["ok"] is True and body["broken_at"] is None and body["reason"] is None
        assert body["events"] > 100 and len(body["head"]) == 64


def test_others_may_not_verify_the_chain(world, client_for):
    for user in ("jp-req", "ph-sup", "us-app"):
        body = refused(world, client_for(user), "GET", f"{API}/audit/verify", 403)
        assert "auditors" in body["detail"], user


def tamper(engine: Engine, sql: str) -> None:
    """Change an event past the append-only triggers, as an intruder with the database's
    superuser (PostgreSQL) or file (SQLite) would."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text(sql))


def test_a_broken_chain_is_reported_with_where_and_why(world, client_for):
    tamper(world, "UPDATE audit_events SET actor = 'intruder' WHERE seq = 40")
    r = client_for("jp-audit").get(f"{API}/audit/verify")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["ok"], body["broken_at"]) == (False, 40)
    assert "altered" in body["reason"]


def test_a_party_reads_its_own_events_and_those_of_its_orders(world, client_for):
    with unit_of_work(world) as s:
        us_orders = set(s.scalars(select(Order.number).where(
            (Order.requesting_party == "US") | (Order.supplying_party == "US"))))
    us = client_for("us-app").get(f"{API}/audit/events", params={"page_size": 500}).json()
    assert us["total"] == len(us["items"]) > 0
    for e in us["items"]:
        assert e["party"] == "US" or e["subject"] in us_orders, e
    seqs = [e["seq"] for e in us["items"]]
    assert seqs == sorted(seqs)
    jp_order = "PHJP-JP-2026-0001"
    assert client_for("us-app").get(f"{API}/audit/events",
                                    params={"subject": jp_order}).json()["total"] == 0
    jp = client_for("jp-req").get(f"{API}/audit/events", params={
        "subject": jp_order, "order": "desc", "page_size": 3}).json()
    assert len(jp["items"]) == 3 and jp["total"] > 3
    assert jp["items"][0]["seq"] > jp["items"][-1]["seq"]
    assert jp["items"][0]["action"] == "order.closed"
    first = client_for("jp-req").get(f"{API}/audit/events", params={
        "subject": jp_order, "action": "order.created"}).json()["items"]
    assert [e["actor"] for e in first] == ["jp-sato"]
    assert first[0]["prev_hash"] != first[0]["hash"]


def test_bad_event_queries_are_422(client_for):
    jp = client_for("jp-req")
    for params in ({"page": "x"}, {"page_size": 0}, {"order": "sideways"},
                   {"subject": "s" * 61}, {"subject": "PHJP\x00"}, {"action": "a\nb"}):
        assert jp.get(f"{API}/audit/events", params=params).status_code == 422, params


def test_the_audit_chain_needs_a_signed_in_user(anonymous):
    for path in ("verify", "events"):
        assert anonymous.get(f"{API}/audit/{path}").status_code == 401, path
