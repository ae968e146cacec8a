"""Our summary is cached as soon as a partner's events are applied (`acsa sync import`, `pull`,
a bundle pushed to `acsa serve`) or by hand (`acsa reconcile --prepare`), so that the next
reconciliation starts warm: every bucket from the cache, none recomputed, and the same roots
as a summary computed from every row."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from acsa import errors
from acsa.sync import digests, transport
from acsa.sync import reconcile as rc
from acsa.sync.models import NodeKey
from tests.sync._nodes import Cluster, Node, create, make_cluster, world_template  # noqa: F401
from tests.sync.test_reconcile_cli import _fresh, acsa  # noqa: F401 (_fresh: autouse)


@pytest.fixture
def nodes(world_template: Any, tmp_path: Path) -> Iterator[tuple[Node, Node]]:  # noqa: F811
    c: Cluster = make_cluster("sqlite", world_template("sqlite"), tmp_path)
    yield c["PH"], c["JP"]
    c.close()


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def cached(n: Node, agreement: str = "PHJP") -> bool:
    with n.session() as s:
        return digests.read(s, digests.key_for(agreement, today())) is not None


def assert_warm(n: Node, pair: tuple[str, str]) -> None:
    """The next summary as of today takes every bucket from the cache, and its roots are
    those of a summary computed from every row."""
    with n.session() as s:
        warm = rc.compute(s, agreement="PHJP", as_of=today(), party_pair=pair)
        fresh = rc.compute(s, agreement="PHJP", as_of=today(), party_pair=pair,
                           use_cache=False)
    assert warm.cache.startswith("hit: 0 of ") and warm.roots == fresh.roots
    assert fresh.months  # there is something in the book


def new_bundle(jp: Node, path: Path) -> Path:
    """A new order of JP's, exported for PH."""
    create(jp)
    assert acsa(jp, "sync", "export", "--to", "PH", "-o", str(path)).exit_code == 0
    return path


def test_an_import_that_applies_events_caches_the_summary(nodes: tuple[Node, Node],
                                                          tmp_path: Path) -> None:
    ph, jp = nodes
    bundle = new_bundle(jp, tmp_path / "jp-to-ph.acsa")
    assert not cached(ph)
    r = acsa(ph, "sync", "import", str(bundle), "--json")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    data = json.loads(r.stdout)
    assert data["applied"] and data["reconcile_prepared"] == ["PHJP"]
    assert cached(ph)
    assert_warm(ph, ("PH", "JP"))
    # the human form says so
    again = new_bundle(jp, tmp_path / "jp-to-ph-2.acsa")
    r = acsa(ph, "sync", "import", str(again))
    assert r.exit_code == 0 and "reconciliation summary refreshed: PHJP" in r.stdout
    assert_warm(ph, ("PH", "JP"))


def test_an_import_that_applies_nothing_computes_nothing(nodes: tuple[Node, Node],
                                                         tmp_path: Path) -> None:
    ph, jp = nodes
    bundle = new_bundle(jp, tmp_path / "jp-to-ph.acsa")
    assert acsa(ph, "sync", "import", str(bundle)).exit_code == 0
    with ph.session() as s:
        rc.clear_cache(s)
    # every event again, in a new bundle: all duplicates here
    resent = tmp_path / "jp-to-ph-again.acsa"
    assert acsa(jp, "sync", "export", "--to", "PH", "--since", "0", "-o",
                str(resent)).exit_code == 0
    r = acsa(ph, "sync", "import", str(resent), "--json")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    data = json.loads(r.stdout)
    assert data["duplicates"] and not data["applied"] and data["reconcile_prepared"] == []
    assert not cached(ph)


@pytest.mark.parametrize("failure", [
    errors.AcsaError("the summary could not be computed"),
    sqlite3.OperationalError("disk I/O error"),  # from the raw DB-API cursor, unwrapped
])
def test_a_failed_refresh_does_not_fail_the_import(nodes: tuple[Node, Node], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   failure: Exception) -> None:
    ph, jp = nodes

    def broken(*a: Any, **kw: Any) -> list[str]:
        raise failure
    monkeypatch.setattr(rc, "prepare", broken)
    bundle = new_bundle(jp, tmp_path / "jp-to-ph.acsa")
    r = acsa(ph, "sync", "import", str(bundle), "--json")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    data = json.loads(r.stdout)
    assert data["reconcile_prepared"] == [] and len(data["applied"]) == 2
    assert "the reconciliation summary was not refreshed" in r.stderr
    assert str(failure) in r.stderr


def test_the_refresh_holds_no_write_lock_while_it_reads(nodes: tuple[Node, Node],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """While the summary is computed, another writer can begin at once (SQLite has one write
    lock; a refresh of a large book takes seconds)."""
    ph, _ = nodes
    create(ph)
    real, began = rc.compute, []

    def compute_while_another_writes(session: Any, **kw: Any) -> Any:
        session.connection().exec_driver_sql("SELECT count(*) FROM orders")  # begun, reading
        other = sqlite3.connect(ph.engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            began.append(True)
            other.execute("ROLLBACK")
        finally:
            other.close()
        return real(session, **kw)
    monkeypatch.setattr(rc, "compute", compute_while_another_writes)
    assert rc.prepare(ph.engine, partner="JP", as_of=today()) == ["PHJP"]
    assert began == [True]


def test_reconcile_prepare_by_hand(nodes: tuple[Node, Node]) -> None:
    ph, jp = nodes
    create(ph)
    r = acsa(ph, "reconcile", "--prepare", "--with", "JP", "--json")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    data = json.loads(r.stdout)
    assert data["prepared"] == ["PHJP"] and data["as_of"] == today().isoformat()
    assert_warm(ph, ("PH", "JP"))
    r = acsa(ph, "reconcile", "--prepare", "--with", "JP", "--agreement", "PHUS", "--json")
    assert r.exit_code != 0
    assert json.loads(r.stderr.strip().splitlines()[-1])["field"] == "agreement"
    r = acsa(ph, "reconcile", "--prepare", "--with", "JP", "--as-of", "2026-12-31")
    assert r.exit_code == 0 and "cached for PHJP" in r.stdout
    for args, field in ((("--with", "PH"), "with"), (("--with", "XX"), "with"),
                        (("--with", "JP", "--no-cache"), "prepare"),
                        (("--with", "JP", "--from", "x.json"), "prepare")):
        r = acsa(ph, "reconcile", "--prepare", *args, "--json")
        assert r.exit_code != 0, args
        assert json.loads(r.stderr.strip().splitlines()[-1])["field"] == field, args
    with ph.session() as s:
        assert digests.read(s, digests.key_for("PHJP", dt.date(2026, 12, 31))) is not None


def test_a_pushed_bundle_caches_the_summary_after_the_answer(
        nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch) -> None:
    from acsa.api.app import create_app

    ph, jp = nodes
    with ph.session() as s:
        s.execute(update(NodeKey).where(NodeKey.party == "JP").values(url="http://jp-node"))
    server = create_app(jp.engine)
    monkeypatch.setattr(httpx, "Client", lambda **kw: TestClient(server,
                                                                  base_url="http://jp-node"))
    create(ph)
    assert not cached(jp)
    sent = transport.push(ph.engine, to="JP")
    assert sent["events"] == 2
    assert cached(jp)
    assert_warm(jp, ("JP", "PH"))


def test_registering_a_partners_node_key_caches_the_summary(nodes: tuple[Node, Node]) -> None:
    """`acsa keys add-partner` of a partner's node key caches our summary of the agreements
    with it at once; an official's key caches nothing."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ph, jp = nodes

    def public() -> str:
        return Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()

    r = acsa(ph, "keys", "add-partner", "US", public(), "--agreement", "PHUS", "--official",
             "us-finance")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "reconciliation summary" not in r.stdout and not cached(ph, "PHUS")
    r = acsa(ph, "keys", "add-partner", "US", public(), "--agreement", "PHUS")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "reconciliation summary cached: PHUS" in r.stdout
    assert cached(ph, "PHUS")
    r = acsa(jp, "keys", "add-partner", "US", public(), "--agreement", "JPUS", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["party"] == "US"  # one JSON document
    assert cached(jp, "JPUS")


def test_db_upgrade_caches_the_summary_with_every_registered_partner(
        nodes: tuple[Node, Node], tmp_path: Path) -> None:
    """`acsa db upgrade` (to head) on a party's node caches its summary with each partner whose
    node key is registered: a node upgraded to a release with a new cache starts warm."""
    ph, jp = nodes
    assert acsa(ph, "sync", "import", str(new_bundle(jp, tmp_path / "b.acsa"))).exit_code == 0
    with ph.session() as s:
        rc.clear_cache(s)
    assert not cached(ph)
    r = acsa(ph, "db", "upgrade")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "reconciliation summary cached: PHJP (with JP)" in r.stdout
    assert_warm(ph, ("PH", "JP"))
