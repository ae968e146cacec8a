"""Appending events in the caller's transaction, and verifying the whole chain."""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, String, cast, func, inspect, literal, or_, select, text
from sqlalchemy.orm import Session

from acsa.audit import chain
from acsa.audit import verify as audit_verify
from acsa.audit.models import Event
from acsa.db import paging
from acsa.db.base import utcnow
from acsa.orders.models import Order
from acsa.webhooks import outbox

HEAD = "acsa_audit_head"  # session.info: keep the head this session appended (see keep_head)
APPENDED = "acsa_audit_appended"  # session.info: a list to which `append` adds each event


def keep_head(session: Session) -> None:
    """Let `append` remember the event it appended last in `session`, and chain the next one to
    it without reading the head again, as long as the same transaction holds the write lock
    and nothing undid that event. For a session that appends many events in one transaction
    through `append` only (applying a partner's bundle): a transaction that also inserts
    events some other way (`documents.bulk_write`) must not use it."""
    session.info[HEAD] = None


def _head_written(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the event this transaction appended last, if it is surely the head: kept
    (`keep_head`), same transaction (which has held the write lock since: BEGIN IMMEDIATE on
    SQLite, the advisory lock on PostgreSQL), and not undone by a rolled-back savepoint (which
    makes the event transient again). None: read the head from the table."""
    kept = session.info.get(HEAD)
    if kept is None:
        return None
    transaction, event = kept
    if transaction is not session.get_transaction() or not inspect(event).persistent:
        session.info[HEAD] = None
        return None
    return event.seq, event.hash


def _may_have_subscribers(session: Session) -> bool:
    """False only when a session that keeps its head (`keep_head`: it writes nothing but
    events through the services) has seen, in this transaction, that no webhook subscription
    is active: then no event of it queues anything, and the query per event is skipped."""
    if HEAD not in session.info:
        return True
    from acsa.webhooks.models import WebhookSubscription

    seen = session.info.get(_SUBSCRIBED)
    if seen is None or seen[0] is not session.get_transaction():
        active = session.scalar(select(WebhookSubscription.id)
                                .where(WebhookSubscription.active).limit(1)) is not None
        seen = session.info[_SUBSCRIBED] = (session.get_transaction(), active)
    return bool(seen[1])


_SUBSCRIBED = "acsa_audit_subscribed"


def _remember_head(session: Session, event: Event) -> None:
    if HEAD in session.info:
        session.info[HEAD] = (session.get_transaction(), event)


@functools.cache
def _head_statement() -> Any:
    return (select(Event.seq, Event.hash).order_by(Event.seq.desc()).limit(1)  # built once
            .execution_options(autoflush=False))


def append(session: Session, *, party: str, actor: str, action: str, subject: str,
           order_hash: str = "", payload: dict[str, Any] | None = None) -> Event:
    """Add the next event. The head is read under the transaction's write lock (BEGIN
    IMMEDIATE on SQLite, a row lock on the head on PostgreSQL) so two writers cannot fork it."""
    head = _head_written(session)
    if head is None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(7_341_926)))
        # no autoflush: events are only ever added here, flushed at once, so nothing pending
        # can move the head; the caller's pending changes go out with the event's own flush
        head = session.execute(_head_statement()).first()
    if any(chain.SEP in f for f in (party, actor, action, subject, order_hash)):
        raise ValueError("audit fields may not contain the unit separator")
    seq, prev = (head[0] + 1, head[1]) if head else (1, chain.GENESIS)
    at = utcnow().isoformat(timespec="microseconds")
    text = chain.canonical_json(payload or {})
    event_body = chain.body(seq, at, party, actor, action, subject, order_hash, text)
    event = Event(seq=seq, at=at, party=party, actor=actor, action=action, subject=subject,
                  order_hash=order_hash, payload=text, prev_hash=prev,
                  hash=chain.link(prev, event_body))
    session.add(event)
    session.flush()
    _remember_head(session, event)
    appended = session.info.get(APPENDED)
    if appended is not None:  # someone of this transaction wants the events it made
        appended.append(event)
    from acsa.sync import capture  # a party's node captures its own acts for its partners

    capture.on_event(session, event)
    if order_hash and _may_have_subscribers(session):
        # only order events carry an order's hash: webhooks queue in this transaction
        outbox.enqueue_for_event(session, event)
    return event


def _body_sql():  # type: ignore[no-untyped-def]
    sep = literal(chain.SEP)
    return (cast(Event.seq, String) + sep + Event.at + sep + Event.party + sep + Event.actor
            + sep + Event.action + sep + Event.subject + sep + Event.order_hash + sep
            + Event.payload)


def _rows(session: Session, batch: int = 20_000) -> Iterator[tuple[int, str, str, str]]:
    """The rows `chain.first_break` walks. On SQLite a text column holds whatever bytes were
    written into it, and the driver fails on any that are not UTF-8 (an intruder's): the
    texts come as bytes and are decoded here, such bytes replaced, so that the event they are
    in does not hash to its stored hash (acsa writes only UTF-8) and is named as altered."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    texts = (Event.prev_hash, Event.hash, _body_sql())
    if sqlite:
        texts = tuple(cast(t, LargeBinary) for t in texts)  # type: ignore[assignment]
    stmt = select(Event.seq, *texts).order_by(Event.seq)
    # plain Core rows: the chain needs tuples, and the ORM's handling of each row was a third of
    # verify's time on a million events (bench/audit_verify.py). verify's count has autoflushed.
    result = session.connection().execute(stmt.execution_options(yield_per=batch))
    for part in result.partitions():
        if not sqlite:
            yield from part  # type: ignore[misc]
            continue
        for seq, *raw in part:
            yield (seq, *(b if b is None else bytes(b).decode("utf-8", "replace")
                          for b in raw))  # type: ignore[misc]


@dataclass(frozen=True)
class Verification:
    events: int
    head: str
    broken_at: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


_SEP_SQL = {"sqlite": "char(31)", "postgresql": "chr(31)"}
_LINK_SQL = {
    "sqlite": "acsa_link(prev_hash, {body})",
    "postgresql": "encode(sha256(convert_to(prev_hash || chr(31) || {body}, 'UTF8')), 'hex')",
}


def _first_break_in_db(session: Session) -> tuple[int, str] | None:
    """The same checks as `chain.first_break`, each row's made by the database: a gap in the
    sequence, a prev_hash that is not the hash before it, or content that does not hash to
    its stored hash. Only the first broken row comes back, so nothing crosses the driver per
    event. Used on PostgreSQL, which has SHA-256 built in; on SQLite (with `chain.link`
    registered as a function) it works too but is slower than streaming the rows."""
    dialect = session.get_bind().dialect.name
    sep = _SEP_SQL[dialect]
    body = f" || {sep} || ".join(["CAST(seq AS TEXT)", "at", "party", "actor", "action",
                                   "subject", "order_hash", "payload"])
    if dialect == "sqlite":
        raw = session.connection().connection.driver_connection
        raw.create_function("acsa_link", 2, chain.link, deterministic=True)  # type: ignore[union-attr]
    link = _LINK_SQL[dialect].format(body=body)
    sql = f"""
        SELECT seq, reason FROM (
          SELECT seq, CASE
            WHEN seq <> COALESCE(LAG(seq) OVER w, 0) + 1 THEN 'gap'
            WHEN prev_hash <> COALESCE(LAG(hash) OVER w, :genesis) THEN 'prev'
            WHEN hash <> {link} THEN 'altered' END AS reason
          FROM audit_events WINDOW w AS (ORDER BY seq)
        ) AS checked WHERE reason IS NOT NULL ORDER BY seq LIMIT 1"""
    row = session.execute(text(sql), {"genesis": chain.GENESIS}).first()
    if row is None:
        return None
    seq, reason = row
    if reason == "gap":
        before = session.scalar(select(func.max(Event.seq)).where(Event.seq < seq))
        return seq, chain.gap_reason(1 if before is None else before + 1, seq)
    return seq, {"prev": "prev_hash does not match the hash of the event before it",
                 "altered": "content does not match its hash (the event was altered)"}[reason]


# A chain this long is checked in stretches, the last by this process and the others each by
# a child process at the same time (audit/verify.py); below it, starting a child (some tens of
# milliseconds) costs more than it saves (one process checks a million events in 1-2 s).
PARALLEL_FROM = 100_000
MAX_PROCESSES = 4


def _sqlite_chain_holds(session: Session, count: int) -> bool:
    """True only if `chain.first_break` would find nothing; False means "walk it the slow way
    to find and name the first break". The same checks, made over batches of rows from the
    raw sqlite3 cursor with no Python code run per event (`audit.verify.check_stretch`):
      * no gap: seq is the integer primary key, so min 1 and max = count mean exactly 1..count,
        and so does each stretch's row count;
      * every hash: SHA-256 of the row's bytes equals the stored hash;
      * every prev_hash: the hash of the event before it, within a stretch by the check, and
        across stretches (and GENESIS for the first) by `audit.verify.chained`.
    A long chain in a file is split among processes. A child reads the committed file, the
    last stretch (where this transaction's own events would be) is read here, and a child that
    finds a break or cannot run has its stretch checked again here: only this session's view
    of the chain says it is broken."""
    if count == 0:
        return True
    if not _no_gap(session, count):
        return False
    raw = session.connection().connection.driver_connection
    file = _database_file(raw)
    parts = _processes(file, count)
    bounds = [(count * i // parts + 1, count * (i + 1) // parts) for i in range(parts)]
    children = [_start_stretch_check(file, first, last) for first, last in bounds[:-1]]
    try:
        mine = audit_verify.check_stretch(raw, *bounds[-1])  # type: ignore[arg-type]
        if mine is None:
            return False
        stretches = [_stretch_of(child, raw, first, last)
                     for child, (first, last) in zip(children, bounds[:-1], strict=True)]
    finally:
        for child in children:
            if child is not None and child.poll() is None:  # not waited for: a break found here
                child.kill()
                child.communicate()
    return audit_verify.chained([*stretches, mine], count)


def _processes(file: str, count: int) -> int:
    """How many processes check a chain of `count` events in the SQLite `file`: one for a
    short chain, a database not in a file (""), or a machine with one CPU."""
    if count < PARALLEL_FROM or not file or not sys.executable:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_PROCESSES, cpus or 1))


def _database_file(raw: Any) -> str:
    """The file of the connection's main database ("" in memory)."""
    return next((file for _, name, file in raw.execute("PRAGMA database_list")
                 if name == "main"), "")


def _stretch_command(file: str, first: int, last: int) -> list[str]:
    # a bare interpreter running audit/verify.py as a script: stdlib only, nothing to import
    return [sys.executable, "-I", "-S", audit_verify.__file__, file, str(first), str(last)]


def _start_stretch_check(file: str, first: int, last: int) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(_stretch_command(file, first, last), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
    except OSError:  # no process to be had: this one checks the stretch
        return None


def _stretch_of(child: subprocess.Popen[str] | None, raw: Any, first: int, last: int
                ) -> audit_verify.Stretch | None:
    """The child's answer for its stretch; checked again here when it found a break (it read
    the committed file, this session might see more) or could not answer at all."""
    if child is not None:
        out, _ = child.communicate()
        if child.returncode == 0:
            with contextlib.suppress(ValueError):  # not an answer: as if it had not run
                if (stretch := audit_verify.read_report(out, first, last)) is not None:
                    return stretch
    return audit_verify.check_stretch(raw, first, last)


def _no_gap(session: Session, count: int) -> bool:
    """seq is the integer primary key: min 1 and max = count mean exactly 1..count."""
    low, high = session.execute(select(func.min(Event.seq), func.max(Event.seq))).one()
    return count == 0 or (low == 1 and high == count)


def _pg_chain_holds(session: Session, count: int) -> bool:
    """True only if `_first_break_in_db` would find nothing. With no gap, the event before
    each is the one at seq - 1, so the window (which PostgreSQL runs in one process) becomes a
    join and a count that it splits among parallel workers; the slow query runs only to name a
    break."""
    if not _no_gap(session, count):
        return False
    body = " || chr(31) || ".join(
        f"a.{c}" for c in ("prev_hash", "seq::text", "at", "party", "actor", "action",
                           "subject", "order_hash", "payload"))
    link = f"encode(sha256(convert_to({body}, 'UTF8')), 'hex')"  # as _LINK_SQL's
    sql = f"""
        SELECT count(*) FROM audit_events AS a LEFT JOIN audit_events AS p ON p.seq = a.seq - 1
        WHERE a.prev_hash <> COALESCE(p.hash, :genesis) OR a.hash <> {link}"""
    return session.execute(text(sql), {"genesis": chain.GENESIS}).scalar_one() == 0


def verify(session: Session) -> Verification:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":  # as bytes: SQLite holds any bytes an intruder wrote (see _rows)
        raw = session.scalar(select(cast(Event.hash, LargeBinary)).order_by(Event.seq.desc())
                             .limit(1))
        head = (bytes(raw).decode("utf-8", "replace") if raw is not None else "") \
            or chain.GENESIS
    else:
        head = session.scalar(select(Event.hash).order_by(Event.seq.desc()).limit(1)) \
            or chain.GENESIS
    if dialect == "sqlite":
        # a chain that holds is exactly the events 1..max(seq) (seq is the integer primary
        # key, and the check counts the rows of every stretch): its length needs no count(*),
        # which reads a whole index; only a broken chain is counted, and walked to name it
        last = session.scalar(select(func.max(Event.seq)))
        if last is None:
            return Verification(0, head, None, None)
        if last >= 1 and _sqlite_chain_holds(session, last):
            return Verification(last, head, None, None)
    count = session.scalar(select(func.count()).select_from(Event)) or 0
    if dialect == "postgresql":
        broken = None if _pg_chain_holds(session, count) else _first_break_in_db(session)
    else:
        broken = chain.first_break(_rows(session))
    if broken:
        return Verification(count, head, broken[0], broken[1])
    return Verification(count, head, None, None)


def history(session: Session, subject: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.subject == subject).order_by(Event.seq)))


def search_events(session: Session, *, viewer_party: str, subject: str | None = None,
                  action: str | None = None, descending: bool = False, offset: int = 0,
                  limit: int | None = None, count_limit: int | None = None
                  ) -> tuple[list[Event], int]:
    """A page of the events `viewer_party` may read, and how many there are in all: its own
    (its officials' and users' acts) and every event of an order it is a party to. With
    `count_limit`, counted only up to that number (a long history is not counted through)."""
    # the event's subject is an order of the party: one lookup by the order number's unique
    # index per event read, not the list of every order number of the party built each time
    # (`OFFSET 0`: PostgreSQL would otherwise hash all the party's orders first)
    own_order = select(Order.id).where(
        Order.number == Event.subject,
        or_(Order.requesting_party == viewer_party, Order.supplying_party == viewer_party)
    ).offset(0)
    conds = [or_(Event.party == viewer_party, own_order.exists())]
    if subject:
        conds.append(Event.subject == subject)
    if action:
        conds.append(Event.action == action)
    key = Event.seq.desc() if descending else Event.seq
    if count_limit is None:
        return paging.page(session, Event, conds, (key,), offset=offset, limit=limit)
    stmt = select(Event).where(*conds).order_by(key).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list(session.scalars(stmt))
    if limit is not None and offset == 0 and len(rows) < limit:
        return rows, len(rows)
    bounded = select(Event.seq).where(*conds).limit(count_limit).subquery()
    return rows, session.scalar(select(func.count()).select_from(bounded)) or 0
