"""The /webhooks routes: administrators of a party manage its own subscriptions only, the
secret is never returned, the delivery log and the test ping work end to end."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from acsa.api.app import create_app
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.users import service as users
from acsa.webhooks.delivery import deliver_due
from tests.webhooks.conftest import SECRET, Recorder, later

PASSWORD = "correct horse battery staple"
BASE = "/api/v1/webhooks"


@pytest.fixture
def api(world):
    tokens = {}
    with unit_of_work(world) as s:
        for name, party, admin in (("jp-admin", "JP", True), ("jp-clerk", "JP", False),
                                   ("ph-admin", "PH", True)):
            user = users.add_user(s, username=name, password=PASSWORD, party=party,
                                  is_admin=admin)
            tokens[name] = {"Authorization": f"Bearer {users.create_token(s, user, name='t')[1]}"}
    return TestClient(create_app(world)), tokens


def _add(client, headers, url="https://jp.example/acsa", description="JP logistics cell"):
    return client.post(BASE, headers=headers, json={"url": url, "secret": SECRET,
                                                    "description": description})


def test_an_admin_subscribes_and_the_secret_is_never_shown(api, world):
    client, tok = api
    r = _add(client, tok["jp-admin"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["party"] == "JP" and body["active"] and "secret" not in body
    assert r.headers["location"].endswith(f"/webhooks/{body['id']}")
    listed = client.get(BASE, headers=tok["jp-admin"])
    assert [w["id"] for w in listed.json()] == [body["id"]]
    assert SECRET not in r.text + listed.text
    with unit_of_work(world) as s:
        [added] = s.scalars(select(Event).where(Event.action == "webhook.added")).all()
        assert added.party == "JP" and SECRET not in added.payload


def test_only_admins_of_the_party_see_and_change_its_subscriptions(api):
    client, tok = api
    sub = _add(client, tok["jp-admin"]).json()["id"]
    assert _add(client, tok["jp-clerk"]).status_code == 403
    assert client.get(BASE, headers=tok["jp-clerk"]).status_code == 403
    assert client.get(BASE, headers=tok["ph-admin"]).json() == []
    for method, path in (("delete", f"/{sub}"), ("get", f"/{sub}/deliveries"),
                         ("post", f"/{sub}/test")):
        assert client.request(method, BASE + path, headers=tok["ph-admin"]).status_code == 404
    assert client.get(BASE).status_code == 401


def test_bad_urls_and_short_secrets_are_refused(api):
    client, tok = api
    assert _add(client, tok["jp-admin"], url="ftp://jp.example/x").status_code == 422
    r = client.post(BASE, headers=tok["jp-admin"],
                    json={"url": "https://jp.example/x", "secret": "short"})
    assert r.status_code == 422


def test_ping_then_the_delivery_log(api, world):
    client, tok = api
    sub = _add(client, tok["jp-admin"]).json()["id"]
    r = client.post(f"{BASE}/{sub}/test", headers=tok["jp-admin"])
    assert r.status_code == 202, r.text
    assert (r.json()["action"], r.json()["status"]) == ("webhook.ping", "pending")

    receiver = Recorder(respond=lambda req: httpx.Response(410, text="gone"))
    assert deliver_due(world, now=later(), client=receiver.client()) == 1
    assert receiver.requests[0].headers["x-acsa-event"] == "webhook.ping"
    page = client.get(f"{BASE}/{sub}/deliveries", headers=tok["jp-admin"]).json()
    assert page["total"] == 1 and page["page"] == 1
    [d] = page["items"]
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, 410)
    assert [(a["attempt"], a["status_code"], a["error"]) for a in d["log"]] == [
        (1, 410, "HTTP 410: gone")]
    failed = client.get(f"{BASE}/{sub}/deliveries?status=failed", headers=tok["jp-admin"])
    assert failed.json()["total"] == 0


def test_deleting_deactivates(api):
    client, tok = api
    sub = _add(client, tok["jp-admin"]).json()["id"]
    client.post(f"{BASE}/{sub}/test", headers=tok["jp-admin"])
    assert client.delete(f"{BASE}/{sub}", headers=tok["jp-admin"]).status_code == 204
    assert client.delete(f"{BASE}/{sub}", headers=tok["jp-admin"]).status_code == 204
    [w] = client.get(BASE, headers=tok["jp-admin"]).json()
    assert not w["active"] and w["deactivated_at"]
    log = client.get(f"{BASE}/{sub}/deliveries", headers=tok["jp-admin"]).json()["items"]
    assert [d["status"] for d in log] == ["failed"]
    assert client.post(f"{BASE}/{sub}/test", headers=tok["jp-admin"]).status_code == 409
