"""Users and sign-in: argon2id passwords, throttling and lockout, sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit import service as audit
from acsa.db.base import utcnow
from acsa.parties import service as parties
from acsa.parties.models import Official
from acsa.users.models import ApiToken, User, WebSession

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12
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

    @property
    def is_auditor(self) -> bool:
        return self.role == "auditor"


def viewer_of(session: Session, user: User) -> Viewer:
    official = session.get(Official, user.official_id) if user.official_id else None
    return Viewer(user.id, user.username, user.party_code, official.code if official else None,
                  official.role if official else None, user.is_admin)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise errors.InvalidInput(f"a password needs at least {MIN_PASSWORD} characters",
                                  field="password")
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


def create_token(session: Session, user: User, *, name: str,
                 days: int = 90) -> tuple[ApiToken, str]:
    if not 1 <= days <= 366:
        raise errors.InvalidInput("a token lives 1 to 366 days", field="days")
    raw = "acsa_" + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, name=name or "token", prefix=raw[:12],
                     token_hash=_sha(raw), created_at=now,
                     expires_at=now + dt.timedelta(days=days))
    session.add(token)
    session.flush()
    audit.append(session, party=user.party_code, actor=user.username, action="token.created",
                 subject=f"user:{user.username}", payload={"token": token.prefix, "days": days})
    return token, raw


def resolve_token(session: Session, raw: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.disabled:
        return None
    return user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id)))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise errors.NotFound(f"no token {token_id}", field="token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.append(session, party=user.party_code, actor=user.username,
                     action="token.revoked", subject=f"user:{user.username}",
                     payload={"token": token.prefix})
    session.flush()
    return token
