"""`acsa audit pack` and `acsa audit verify-pack` through the INSTALLED `acsa` script, on
SQLite and PostgreSQL: exit codes, JSON and text output, the zip written atomically, the check
with no database at all, and `--against-db`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from acsa.audit import pack as packs
from acsa.db.engine import unit_of_work
from tests.documents._pack_helpers import Story, build_story, entries, manifest, rezip, sha
from tests.e2e.conftest import Cli, Result
from tests.factories import setup_world

# Exit codes, messages and files of the command itself: run on SQLite only, as the
# services behind it are tested on both backends (and each run spawns `acsa`).
CLI_PLUMBING = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

@pytest.fixture
def cli(engine: Engine, db_url: str, _acsa_home: Path) -> tuple[Cli, Story]:
    """`acsa` on a database holding the factories' world and the pack story."""
    with unit_of_work(engine) as s:
        setup_world(s, _acsa_home)
    story = build_story(engine)
    engine.dispose()
    return Cli(_acsa_home, db_url), story


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder for the packs, so a temporary file left behind would show."""
    path = tmp_path / "packs"
    path.mkdir()
    return path


def refused(acsa: Cli, *args: object, code: int, env: dict[str, str] | None = None) -> Result:
    r = acsa.run(*args, env=env)
    assert r.code == code, f"expected exit {code}:\n{r.describe()}"
    assert r.out == "", f"a refused command printed on stdout:\n{r.describe()}"
    return r


def no_database(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose database is a file in a folder that does not exist."""
    missing = tmp_path / "no-such-folder"
    return {"ACSA_DATABASE_URL": f"sqlite:///{missing}/acsa.db"}, missing


def test_pack_then_verify_with_no_database(cli, tmp_path, folder):
    acsa, story = cli
    out = folder / "pack.zip"
    made = acsa.json("audit", "pack", "--order", story.a, "-o", out)
    assert made["file"] == str(out) and made["orders"] == [story.a]
    data = out.read_bytes()
    assert made["manifest_sha256"] == sha(entries(data)[packs.MANIFEST])
    assert made["chain_head"] == manifest(data)["chain_head"] and made["warnings"] == []
    assert sorted(p.name for p in folder.iterdir()) == ["pack.zip"]  # no temporary left

    env, missing = no_database(tmp_path)
    checked = acsa.run("audit", "verify-pack", out, "--json", env=env)
    assert checked.code == 0, checked.describe()
    report = checked.json()
    assert report["ok"] is True and report["problems"] == []
    assert report["manifest_sha256"] == made["manifest_sha256"]
    assert report["checked"]["forms"] == 1 and report["checked"]["documents"] == 1
    text_run = acsa.run("audit", "verify-pack", out, env=env)
    assert text_run.code == 0 and text_run.out.startswith(f"audit pack OK: {out}")
    assert not missing.exists(), "verify-pack touched the database"


def test_activity_pack_as_text(cli, tmp_path):
    acsa, story = cli
    out = tmp_path / "kamandag.zip"
    r = acsa("audit", "pack", "--activity", "KAMANDAG-10", "-o", out, "--lang", "fil")
    assert r.out.startswith(f"audit pack of activity KAMANDAG-10 written to {out}: 2 order(s)")
    assert "manifest SHA-256 " + sha(entries(out.read_bytes())[packs.MANIFEST]) in r.out
    assert {f"orders/{story.a}/order-form-fil.pdf", f"orders/{story.b}/order-form-fil.pdf"} <= \
        set(entries(out.read_bytes()))
    as_ph = tmp_path / "ph.zip"
    acsa("audit", "pack", "--activity", "KAMANDAG-10", "-o", as_ph, "--party", "PH")
    assert manifest(as_ph.read_bytes())["scope"]["viewer_party"] == "PH"
    acsa("audit", "verify-pack", as_ph, env=no_database(tmp_path)[0])


@CLI_PLUMBING
def test_tampered_pack_exits_8_naming_the_file(cli, tmp_path):
    acsa, story = cli
    out = tmp_path / "pack.zip"
    acsa("audit", "pack", "--order", story.a, "-o", out)
    doc = f"orders/{story.a}/documents/delivery-001-issue-slip.pdf"
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rezip(out.read_bytes(), replace={doc: b"slip, forged"},
                          add={"../escape.txt": b"x"}))
    env = no_database(tmp_path)[0]
    r = refused(acsa, "audit", "verify-pack", bad, code=8, env=env)
    lines = r.err.splitlines()
    assert lines[0] == ("error: audit pack failed verification: ../escape.txt: unsafe entry "
                        "name ('..' or '.' in the path) (and 1 more problem)")
    assert f"  also: {doc}: size 12 bytes, the manifest says 22" in lines
    r = acsa.run("audit", "verify-pack", bad, "--json", env=env)
    assert r.code == 8 and r.out == ""
    doc_err = r.error()
    assert (doc_err["error"], doc_err["kind"]) == ("PackFailed", "integrity")
    assert {"file": doc, "reason": "size 12 bytes, the manifest says 22"} in \
        doc_err["details"]["problems"]


@CLI_PLUMBING
def test_not_a_zip_exits_3_and_a_missing_file_5(cli, tmp_path):
    acsa, _ = cli
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")
    env = no_database(tmp_path)[0]
    r = refused(acsa, "audit", "verify-pack", junk, code=3, env=env)
    assert r.first_err_line.startswith(f"error: {junk} is not a readable zip file")
    assert acsa.run("audit", "verify-pack", junk, "--json", env=env).error()["error"] == \
        "PackUnreadable"
    refused(acsa, "audit", "verify-pack", tmp_path / "absent.zip", code=5, env=env)


@CLI_PLUMBING
def test_a_failed_pack_leaves_the_old_file_and_no_temporary(cli, tmp_path, folder):
    acsa, story = cli
    out = folder / "pack.zip"
    out.write_bytes(b"the previous pack")
    r = refused(acsa, "audit", "pack", "--order", "PHJP-JP-2026-9999", "-o", out, code=5)
    assert r.first_err_line == "error: no order 'PHJP-JP-2026-9999'"
    refused(acsa, "audit", "pack", "--order", story.a, "--activity", "KAMANDAG-10", "-o", out,
                 code=3)
    refused(acsa, "audit", "pack", "--order", story.a, "-o", tmp_path / "nowhere" / "p.zip",
                 code=3)
    assert out.read_bytes() == b"the previous pack"
    assert sorted(p.name for p in folder.iterdir()) == ["pack.zip"]
    acsa("audit", "pack", "--order", story.a, "-o", out)  # replaced once complete
    assert zipfile.is_zipfile(out) and sorted(p.name for p in folder.iterdir()) == ["pack.zip"]


def test_against_db(cli, engine, tmp_path):
    acsa, story = cli
    out = tmp_path / "pack.zip"
    acsa("audit", "pack", "--order", story.a, "-o", out)
    ok = acsa.json("audit", "verify-pack", out, "--against-db")
    assert ok["ok"] is True and ok["against_db"] is True
    seq = json.loads(entries(out.read_bytes())[packs.EVENTS].splitlines()[1])["seq"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text(f"UPDATE audit_events SET payload = '{{}}' WHERE seq = {seq}"))
    engine.dispose()
    assert acsa.run("audit", "verify-pack", out).code == 0  # the pack alone is still whole
    r = refused(acsa, "audit", "verify-pack", out, "--against-db", code=8)
    assert r.first_err_line == (f"error: audit pack failed verification: events.jsonl: event "
                                f"{seq} differs from the database's (payload)")
