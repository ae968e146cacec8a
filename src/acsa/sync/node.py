"""The node's own party: set once by `acsa init --party CODE`. Without it the database is a
shared book of every party (the demo, a single-site deployment) and nothing is captured for
partners."""

from __future__ import annotations

from sqlalchemy.orm import Session

from acsa import errors
from acsa.sync.models import NodeSetting

PARTY = "party"


def own_party(session: Session) -> str | None:
    """This node's party, or None for a shared (single-site) database. Cached per session."""
    cache = session.info.get("acsa_node_party", False)
    if cache is not False:
        return cache  # type: ignore[no-any-return]
    row = session.get(NodeSetting, PARTY)
    value = row.value if row else None
    session.info["acsa_node_party"] = value
    return value


def require_party(session: Session) -> str:
    party = own_party(session)
    if party is None:
        raise errors.NodePartyNotSet("this database is not a party's node")
    return party


def set_party(session: Session, party: str) -> str:
    """Set the node's party; changing it once set is refused (events were signed as it)."""
    from acsa.parties import service as parties

    party = parties.get_party(session, party.upper()).code
    row = session.get(NodeSetting, PARTY)
    if row is not None and row.value != party:
        raise errors.InvalidInput(
            f"this node is already the node of {row.value}; its party cannot change",
            field="party", hint="Use a new database for another party's node.")
    if row is None:
        session.add(NodeSetting(key=PARTY, value=party))
        session.flush()
    session.info["acsa_node_party"] = party
    return party
