"""Defects an access review found, each with the test that failed before its fix."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD

Browser = Callable[..., TestClient]
API = "/api/v1"


def test_a_signed_out_session_gets_no_stored_answer_to_its_idempotency_key(app: FastAPI):
    """A stored Idempotency-Key answer was replayed before the session was checked: after
    signing out, the old cookie and key gave back the response again, here the API token's
    secret that is shown only once."""
    with TestClient(app) as c:
        r = c.post(f"{API}/auth/login", json={"username": "ph-fin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        csrf, cookie = r.json()["csrf_token"], c.cookies.get("acsa_session")
        headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "review-token-1"}
        first = c.post(f"{API}/auth/tokens", json={"name": "review"}, headers=headers)
        assert first.status_code == 201, first.text
        secret = first.json()["token"]
        again = c.post(f"{API}/auth/tokens", json={"name": "review"}, headers=headers)
        assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
        assert c.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    with TestClient(app) as stale:
        stale.cookies.set("acsa_session", cookie)
        r = stale.post(f"{API}/auth/tokens", json={"name": "review"}, headers=headers)
        assert r.status_code == 401, r.text
        assert secret not in r.text and "idempotent-replayed" not in r.headers


def test_a_revoked_token_gets_no_stored_answer_to_its_idempotency_key(api_for):
    """The same for a bearer token revoked after its request was stored."""
    api = api_for("ph-fin")
    made = api.post(f"{API}/auth/tokens", json={"name": "review"})
    assert made.status_code == 201, made.text
    token, token_id = made.json()["token"], made.json()["id"]
    with TestClient(api.app) as bearer:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "review-token-2"}
        first = bearer.post(f"{API}/auth/tokens", json={"name": "second"}, headers=headers)
        assert first.status_code == 201, first.text
        assert api.delete(f"{API}/auth/tokens/{token_id}").status_code == 200
        r = bearer.post(f"{API}/auth/tokens", json={"name": "second"}, headers=headers)
        assert r.status_code == 401, r.text
        assert first.json()["token"] not in r.text


def _accepted_order(browser_for: Browser, api_for: Callable[[str], TestClient]) -> str:
    """An order Japan asks of the Philippines, requested and accepted: ready to deliver."""
    from tests.web.test_settle_forms import accepted_order
    return accepted_order(browser_for, api_for, "TY-RELIEF-CEBU", {
        "category": "transportation", "description": "Tug transfer, hours", "quantity": "4",
        "unit": "h", "unit_price": "42000", "method": "cash"})


LONG_NAME = "delivery-slip-" + "x" * 290 + ".pdf"  # 308 characters; the column holds 300


def test_a_delivery_documents_overlong_file_name_is_refused_on_the_page(browser_for: Browser,
                                                                        api_for):
    """The web delivery form stored any file name: 301+ characters were a database error on
    PostgreSQL (a JSON problem naming no field instead of the order page) and stored on
    SQLite. Now refused on both as bad input naming the document, and nothing is written."""
    from tests.web.test_orders import post, state
    number = _accepted_order(browser_for, api_for)
    ph = browser_for("ph-sup")
    r = post(ph, number, "deliver", {"qty_1": "4"},
             files={"document": (LONG_NAME, b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "document" in r.text and "300" in r.text
    assert state(api_for("ph-sup"), number) == "accepted"


def test_an_api_delivery_documents_overlong_file_name_names_the_field(browser_for: Browser,
                                                                      api_for):
    from tests.web.test_orders import state
    number = _accepted_order(browser_for, api_for)
    api = api_for("ph-sup")
    r = api.post(f"{API}/orders/{number}/deliveries", data={"lines": '{"1": "4"}'},
                 files={"document": (LONG_NAME, b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "document"
    assert state(api, number) == "accepted"


def test_a_source_document_with_a_japanese_name_can_be_downloaded(browser_for: Browser,
                                                                    api_for):
    """The download put the stored file name into Content-Disposition as it was: a name
    outside Latin-1 (納品書.pdf, a Japanese delivery slip) made every download of the document
    a 500, from the order page's link too. Now an ASCII fallback and the RFC 5987 name."""
    from urllib.parse import quote
    number = _accepted_order(browser_for, api_for)
    name = "納品書 2026\r\nX-Injected: 1.pdf"
    r = api_for("ph-sup").post(f"{API}/orders/{number}/deliveries", data={"lines": '{"1": "4"}'},
                               files={"document": (name, b"%PDF-1.4 slip\n", "application/pdf")})
    assert r.status_code == 201, r.text
    sha = r.json()["document_sha256"]
    jp = browser_for("jp-req")
    page = jp.get(f"/orders/{number}")
    assert f'href="/api/v1/documents/{sha}"' in page.text
    got = jp.get(f"/api/v1/documents/{sha}")
    assert got.status_code == 200, got.text
    assert got.content == b"%PDF-1.4 slip\n"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"")
    assert "filename*=UTF-8''" + quote("納品書 2026", safe="") in disposition
    assert "x-injected" not in got.headers and "\n" not in disposition


def test_parallel_wrong_passwords_are_all_counted_and_throttled(world, monkeypatch):
    """`authenticate` read the failure count, checked the password, then wrote count + 1
    without holding the user's row: sign-ins sent at the same time all read the same count,
    all had their password checked, and the last write won (one failure counted for eight
    guesses), so throttling and the lockout never started. Now the row is taken for update:
    each attempt sees the failures before it, and those past the third are throttled."""
    import threading
    import time

    from acsa.db.engine import unit_of_work
    from acsa.users import service as users

    checked = []
    hasher = users.HASHER

    class SlowHasher:  # a real argon2 check takes time
        def __getattr__(self, name: str):
            return getattr(hasher, name)

        def verify(self, hash_: str, password: str) -> bool:
            checked.append(password)
            time.sleep(0.3)
            return hasher.verify(hash_, password)
    monkeypatch.setattr(users, "HASHER", SlowHasher())
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        with unit_of_work(world) as s:
            try:
                users.authenticate(s, username="ph-fin", password=f"wrong guess {n}")
            except users.SignInThrottled:
                outcomes.append("throttled")
            except users.SignInFailed:
                outcomes.append("failed")  # committed, as the sign-in routes commit it
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with unit_of_work(world, read_only=True) as s:
        failures = users.get_user(s, "ph-fin").failed_logins
    assert sorted(outcomes) == ["failed"] * 3 + ["throttled"] * 5, outcomes
    assert len(checked) == 3 and failures == 3
