"""`acsa reconcile` as a user runs it (typer's CliRunner, in process), on two SQLite nodes:
from a signed summary file, and over HTTP against the partner node's API (its FastAPI app,
reached through httpx as the CLI does, signed requests and all)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from acsa.cli.main import app
from acsa.db.engine import engine_for
from acsa.sync import keys
from acsa.sync.models import NodeKey
from tests.sync._nodes import PASS, Cluster, Node, make_cluster, world_template  # noqa: F401
from tests.sync.test_reconcile import plant, story

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(keys.PASSPHRASE_ENV, PASS)
    keys._UNLOCKED.clear()
    yield
    keys._UNLOCKED.clear()
    engine_for.cache_clear()


@pytest.fixture
def nodes(world_template: Any, tmp_path: Path) -> Iterator[tuple[Node, Node, dict[str, str]]]:  # noqa: F811
    c: Cluster = make_cluster("sqlite", world_template("sqlite"), tmp_path)
    numbers = story(c["PH"])
    assert story(c["JP"]) == numbers
    yield c["PH"], c["JP"], numbers
    c.close()


def acsa(n: Node, *args: str) -> Any:
    return runner.invoke(app, ["--db", str(n.engine.url.render_as_string(False)), *args])


def test_equal_books_from_a_file(nodes: tuple[Node, Node, dict[str, str]],
                                 tmp_path: Path) -> None:
    ph, jp, _ = nodes
    file = tmp_path / "jp-summary.json"
    r = acsa(jp, "reconcile", "--export-summary", str(file), "--for", "PH", "--as-of",
             "2026-12-31")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "wrote" in r.stdout and "signed with key" in r.stdout
    assert json.loads(file.read_text())["to"] == "PH"
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(file), "--csv",
             str(tmp_path / "r.csv"), "--pdf", str(tmp_path / "r.pdf"))
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "the books agree" in r.stdout and "no record compared" in r.stdout
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert rows == [["agreement", "as_of", "month", "subject", "number", "kind", "field",
                     "ours", "theirs"]]


def test_differences_from_a_file_exit_8_with_a_table_csv_and_pdf(
        nodes: tuple[Node, Node, dict[str, str]], tmp_path: Path) -> None:
    ph, jp, numbers = nodes
    extra = plant(ph, jp, numbers)
    file = tmp_path / "jp.json"
    assert acsa(jp, "reconcile", "--export-summary", str(file), "--for", "PH", "--as-of",
                "2026-12-31").exit_code == 0
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(file), "--csv",
             str(tmp_path / "r.csv"), "--pdf", str(tmp_path / "r.pdf"))
    assert r.exit_code == 8, (r.stdout, r.stderr)
    assert "the books differ" in r.stdout and "Differences" in r.stdout
    for text in (numbers["b"], numbers["c"], numbers["e"], extra, "state different",
                 "amount different", "only in theirs", "disputed"):
        assert text in r.stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    kinds = {(row["subject"], row["number"], row["kind"]) for row in rows}
    assert ("order", numbers["c"], "state") in kinds
    assert ("order", extra, "only_theirs") in kinds
    assert ("claim", numbers["e_claim"], "amount") in kinds
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(file), "--json")
    assert r.exit_code == 8
    data = json.loads(r.stdout)
    assert data["agrees"] is False and data["months_differing"] == [
        "2026-06", "2026-07", "2026-08", "2026-09"]
    assert {(d["number"], d["kind"]) for d in data["differences"]} >= {
        (numbers["c"], "state"), (extra, "only_theirs")}


def test_a_tampered_summary_file_is_refused(nodes: tuple[Node, Node, dict[str, str]],
                                           tmp_path: Path) -> None:
    ph, jp, numbers = nodes
    file = tmp_path / "jp.json"
    assert acsa(jp, "reconcile", "--export-summary", str(file), "--for", "PH", "--as-of",
                "2026-12-31").exit_code == 0
    doc = json.loads(file.read_text())
    doc["leaves"]["2026-06"]["orders"][numbers["b"]]["amounts"][0][3] += 100
    file.write_text(json.dumps(doc))
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(file))
    assert r.exit_code == 8
    assert "signature" in r.stderr and "does not verify" in r.stderr
    assert "the books" not in r.stdout  # nothing compared
    file.write_text(file.read_text()[:-20])  # truncated
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(file))
    assert r.exit_code == 8 and "not JSON" in r.stderr
    r = acsa(ph, "reconcile", "--with", "US", "--from", str(file))  # no agreement PH-US here?
    assert r.exit_code != 0


def test_a_summary_for_another_party_and_a_date_mismatch(
        nodes: tuple[Node, Node, dict[str, str]], tmp_path: Path) -> None:
    ph, jp, _ = nodes
    file = tmp_path / "jp.json"
    assert acsa(jp, "reconcile", "--export-summary", str(file), "--for", "PH", "--as-of",
                "2026-12-31").exit_code == 0
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(file), "--as-of", "2026-11-30")
    assert r.exit_code == 3 and "as of 2026-12-31" in r.stderr


def test_roots_only_file_and_months(nodes: tuple[Node, Node, dict[str, str]],
                                   tmp_path: Path) -> None:
    ph, jp, numbers = nodes
    plant(ph, jp, numbers)
    roots = tmp_path / "roots.json"
    assert acsa(jp, "reconcile", "--export-summary", str(roots), "--for", "PH", "--as-of",
                "2026-12-31", "--roots-only").exit_code == 0
    assert "leaves" not in json.loads(roots.read_text())
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(roots))
    assert r.exit_code == 8 and "unresolved months" in r.stdout and "--months" in r.stdout
    some = tmp_path / "some.json"
    assert acsa(jp, "reconcile", "--export-summary", str(some), "--for", "PH", "--as-of",
                "2026-12-31", "--months", "2026-06,2026-07,2026-08,2026-09").exit_code == 0
    assert sorted(json.loads(some.read_text())["leaves"]) == [
        "2026-06", "2026-07", "2026-08", "2026-09"]
    r = acsa(ph, "reconcile", "--with", "JP", "--from", str(some), "--json")
    assert r.exit_code == 8 and json.loads(r.stdout)["unresolved_months"] == []


# --- over HTTP -------------------------------------------------------------------------------
@pytest.fixture
def http_partner(nodes: tuple[Node, Node, dict[str, str]], monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[list[str]]:
    """JP's node served by its FastAPI app; httpx.Client (as the CLI opens it) reaches it. The
    requested paths are recorded."""
    from acsa.api.app import create_app

    ph, jp, _ = nodes
    with ph.session() as s:
        s.execute(update(NodeKey).where(NodeKey.party == "JP").values(url="http://jp-node"))
    server = create_app(jp.engine)
    seen: list[str] = []

    def client(**kw: Any) -> httpx.Client:
        c = TestClient(server, base_url="http://jp-node")
        c.event_hooks["request"].append(lambda req: seen.append(
            req.url.raw_path.decode()))
        return c
    monkeypatch.setattr(httpx, "Client", client)
    yield seen


def test_over_http_equal_books_need_the_roots_alone(
        nodes: tuple[Node, Node, dict[str, str]], http_partner: list[str]) -> None:
    ph, _, _ = nodes
    r = acsa(ph, "reconcile", "--with", "JP", "--as-of", "2026-12-31")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert "the books agree" in r.stdout
    assert http_partner == ["/api/v1/sync/summary?agreement=PHJP&as_of=2026-12-31"]


def test_over_http_differences_fetch_only_the_differing_months(
        nodes: tuple[Node, Node, dict[str, str]], http_partner: list[str]) -> None:
    ph, jp, numbers = nodes
    extra = plant(ph, jp, numbers)
    r = acsa(ph, "reconcile", "--with", "JP", "--as-of", "2026-12-31", "--json")
    assert r.exit_code == 8, (r.stdout, r.stderr)
    assert http_partner == [
        "/api/v1/sync/summary?agreement=PHJP&as_of=2026-12-31",
        "/api/v1/sync/summary?agreement=PHJP&as_of=2026-12-31"
        "&months=2026-06,2026-07,2026-08,2026-09"]
    data = json.loads(r.stdout)
    assert {(d["subject"], d["number"], d["kind"]) for d in data["differences"]} >= {
        ("order", extra, "only_theirs"), ("order", numbers["c"], "state")}


def test_the_summary_route_refuses_unsigned_and_foreign_requests(
        nodes: tuple[Node, Node, dict[str, str]]) -> None:
    from acsa.api.app import create_app

    ph, jp, _ = nodes
    path = "/api/v1/sync/summary?agreement=PHJP&as_of=2026-12-31"
    with TestClient(create_app(jp.engine)) as c:
        assert c.get(path).status_code == 401
        headers = keys.sign_request(jp.signer(), "GET", path, b"")  # JP's own key
        assert c.get(path, headers=headers).status_code == 403
        headers = keys.sign_request(ph.signer(), "GET", path, b"")
        r = c.get(path, headers=headers)
        assert r.status_code == 200
        assert r.json()["party"] == "JP" and r.json()["to"] == "PH"
        assert "leaves" not in r.json()
        wrong = keys.sign_request(ph.signer(), "GET", path + "&months=2026-06", b"")
        assert c.get(path, headers=wrong).status_code == 401  # signed for another path
