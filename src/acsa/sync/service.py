"""Exporting our events for a partner, importing a partner's bundle, and what is pending or
refused. Adapters (CLI, API) open the engine; each step here commits its own transactions,
because an import is resumable: every event is applied, or not, on its own."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, select
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from acsa import errors
from acsa.audit import service as audit
from acsa.db.base import utcnow
from acsa.orders.domain import State
from acsa.orders.models import Order
from acsa.sync import apply, bundle, capture, keys, node, ownership
from acsa.sync.models import (
    BundleSeen,
    Conflict,
    InboxEvent,
    NodeKey,
    OutboxEvent,
    PartnerProgress,
    Quarantined,
    SubjectHead,
)

Progress = Callable[[int, int], None]


# --- export --------------------------------------------------------------------------------
def _progress(session: Session, party: str) -> PartnerProgress:
    row = session.get(PartnerProgress, party)
    if row is None:
        row = PartnerProgress(party=party, acked=0, received=0, ranges="[]")
        session.add(row)
        session.flush()
    return row


def export(session: Session, *, to: str, since: int | None = None,
           passphrase: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """A signed bundle of our events for `to` with a seq after `since` (default: after what
    `to` has acknowledged), at most `limit` of them (the bundle's range then ends at the last
    one). Signs the events not signed yet, and again those signed with a key of ours revoked
    since."""
    me = node.require_party(session)
    to = to.upper()
    if to == me:
        raise errors.InvalidInput("a bundle goes to a partner, not to ourselves", field="to")
    from acsa.parties import service as parties

    parties.get_party(session, to)
    signer = keys.node_signer(session, passphrase)
    progress = _progress(session, to)
    start = progress.acked if since is None else since
    # the range's end first, and only the events up to it: an event another transaction
    # commits meanwhile (PostgreSQL reads each statement afresh) would otherwise be inside the
    # range and not in the bundle, acknowledged by the partner and never sent
    head = session.scalar(select(func.max(OutboxEvent.seq))) or 0
    if since is not None and not 0 <= since <= head:
        raise errors.InvalidInput(
            f"since {since} is not one of our events: we have made events 1 to {head}",
            field="since", hint=f"Give a seq from 0 (everything) to {head}, or leave --since "
            "out to send what the partner has not acknowledged.")
    rows = list(session.scalars(select(OutboxEvent).where(
        OutboxEvent.seq > start, OutboxEvent.seq <= head, OutboxEvent.to_party.in_((to, "*")))
        .order_by(OutboxEvent.seq).limit(limit)))
    # an event signed with one of our keys revoked since (a lost laptop) would be refused by
    # every partner, and a partner's acknowledgement would then move past it: signed again
    revoked = set(session.scalars(select(NodeKey.fingerprint).where(
        NodeKey.own.is_(True), NodeKey.status == keys.REVOKED)))
    events = []
    for row in rows:
        event = {"id": row.event_id, "origin": me, "seq": row.seq, "kind": row.kind,
                 "subject": row.subject, "to": row.to_party, "deps": json.loads(row.deps),
                 "at": row.at, "actor": row.actor, "body": json.loads(row.body),
                 "key": row.key_fingerprint or signer.fingerprint}
        if row.signature is None or row.key_fingerprint in revoked:
            row.key_fingerprint = signer.fingerprint
            event["key"] = signer.fingerprint
            row.signature = signer.sign(bundle.event_bytes(event))
        event["sig"] = row.signature
        events.append(event)
    if limit is not None and len(rows) == limit:
        head = rows[-1].seq
    data: dict[str, Any] = {
        "format": bundle.FORMAT, "bundle_id": str(uuid.uuid4()), "from": me, "to": to,
        "created_at": utcnow().isoformat(timespec="microseconds"), "range": [start, head],
        "acks": {to: _progress(session, to).received}, "count": len(events),
        "events_sha256": bundle.events_digest(events), "key": signer.fingerprint,
        "events": events}
    data["sig"] = signer.sign(bundle.header_bytes(data))
    session.add(BundleSeen(bundle_id=data["bundle_id"], direction="out", party=to,
                           sha256=data["events_sha256"], events=len(events), state="done",
                           at=utcnow()))
    progress.last_export_at = utcnow()
    session.flush()
    return data


# --- import --------------------------------------------------------------------------------
@dataclass
class ImportResult:
    bundle_id: str
    sender: str
    events: int
    stored: int = 0
    duplicates: int = 0
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _quarantined(*, origin: str, error: errors.AcsaError, bundle_id: str = "",
                 event: dict[str, Any] | None = None, raw: str = "") -> Quarantined:
    return Quarantined(
        event_id=event.get("id") if event else None, origin=origin[:3],
        kind=str(event.get("kind", ""))[:40] if event else "",
        subject=str(event.get("subject", ""))[:60] if event else "", bundle_id=bundle_id,
        error=error.code, reason=error.message, raw=raw[:100_000], at=utcnow())


def _quarantine(engine: Engine, **kwargs: Any) -> None:
    with Session(engine) as s, s.begin():
        s.add(_quarantined(**kwargs))


def _check_bundle(s: Session, data: dict[str, Any], me: str) -> None:
    sender = str(data["from"])
    fp = _node_key(s, sender, str(data["key"]), str(data["created_at"]))
    keys.verify(fp.public_key, bundle.header_bytes(data), str(data["sig"]),
                f"bundle {data['bundle_id']} from {sender}")
    if data["to"] != me:
        raise errors.BundleNotForUs(f"bundle {data['bundle_id']} is addressed to "
                                    f"{data['to']}, and this is the node of {me}")
    seen = s.get(BundleSeen, str(data["bundle_id"]))
    if seen is not None and seen.state == "done":
        raise errors.BundleReplayed(f"bundle {data['bundle_id']} from {sender} was already "
                                    f"imported on {seen.at:%Y-%m-%d %H:%M} UTC; nothing changed")


def _node_key(s: Session, sender: str, fp: str, signed_at: str) -> NodeKey:
    """The sender's node key `fp`, valid at `signed_at`: bundles and events are signed by a
    node's own key, never by one of its officials' (which would let one official forge any
    event of the node, in any official's name)."""
    try:
        row = keys.key_for(s, party=sender, fp=fp, signed_at=signed_at)
    except (ValueError, TypeError):  # a signing time that is no ISO date and time with offset
        raise errors.BundleInvalid(f"the signing time {signed_at!r} is not a date and time "
                                   "with its UTC offset (ISO 8601)") from None
    if row.own or row.official_code is not None:
        raise errors.UnknownKey(f"key {keys.display(fp)} is not a node key of {sender}: a "
                                "bundle and its events are signed by the partner's node key")
    return row


def _check_event(s: Session, e: dict[str, Any], sender: str, me: str,
                 active: dict[str, str] | None = None) -> None:
    """`active`: fingerprint -> public key of the sender's keys found active so far in this
    import. An active key verifies whatever its signing time, so its row is not read again
    for every event (a rotated one is: its signing time decides)."""
    if e["origin"] != sender or not str(e["id"]) == f"{sender}:{e['seq']}":
        raise errors.NotOwner(f"event {e['id']} is not {sender}'s own, and a node forwards "
                              "only what it authored")
    if e["to"] not in (me, "*"):
        raise errors.BundleNotForUs(f"event {e['id']} is addressed to {e['to']}")
    if e["kind"] not in ownership.SYNCED:
        raise errors.InvalidInput(f"event {e['id']} is of an unknown kind {e['kind']!r}",
                                  field="kind")
    fp = str(e["key"])
    public = active.get(fp) if active is not None else None
    if public is None:
        k = _node_key(s, sender, fp, str(e["at"]))
        public = k.public_key
        if active is not None and k.status == keys.ACTIVE:
            active[fp] = public
    keys.verify(public, bundle.event_bytes(e), str(e["sig"]), f"event {e['id']}")


def _store(engine: Engine, data: dict[str, Any], sender: str, me: str,
           result: ImportResult) -> list[tuple[dict[str, Any], errors.AcsaError]]:
    """Check each event of the bundle and store those that pass in the inbox, with the
    bundle's progress, in one transaction; the events refused, with why."""
    with Session(engine) as s, s.begin():
        known = set(s.scalars(select(InboxEvent.event_id).where(
            InboxEvent.event_id.in_([str(e["id"]) for e in data["events"]]))))
        refused: list[tuple[dict[str, Any], errors.AcsaError]] = []
        active: dict[str, str] = {}
        for e in data["events"]:
            if e["id"] in known:
                result.duplicates += 1
                continue
            try:
                _check_event(s, e, sender, me, active)
            except errors.AcsaError as err:
                refused.append((e, err))
                continue
            known.add(e["id"])
            s.add(InboxEvent(
                event_id=e["id"], origin=sender, seq=int(e["seq"]), kind=e["kind"],
                subject=e["subject"], to_party=e["to"], deps=json.dumps(e["deps"]), at=e["at"],
                actor=e["actor"], body=json.dumps(e["body"], sort_keys=True),
                key_fingerprint=e["key"], signature=e["sig"], bundle_id=result.bundle_id,
                status="pending", received_at=utcnow()))
            result.stored += 1
        if s.get(BundleSeen, result.bundle_id) is None:
            s.add(BundleSeen(bundle_id=result.bundle_id, direction="in", party=sender,
                             sha256=str(data["events_sha256"]), events=result.events,
                             state="stored", at=utcnow()))
        # in the same transaction as the progress that moves past them: a crash cannot lose
        # the record of what was refused
        for e, err in refused:
            s.add(_quarantined(origin=sender, error=err, bundle_id=result.bundle_id, event=e,
                               raw=json.dumps(e, ensure_ascii=False)))
        _record_progress(s, sender, me, data)
    return refused


def import_bundle(engine: Engine, raw: bytes, *, progress: Progress | None = None
                  ) -> ImportResult:
    """Check and store a partner's bundle, then apply every event that can be (see
    docs/sync.md). A refused bundle changes nothing but the quarantine list."""
    with Session(engine) as s:
        me = node.require_party(s)
    try:
        data = bundle.parse(raw)
    except errors.AcsaError as e:
        _quarantine(engine, origin="?", error=e, raw=raw[:2000].decode("utf-8", "replace"))
        raise
    sender = str(data["from"])
    try:
        with Session(engine) as s:
            _check_bundle(s, data, me)
    except errors.AcsaError as e:
        _quarantine(engine, origin=sender, error=e, bundle_id=str(data["bundle_id"]))
        raise
    result = ImportResult(bundle_id=str(data["bundle_id"]), sender=sender,
                          events=len(data["events"]))
    try:
        refused = _store(engine, data, sender, me, result)
    except sa_exc.IntegrityError:
        # another import stored the same events meanwhile (the server answering a push of the
        # bundle while `acsa sync import` reads its file): PostgreSQL lets both read before
        # either writes; the other import applies them
        with Session(engine) as s:
            if s.get(BundleSeen, result.bundle_id) is None:
                raise
        raise errors.BundleReplayed(f"bundle {result.bundle_id} from {sender} is being "
                                    "imported by another process at the same time; nothing "
                                    "changed here") from None
    for e, err in refused:
        result.quarantined.append({"event": str(e["id"]), "error": err.code,
                                   "reason": err.message})
    run_pending(engine, result, progress=progress)
    with Session(engine) as s, s.begin():
        seen = s.get(BundleSeen, result.bundle_id)
        assert seen is not None
        seen.state, seen.at = "done", utcnow()
    return result


def _authored(s: Session) -> int:
    """The seq of our last event: no partner can hold any after it."""
    return s.scalar(select(func.max(OutboxEvent.seq))) or 0


def _record_progress(s: Session, sender: str, me: str, data: dict[str, Any]) -> None:
    p = _progress(s, sender)
    # an acknowledgement past our last event (a partner's bug) would make every later export
    # start after events we have not made yet, which would then never be sent: cut to it
    acked = min(int(data["acks"].get(me, 0)), _authored(s))
    p.acked = max(p.acked, acked)
    a, b = (int(x) for x in data["range"])
    ranges = [tuple(r) for r in json.loads(p.ranges)] + [(a, b)]
    received = p.received
    changed = True
    while changed:  # fold every range that starts at or before what we hold in full
        changed = False
        for r in list(ranges):
            if r[0] <= received:
                received = max(received, r[1])
                ranges.remove(r)
                changed = True
    p.received = received
    p.ranges = json.dumps(sorted(ranges))
    p.last_import_at = utcnow()


def _known(s: Session, ids: list[str], me: str) -> list[str]:
    """Of `ids`, those not here yet (neither ours nor a partner's applied or superseded)."""
    missing = []
    for i in ids:
        if i.startswith(f"{me}:"):
            if s.scalar(select(OutboxEvent.seq).where(OutboxEvent.event_id == i)) is None:
                missing.append(i)
        else:
            row = s.get(InboxEvent, i)  # the batch's deps are loaded up front (_prepare_batch)
            if row is None or row.status not in ("applied", "superseded"):
                missing.append(i)
    return missing


_NO_HEAD = "acsa_sync_no_head"  # session.info: subjects known to have no SubjectHead yet


def _keep_alive(session: Session, instance: object) -> None:
    session.info.setdefault("loaded", []).append(instance)


def _prepare_batch(s: Session, ids: list[str]) -> None:
    """Load what applying the events `ids` reads, in three queries instead of several per
    event: the events, the partner events they depend on, and their subjects' heads. The
    session holds every object it loads until the batch ends (a plain Session's identity map
    holds them weakly, so the officials, agreements, activities and orders each event reads
    were loaded again and again), and `audit.append` chains each event to the one it appended
    before in this transaction instead of reading the head again."""
    sa_event.listen(s, "loaded_as_persistent", _keep_alive)
    sa_event.listen(s, "pending_to_persistent", _keep_alive)
    audit.keep_head(s)
    # locked (in one order, so two runs never deadlock): on PostgreSQL another import's run
    # applying the same pending events waits for this batch, then finds them applied
    batch = list(s.scalars(select(InboxEvent).where(InboxEvent.event_id.in_(ids))
                           .order_by(InboxEvent.event_id).with_for_update()))
    deps = {d for ev in batch for d in json.loads(ev.deps)} - set(ids)
    if deps:
        list(s.scalars(select(InboxEvent).where(InboxEvent.event_id.in_(sorted(deps)))))
    subjects = {ev.subject for ev in batch}
    heads = list(s.scalars(select(SubjectHead).where(SubjectHead.subject.in_(sorted(subjects)))))
    s.info[_NO_HEAD] = subjects - {h.subject for h in heads}


def _head_of(s: Session, subject: str) -> SubjectHead | None:
    if subject in s.info.get(_NO_HEAD, ()):
        return None
    return s.get(SubjectHead, subject)


BATCH = 200  # events applied per transaction, each in its own savepoint


def run_pending(engine: Engine, result: ImportResult | None = None, *,
                progress: Progress | None = None) -> ImportResult:
    """Apply every pending event whose dependencies are here, until nothing more can be. Each
    event is applied in a savepoint of its own (all or nothing per event) and a transaction is
    committed every BATCH events, holding the lock of its events (another run waits for it):
    an import killed half-way loses at most the uncommitted batch, whose events are still
    pending and are applied by the next run."""
    result = result or ImportResult(bundle_id="", sender="", events=0)
    with Session(engine) as s:
        me = node.require_party(s)
        total = s.scalar(select(func.count()).select_from(InboxEvent)
                         .where(InboxEvent.status == "pending")) or 0
    done = 0
    while True:
        progressed = False
        with Session(engine) as s:
            ids = list(s.scalars(select(InboxEvent.event_id).where(
                InboxEvent.status == "pending").order_by(InboxEvent.origin, InboxEvent.seq)))
        for i in range(0, len(ids), BATCH):
            with Session(engine) as s:
                s.begin()
                _prepare_batch(s, ids[i:i + BATCH])
                outcomes = [_apply_one(s, event_id, me, result)
                            for event_id in ids[i:i + BATCH]]
                s.commit()
            for outcome in outcomes:
                if outcome != "pending":
                    progressed = True
                    done += 1
            if progress:
                progress(done, total)
        if not progressed:
            break
    with Session(engine) as s:
        result.pending = list(s.scalars(select(InboxEvent.event_id).where(
            InboxEvent.status == "pending").order_by(InboxEvent.origin, InboxEvent.seq)))
    return result


def _apply_one(s: Session, event_id: str, me: str, result: ImportResult) -> str:
    ev = s.get(InboxEvent, event_id)
    if ev is None or ev.status != "pending":
        return "done"
    missing = _known(s, json.loads(ev.deps), me)
    if missing:
        ev.waiting_for = f"waits for {', '.join(missing)}"
        return "pending"
    head = _head_of(s, ev.subject)
    # the sender held every earlier event of its own: one of them as our head is no conflict
    # (after two concurrent events both stood, the two nodes' heads differ)
    concurrent = (head is not None and ev.kind.startswith(("order.", "claim."))
                  and head.event_id not in json.loads(ev.deps)
                  and head.event_id.split(":")[0] != ev.origin)
    rival = _rival_proposal(s, ev, me) if ev.kind == "offset.proposed" else None
    crossed = _crossed_step(s, ev) if ev.kind in CROSSING else None
    try:
        with s.begin_nested():
            if rival is not None:
                return _resolve_proposals(s, ev, rival, result)
            if crossed is not None:
                return _resolve_withdrawal(s, ev, crossed, result)
            apply.apply_event(s, ev)
    except apply.Waiting as w:
        ev.waiting_for = str(w)
        return "pending"
    except (errors.AcsaError, KeyError, TypeError, ValueError, ArithmeticError, AttributeError,
            IndexError) as e:
        # a partner's event whose body is not what its kind needs (a quantity that is not a
        # number, a list where an object belongs): refused and quarantined like any other, or
        # it would stay pending and fail every later import again
        err = e if isinstance(e, errors.AcsaError) else errors.InvalidInput(
            f"event {event_id} is malformed: {type(e).__name__} {e}", field="body")
        if concurrent and isinstance(err, apply.HashMismatch) and head is not None \
                and _both_stand(s, ev, head):
            _mark_applied(s, ev)
            result.applied.append(event_id)
            return "applied"
        if concurrent and isinstance(err, (errors.InvalidTransition, apply.HashMismatch)) \
                and head is not None:
            return _resolve_conflict(s, ev, head, err, result)
        _quarantine_in(s, ev, err)
        result.quarantined.append({"event": event_id, "error": err.code,
                                   "reason": err.message})
        return "quarantined"
    _mark_applied(s, ev)
    result.applied.append(event_id)
    return "applied"


@functools.cache
def _revertible_of() -> Select[Any]:
    """The revertible fields of the order :number (built once: it runs for every event)."""
    return select(*[getattr(Order, f) for f in capture.REVERTIBLE]) \
        .where(Order.number == bindparam("number"))


def _mark_applied(s: Session, ev: InboxEvent) -> None:
    ev.status, ev.applied_at, ev.waiting_for = "applied", utcnow(), ""
    if ev.kind.startswith(("order.", "claim.")):
        row = s.execute(_revertible_of(), {"number": ev.subject}).first()
        if row is not None:
            ev.after = capture.fields_json(dict(zip(capture.REVERTIBLE, row, strict=True)))
        head = _head_of(s, ev.subject)
        if head is None:
            s.add(SubjectHead(subject=ev.subject, event_id=ev.event_id))
            s.info.get(_NO_HEAD, set()).discard(ev.subject)
        else:
            head.event_id = ev.event_id
    elif ev.kind in ownership.OFFSET:
        _, heads = capture.offset_links(s, ev.kind, ev.subject, json.loads(ev.body))
        for subject in heads:
            row = _head_of(s, subject)
            if row is None:
                s.add(SubjectHead(subject=subject, event_id=ev.event_id))
                s.flush()
                s.info.get(_NO_HEAD, set()).discard(subject)
            else:
                row.event_id = ev.event_id
        ev.after = capture.offset_after(s, ev.kind, heads)
    s.flush()


def _quarantine_in(s: Session, ev: InboxEvent, err: errors.AcsaError) -> None:
    s.add(Quarantined(event_id=ev.event_id, origin=ev.origin, kind=ev.kind, subject=ev.subject,
                      bundle_id=ev.bundle_id, error=err.code, reason=err.message,
                      raw=ev.body[:100_000], at=utcnow()))
    s.delete(ev)  # out of the inbox: a corrected event may come again with the same id
    s.flush()


# --- conflicts -----------------------------------------------------------------------------
def _head_event(s: Session, event_id: str) -> tuple[str, str, str, str]:
    """(kind, at, origin, after-fields JSON) of a head event, ours or a partner's."""
    out = s.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))
    if out is not None:
        return out.kind, out.at, event_id.split(":")[0], out.after
    inbox = s.get(InboxEvent, event_id)
    assert inbox is not None
    return inbox.kind, inbox.at, inbox.origin, inbox.after


def _deps_after(s: Session, event_id: str, number: str) -> str:
    """The fields of order `number` as they were after the event `event_id` depended on."""
    out = s.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))
    deps = json.loads(out.deps if out is not None else s.get(InboxEvent, event_id).deps)
    if not deps:
        return ""
    after = _head_event(s, deps[0])[3]
    if after and capture.BY_ORDER in (data := json.loads(after)):  # an offset's approval
        fields = data[capture.BY_ORDER].get(number)
        return json.dumps(fields) if fields else ""
    return after


def _both_stand(s: Session, ev: InboxEvent, head: SubjectHead) -> bool:
    """Two concurrent material facts (goods or money moved on both sides: PH delivers again
    while JP receives the first delivery): neither can be undone, so if the rules take the
    partner's on top of ours, both stand, on both nodes alike. Only the order hash differs
    from the sender's, which could not know of ours. False if the rules refuse it."""
    if ev.kind not in ownership.MATERIAL or \
            _head_event(s, head.event_id)[0] not in ownership.MATERIAL:
        return False
    try:
        with s.begin_nested():
            apply.apply_event(s, ev, check_hash=False)
    except (errors.AcsaError, apply.Waiting):
        return False
    return True


def _resolve_conflict(s: Session, ev: InboxEvent, head: SubjectHead,
                      err: errors.AcsaError, result: ImportResult) -> str:
    """`ev` was refused because of `head`, an event that happened at the same time on the
    other side. The rule of `ownership.winner` decides, the same on both nodes."""
    h_kind, h_at, h_origin, _ = _head_event(s, head.event_id)
    incoming_wins = ownership.winner((h_kind, h_at, h_origin), (ev.kind, ev.at, ev.origin)) == 1
    order = s.scalar(select(Order).where(Order.number == ev.subject))
    assert order is not None
    if incoming_wins and ownership.revertible(h_kind):
        before = _deps_after(s, head.event_id, order.number)
        try:
            with s.begin_nested():
                _revert(s, order, before, head.event_id)
                apply.apply_event(s, ev)
        except (errors.AcsaError, apply.Waiting):
            incoming_wins = False
    else:
        incoming_wins = False
    winner_id, loser_id = ((ev.event_id, head.event_id) if incoming_wins
                           else (head.event_id, ev.event_id))
    winner_kind, loser_kind = (ev.kind, h_kind) if incoming_wins else (h_kind, ev.kind)
    rule = (f"{winner_kind} ({winner_id}) and {loser_kind} ({loser_id}) were taken at the "
            f"same time; {winner_kind.split('.')[1]} stands ("
            + ("goods or money moved" if winner_kind in ownership.MATERIAL and
               loser_kind not in ownership.MATERIAL else
               "a cancellation outranks this step" if winner_kind == "order.cancelled" and
               loser_kind != "order.cancelled" else "it was signed first") + ")")
    if incoming_wins:
        _mark_applied(s, ev)
        result.applied.append(ev.event_id)
    else:
        ev.status, ev.waiting_for = "superseded", rule
        result.superseded.append(ev.event_id)
        # the loser's deps are satisfied, so what depends on it can still wait on the winner
        head.event_id = winner_id
    s.add(Conflict(subject=ev.subject, winner=winner_id, loser=loser_id, rule=rule,
                   at=utcnow()))
    _flag_dispute(s, order, rule)
    result.conflicts.append({"subject": ev.subject, "winner": winner_id, "loser": loser_id,
                             "rule": rule})
    s.flush()
    return "applied" if incoming_wins else "superseded"


def _rival_proposal(s: Session, ev: InboxEvent, me: str) -> tuple[str, str] | None:
    """(number, event id) of our own offset proposal still awaiting approval under the
    agreement of the partner's proposal `ev`, if the partner made its proposal without having
    seen ours (ours is not among what it builds on): the two were made at the same time."""
    from acsa.settlement.models import Offset

    number = s.scalar(select(Offset.number).where(
        Offset.agreement_code == str(json.loads(ev.body).get("agreement")),
        Offset.state == "proposed", Offset.proposing_party == me))
    if number is None:
        return None
    ours = s.scalar(select(OutboxEvent.event_id).where(
        OutboxEvent.subject == f"offset:{number}", OutboxEvent.kind == "offset.proposed"))
    if ours is None or ours in json.loads(ev.deps):
        return None
    return number, ours


def _resolve_proposals(s: Session, ev: InboxEvent, rival: tuple[str, str],
                       result: ImportResult) -> str:
    """Two offset proposals under one agreement were made at the same time, ours (`rival`)
    and the partner's `ev`; only one may await approval. The rule of `ownership.winner` (the
    earlier signing time, then the party code) decides, the same on both nodes: the winner
    stands, the loser is kept as withdrawn on both nodes (its event `superseded` here). No
    order is put in dispute: nothing was netted, and nothing disagrees. Raises (and changes
    nothing) if the partner's proposal breaks a rule: it is then quarantined."""
    from acsa.settlement import service as settlement

    ours_number, ours_id = rival
    body = json.loads(ev.body)
    o_kind, o_at, o_origin, _ = _head_event(s, ours_id)
    incoming_wins = ownership.winner((o_kind, o_at, o_origin), (ev.kind, ev.at, ev.origin)) == 1
    theirs = (str(body["number"]), ev.event_id)
    (w_number, w_id), (l_number, l_id) = ((theirs, rival) if incoming_wins
                                          else (rival, theirs))
    rule = (f"offsets {w_number} ({w_id}) and {l_number} ({l_id}) under {body['agreement']} "
            f"were proposed at the same time; {w_number} stands (it was signed first) and "
            f"{l_number} is withdrawn: propose again once {w_number} is approved")
    if incoming_wins:
        settlement.withdraw_offset(s, number=ours_number, reason=rule)
        apply.apply_event(s, ev)
        _mark_applied(s, ev)
        result.applied.append(ev.event_id)
    else:
        apply.apply_event(s, ev, withdrawn=rule)
        ev.status, ev.waiting_for = "superseded", rule
        result.superseded.append(ev.event_id)
    subject = f"offsets:{body['agreement']}"
    s.add(Conflict(subject=subject, winner=w_id, loser=l_id, rule=rule, at=utcnow()))
    result.conflicts.append({"subject": subject, "winner": w_id, "loser": l_id, "rule": rule})
    s.flush()
    return "applied" if incoming_wins else "superseded"


# a partner's offset event -> (our event on the same offset it may cross, the state that
# leaves the offset in): the proposer withdraws while the other party approves
CROSSING = {"offset.approved": ("offset.withdrawn", "withdrawn"),
            "offset.withdrawn": ("offset.approved", "approved")}


def _crossed_step(s: Session, ev: InboxEvent) -> str | None:
    """The id of our own withdrawal (of our proposal) when the partner's `ev` approves it, or
    of our approval when `ev` withdraws it, if the partner took its step without having seen
    ours (ours is not among what `ev` builds on): the two were taken at the same time."""
    from acsa.settlement.models import Offset

    number = str(json.loads(ev.body).get("number"))
    kind, state = CROSSING[ev.kind]
    if s.scalar(select(Offset.state).where(Offset.number == number)) != state:
        return None
    ours = s.scalar(select(OutboxEvent.event_id).where(
        OutboxEvent.subject == f"offset:{number}", OutboxEvent.kind == kind))
    if ours is None or ours in json.loads(ev.deps):
        return None
    return ours


def _resolve_withdrawal(s: Session, ev: InboxEvent, ours: str, result: ImportResult) -> str:
    """The proposer withdrew an offset while the other party approved it: the approval stands
    on both nodes (money was netted: `ownership.MATERIAL` ranks it above any other step), the
    withdrawal does not. On the proposer's node (`ev` is the approval) the withdrawal is undone
    (an `offset.withdrawal_undone` audit event) and the approval applied through
    `approve_offset`; on the approver's node (`ev` is the withdrawal) the partner's event is
    kept as `superseded`. Both nodes keep the same conflict (subject `offset:<number>`).
    Raises, changing nothing, if the partner's event breaks a rule: it is then quarantined."""
    from acsa.settlement.models import Offset

    body = json.loads(ev.body)
    number = str(body["number"])
    approval, withdrawal = (ev.event_id, ours) if ev.kind == "offset.approved" else \
        (ours, ev.event_id)
    rule = (f"offset {number} was approved ({approval}) and withdrawn by its proposer "
            f"({withdrawal}) at the same time; the approval stands (money was netted) and "
            "the withdrawal is undone")
    if ev.kind == "offset.approved":
        offset = s.scalar(select(Offset).where(Offset.number == number).with_for_update())
        assert offset is not None
        offset.state = "proposed"
        s.flush()
        audit.append(s, party="", actor="system", action="offset.withdrawal_undone",
                     subject=f"offset:{number}", payload={"undone": ours, "reason": rule})
        apply.apply_event(s, ev)
        _mark_applied(s, ev)
        result.applied.append(ev.event_id)
    else:
        apply.check_author(s, ev, body)
        ev.status, ev.waiting_for = "superseded", rule
        result.superseded.append(ev.event_id)
    subject = f"offset:{number}"
    s.add(Conflict(subject=subject, winner=approval, loser=withdrawal, rule=rule, at=utcnow()))
    result.conflicts.append({"subject": subject, "winner": approval, "loser": withdrawal,
                             "rule": rule})
    s.flush()
    return "applied" if ev.kind == "offset.approved" else "superseded"


def _revert(s: Session, order: Order, before: str, event_id: str) -> None:
    if not before:
        raise errors.InvalidTransition("nothing to go back to")
    fields = json.loads(before)
    for name, value in fields.items():
        if name in ("requested_at", "accepted_at", "closed_at") and value:
            value = dt.datetime.fromisoformat(value)
        setattr(order, name, value)
    s.flush()
    audit.append(s, party="", actor="system", action="order.conflict_undone",
                 subject=order.number, order_hash=order.content_hash,
                 payload={"undone": event_id})


def _flag_dispute(s: Session, order: Order, rule: str) -> None:
    """Put the order in dispute for the two sides to settle, the same on both nodes."""
    from acsa.orders import service as orders

    reason = f"sync conflict: {rule}"
    if order.state != State.DISPUTED.value:
        order.state_before_dispute, order.state = order.state, State.DISPUTED.value
    order.dispute_reason = reason
    s.flush()
    h = orders._rehash(s, order)
    audit.append(s, party="", actor="system", action="order.conflict", subject=order.number,
                 order_hash=h, payload={"reason": reason})


# --- status --------------------------------------------------------------------------------
def status(session: Session) -> dict[str, Any]:
    me = node.require_party(session)
    partners = []
    for p in session.scalars(select(PartnerProgress).order_by(PartnerProgress.party)):
        ours = session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.to_party.in_((p.party, "*")), OutboxEvent.seq > p.acked)) or 0
        partners.append({"party": p.party, "acknowledged_up_to": p.acked,
                         "not_acknowledged": ours, "received_up_to": p.received,
                         "gaps": json.loads(p.ranges),
                         "last_export_at": p.last_export_at.isoformat()
                         if p.last_export_at else None,
                         "last_import_at": p.last_import_at.isoformat()
                         if p.last_import_at else None})
    counts = {status: n for status, n in session.execute(
        select(InboxEvent.status, func.count()).group_by(InboxEvent.status))}
    pending = [{"event": e.event_id, "kind": e.kind, "subject": e.subject,
                "waiting_for": e.waiting_for}
               for e in session.scalars(select(InboxEvent).where(
                   InboxEvent.status == "pending").order_by(InboxEvent.origin, InboxEvent.seq)
                   .limit(100))]
    return {"party": me,
            "authored": session.scalar(select(func.count()).select_from(OutboxEvent)) or 0,
            "partners": partners, "inbox": counts, "pending": pending,
            "quarantined": session.scalar(select(func.count()).select_from(Quarantined)) or 0,
            "conflicts": session.scalar(select(func.count()).select_from(Conflict)) or 0}


def quarantine(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    return [{"id": q.id, "at": q.at.isoformat(), "origin": q.origin, "event": q.event_id,
             "kind": q.kind, "subject": q.subject, "bundle": q.bundle_id, "error": q.error,
             "reason": q.reason}
            for q in session.scalars(select(Quarantined).order_by(Quarantined.id.desc())
                                     .limit(limit))]


def conflicts(session: Session) -> list[dict[str, Any]]:
    return [{"subject": c.subject, "winner": c.winner, "loser": c.loser, "rule": c.rule,
             "at": c.at.isoformat()}
            for c in session.scalars(select(Conflict).order_by(Conflict.id))]


__all__ = ["ImportResult", "conflicts", "export", "import_bundle", "quarantine",
           "run_pending", "status"]


def received_from(session: Session, party: str) -> int:
    """How far we hold every event of `party` for us (what we acknowledge to it)."""
    row = session.get(PartnerProgress, party)
    return row.received if row else 0


def record_ack(session: Session, party: str, acked: int) -> None:
    """`party` says it holds all our events for it up to seq `acked`."""
    row = _progress(session, party)
    row.acked = max(row.acked, min(acked, _authored(session)))
    session.flush()
