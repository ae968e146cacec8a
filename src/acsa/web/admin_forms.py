"""What the administration pages need beyond the services: reading a form into the API's own
input schemas (so a form accepts exactly what the API accepts, and names every bad field at
once), finding a unit, official or user of the administrator's own party (another party's is
not found, as in the API), and the two account actions no service offered: disabling or
enabling a user, and resetting a user's password.

The account actions concern users only: users are local to a node and never synchronised,
so they change nothing a partner's books rely on. Each is written to the audit chain in the
same unit of work. An official's terms are changed by `parties.change_official`, which the
partners receive as `official.changed` (see `web.routes.admin`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from acsa import errors, money
from acsa.audit import service as audit
from acsa.parties import service as parties
from acsa.parties.models import Official, Unit
from acsa.users import service as users
from acsa.users.models import User, WebSession

M = TypeVar("M", bound=BaseModel)
MAX_TEXT = 2000  # no field of these forms is longer; a longer value is refused, not cut


class FieldErrors(errors.InvalidInput):
    """Several fields of one form are wrong: `fields` maps each to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("these fields cannot be used: " + ", ".join(fields),
                         field=next(iter(fields)))
        self.fields = fields


@dataclass
class Form:
    """A form as the person filled it in (never a password), and what was wrong with it."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    refusal: dict[str, Any] | None = None


def read(form: FormData, names: Iterable[str], *, lists: Iterable[str] = (),
         checks: Iterable[str] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """The named fields as text (lists for `lists`, booleans for checkboxes `checks`), and
    the fields that cannot even be read: a NUL character or an overlong value, which the API
    refuses too (such a value is not shown again)."""
    values: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for name in names:
        if name in lists:
            values[name] = [str(v) for v in form.getlist(name)][:20]
        elif name in checks:
            values[name] = str(form.get(name) or "") in ("on", "true", "1", "yes")
        else:
            values[name] = str(form.get(name) or "")
        texts = values[name] if isinstance(values[name], list) else [values[name]]
        if any(isinstance(t, str) and ("\x00" in t or len(t) > MAX_TEXT) for t in texts):
            bad[name] = f"{name}: text may not contain NUL characters or exceed " \
                        f"{MAX_TEXT} characters"
            values[name] = [] if name in lists else ""
    return values, bad


def parse(schema: type[M], values: dict[str, Any], *, optional: Iterable[str] = ()) -> M:
    """`values` checked by the API's input schema; empty optional fields are left out. Every
    bad field is named (FieldErrors), not only the first."""
    data = {k: v for k, v in values.items() if not (k in optional and v in ("", None))}
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        bad: dict[str, str] = {}
        for err in e.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "form"
            bad.setdefault(name, f"{name}: {err['msg']}")
        raise FieldErrors(bad) from None


def money_field(amount: Any, currency: str, name: str) -> money.Money:
    """An amount of a form field in a currency; a refusal names the field."""
    try:
        return money.Money.of(amount, currency)
    except errors.AcsaError as e:
        raise FieldErrors({name: f"{name}: {e.message}"}) from None


def check_currencies(**fields: str) -> None:
    """Each named field holds a currency acsa knows."""
    bad = {}
    for name, code in fields.items():
        try:
            money.check_currency(code.upper())
        except errors.AcsaError as e:
            bad[name] = f"{name}: {e.message}"
    if bad:
        raise FieldErrors(bad)


# --- the administrator's own party ---------------------------------------------------------
def own_unit(s: Session, code: str, party: str) -> Unit:
    """A unit of `party`; one of another party is not found, like one that does not exist."""
    unit = s.scalar(select(Unit).where(Unit.code == code, Unit.party_code == party))
    if unit is None:
        raise errors.NotFound(f"no unit {code!r} of {party}", field="unit")
    return unit


def own_official(s: Session, code: str, party: str) -> Official:
    official = s.scalar(select(Official).where(Official.code == code,
                                               Official.party_code == party))
    if official is None:
        raise errors.NotFound(f"no official {code!r} of {party}", field="official")
    return official


def own_user(s: Session, username: str, party: str) -> User:
    user = s.scalar(select(User).where(User.username == username, User.party_code == party))
    if user is None:
        raise errors.NotFound(f"no user {username!r} of {party}", field="username")
    return user


def _not_self(user: User, actor: str, what: str) -> None:
    if user.username == actor:
        raise errors.InvalidInput(f"an administrator cannot {what} their own account",
                                  field="username",
                                  hint="Another administrator of your party can do it.")


def _end_sessions(s: Session, user: User) -> None:
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))


# --- account actions -------------------------------------------------------------------------
def set_disabled(s: Session, *, username: str, party: str, disabled: bool, actor: str) -> User:
    """Disable a user of `party` (sign-in, sessions and API tokens stop working at once: the
    sessions end and the tokens are revoked, so enabling the user again does not bring them
    back) or enable them again. Idempotent: a second request changes nothing and records
    nothing."""
    user = own_user(s, username, party)
    _not_self(user, actor, "disable or enable")
    if user.disabled == disabled:
        return user
    user.disabled = disabled
    if disabled:
        _end_sessions(s, user)
    s.flush()
    audit.append(s, party=party, actor=actor,
                 action="user.disabled" if disabled else "user.enabled",
                 subject=f"user:{username}", payload={})
    if disabled:
        users.revoke_all_tokens(s, user, actor=actor, reason="user disabled")
    return user


def reset_password(s: Session, *, username: str, party: str, password: str,
                   actor: str) -> User:
    """Give a user of `party` a new password under the password policy, lift a lockout, end
    the user's browser sessions and revoke the user's API tokens (whoever held the account
    before the reset may have made tokens with it)."""
    user = own_user(s, username, party)
    _not_self(user, actor, "reset the password of")
    users.check_password_policy(password)
    user.password_hash = users.HASHER.hash(password)
    user.failed_logins, user.locked_until, user.last_failed_at = 0, None, None
    _end_sessions(s, user)
    s.flush()
    audit.append(s, party=party, actor=actor, action="user.password_reset",
                 subject=f"user:{username}", payload={})
    users.revoke_all_tokens(s, user, actor=actor, reason="password reset")
    return user


def party_currency(s: Session, party: str) -> str:
    return parties.get_party(s, party).currency
