"""Sign-in, sign-out, CSRF on every form, redirects, the language choice and static files."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, csrf_of, web_sign_in


def test_pages_redirect_to_sign_in_when_nobody_is_signed_in(anonymous: TestClient):
    for path in ("/", "/orders", "/orders/PHJP-JP-2026-0001?x=1"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/signin?next=/")
    r = anonymous.get("/orders/PHJP-JP-2026-0001", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=/orders/PHJP-JP-2026-0001"
    page = anonymous.get("/signin")
    assert page.status_code == 200
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    assert 'class="skip" href="#main"' in page.text


def test_sign_in_uses_the_api_session_and_sign_out_ends_it(anonymous: TestClient):
    web_sign_in(anonymous, "jp-req", next_path="/orders")
    assert anonymous.cookies.get("acsa_session")
    me = anonymous.get("/api/v1/auth/me")  # the same cookie signs in to the API
    assert me.status_code == 200 and me.json()["username"] == "jp-req"
    dash = anonymous.get("/")
    assert dash.status_code == 200 and "jp-req" in dash.text
    assert dash.headers["cache-control"] == "no-store"
    token = csrf_of(dash.text)

    refused = anonymous.post("/signout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert anonymous.get("/", follow_redirects=False).status_code == 200  # still signed in

    out = anonymous.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert anonymous.get("/", follow_redirects=False).status_code == 303
    assert anonymous.get("/api/v1/auth/me").status_code == 401


def test_sign_in_redirects_only_within_the_site(anonymous: TestClient):
    form = anonymous.get("/signin")
    r = anonymous.post("/signin", data={"username": "jp-req", "password": PASSWORD,
                                        "csrf_token": csrf_of(form.text),
                                        "next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_wrong_password_is_refused_then_throttled(anonymous: TestClient):
    for _ in range(3):
        form = anonymous.get("/signin")
        r = anonymous.post("/signin", data={"username": "jp-req", "password": "wrong" * 3,
                                            "csrf_token": csrf_of(form.text)})
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
        assert 'value="jp-req"' in r.text
        assert not anonymous.cookies.get("acsa_session")
    form = anonymous.get("/signin")
    r = anonymous.post("/signin", data={"username": "jp-req", "password": PASSWORD,
                                        "csrf_token": csrf_of(form.text)})
    assert r.status_code == 429  # even the right password waits after 3 failures
    assert "Too many failed sign-ins" in r.text


def test_the_sign_in_form_needs_its_csrf_token(anonymous: TestClient):
    anonymous.get("/signin")
    r = anonymous.post("/signin", data={"username": "jp-req", "password": PASSWORD,
                                        "csrf_token": "not-the-cookie"}, follow_redirects=False)
    assert r.status_code == 403
    assert not anonymous.cookies.get("acsa_session")


def test_the_language_is_chosen_and_remembered(anonymous: TestClient):
    r = anonymous.get("/language", params={"lang": "ja", "next": "/signin"},
                      follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert anonymous.cookies.get("acsa_lang") == "ja"
    page = anonymous.get("/signin")
    assert '<html lang="ja">' in page.text and "サインイン" in page.text
    anonymous.get("/language", params={"lang": "fil", "next": "https://evil.example/"})
    page = anonymous.get("/signin")
    assert '<html lang="fil">' in page.text and "Mag-sign in" in page.text
    anonymous.get("/language", params={"lang": "xx"})  # unknown: the choice stays
    assert '<html lang="fil">' in anonymous.get("/signin").text


def test_the_browser_language_is_used_until_one_is_chosen(anonymous: TestClient):
    page = anonymous.get("/signin", headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"})
    assert '<html lang="ja">' in page.text
    page = anonymous.get("/signin", headers={"Accept-Language": "de-DE,de"})
    assert '<html lang="en">' in page.text


def test_static_files_and_the_japanese_font_are_served_with_cache_headers(
        anonymous: TestClient):
    page = anonymous.get("/signin").text
    css_url = page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert css_url.startswith("/static/app.css?v=")
    css = anonymous.get(css_url)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "max-age=31536000" in css.headers["cache-control"]
    assert "@font-face" in css.text and "/static/fonts/ipaexg.ttf" in css.text
    again = anonymous.get(css_url, headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    font = anonymous.get("/static/fonts/ipaexg.ttf")
    assert font.status_code == 200 and font.headers["content-type"] == "font/ttf"
    assert font.content[:4] == b"\x00\x01\x00\x00" and len(font.content) > 1_000_000
    assert "max-age" in font.headers["cache-control"]
    assert anonymous.get("/static/../app.py").status_code == 404
    assert anonymous.get("/static/nothing.css").status_code == 404
