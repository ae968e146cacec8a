"""Sign-in, sign-out and the language choice.

Sign-in reuses `users.authenticate` (argon2id, throttling, lockout) and `users.create_session`,
and sets the same `acsa_session` cookie as the API. The sign-in form has no session yet, so it
carries a double-submit token: a random value in a SameSite=Strict cookie and in the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from acsa.api import deps as api_deps
from acsa.users import service as users
from acsa.web import deps, i18n

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(request.app.state.secure_cookies)


def _signin_page(request: Request, *, next_path: str, username: str = "",
                 error: str | None = None, retry_after: int | None = None,
                 status: int = 200) -> Response:
    token = deps.new_token()
    lang = deps.lang_of(request)
    response = deps.render(request, "signin.html", {
        "p": None, "csrf": token, "next": deps.safe_next(next_path), "username": username,
        "error": error, "retry_after": retry_after}, lang=lang, status=status)
    response.set_cookie(deps.PRE_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), max_age=3600, path="/signin")
    return response


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:  # noqa: A002
    return _signin_page(request, next_path=next)


@router.post("/signin")
def signin(request: Request, username: Annotated[str, Form(max_length=200)] = "",
           password: Annotated[str, Form(max_length=1000)] = "",
           csrf_token: Annotated[str, Form(max_length=200)] = "",
           next: Annotated[str, Form(max_length=2000)] = "/") -> Response:  # noqa: A002
    try:
        deps.check_csrf(csrf_token, request.cookies.get(deps.PRE_CSRF_COOKIE))
    except deps.CsrfRefused:
        return _signin_page(request, next_path=next, username=username, error="csrf",
                            status=403)

    def go(s: Session) -> tuple[str, str] | users.SignInFailed | users.SignInThrottled:
        try:
            user = users.authenticate(s, username=username, password=password)
        except (users.SignInFailed, users.SignInThrottled) as e:
            return e  # commit the failure count, then refuse
        return users.create_session(s, user)
    result = api_deps.run(request, go)
    if isinstance(result, users.SignInThrottled):
        return _signin_page(request, next_path=next, username=username, error="throttled",
                            retry_after=result.details.get("retry_after"), status=429)
    if isinstance(result, users.SignInFailed):
        return _signin_page(request, next_path=next, username=username, error="failed",
                            status=401)
    raw, _csrf = result
    response = RedirectResponse(deps.safe_next(next), status_code=303)
    response.set_cookie(deps.SESSION_COOKIE, raw, httponly=True, samesite="strict",
                        secure=_secure(request), max_age=users.SESSION_HOURS * 3600, path="/")
    response.delete_cookie(deps.PRE_CSRF_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request,
            csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        p = deps.page(request)
    except deps.NeedsSignIn:
        return RedirectResponse("/signin", status_code=303)
    try:
        deps.check_csrf(csrf_token, p.csrf)
    except deps.CsrfRefused:
        return deps.render(request, "error.html", {"p": p, "csrf_refused": True},
                           lang=p.lang, status=403)
    raw = request.cookies.get(deps.SESSION_COOKIE)
    if raw:
        api_deps.run(request, lambda s: users.end_session(s, raw))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(deps.SESSION_COOKIE, path="/")
    return response


@router.get("/language")
def language(request: Request, lang: str = "en", next: str = "/") -> Response:  # noqa: A002
    """Remember the chosen language (a cookie for a year) and go back to the page."""
    response = RedirectResponse(deps.safe_next(next), status_code=303)
    if lang in i18n.LANGS:
        response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/",
                            samesite="lax", secure=_secure(request))
    return response
