"""`acsa officials change` and `acsa officials deactivate` as a user runs them (typer's
CliRunner, in process), on SQLite and PostgreSQL: the change is made and reported (text and
`--json`), a bad value is refused naming the field with nothing changed, and on a party's node
the partner's officials cannot be changed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from acsa.cli.main import app
from acsa.db.engine import engine_for, unit_of_work
from acsa.parties import service as parties
from acsa.sync import node

runner = CliRunner()


@pytest.fixture
def acsa(world, db_url) -> Iterator:
    def run(*args: str):
        return runner.invoke(app, ["--db", db_url, *args])
    yield run
    engine_for.cache_clear()


def terms(world, code="ph-approving"):
    with unit_of_work(world) as s:
        return parties.official_terms(s, parties.get_official(s, code))


def test_change_limit_and_validity_with_json(acsa, world):
    r = acsa("officials", "change", "ph-approving", "--limit", "2,000,000 PHP",
             "--valid-to", "2027-03-31", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["code"] == "ph-approving" and data["party"] == "PH"
    assert data["changed"] == ["limit", "valid_to"]
    assert data["before"]["limit"] == "50,000,000.00 PHP"
    assert data["after"] == terms(world) == {"limit": "2,000,000.00 PHP",
                                             "valid_from": "2026-01-01",
                                             "valid_to": "2027-03-31", "unit": "PN-NFSL"}


def test_change_in_text_and_clearing_values(acsa, world):
    r = acsa("officials", "change", "ph-approving", "--no-limit", "--open-ended", "--no-unit")
    assert r.exit_code == 0, r.stderr
    assert "official ph-approving (approving, PH) changed" in r.stdout
    assert "limit: 50,000,000.00 PHP -> None" in r.stdout
    assert terms(world) == {"limit": None, "valid_from": "2026-01-01", "valid_to": None,
                            "unit": None}


def test_deactivate(acsa, world):
    r = acsa("officials", "deactivate", "ph-approving", "--on", "2026-06-30", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["changed"] == ["valid_to"]
    assert terms(world)["valid_to"] == "2026-06-30"


@pytest.mark.parametrize("args, field", [
    (["--limit", "0 PHP"], "limit"),
    (["--limit", "100 XXX"], None),
    (["--valid-to", "2025-01-01"], "valid_to"),
    (["--valid-to", "31/12/2027"], "valid_to"),
    (["--unit", "NO-SUCH"], "unit"),
    (["--no-limit", "--limit", "5 PHP"], "limit"),
    ([], "valid_to"),
])
def test_bad_changes_are_refused_with_nothing_changed(acsa, world, args, field):
    before = terms(world)
    r = acsa("officials", "change", "ph-approving", *args, "--json")
    assert r.exit_code != 0
    error = json.loads(r.stderr)
    if field:
        assert error["field"] == field, error
    else:
        assert error["error"] == "UnknownCurrency"
    assert terms(world) == before


def test_unknown_official(acsa):
    r = acsa("officials", "change", "ph-nobody", "--limit", "5 PHP", "--json")
    assert r.exit_code != 0
    assert json.loads(r.stderr)["error"] == "NotFound"


def test_a_node_changes_its_own_partys_officials_only(acsa, world):
    with unit_of_work(world) as s:
        node.set_party(s, "PH")
    before = terms(world, "jp-approving")
    r = acsa("officials", "change", "jp-approving", "--limit", "5 JPY", "--json")
    assert r.exit_code != 0
    assert json.loads(r.stderr)["error"] == "NotOwner"
    assert terms(world, "jp-approving") == before
    r = acsa("officials", "deactivate", "jp-approving", "--on", "2026-06-30")
    assert r.exit_code != 0 and "cannot change jp-approving" in r.stderr
    assert acsa("officials", "change", "ph-approving", "--limit", "5 PHP").exit_code == 0
