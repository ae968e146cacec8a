"""Who may author which fact, and how facts rank when two parties act at once. Pure: no
database, no I/O."""

from __future__ import annotations

# kind -> the role that owns it: on an order requester, supplier, debtor (of the claim),
# either; on an offset proposer, approver (the agreement's other party); self (reference data
# about the author's own people), any (shared reference data)
OWNER = {
    "order.created": "requester", "order.edited": "requester", "order.requested": "requester",
    "order.received": "requester",
    "order.accepted": "supplier", "order.delivered": "supplier",
    "order.cancelled": "either", "order.disputed": "either", "order.dispute_resolved": "either",
    "order.closed": "either",
    "claim.payment": "debtor", "claim.return": "debtor", "claim.exchange": "debtor",
    "offset.proposed": "proposer", "offset.approved": "approver",
    "offset.withdrawn": "proposer",
    "official.added": "self", "official.changed": "self", "unit.added": "self",
    "activity.added": "any", "rate.added": "any",
}
SYNCED = frozenset(OWNER)
REFERENCE = frozenset(k for k, v in OWNER.items() if v in ("self", "any"))
OFFSET = frozenset(k for k, v in OWNER.items() if v in ("proposer", "approver"))

# how facts rank when two concurrent ones cannot both stand: goods or money moved beat a
# cancellation, which beats any other step (an edit of a draft cannot be undone and ranks with
# the material facts; so does an approved offset: money was netted)
MATERIAL = frozenset({"order.delivered", "order.received", "claim.payment", "claim.return",
                      "claim.exchange", "order.edited", "order.created", "offset.approved"})
RANK = {k: (3 if k in MATERIAL else 2 if k == "order.cancelled" else 1) for k in OWNER}


def owner_party(kind: str, *, requester: str, supplier: str, debtor: str | None,
                actor_party: str) -> set[str]:
    """The parties that may author `kind` on an order between `requester` and `supplier`."""
    role = OWNER[kind]
    return {"requester": {requester}, "supplier": {supplier},
            "debtor": {debtor} if debtor else set(), "either": {requester, supplier},
            "self": {actor_party}, "any": {actor_party}}[role]


def offset_owner(kind: str, *, proposer: str, approver: str) -> str:
    """The party that may author `kind` on an offset proposed by `proposer` to `approver`."""
    return proposer if OWNER[kind] == "proposer" else approver


def winner(a: tuple[str, str, str], b: tuple[str, str, str]) -> int:
    """Of two concurrent events given as (kind, signed at, origin party), the index (0 or 1)
    of the one that stands: the higher rank, then the earlier signing time, then the party
    code. The same answer on every node."""
    ka = (-RANK.get(a[0], 1), a[1], a[2])
    kb = (-RANK.get(b[0], 1), b[1], b[2])
    return 0 if ka <= kb else 1


def revertible(kind: str) -> bool:
    return kind not in MATERIAL
