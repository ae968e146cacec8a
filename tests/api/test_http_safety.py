"""What keeps HTTP clients from doing harm by accident or on purpose: Idempotency-Key replays,
If-Match on transitions, CSRF on cookie sessions, bearer tokens that expire and can be revoked,
sign-in throttling then lockout, and malformed requests answered with a 4xx problem naming the
field, with nothing written."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from acsa.db.engine import unit_of_work
from acsa.orders.models import Order
from acsa.settlement.models import SettlementRecord
from acsa.users import service as users
from acsa.users.models import ApiToken
from tests.api.conftest import PASSWORD
from tests.api.helpers import API, line, received_order, refused

STOCK = "9140-00-273-2377"
ORDER = {"agreement": "PHJP", "activity": "TY-RELIEF-CEBU", "order_on": "2026-11-02",
         "delivery_place": "Alava Pier, Subic Bay", "delivery_on": "2026-11-04",
         "fund_citation": "JMSDF FY2026 O&M", "requesting_unit": "JMSDF-DD110",
         "requester_poc": "Lt Cdr Sato, +81 46 822 0000",
         "lines": [{"category": "fuel", "description": "Diesel fuel, marine (F-76)",
                    "stock_number": "9140-00-273-2377", "quantity": "1000", "unit": "L",
                    "unit_price": "70", "method": "cash"}]}


def order_count(engine: Engine) -> int:
    with unit_of_work(engine) as s:
        return s.scalar(select(func.count()).select_from(Order)) or 0


def requested_order(client: Any) -> str:
    r = client.post(f"{API}/orders", json=ORDER)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    r = client.post(f"{API}/orders/{number}/request", json={"on": "2026-11-02"})
    assert r.status_code == 200, r.text
    return number


# --- Idempotency-Key -----------------------------------------------------------------------
def test_a_replayed_key_returns_the_first_order_and_makes_no_second(world, client_for):
    jp = client_for("jp-req")
    before = order_count(world)
    key = {"Idempotency-Key": "create-fuel-order-1"}
    first = jp.post(f"{API}/orders", json=ORDER, headers=key)
    again = jp.post(f"{API}/orders", json=ORDER, headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert order_count(world) == before + 1
    # without the key the same request is a new order: the key is what made it a replay
    assert jp.post(f"{API}/orders", json=ORDER).json()["number"] != first.json()["number"]


def test_a_replayed_payment_is_paid_once(world, client_for):
    [bill] = received_order(world, [line("fuel", "Diesel fuel, marine", "100", "L", "70",
                                          "PHP", "cash", STOCK)])
    jp = client_for("jp-fin")
    pay = {"amount": "1000.00", "currency": "PHP", "on": "2026-11-20"}
    answers = [jp.post(f"{API}/claims/{bill}/payments", json=pay,
                       headers={"Idempotency-Key": "wire-2026-1120-01"}) for _ in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
    assert answers[1].json() == answers[2].json() == answers[0].json()
    claim = jp.get(f"{API}/claims/{bill}").json()
    assert len(claim["settlements"]) == 1
    assert claim["outstanding"] == "6,000.00 PHP"
    with unit_of_work(world) as s:
        paid = s.scalars(select(SettlementRecord).where(
            SettlementRecord.settled_on == dt.date(2026, 11, 20))).all()
        assert [p.applied_minor for p in paid] == [100_000]


def test_a_key_reused_for_another_request_is_refused(world, client_for):
    jp = client_for("jp-req")
    key = {"Idempotency-Key": "order-key-7"}
    assert jp.post(f"{API}/orders", json=ORDER, headers=key).status_code == 201
    other = {**ORDER, "delivery_place": "Pier 3"}
    body = refused(world, jp, "POST", f"{API}/orders", 422, json=other, headers=key)
    assert body["type"].endswith("/IdempotencyKeyReused"), body
    # another path with the same key is another request too
    body = refused(world, jp, "POST", f"{API}/auth/tokens", 422, json={"name": "x"},
                   headers=key)
    assert body["type"].endswith("/IdempotencyKeyReused"), body


def test_a_key_answers_only_the_credential_that_sent_it(world, client_for):
    """Two users sending the same key get their own answers: one user's key never replays
    another's response."""
    key = {"Idempotency-Key": "shared-looking-key"}
    mine = client_for("jp-req").post(f"{API}/auth/tokens", json={"name": "a"}, headers=key)
    theirs = client_for("ph-app").post(f"{API}/auth/tokens", json={"name": "a"}, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["token"] != theirs.json()["token"]
    assert "idempotent-replayed" not in theirs.headers


def test_an_overlong_key_is_refused(world, client_for):
    refused(world, client_for("jp-req"), "POST", f"{API}/orders", 422, json=ORDER,
            headers={"Idempotency-Key": "k" * 201})


# --- If-Match ------------------------------------------------------------------------------
def test_a_stale_if_match_is_412_and_changes_nothing(world, client_for):
    number = requested_order(client_for("jp-req"))
    ph = client_for("ph-app")
    current = ph.get(f"{API}/orders/{number}")
    etag = current.headers["etag"]
    version = current.json()["version"]
    assert etag == f'"v{version}"'
    accept = {"on": "2026-11-03", "supplier_poc": "Lt Reyes", "supplying_unit": "PN-NBSBMA"}
    for stale in (f'"v{version - 1}"', f'W/"v{version - 1}"', str(version + 5)):
        body = refused(world, ph, "POST", f"{API}/orders/{number}/accept", 412, json=accept,
                       headers={"If-Match": stale})
        assert body["type"].endswith("/StaleVersion"), body
        assert ph.get(f"{API}/orders/{number}").json()["state"] == "requested"
    refused(world, ph, "POST", f"{API}/orders/{number}/accept", 422, json=accept,
            headers={"If-Match": '"not-an-etag"'})
    ok = ph.post(f"{API}/orders/{number}/accept", json=accept, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "accepted"
    assert ok.headers["etag"] == f'"v{ok.json()["version"]}"' != etag
    # the ETag it had is stale now
    refused(world, client_for("jp-req"), "POST", f"{API}/orders/{number}/cancel", 412,
            json={"reason": "late", "on": "2026-11-04"}, headers={"If-Match": etag})


def test_a_stale_if_match_on_an_edit_is_412(world, client_for):
    jp = client_for("jp-req")
    created = jp.post(f"{API}/orders", json=ORDER)
    number, etag = created.json()["number"], created.headers["etag"]
    assert jp.patch(f"{API}/orders/{number}", json={"delivery_place": "Pier 4"},
                    headers={"If-Match": etag}).status_code == 200
    refused(world, jp, "PATCH", f"{API}/orders/{number}", 412,
            json={"delivery_place": "Pier 5"}, headers={"If-Match": etag})
    assert jp.get(f"{API}/orders/{number}").json()["delivery_place"] == "Pier 4"


# --- CSRF ----------------------------------------------------------------------------------
def test_a_cookie_session_change_needs_its_csrf_token(world, client_for):
    jp = client_for("jp-req")
    token = jp.headers.pop("X-CSRF-Token")
    body = refused(world, jp, "POST", f"{API}/orders", 403, json=ORDER)
    assert "csrf" in body["detail"].lower(), body
    refused(world, jp, "POST", f"{API}/orders", 403, json=ORDER,
            headers={"X-CSRF-Token": token[:-2] + "xx"})
    refused(world, jp, "PATCH", f"{API}/orders/PHJP-PH-2026-0003", 403,
            json={"delivery_place": "x"})
    # another user's token is no good either
    other = client_for("ph-app").headers["X-CSRF-Token"]
    refused(world, jp, "POST", f"{API}/orders", 403, json=ORDER,
            headers={"X-CSRF-Token": other})
    assert jp.get(f"{API}/orders").status_code == 200  # reads need no token
    assert jp.post(f"{API}/orders", json=ORDER,
                   headers={"X-CSRF-Token": token}).status_code == 201


# --- bearer tokens -------------------------------------------------------------------------
def test_bearer_tokens_work_until_revoked_or_expired(world, client_for, anonymous):
    jp = client_for("jp-req")
    made = jp.post(f"{API}/auth/tokens", json={"name": "ci", "days": 1}).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert anonymous.get(f"{API}/auth/me", headers=bearer).json()["username"] == "jp-req"
    # a bearer request is not a cookie session: no CSRF token needed
    assert anonymous.post(f"{API}/orders", json=ORDER, headers=bearer).status_code == 201
    assert jp.delete(f"{API}/auth/tokens/{made['id']}").json()["revoked_at"]
    body = refused(world, anonymous, "GET", f"{API}/auth/me", 401, headers=bearer)
    assert "revoked" in body["detail"]

    later = jp.post(f"{API}/auth/tokens", json={"name": "short"}).json()
    with unit_of_work(world) as s:
        s.execute(update(ApiToken).where(ApiToken.id == later["id"]).values(
            expires_at=users.utcnow() - dt.timedelta(seconds=1)))
    refused(world, anonymous, "GET", f"{API}/orders", 401,
            headers={"Authorization": f"Bearer {later['token']}"})
    for header in ("Bearer acsa_not-a-real-token", "Basic amlwOnB3", "Bearer ", "acsa_x"):
        refused(world, anonymous, "GET", f"{API}/orders", 401,
                headers={"Authorization": header})
    refused(world, anonymous, "GET", f"{API}/orders", 401)


# --- sign-in throttling and lockout --------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_sign_in_is_throttled_then_locked(world, anonymous, monkeypatch: pytest.MonkeyPatch):
    clock = Clock()
    monkeypatch.setattr(users, "utcnow", clock)

    def login(password: str, username: str = "jp-req") -> Any:
        return anonymous.post(f"{API}/auth/login",
                              json={"username": username, "password": password})

    unknown = login("wrong password", username="nobody-at-all")
    wrong = login("wrong password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]  # no hint who exists
    for _ in range(users.THROTTLE_AFTER - 1):
        assert login("wrong password").status_code == 401
    throttled = login(PASSWORD)  # even the right password must wait now
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(throttled.headers["retry-after"]) <= users.THROTTLE_SECONDS
    assert "acsa_session" not in throttled.cookies
    for _ in range(users.LOCK_AFTER - users.THROTTLE_AFTER):
        clock.wait(users.THROTTLE_SECONDS + 1)
        assert login("wrong password").status_code == 401
    clock.wait(users.THROTTLE_SECONDS + 1)
    locked = login(PASSWORD)
    assert locked.status_code == 429 and "locked" in locked.json()["detail"], locked.text
    assert int(locked.headers["retry-after"]) > 60 * (users.LOCK_MINUTES - 1)
    clock.wait(users.LOCK_MINUTES * 60 + 1)
    assert login(PASSWORD).status_code == 200  # the lock ends; the count starts again


# --- malformed requests --------------------------------------------------------------------
def _order(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(ORDER))
    for key, value in changes.items():
        if key.startswith("line_"):
            body["lines"][0][key.removeprefix("line_")] = value
        else:
            body[key] = value
    return body


# (what, request kwargs, status, the field path named in the problem)
MALFORMED: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("bad JSON", {"content": b'{"agreement": "PHJP", ', "headers": {
        "content-type": "application/json"}}, 422, None),
    ("JSON that is not an object", {"json": ["PHJP"]}, 422, None),
    ("an unknown field", {"json": _order(colour="red")}, 422, "colour"),
    ("an unknown field in a line", {"json": _order(line_colour="red")}, 422,
     "lines.0.colour"),
    ("a wrong type", {"json": _order(lines="1000 L of diesel")}, 422, "lines"),
    ("a wrong type in a line", {"json": _order(line_quantity={"value": 1})}, 422,
     "lines.0.quantity"),
    ("a 2 MB body", {"json": _order(notes="x" * 2_000_000)}, 413, None),
    ("a 2 MB body with an Idempotency-Key", {"json": _order(notes="x" * 2_000_000),
                                             "headers": {"Idempotency-Key": "big-1"}},
     413, None),
    ("a bad date", {"json": _order(order_on="2026-02-30")}, 422, "order_on"),
    ("a date that is not a date", {"json": _order(delivery_on="next Tuesday")}, 422,
     "delivery_on"),
    ("a negative quantity", {"json": _order(line_quantity="-5")}, 422, "lines.0.quantity"),
    ("a zero quantity", {"json": _order(line_quantity="0")}, 422, "lines.0.quantity"),
    ("an absurd quantity", {"json": _order(line_quantity="1e30")}, 422, "lines.0.quantity"),
    ("a NaN quantity", {"json": _order(line_quantity="NaN")}, 422, "lines.0.quantity"),
    ("a negative price", {"json": _order(line_unit_price="-1")}, 422, "lines.0.unit_price"),
    ("an unknown currency", {"json": _order(currency="XYZ")}, 422, "currency"),
    ("a currency in lower case", {"json": _order(currency="php")}, 422, "currency"),
    ("an unknown unit", {"json": _order(line_unit="blorps")}, 422, "lines[1].unit"),
    ("no lines", {"json": _order(lines=[])}, 422, "lines"),
    ("a missing field", {"json": {k: v for k, v in ORDER.items() if k != "order_on"}}, 422,
     "order_on"),
]


def test_malformed_orders_are_4xx_naming_the_field_and_write_nothing(world, client_for):
    jp = client_for("jp-req")
    failures = []
    for what, kwargs, status, path in MALFORMED:
        try:
            body = refused(world, jp, "POST", f"{API}/orders", status, **kwargs)
            if path is not None:
                assert path in [e["path"] for e in body.get("errors", [])], body
        except AssertionError as e:
            failures.append(f"{what}: {e}")
    assert not failures, "\n".join(failures)


def test_an_oversize_chunked_body_is_413(world, client_for):
    chunks = iter([b'{"notes": "', b"x" * 2_000_000, b'"}'])
    refused(world, client_for("jp-req"), "POST", f"{API}/orders", 413, content=chunks,
            headers={"content-type": "application/json"})


MALFORMED_ACTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("payments", "jp-fin", {"amount": "100", "currency": "XYZ"}, 422, "currency"),
    ("payments", "jp-fin", {"amount": "-100", "currency": "PHP"}, 422, "amount"),
    ("payments", "jp-fin", {"amount": "1e30", "currency": "PHP"}, 422, "amount"),
    ("payments", "jp-fin", {"amount": "100", "currency": "PHP", "on": "2026-13-01"}, 422,
     "on"),
    ("payments", "jp-fin", {"amount": 100, "currency": ["PHP"]}, 422, "currency"),
]


def test_malformed_acts_are_4xx_naming_the_field_and_write_nothing(world, client_for):
    [bill] = received_order(world, [line("fuel", "Diesel fuel, marine", "100", "L", "70",
                                          "PHP", "cash", STOCK)])
    for action, user, payload, status, path in MALFORMED_ACTS:
        body = refused(world, client_for(user), "POST", f"{API}/claims/{bill}/{action}",
                       status, json=payload)
        assert path in [e["path"] for e in body.get("errors", [])], (payload, body)
    jp = client_for("jp-req")
    number = jp.post(f"{API}/orders", json=ORDER).json()["number"]
    for payload, path in (({"on": "2026-02-30"}, "on"), ({"on": "2026-11-02", "by": "x"}, "by")):
        body = refused(world, jp, "POST", f"{API}/orders/{number}/request", 422, json=payload)
        assert path in [e["path"] for e in body["errors"]], (payload, body)
