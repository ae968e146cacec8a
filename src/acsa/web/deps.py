"""What every page shares: who is signed in (the API's `acsa_session` cookie), the session's
CSRF token checked on every form, the user's language, rendering, and how a refusal by the
services is shown on a page.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from acsa import errors
from acsa.api import deps as api_deps
from acsa.api.problems import STATUS
from acsa.parties.models import Official
from acsa.users import service as users
from acsa.users.service import Viewer
from acsa.web import error_text, i18n

SESSION_COOKIE = api_deps.SESSION_COOKIE
PRE_CSRF_COOKIE = "acsa_signin_csrf"  # double-submit token of the sign-in form (no session yet)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold the party's books: never cached
}


class NeedsSignIn(Exception):
    """Raised by `page` when nobody is signed in; the app turns it into a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    pass


@dataclass(frozen=True)
class Page:
    """The signed-in user as a page sees them."""

    viewer: Viewer
    csrf: str
    lang: str
    official_name: str | None


def lang_of(request: Request) -> str:
    return i18n.pick(request.cookies.get(i18n.LANG_COOKIE),
                     request.headers.get("accept-language"))


def page(request: Request) -> Page:
    """The signed-in user of this request, or NeedsSignIn."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        with api_deps.transaction(request, read_only=True) as s:
            found = users.resolve_session(s, raw)
            if found is not None:
                user, ws = found
                viewer = users.viewer_of(s, user)
                name = None
                if user.official_id:
                    off = s.get(Official, user.official_id)
                    name = off.name if off else None
                return Page(viewer, ws.csrf_token, lang_of(request), name)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise NeedsSignIn(target)


def check_csrf(sent: str | None, expected: str | None) -> None:
    """Constant-time, as bytes: `compare_digest` raises TypeError on non-ASCII text."""
    if not sent or not expected or not hmac.compare_digest(
            sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")):
        raise CsrfRefused()


def safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or target.startswith("/api/"):
        return "/"
    return target


def signin_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={quote(safe_next(next_path), safe='/')}",
                            status_code=303)


def render(request: Request, template: str, context: dict[str, Any], *, lang: str,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    env = i18n.environment(lang)
    body = env.get_template(template).render(request_path=request.url.path, **context)
    response = HTMLResponse(body, status_code=status)
    for key, value in {**SECURITY_HEADERS, **(headers or {})}.items():
        response.headers[key] = value
    response.headers["Content-Language"] = lang
    return response


def new_token() -> str:
    return secrets.token_urlsafe(32)


# --- a refusal, as a person reads it -------------------------------------------------------
def refusal(e: errors.AcsaError) -> dict[str, Any]:
    """What a page shows for a domain error: a lead-in by its kind (the template translates
    it); `said`, the refusal in each language (`said[lang]`: its sentence filled with the
    error's values, its hint and the field concerned, from `web.error_text`); the service's own
    message and hint in English (for support staff, and in place of the sentence for a class
    without one); and the HTTP status the API would give."""
    status = STATUS.get(e.kind, 400)
    if isinstance(e, errors.StaleVersion):
        status = 409
    return {"kind": e.kind, "code": e.code, "message": e.message, "hint": e.hint or "",
            "status": status, "said": error_text.said(e)}


def respond_error(request: Request, p: Page, e: errors.AcsaError, *,
                  status: int | None = None) -> Response:
    info = refusal(e)
    return render(request, "error.html", {"p": p, "error": info}, lang=p.lang,
                  status=status or info["status"])
