"""A node killed during an import resumes cleanly (issue #6 items 2 and 6): every event is
applied in its own transaction, so a crash leaves each one applied or still pending; running
the import again (the bundle is only `stored`, not `done`, so it is not a replay) or
`run_pending` finishes the job, and nothing is lost or applied twice.

In-process (apply raising SystemExit after N events) on SQLite and PostgreSQL, and for real:
`acsa sync import FILE` killed with SIGKILL part-way on a SQLite field node, then run again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from acsa.orders import service as orders
from acsa.orders.models import Order
from acsa.sync import apply, bundle
from acsa.sync import service as sync
from acsa.sync.models import BundleSeen, InboxEvent
from tests import factories as f
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    PASS,
    D,
    Node,
    assert_same_books,
    lines_for,
    make_cluster,
)

# the fixtures of the nodes
cluster = _nodes.cluster
sync_backend = _nodes.sync_backend
world_template = _nodes.world_template

ORDERS = 100  # 200 events for the real kill; fewer in-process


def many_orders(jp: Node, n: int = ORDERS) -> list[str]:
    """n orders of JP, created and requested, in one transaction (fast)."""
    numbers = []
    with jp.session() as s:
        for _ in range(n):
            o = f.draft(s, lines=lines_for("JP", "PH"))
            orders.request_order(s, number=o.number, by="jp-requesting", on=D)
            numbers.append(o.number)
    return numbers


def inbox_status(n: Node) -> dict[str, int]:
    with n.session() as s:
        return {st: c for st, c in s.execute(select(InboxEvent.status, func.count())
                                             .group_by(InboxEvent.status))}


def small_batches(monkeypatch: pytest.MonkeyPatch, size: int) -> int:
    """Commit every `size` events (if the import commits in batches at all): a crash then
    leaves some events applied and the rest pending. Returns the batch size in force."""
    if hasattr(sync, "BATCH"):
        monkeypatch.setattr(sync, "BATCH", size)
        return size
    return 1


def test_import_killed_half_way_resumes(cluster, monkeypatch):
    c = cluster()
    batch = small_batches(monkeypatch, 10)
    jp, ph = c["JP"], c["PH"]
    n = 30
    numbers = many_orders(jp, n)
    raw = bundle.dumps(jp.export(ph))
    real = apply.apply_event
    calls = {"n": 0}

    def dies_after_25(session, ev):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 25:
            raise SystemExit("killed")  # not an Exception: nothing catches it on the way
        real(session, ev)

    monkeypatch.setattr(apply, "apply_event", dies_after_25)
    with pytest.raises(SystemExit):
        ph.import_(raw)
    monkeypatch.setattr(apply, "apply_event", real)
    # every event is applied or still pending: nothing half-done (what was not committed
    # when it died is pending again)
    committed = 25 - 25 % batch
    assert inbox_status(ph) == {"applied": committed, "pending": 2 * n - committed}
    with ph.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == (committed + 1) // 2
        bundle_id = s.scalars(select(BundleSeen.bundle_id)).one()
        assert s.get(BundleSeen, bundle_id).state == "stored"
    # the same import again finishes the job: not refused as a replay
    r = ph.import_(raw)
    assert r.duplicates == 2 * n and r.stored == 0
    assert len(r.applied) == 2 * n - committed and not r.pending and not r.quarantined
    assert inbox_status(ph) == {"applied": 2 * n}
    assert ph.bundle_state(bundle_id) == "done"
    assert_same_books(jp, ph)
    assert set(ph.book()["orders"]) == set(numbers)
    assert {v[0] for v in ph.book()["orders"].values()} == {"requested"}


def test_run_pending_after_a_crash(cluster, monkeypatch):
    c = cluster()
    batch = small_batches(monkeypatch, 5)
    jp, ph = c["JP"], c["PH"]
    many_orders(jp, 10)
    data = jp.export(ph)
    real = apply.apply_event
    calls = {"n": 0}

    def dies_after_7(session, ev):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 7:
            raise SystemExit("killed")
        real(session, ev)

    monkeypatch.setattr(apply, "apply_event", dies_after_7)
    with pytest.raises(SystemExit):
        ph.import_(data)
    monkeypatch.setattr(apply, "apply_event", real)
    assert inbox_status(ph)["applied"] == 7 - 7 % batch
    r = sync.run_pending(ph.engine)
    assert len(r.applied) == 20 - (7 - 7 % batch) and not r.pending
    assert inbox_status(ph) == {"applied": 20}
    assert_same_books(jp, ph)
    # the next bundle (with nothing new) goes in as usual
    r = ph.import_(jp.export(ph))
    assert r.duplicates == 20 and not r.applied


def _acsa(*args: str, home: Path, db: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ACSA_HOME=str(home), ACSA_KEY_PASSPHRASE=PASS)
    env.pop("ACSA_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "acsa.cli.main", "--db", db, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_cli_import_killed_with_sigkill_resumes(world_template, tmp_path, request):
    """A field laptop on SQLite: the import process is killed (SIGKILL, no cleanup at all)
    while it applies a bundle of 200 events; the next run of the same command finishes."""
    c = make_cluster("sqlite", world_template("sqlite", request), tmp_path)
    try:
        jp, ph = c["JP"], c["PH"]
        many_orders(jp)
        path = tmp_path / "to-ph.acsa"
        path.write_bytes(bundle.dumps(jp.export(ph)))
        home = tmp_path / "ph-home"
        home.mkdir()
        proc = _acsa("sync", "import", str(path), "--json", home=home, db=ph.url)
        # a plain reader (no write lock: it must not queue behind the import)
        probe = sqlite3.connect(ph.url.split("///", 1)[1], timeout=30)
        killed_at = None
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            stored = probe.execute("SELECT count(*) FROM sync_inbox").fetchone()[0]
            if stored == 2 * ORDERS:  # the events are stored: it is applying them now
                time.sleep(0.2)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                killed_at = stored
                break
            time.sleep(0.005)
        probe.close()
        if killed_at is None:
            proc.wait()
            pytest.fail(f"the import ended before it could be killed: {proc.returncode} "
                        f"{proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
        assert proc.returncode == -signal.SIGKILL
        status = inbox_status(ph)
        assert status.get("pending", 0) > 0, "killed part-way, some events still wait"
        assert sum(status.values()) == 2 * ORDERS
        # run the same import again
        again = _acsa("sync", "import", str(path), "--json", home=home, db=ph.url)
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err.decode()[-2000:]
        assert inbox_status(ph) == {"applied": 2 * ORDERS}
        assert_same_books(jp, ph)
        with ph.session() as s:
            assert s.scalar(select(func.count()).select_from(Order)) == ORDERS
            assert s.scalars(select(BundleSeen.state)).one() == "done"
    finally:
        c.close()
