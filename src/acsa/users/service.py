"""Users and sign-in: argon2id passwords, throttling and lockout, sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit import service as audit
from acsa.audit.models import Event
from acsa.db.base import utcnow
from acsa.parties import service as parties
from acsa.parties.models import Official
from acsa.users.models import ApiToken, User, WebSession

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12
MAX_PASSWORD = 200  # what sign-in accepts (`api.schemas.Login`): a longer one could never sign in
THROTTLE_AFTER = 3  # failures before each further try must wait
THROTTLE_SECONDS = 5
LOCK_AFTER = 6
LOCK_MINUTES = 15
SESSION_HOURS = 12


class SignInFailed(errors.AcsaError):
    kind = "unauthenticated"


class SignInThrottled(errors.AcsaError):
    kind = "throttled"


@dataclass(frozen=True)
class Viewer:
    """Who is asking: what every API read is scoped by and every action is checked against."""

    user_id: int
    username: str
    party: str
    official: str | None  # the official code this user signs as
    role: str | None  # that official's role
    is_admin: bool
    token_id: int | None = None  # the API token of this request; None for a browser session

    @property
    def is_auditor(self) -> bool:
        return self.role == "auditor"


def viewer_of(session: Session, user: User, token: ApiToken | None = None) -> Viewer:
    official = session.get(Official, user.official_id) if user.official_id else None
    return Viewer(user.id, user.username, user.party_code, official.code if official else None,
                  official.role if official else None, user.is_admin,
                  token.id if token is not None else None)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise errors.InvalidInput(f"a password needs at least {MIN_PASSWORD} characters",
                                  field="password")
    if len(password) > MAX_PASSWORD:
        raise errors.InvalidInput(f"a password has at most {MAX_PASSWORD} characters",
                                  field="password", hint="Sign-in takes no longer password.")
    if password.strip() != password or len(set(password)) < 5:
        raise errors.InvalidInput("the password is too simple", field="password",
                                  hint="Use a long passphrase without leading or trailing spaces.")


def add_user(session: Session, *, username: str, password: str, party: str,
             official: str | None = None, is_admin: bool = False, display_name: str = "",
             actor: str = "admin") -> User:
    if not username.strip() or len(username) > 40 or any(c.isspace() for c in username) \
            or "\x00" in username:
        raise errors.InvalidInput("a username is 1-40 characters without spaces",
                                  field="username")
    check_password_policy(password)
    party_row = parties.get_party(session, party)
    official_row = None
    if official:
        official_row = parties.get_official(session, official)
        if official_row.party_code != party_row.code:
            raise errors.WrongParty(f"official {official} acts for {official_row.party_code}, "
                                    f"not {party_row.code}", field="official")
    if session.scalar(select(User).where(User.username == username)):
        raise errors.AlreadyExists(f"user {username!r} already exists", field="username")
    user = User(username=username, display_name=display_name or username,
                party_code=party_row.code, official_id=official_row.id if official_row else None,
                is_admin=is_admin, password_hash=HASHER.hash(password), created_at=utcnow())
    session.add(user)
    session.flush()
    audit.append(session, party=party_row.code, actor=actor, action="user.added",
                 subject=f"user:{username}",
                 payload={"official": official, "is_admin": is_admin})
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise errors.NotFound(f"no user {username!r}", field="username")
    return user


def list_users(session: Session, party: str | None = None) -> list[User]:
    stmt = select(User).order_by(User.party_code, User.username)
    if party:
        stmt = stmt.where(User.party_code == party)
    return list(session.scalars(stmt))


def authenticate(session: Session, *, username: str, password: str,
                 now: dt.datetime | None = None) -> User:
    """The user, if the password is right and the account is not locked or throttled.
    Failures are counted on the account (its row locked for the attempt); the same message is
    given for an unknown user."""
    now = now or utcnow()
    # the account's row is held until this attempt is counted: sign-ins sent at the same time
    # each see the failures before them (else all read one count, all had their password
    # checked and one failure was counted, so throttling and the lockout never started)
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None or user.disabled:
        HASHER.hash(password)  # spend the same time as a real check
        raise SignInFailed("wrong username or password")
    if user.locked_until and user.locked_until > now:
        raise SignInThrottled(
            f"too many failed sign-ins: locked until {user.locked_until:%H:%M} UTC",
            retry_after=int((user.locked_until - now).total_seconds()) + 1)
    if (user.failed_logins >= THROTTLE_AFTER and user.last_failed_at
            and (now - user.last_failed_at).total_seconds() < THROTTLE_SECONDS):
        wait = THROTTLE_SECONDS - int((now - user.last_failed_at).total_seconds())
        raise SignInThrottled(f"too many failed sign-ins: wait {wait} s", retry_after=wait)
    try:
        HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        user.last_failed_at = now
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        session.flush()
        raise SignInFailed("wrong username or password") from None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return user


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_session(session: Session, user: User) -> tuple[str, str]:
    """A new browser session: (cookie value, CSRF token)."""
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(id_hash=_sha(raw), user_id=user.id, csrf_token=csrf, created_at=now,
                           expires_at=now + dt.timedelta(hours=SESSION_HOURS)))
    session.flush()
    return raw, csrf


def resolve_session(session: Session, raw: str) -> tuple[User, WebSession] | None:
    ws = session.get(WebSession, _sha(raw))
    if ws is None or ws.expires_at <= utcnow():
        return None
    user = session.get(User, ws.user_id)
    if user is None or user.disabled:
        return None
    return user, ws


def end_session(session: Session, raw: str) -> None:
    ws = session.get(WebSession, _sha(raw))
    if ws is not None:
        session.delete(ws)
        session.flush()


def create_token(session: Session, user: User, *, name: str, days: int = 90,
                 made_with: ApiToken | None = None) -> tuple[ApiToken, str]:
    """A new API token of `user` for `days` days. One made with another token (`made_with`,
    the bearer token of the request) expires when that token does, if sooner, and is revoked
    with it (`revoke_token`): a token cannot make itself, or a successor, last longer than it
    was given. Which token made which is recorded in the `token.created` audit event, the
    token table having no column for it."""
    if not 1 <= days <= 366:
        raise errors.InvalidInput("a token lives 1 to 366 days", field="days")
    raw = "acsa_" + secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + dt.timedelta(days=days)
    payload: dict[str, object] = {"days": days}
    if made_with is not None:
        if made_with.user_id != user.id:
            raise errors.InvalidInput("a token makes tokens of its own user only",
                                      field="token")
        expires = min(expires, made_with.expires_at)
        payload["made_with"] = made_with.prefix  # revoking it revokes this one too
    token = ApiToken(user_id=user.id, name=name or "token", prefix=raw[:12],
                     token_hash=_sha(raw), created_at=now, expires_at=expires)
    session.add(token)
    session.flush()
    audit.append(session, party=user.party_code, actor=user.username, action="token.created",
                 subject=f"user:{user.username}", payload={"token": token.prefix, **payload})
    return token, raw


def find_token(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    """The user and the token of a bearer secret, if the token is live and the user enabled."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.disabled:
        return None
    return user, token


def resolve_token(session: Session, raw: str) -> User | None:
    found = find_token(session, raw)
    return found[0] if found else None


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id)))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens, and every live token made with it (or with those)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise errors.NotFound(f"no token {token_id}", field="token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.append(session, party=user.party_code, actor=user.username,
                     action="token.revoked", subject=f"user:{user.username}",
                     payload={"token": token.prefix})
    _revoke_made_with(session, user, token)
    session.flush()
    return token


def _revoke_made_with(session: Session, user: User, token: ApiToken) -> None:
    """Revoke the live tokens `token` made, and the ones they made, as read from the
    `token.created` events of the user (`made_with`: the prefix of the maker)."""
    children: dict[str, list[str]] = {}
    for text in session.scalars(select(Event.payload).where(
            Event.subject == f"user:{user.username}", Event.action == "token.created")):
        made = json.loads(text)
        if made.get("made_with"):
            children.setdefault(made["made_with"], []).append(made["token"])
    found: set[str] = set()
    todo = [token.prefix]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != token.prefix:
                found.add(child)
                todo.append(child)
    if not found:
        return
    now = utcnow()
    for child_token in session.scalars(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.prefix.in_(sorted(found)),
            ApiToken.revoked_at.is_(None), ApiToken.expires_at > now).order_by(ApiToken.id)):
        child_token.revoked_at = now
        audit.append(session, party=user.party_code, actor=user.username,
                     action="token.revoked", subject=f"user:{user.username}",
                     payload={"token": child_token.prefix,
                              "reason": f"made with revoked token {token.prefix}"})


def revoke_all_tokens(session: Session, user: User, *, actor: str, reason: str) -> int:
    """Revoke every live token of `user`, each audited as `token.revoked` with why; how many."""
    now = utcnow()
    live = list(session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > now).order_by(ApiToken.id)))
    for token in live:
        token.revoked_at = now
        audit.append(session, party=user.party_code, actor=actor, action="token.revoked",
                     subject=f"user:{user.username}",
                     payload={"token": token.prefix, "reason": reason})
    session.flush()
    return len(live)


def end_sessions(session: Session, user: User, *, keep: str | None = None) -> None:
    """End every browser session of `user`, except the one whose cookie is `keep`."""
    stmt = delete(WebSession).where(WebSession.user_id == user.id)
    if keep:
        stmt = stmt.where(WebSession.id_hash != _sha(keep))
    session.execute(stmt)
    session.flush()


def change_password(session: Session, user: User, *, current: str, new: str,
                    keep_session: str | None = None) -> User:
    """A user's own change of password. The new one must meet the policy; the current one is
    checked as at sign-in (throttled, each failure counted towards the lockout: a caller
    commits the count before refusing, as the sign-in routes do); the two must differ.
    The user's other browser sessions end and all the user's API tokens are revoked (whoever
    knew the old password may have made some); the session whose cookie is `keep_session`
    (the one making the change) stays signed in."""
    try:
        check_password_policy(new)
    except errors.InvalidInput as e:
        raise errors.InvalidInput(f"new_password: {e.message}", field="new_password",
                                  hint=e.hint) from None
    authenticate(session, username=user.username, password=current)
    if new == current:
        raise errors.InvalidInput("new_password: the new password must differ from the "
                                  "current one", field="new_password")
    user.password_hash = HASHER.hash(new)
    user.failed_logins, user.locked_until, user.last_failed_at = 0, None, None
    end_sessions(session, user, keep=keep_session)
    revoke_all_tokens(session, user, actor=user.username, reason="password changed")
    audit.append(session, party=user.party_code, actor=user.username,
                 action="user.password_changed", subject=f"user:{user.username}", payload={})
    return user
