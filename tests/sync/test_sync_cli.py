"""`acsa sync export|import|status|quarantine|conflicts` as a user runs them (issue #6 items 2,
3, 4 and 6): separate processes on two SQLite field nodes (ACSA_HOME, --db, the passphrase in
ACSA_KEY_PASSPHRASE), bundle files in between, and the exit codes of the refusals
(`acsa.errors.EXIT_CODES`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acsa.errors import EXIT_CODES
from acsa.sync import bundle
from tests.sync import _nodes
from tests.sync._nodes import (  # noqa: F401
    PASS,
    Cluster,
    D,
    Node,
    accept,
    assert_same_books,
    cancel,
    crafted,
    create,
    deliver,
    event,
    make_cluster,
    seal,
)

# the fixtures of the nodes
world_template = _nodes.world_template


@pytest.fixture
def field(world_template, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = make_cluster("sqlite", world_template("sqlite", request), tmp_path)
    yield c
    c.close()


def _cmd(n: Node, *args: str) -> list[str]:
    return [sys.executable, "-m", "acsa.cli.main", "--db", n.url, "sync", *args]


def _env(home: Path, passphrase: bool = True) -> dict[str, str]:
    env = dict(os.environ, ACSA_HOME=str(home), COLUMNS="200")
    env.pop("ACSA_DATABASE_URL", None)
    env.pop("ACSA_KEY_PASSPHRASE", None)
    if passphrase:
        env["ACSA_KEY_PASSPHRASE"] = PASS
    return env


def acsa(n: Node, *args: str, home: Path, passphrase: bool = True
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(n, *args), capture_output=True, text=True, timeout=120,
                          env=_env(home, passphrase))


def acsa_many(calls: list[tuple[Node, tuple[str, ...]]], home: Path
              ) -> list[subprocess.CompletedProcess[str]]:
    """Several commands at once (they touch different rows or only read)."""
    procs = [subprocess.Popen(_cmd(n, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=_env(home)) for n, args in calls]
    out = []
    for p, (n, args) in zip(procs, calls, strict=True):
        so, se = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(_cmd(n, *args), p.returncode, so, se))
    return out


def error_of(r: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(r.stderr.strip().splitlines()[-1])


def test_export_import_status_quarantine_conflicts(field, tmp_path):
    jp, ph = field["JP"], field["PH"]
    home = tmp_path / "home"
    home.mkdir()
    number = create(jp)
    f1 = tmp_path / "jp-to-ph-1.acsa"
    r = acsa(jp, "export", "--to", "PH", "-o", str(f1), "--json", home=home)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["events"] == 2 and summary["to"] == "PH"
    assert json.loads(f1.read_bytes())["count"] == 2
    # the human form of the import
    r = acsa(ph, "import", str(f1), home=home)
    assert r.returncode == 0, r.stderr
    assert "2 applied" in r.stdout
    assert ph.order(number).state == "requested"
    # the same file twice: a replay, exit 6 (conflict), nothing changed
    before = ph.counts()
    r = acsa(ph, "import", str(f1), "--json", home=home)
    assert r.returncode == EXIT_CODES["conflict"] == 6
    assert error_of(r)["error"] == "BundleReplayed"
    assert ph.counts() == before
    # PH accepts; JP cancels at the same time: a conflict, decided the same on both nodes
    accept(ph, number)
    cancel(jp, number)
    f2, f3 = tmp_path / "ph-to-jp.acsa", tmp_path / "jp-to-ph-2.acsa"
    r2, r3 = acsa_many([(ph, ("export", "--to", "JP", "-o", str(f2), "--json")),
                        (jp, ("export", "--to", "PH", "-o", str(f3), "--json"))], home)
    assert r2.returncode == 0 and r3.returncode == 0, (r2.stderr, r3.stderr)
    # PH's acknowledgement has not come back to JP: the export carries everything again
    assert json.loads(r3.stdout)["events"] == 3
    assert [e["id"] for e in json.loads(f3.read_bytes())["events"]] == ["JP:1", "JP:2", "JP:3"]
    a, b = acsa_many([(jp, ("import", str(f2), "--json")),
                      (ph, ("import", str(f3), "--json"))], home)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    assert ra["superseded"] == ["PH:1"] and ra["conflicts"]
    assert rb["conflicts"] and rb["applied"] == ["JP:3"] and rb["duplicates"] == 2
    assert_same_books(jp, ph)
    assert jp.order(number).state == "disputed"
    c1, c2, s1, q1 = acsa_many([(jp, ("conflicts", "--json")), (ph, ("conflicts", "--json")),
                                (ph, ("status", "--json")), (ph, ("quarantine", "--json"))],
                               home)
    for r in (c1, c2, s1, q1):
        assert r.returncode == 0, r.stderr
    conflicts = [json.loads(c1.stdout), json.loads(c2.stdout)]
    assert [(x["winner"], x["loser"]) for x in conflicts[0]] == [("JP:3", "PH:1")]
    assert [(x["winner"], x["loser"]) for x in conflicts[1]] == [("JP:3", "PH:1")]
    status = json.loads(s1.stdout)
    assert status["party"] == "PH" and status["conflicts"] == 1 and status["quarantined"] == 1
    assert status["inbox"] == {"applied": 3}
    (jp_row,) = status["partners"]
    assert jp_row["party"] == "JP" and jp_row["received_up_to"] == 3
    quarantine = json.loads(q1.stdout)
    assert [q["error"] for q in quarantine] == ["BundleReplayed"]
    # the human forms name what a person needs
    r, r2 = acsa_many([(jp, ("conflicts",)), (ph, ("status",))], home)
    assert r.returncode == 0 and "PH:1" in r.stdout and number in r.stdout
    assert r2.returncode == 0 and "node of PH" in r2.stdout


def test_refusals_exit_codes(field, tmp_path):
    jp, ph = field["JP"], field["PH"]
    home = tmp_path / "home"
    home.mkdir()
    number = create(jp)
    good = jp.export(ph)
    files: dict[str, Path] = {}

    def write(name: str, raw: bytes) -> None:
        files[name] = tmp_path / f"{name}.acsa"
        files[name].write_bytes(raw)

    tampered = json.loads(json.dumps(good))
    tampered["events"][0]["body"]["lines"][0]["quantity"] = "1"
    write("tampered", bundle.dumps(tampered))
    write("truncated", bundle.dumps(good)[:300])
    write("for-us", bundle.dumps(jp.export("US")))
    bad_sig = dict(good, sig=("1" if good["sig"][0] != "1" else "2") + good["sig"][1:])
    write("bad-sig", bundle.dumps(bad_sig))
    write("unknown-key", bundle.dumps(seal(good, ph.signer(), resign_events=True)))
    not_owner = event("JP", 77, "order.accepted", number, "PH",
                      {"on": D.isoformat(), "supplier_poc": "", "supplying_unit": "PN-NFSL",
                       "order_hash": "0" * 64}, actor="jp-approving", deps=["JP:2"])
    write("not-owner", bundle.dumps(crafted(jp, "PH", [not_owner])))
    write("good", bundle.dumps(good))
    r = acsa(ph, "import", str(files["good"]), "--json", home=home)
    assert r.returncode == 0 and json.loads(r.stdout)["applied"] == ["JP:1", "JP:2"]
    before = ph.counts()
    names = ["tampered", "truncated", "for-us", "bad-sig", "unknown-key"]
    results = acsa_many([(ph, ("import", str(files[n]), "--json")) for n in names], home)
    expected = {"tampered": ("BundleInvalid", "integrity"),
                "truncated": ("BundleInvalid", "integrity"),
                "for-us": ("BundleNotForUs", "forbidden"),
                "bad-sig": ("SignatureInvalid", "integrity"),
                "unknown-key": ("UnknownKey", "forbidden")}
    for name, r in zip(names, results, strict=True):
        code, kind = expected[name]
        assert r.returncode == EXIT_CODES[kind], (name, r.returncode, r.stderr)
        assert error_of(r)["error"] == code, name
    assert ph.counts() == before
    # an event refused inside an accepted bundle: exit 8, the refusal in the JSON
    r = acsa(ph, "import", str(files["not-owner"]), "--json", home=home)
    assert r.returncode == EXIT_CODES["integrity"], r.stderr
    assert [q["error"] for q in json.loads(r.stdout)["quarantined"]] == ["NotOwner"]
    assert ph.counts() == before
    # the list of refusals; an unreadable file; an export without the key's passphrase
    r, r1 = acsa_many([(ph, ("quarantine", "--json")),
                       (ph, ("import", str(tmp_path / "missing.acsa"), "--json"))], home)
    assert sorted(q["error"] for q in json.loads(r.stdout)) == sorted(
        ["BundleInvalid", "BundleInvalid", "BundleNotForUs", "SignatureInvalid", "UnknownKey",
         "NotOwner"])
    assert r1.returncode == EXIT_CODES["invalid"]
    r2 = acsa(jp, "export", "--to", "PH", "-o", str(tmp_path / "x.acsa"), "--json",
              home=home, passphrase=False)
    assert r2.returncode == EXIT_CODES["unauthenticated"], r2.stderr
    assert error_of(r2)["error"] == "PassphraseWrong"
    assert ph.counts() == before
    assert ph.order(number).state == "requested"
