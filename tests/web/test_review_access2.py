"""Access defects a second review found (users, sessions, API tokens), each with the test that
failed before its fix. SQLite and PostgreSQL, through the web and API fixtures.

Decisions these tests hold:
- An administrator's password reset ends every browser session of the user and revokes every
  API token of the user: a reset is what an administrator does when an account may be in
  other hands, and a token made with the old password is that account's access too.
- A user's own password change (the service `users.change_password`) ends the user's other
  browser sessions and revokes all the user's API tokens; the session that made the change
  stays signed in.
- A token made with a bearer token expires no later than the token that made it, and is
  revoked with it: a token cannot make itself last longer than it was given.
- Disabling a user also revokes the user's API tokens: enabling the account again does not
  bring back tokens nobody re-issued.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from acsa import errors
from acsa.audit.models import Event
from acsa.db.engine import unit_of_work
from acsa.users import service as users
from acsa.users.models import ApiToken, WebSession
from tests.web.conftest import PASSWORD, csrf_of, web_sign_in
from tests.web.test_admin import invalid_fields

Browser = Callable[..., TestClient]
API = "/api/v1"
NEW_PASSWORD = "a brand new passphrase here"


def _post_form(client: TestClient, path: str, data: dict[str, Any], form_path: str) -> Any:
    page = client.get(form_path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=False)


def _token(api: TestClient, **body: Any) -> dict[str, Any]:
    r = api.post(f"{API}/auth/tokens", json={"name": "review", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _bearer_status(app: Any, token: str) -> int:
    with TestClient(app) as c:
        return c.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


# --- 1. a password reset by an administrator -------------------------------------------------
def test_an_administrators_password_reset_revokes_the_users_tokens_and_sessions(
        browser_for: Browser, api_for, app: Any, world: Engine):
    """The web reset ended the user's browser sessions but kept every API token valid: whoever
    held the account before the reset kept its access through a token made with it."""
    victim_api = api_for("ph-rcv")
    token = _token(victim_api)["token"]
    victim_web = browser_for("ph-rcv")
    assert _bearer_status(app, token) == 200

    admin = browser_for("ph-admin")
    r = _post_form(admin, "/admin/accounts/ph-rcv/password",  # refused: changes nothing
                   {"password": NEW_PASSWORD, "password_again": "something else entirely"},
                   "/admin/accounts/ph-rcv")
    assert r.status_code == 422, r.text
    assert _bearer_status(app, token) == 200
    r = _post_form(admin, "/admin/accounts/ph-rcv/password",
                   {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                   "/admin/accounts/ph-rcv")
    assert r.status_code == 303, r.text

    assert _bearer_status(app, token) == 401
    assert victim_api.get(f"{API}/auth/me").status_code == 401
    assert victim_web.get("/orders", follow_redirects=False).status_code == 303
    with unit_of_work(world, read_only=True) as s:
        user = users.get_user(s, "ph-rcv")
        tokens = list(s.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))
        assert tokens and all(t.revoked_at is not None for t in tokens)
        assert not list(s.scalars(select(WebSession).where(WebSession.user_id == user.id)))
        revoked = list(s.scalars(select(Event).where(
            Event.action == "token.revoked", Event.subject == "user:ph-rcv")))
        assert [(e.actor, json.loads(e.payload)) for e in revoked] == [
            ("ph-admin", {"token": t.prefix, "reason": "password reset"}) for t in tokens]
    # the user signs in with the new password and makes new tokens
    fresh = web_sign_in(TestClient(app), "ph-rcv", NEW_PASSWORD)
    assert fresh.get("/orders").status_code == 200


# --- 1b. a user's own password change ----------------------------------------------------
def test_a_users_own_password_change_keeps_this_session_and_ends_the_others(
        api_for, app: Any, world: Engine):
    here, elsewhere = api_for("ph-fin"), api_for("ph-fin")
    token = _token(here)["token"]
    raw = here.cookies.get("acsa_session")
    with unit_of_work(world) as s:
        users.change_password(s, users.get_user(s, "ph-fin"), current=PASSWORD,
                              new=NEW_PASSWORD, keep_session=raw)
    assert here.get(f"{API}/auth/me").status_code == 200
    assert elsewhere.get(f"{API}/auth/me").status_code == 401
    assert _bearer_status(app, token) == 401
    with TestClient(app) as c:
        assert c.post(f"{API}/auth/login", json={"username": "ph-fin", "password": PASSWORD}
                      ).status_code == 401
        assert c.post(f"{API}/auth/login", json={"username": "ph-fin",
                                                 "password": NEW_PASSWORD}).status_code == 200


def test_a_password_change_needs_the_current_password_and_the_policy(api_for, app: Any,
                                                                     world: Engine):
    here = api_for("ph-fin")
    token = _token(here)["token"]
    with unit_of_work(world) as s:
        user = users.get_user(s, "ph-fin")
        with pytest.raises(users.SignInFailed):
            users.change_password(s, user, current="not the password at all", new=NEW_PASSWORD)
        with pytest.raises(errors.InvalidInput) as e:
            users.change_password(s, user, current=PASSWORD, new="short")
        assert e.value.field == "new_password"
        with pytest.raises(errors.InvalidInput) as e:
            users.change_password(s, user, current=PASSWORD, new=PASSWORD)
        assert e.value.field == "new_password"
    assert _bearer_status(app, token) == 200
    assert here.get(f"{API}/auth/me").status_code == 200


# --- 2. a token made with a token ------------------------------------------------------------
def test_a_token_made_with_a_bearer_token_does_not_outlive_it(api_for, app: Any):
    """`POST /auth/tokens` with a bearer token made a token of up to 366 days, whatever was
    left of the token that made it, and revoking the maker left it valid: a 1-day token, or a
    leaked one, could renew itself for ever."""
    session = api_for("ph-fin")
    long = _token(session, days=366)  # a person in a browser session gets the days asked
    assert dt.datetime.fromisoformat(long["expires_at"]) - \
        dt.datetime.fromisoformat(long["created_at"]) == dt.timedelta(days=366)
    parent = _token(session, days=1)
    parent_ends = dt.datetime.fromisoformat(parent["expires_at"])
    with TestClient(app) as bearer:
        bearer.headers["Authorization"] = f"Bearer {parent['token']}"
        r = bearer.post(f"{API}/auth/tokens", json={"name": "child", "days": 366})
        assert r.status_code == 201, r.text
        child = r.json()
        assert dt.datetime.fromisoformat(child["expires_at"]) <= parent_ends
        # a grandchild of the child is held to the same end
        bearer.headers["Authorization"] = f"Bearer {child['token']}"
        r = bearer.post(f"{API}/auth/tokens", json={"name": "grandchild", "days": 366})
        assert r.status_code == 201, r.text
        grandchild = r.json()
        assert dt.datetime.fromisoformat(grandchild["expires_at"]) <= parent_ends
    # revoking the token that made them revokes them: a leaked token's offspring end with it
    assert session.delete(f"{API}/auth/tokens/{parent['id']}").status_code == 200
    for made in (parent, child, grandchild):
        assert _bearer_status(app, made["token"]) == 401
    assert _bearer_status(app, long["token"]) == 200  # not made with it: stays
    listed = {t["id"]: t for t in session.get(f"{API}/auth/tokens").json()}
    assert listed[child["id"]]["revoked_at"] and listed[grandchild["id"]]["revoked_at"]
    assert listed[long["id"]]["revoked_at"] is None


# --- 3. disabling a user ---------------------------------------------------------------------
def test_disabling_a_user_revokes_the_tokens_so_enabling_does_not_bring_them_back(
        browser_for: Browser, api_for, app: Any):
    """Disabling blocked tokens only while the account was disabled: enabling it again made
    every old token valid again, including one an intruder had made."""
    token = _token(api_for("ph-req"))["token"]
    admin = browser_for("ph-admin")
    for action in ("disable", "enable"):
        r = _post_form(admin, f"/admin/accounts/ph-req/{action}", {}, "/admin/accounts/ph-req")
        assert r.status_code == 303, r.text
    assert _bearer_status(app, token) == 401


# --- 4. a CSRF token that is not ASCII ------------------------------------------------------
@pytest.mark.parametrize("path", ["/signin", "/signout", "/admin/accounts/ph-req/disable"])
def test_a_csrf_token_outside_ascii_is_refused_not_a_server_error(browser_for: Browser,
                                                                 app: Any, path: str):
    """The web compared CSRF tokens as text with `hmac.compare_digest`, which raises
    TypeError for non-ASCII text: a form sent with `csrf_token=é` (or a forged pre-sign-in
    cookie) was a 500 instead of the 403 refusal, on every form of the site."""
    admin = browser_for("ph-admin")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.update(admin.cookies)
        c.cookies.set("acsa_signin_csrf", "x", path="/signin")
        r = c.post(path, data={"csrf_token": "é", "username": "ph-admin",
                               "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403, r.text
    assert admin.get("/admin/accounts/ph-req").status_code == 200  # still signed in


# --- 5. a password no sign-in accepts ---------------------------------------------------------
def test_a_password_longer_than_sign_in_accepts_is_refused_when_set(browser_for: Browser,
                                                                   app: Any, world: Engine):
    """The password policy had no upper bound, but the API's sign-in takes at most 200
    characters: an administrator's reset (or `acsa users add`) to a 201-character password
    was accepted and left the user unable to sign in to the API at all (422)."""
    long = ("correct horse battery staple " * 7).strip()  # 202 characters
    admin = browser_for("ph-admin")
    r = _post_form(admin, "/admin/accounts/ph-rcv/password",
                   {"password": long, "password_again": long}, "/admin/accounts/ph-rcv")
    assert r.status_code == 422, r.text
    assert invalid_fields(r.text) == {"password"} and "200" in r.text
    with TestClient(app) as c:  # nothing changed: the old password still signs in
        assert c.post(f"{API}/auth/login", json={"username": "ph-rcv", "password": PASSWORD}
                      ).status_code == 200
    with unit_of_work(world) as s, pytest.raises(errors.InvalidInput) as e:
        users.add_user(s, username="ph-long", password=long, party="PH")
    assert e.value.field == "password"
