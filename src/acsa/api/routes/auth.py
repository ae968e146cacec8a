"""Sign-in, sign-out, who am I, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from acsa.api import deps
from acsa.api.schemas import Login, SignedIn, TokenCreate, TokenOut
from acsa.users import service as users
from acsa.users.models import ApiToken, User
from acsa.users.service import Viewer

router = APIRouter(prefix="/auth", tags=["auth"])


def _signed_in(v: Viewer, csrf: str | None = None) -> SignedIn:
    return SignedIn(username=v.username, party=v.party, official=v.official, role=v.role,
                    is_admin=v.is_admin, csrf_token=csrf)


@router.post("/login", response_model=SignedIn)
def login(body: Login, request: Request, response: Response) -> SignedIn:
    """Sign in with a password: sets the session cookie and returns the CSRF token to send
    back in X-CSRF-Token on every change. Repeated failures are throttled, then locked."""
    def go(s: Session) -> tuple[Viewer, str, str] | users.SignInFailed:
        try:
            user = users.authenticate(s, username=body.username, password=body.password)
        except users.SignInFailed as e:
            return e  # commit the failure count, then refuse
        raw, csrf = users.create_session(s, user)
        return users.viewer_of(s, user), raw, csrf
    result = deps.run(request, go)
    if isinstance(result, users.SignInFailed):
        raise result
    viewer, raw, csrf = result
    secure = request.url.scheme == "https" or request.app.state.secure_cookies
    response.set_cookie(deps.SESSION_COOKIE, raw, httponly=True, samesite="strict",
                        secure=secure, max_age=users.SESSION_HOURS * 3600, path="/")
    return _signed_in(viewer, csrf)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, viewer: Viewer = deps.ViewerDep) -> None:
    """End the browser session."""
    raw = request.cookies.get(deps.SESSION_COOKIE)
    if raw:
        deps.run(request, lambda s: users.end_session(s, raw))
    response.delete_cookie(deps.SESSION_COOKIE, path="/")


@router.get("/me", response_model=SignedIn)
def me(viewer: Viewer = deps.ViewerDep) -> SignedIn:
    """The signed-in user, their party and the official they sign as."""
    return _signed_in(viewer)


def _token_out(t: ApiToken, raw: str | None = None) -> TokenOut:
    return TokenOut(id=t.id, name=t.name, prefix=t.prefix, created_at=t.created_at,
                    expires_at=t.expires_at, revoked_at=t.revoked_at, token=raw)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenCreate, request: Request,
                 viewer: Viewer = deps.ViewerDep) -> TokenOut:
    """A bearer token for a system acting as this user. The token is shown only now. A token
    made with a bearer token expires no later than that token, and is revoked with it."""
    def go(s: Session) -> TokenOut:
        user = s.get(User, viewer.user_id)
        assert user is not None
        made_with = s.get(ApiToken, viewer.token_id) if viewer.token_id is not None else None
        token, raw = users.create_token(s, user, name=body.name, days=body.days,
                                        made_with=made_with)
        return _token_out(token, raw)
    return deps.run(request, go)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, viewer: Viewer = deps.ViewerDep) -> list[TokenOut]:
    """This user's tokens (never the secrets)."""
    def go(s: Session) -> list[TokenOut]:
        user = s.get(User, viewer.user_id)
        assert user is not None
        return [_token_out(t) for t in users.list_tokens(s, user)]
    return deps.run(request, go)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, request: Request, viewer: Viewer = deps.ViewerDep) -> TokenOut:
    """Revoke a token at once."""
    def go(s: Session) -> TokenOut:
        user = s.get(User, viewer.user_id)
        assert user is not None
        return _token_out(users.revoke_token(s, user, token_id))
    return deps.run(request, go)
