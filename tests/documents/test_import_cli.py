"""`acsa import` and `acsa export` through the installed console script, on SQLite and
PostgreSQL: exit codes, the JSON report, refusals on stderr, nothing changed by a refusal, and
`acsa audit verify` after an import."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from acsa.db.engine import unit_of_work
from acsa.documents import bulk_format
from tests.documents._bulk_helpers import WATER, order, write_csv, write_generated
from tests.e2e.conftest import Cli, db_state
from tests.factories import setup_world

# Exit codes, messages and files of the command itself: run on SQLite only, as the
# services behind it are tested on both backends (and each run spawns `acsa`).
CLI_PLUMBING = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

@pytest.fixture
def cli(engine: Engine, db_url: str, _acsa_home: Path) -> Cli:
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    engine.dispose()
    return Cli(_acsa_home, db_url)


def test_templates_are_written_and_import_as_they_are(cli: Cli, tmp_path: Path) -> None:
    cli("import", "template", "-o", tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == bulk_format.template_bytes("csv")
    header = next(csv.reader(io.StringIO((tmp_path / "t.csv").read_text("utf-8"))))
    assert tuple(header) == bulk_format.NAMES
    cli("import", "template", "-o", tmp_path / "t.xlsx")
    sheet = load_workbook(tmp_path / "t.xlsx").worksheets[0]
    assert tuple(c.value for c in sheet[1]) == bulk_format.NAMES
    # the example order names officials of its own world (jp-requesting...): it imports here
    report = cli.json("import", "orders", tmp_path / "t.xlsx")
    assert report["status"] == "imported" and report["imported"][0]["state"] == "requested"
    assert cli.run("import", "template", "-o", tmp_path / "t.pdf").code == 3


def test_import_then_verify_then_reimport(cli: Cli, tmp_path: Path) -> None:
    path = write_generated(tmp_path / "g.csv", 40, per_order=4)
    report = cli.json("import", "orders", path)
    assert report["status"] == "imported" and report["imported_count"] == 10
    assert cli.json("audit", "verify")["ok"] is True
    listed = cli.json("orders", "list")
    assert len(listed["orders"] if isinstance(listed, dict) else listed) == 10
    before = db_state(cli.db)
    again = cli.json("import", "orders", path)
    assert again["already_imported_count"] == 10 and again["imported_count"] == 0
    assert db_state(cli.db) == before
    text = cli("import", "orders", path).out
    assert "already imported before: 10 order(s)" in text


@CLI_PLUMBING
def test_bad_rows_exit_3_with_the_report(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mixed.csv", order("A-1") + order("B-1", {}, dict(
        WATER, quantity="-2")))
    r = cli.run("import", "orders", path, "--json")
    assert r.code == 3, r.describe()
    report = json.loads(r.out)
    assert report["status"] == "partial"
    assert [(p["row"], p["column"]) for p in report["problems"]] == [(4, "quantity")]
    r = cli.run("import", "orders", write_csv(tmp_path / "bad2.csv", order("C-1", category="toys")))
    assert r.code == 3
    assert "toys" in r.out and "category" in r.out


@CLI_PLUMBING
def test_all_or_nothing_and_dry_run_change_nothing(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mixed.csv", order("A-1") + order("B-1", quantity="0"))
    before = db_state(cli.db)
    r = cli.run("import", "orders", path, "--all-or-nothing", "--json")
    assert r.code == 3 and json.loads(r.out)["status"] == "refused"
    r = cli.run("import", "orders", path, "--dry-run", "--json")
    assert r.code == 3 and json.loads(r.out)["status"] == "checked"
    assert db_state(cli.db) == before


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "empty"),
    (b"order_ref,agreement\n", "missing required column(s)"),
    ("order_ref;軽油\n".encode("cp932") * 3, "Shift_JIS"),
])
def test_an_unreadable_file_is_refused_on_stderr(cli: Cli, tmp_path: Path, content: bytes,
                                                 fragment: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    before = db_state(cli.db)
    r = cli.refused("import", "orders", path, code=3)
    assert r.first_err_line.startswith("error: ") and fragment in r.first_err_line
    doc = cli.run("import", "orders", path, "--json").error()
    assert doc["error"] == "ImportFileInvalid" and fragment in doc["message"]
    assert db_state(cli.db) == before


def test_exports_through_the_command(cli: Cli, tmp_path: Path) -> None:
    cli("import", "orders", write_generated(tmp_path / "g.csv", 8, per_order=2))
    out = cli.json("export", "lines", "--format", "csv", "-o", tmp_path / "lines.csv")
    assert out["rows"] == 8
    rows = list(csv.DictReader((tmp_path / "lines.csv").open(encoding="utf-8")))
    assert len(rows) == 8 and rows[0]["order_ref"] == "GEN-0000000"
    cli("export", "orders", "--format", "xlsx", "-o", tmp_path / "orders.xlsx", "--party", "JP")
    sheet = load_workbook(tmp_path / "orders.xlsx").worksheets[0]
    assert sheet.max_row == 5
    r = cli.refused("export", "ledger", "--format", "csv", "-o", tmp_path / "l.csv", code=3)
    assert "kept per party" in r.first_err_line
    assert cli.run("export", "orders", "--format", "pdf", "-o", tmp_path / "o.pdf").code == 2
