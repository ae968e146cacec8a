"""Reconciliation's change log: the orders whose leaves may have changed since a summary was
cached (migration 0012).

The database writes it itself, by triggers on `orders` and `claims`, in the same transaction as
the change (so a rolled-back change leaves no row, and a change made by any writer, the
services, a partner's event, a bulk import or a hand-written UPDATE, leaves one): an order
inserted, deleted, or updated in a column its leaf or its bucket reads (number, state, order
date, agreement, parties), and a claim inserted, deleted or updated in a column its leaf reads
(its order's id is logged, old and new). On PostgreSQL a TRUNCATE of either table logs order
id -1: everything changed. Ledger lines need no trigger: the ledger is append-only, so what was
added since a summary is the lines above its watermark.

`acsa.sync.reconcile` keeps, per agreement and date, the roots and members of every bucket
with the log position they cover (stored here: `node_settings`, key
`reconcile:<agreement>:<as_of>`, and `reconcile::log` for the rows pruned so far and each
entry's position), and on the next summary recomputes only the buckets of the orders logged
since (and of the orders new ledger lines touched).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Mapped, Session, mapped_column

from acsa.db.base import Base
from acsa.sync.models import NodeSetting

TRIGGERS = ("reconcile_orders_ai", "reconcile_orders_au", "reconcile_orders_ad",
            "reconcile_claims_ai", "reconcile_claims_au", "reconcile_claims_ad")
PG_TRIGGERS = TRIGGERS + ("reconcile_orders_truncate", "reconcile_claims_truncate")
EVERYTHING = -1  # the order id a TRUNCATE logs
CACHE_PREFIX = "reconcile:"
CACHE_VERSION = 3
CACHE_KEEP = 4  # as-of dates cached per agreement
LOG_KEY = f"{CACHE_PREFIX}:log"  # the log's rows pruned so far, and each entry's position


class ReconcileChange(Base):
    """An order whose reconciliation leaf, bucket or claims may have changed."""

    __tablename__ = "reconcile_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused, even after pruning

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int]  # no foreign key: a deleted order's row stays


def installed(session: Session) -> bool:
    """Whether the log's table and every one of its triggers are there (and enabled): a
    database migrated to 0012. Without them nothing may be taken from a cache."""
    bind = session.connection()
    if bind.dialect.name == "postgresql":
        names = PG_TRIGGERS
        sql = ("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
               "WHERE c.relname IN ('orders', 'claims') AND NOT t.tgisinternal "
               "AND t.tgenabled <> 'D' AND t.tgname IN ("
               + ", ".join(f"'{n}'" for n in names) + ")")
    else:
        names = TRIGGERS
        sql = ("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ("
               + ", ".join(f"'{n}'" for n in names) + ")")
    return int(bind.exec_driver_sql(sql).scalar_one()) == len(names)


def _scalar(session: Session, sql: str, *params: Any) -> int:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    return int(conn.exec_driver_sql(sql, tuple(params)).scalar_one())


def head(session: Session) -> tuple[int, int]:
    """(the highest id in the log, how many rows it holds)."""
    conn = session.connection()  # two statements: count(*) alone counts from an index
    top = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM reconcile_changes").scalar()
    n = conn.exec_driver_sql("SELECT count(*) FROM reconcile_changes").scalar()
    return int(top or 0), int(n or 0)


def count_upto(session: Session, position: int) -> int:
    return _scalar(session, "SELECT count(*) FROM reconcile_changes WHERE id <= ?", position)


def since(session: Session, position: int) -> set[int]:
    """The order ids logged after `position`."""
    conn = session.connection()
    sql = "SELECT DISTINCT order_id FROM reconcile_changes WHERE id > ?"
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    return {int(r[0]) for r in conn.exec_driver_sql(sql, (position,))}


def prune(session: Session, upto: int) -> int:
    """Delete the rows at or below `upto` (every cached summary covers them); how many."""
    conn = session.connection()
    sql = "DELETE FROM reconcile_changes WHERE id <= ?"
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    return int(conn.exec_driver_sql(sql, (upto,)).rowcount or 0)


# --- the cached summaries ----------------------------------------------------------------------
def key_for(agreement: str, as_of: dt.date) -> str:
    return f"{CACHE_PREFIX}{agreement}:{as_of.isoformat()}"


def _setting(session: Session, key: str) -> dict[str, Any] | None:
    row = session.get(NodeSetting, key)
    if row is None:
        return None
    try:
        data = json.loads(row.value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read(session: Session, key: str) -> dict[str, Any] | None:
    data = _setting(session, key)
    return data if data is not None and data.get("v") == CACHE_VERSION else None


def nearest(session: Session, agreement: str, as_of: dt.date
            ) -> tuple[dict[str, Any] | None, dt.date]:
    """The cached summary of the agreement as of the date, else the one of the nearest date
    (a node reconciling as of today finds yesterday's), with its date."""
    cached = read(session, key_for(agreement, as_of))
    if cached is not None:
        return cached, as_of
    prefix = f"{CACHE_PREFIX}{agreement}:"
    dates = []
    for k in session.scalars(select(NodeSetting.key).where(NodeSetting.key.like(f"{prefix}%"))):
        with contextlib.suppress(ValueError):
            dates.append(dt.date.fromisoformat(k[len(prefix):]))
    for day in sorted(dates, key=lambda d: (abs((d - as_of).days), d)):
        cached = read(session, key_for(agreement, day))
        if cached is not None:
            return cached, day
    return None, as_of


def pruned(session: Session) -> int:
    """How many rows of the log have been deleted so far (see `write`)."""
    return int((_setting(session, LOG_KEY) or {}).get("pruned", 0))


def _put(session: Session, key: str, value: dict[str, Any]) -> None:
    text_ = json.dumps(value, separators=(",", ":"))
    row = session.get(NodeSetting, key)
    if row is None:
        session.add(NodeSetting(key=key, value=text_))
    else:
        row.value = text_


def write(session: Session, agreement: str, key: str, value: dict[str, Any]) -> bool:
    """Cache a summary (`value["cw"]`: the log position it covers). Best effort, in a
    savepoint: a transaction that cannot write (SQLite with a newer writer, PostgreSQL with a
    concurrent reconciliation) keeps its result and skips the cache. Keeps CACHE_KEEP dates per
    agreement, then deletes the rows of the log that every cached summary covers; their count
    goes into LOG_KEY's `pruned`, which each entry's check adds back, so a row deleted here is
    never taken for one that went missing or one that came late. Whether it was written."""
    try:
        with session.begin_nested():
            _put(session, key, value)
            session.flush()
            keys = sorted(session.scalars(select(NodeSetting.key).where(
                NodeSetting.key.like(f"{CACHE_PREFIX}{agreement}:%"))))
            old = [k for k in keys if k != key][:max(0, len(keys) - CACHE_KEEP)]
            if old:
                session.execute(delete(NodeSetting).where(NodeSetting.key.in_(old)))
            every = set(session.scalars(select(NodeSetting.key).where(
                NodeSetting.key.like(f"{CACHE_PREFIX}%"))))
            log = _setting(session, LOG_KEY) or {}
            positions = {k: int(v) for k, v in (log.get("positions") or {}).items()
                         if k in every}
            positions[key] = int(value["cw"])
            done = int(log.get("pruned", 0)) + prune(session, min(positions.values()))
            _put(session, LOG_KEY, {"pruned": done, "positions": positions})
            session.flush()
    except (sa_exc.OperationalError, sa_exc.IntegrityError, sa_exc.InternalError):
        return False
    return True


def clear(session: Session) -> int:
    """Forget every cached summary (and the pruning count, which only they need)."""
    n = session.execute(delete(NodeSetting).where(NodeSetting.key.like(f"{CACHE_PREFIX}%")))
    return int(n.rowcount or 0)  # type: ignore[attr-defined]
