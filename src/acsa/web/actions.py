"""Which actions the signed-in person could take on an order or claim, so a page shows only
those buttons.

The decision calls the same checks the services run first: the state machine
(`orders.domain.check_transition`) and the official's role, party and validity
(`parties.domain.check_authority`), with the roles and side each action needs from
`orders.domain.ACTION_ROLES`, the table the services check. Everything else (separation of duties,
value limits, data elements, ceilings, deliveries before cancel) is left to the service: the
button shows, and a refusal is shown with the service's reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from acsa import errors
from acsa.orders import domain
from acsa.orders.models import Order
from acsa.parties.domain import Role, check_authority
from acsa.parties.models import Official
from acsa.settlement.models import Claim

# the order actions a page offers, with the roles and side the services require
# (`orders.domain.ACTION_ROLES`, which `orders.service` checks)
ORDER_ACTIONS = {a: domain.ACTION_ROLES[a] for a in (
    "request", "accept", "deliver", "receive", "cancel", "dispute", "resolve", "close")}
ORDER: tuple[str, ...] = tuple(ORDER_ACTIONS)


def _party(order: Order, whose: str, official: Official) -> str:
    if whose == "requesting":
        return order.requesting_party
    if whose == "supplying":
        return order.supplying_party
    return official.party_code if official.party_code in (
        order.requesting_party, order.supplying_party) else order.requesting_party


def _passes(check: Callable[[], None]) -> bool:
    try:
        check()
    except errors.AcsaError:
        return False
    return True


def order_actions(order: Order, official: Official | None, on: dt.date) -> list[str]:
    """The order's actions this official may take now (in a stable order)."""
    if official is None:
        return []
    allowed = []
    for action, (roles, whose) in ORDER_ACTIONS.items():
        party = _party(order, whose, official)
        if _passes(lambda a=action: domain.check_transition(order.state, a, order.number)) and \
                _passes(lambda r=roles, a=action, p=party: check_authority(
                    official_code=official.code, official_role=official.role,
                    official_party=official.party_code, valid_from=official.valid_from,
                    valid_to=official.valid_to, roles=r, party=p, on=on, action=a)):
            allowed.append(action)
    return allowed


def can_pay(claim: Claim, official: Official | None, on: dt.date) -> bool:
    """A cash bill still open, and the debtor's finance official (as `settlement.pay`)."""
    if official is None or claim.method != "cash" or claim.state != "open":
        return False
    return _passes(lambda: check_authority(
        official_code=official.code, official_role=official.role,
        official_party=official.party_code, valid_from=official.valid_from,
        valid_to=official.valid_to, roles={Role.FINANCE}, party=claim.debtor_party, on=on,
        action="pay a bill"))


def _can_settle_in_kind(claim: Claim, official: Official | None, on: dt.date, method: str,
                        action: str) -> bool:
    if official is None or claim.method != method or claim.state != "open":
        return False
    return _passes(lambda: check_authority(
        official_code=official.code, official_role=official.role,
        official_party=official.party_code, valid_from=official.valid_from,
        valid_to=official.valid_to, roles={Role.FINANCE, Role.SUPPLYING},
        party=claim.debtor_party, on=on, action=action))


def can_return(claim: Claim, official: Official | None, on: dt.date) -> bool:
    """A return-in-kind claim still open, and the debtor's finance or supplying official (as
    `settlement.return_in_kind`)."""
    return _can_settle_in_kind(claim, official, on, "rik", "return items in kind")


def can_exchange(claim: Claim, official: Official | None, on: dt.date) -> bool:
    """An equal-value-exchange claim still open, and the debtor's finance or supplying
    official (as `settlement.exchange`)."""
    return _can_settle_in_kind(claim, official, on, "eve", "provide an equal-value exchange")
