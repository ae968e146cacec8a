"""The command-line contract of `acsa docs order-form|claim|receipt|offset` and
`acsa verify-doc`, through the INSTALLED `acsa` on SQLite and PostgreSQL: files written whole
or not at all, `--json` figures, and the exit codes."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from reportlab.platypus import SimpleDocTemplate
from sqlalchemy import Engine

from acsa.db.engine import unit_of_work
from acsa.documents.forms_layout import qr_drawing
from acsa.orders import service as orders
from tests.documents import _forms_helpers
from tests.documents._forms_helpers import (
    acsa,
    cash_claim,
    offset_both_ways,
    pages,
    pay,
    png,
    received_mixed,
    text,
)
from tests.factories import D, official, order_to

# the fixtures of the form tests
forms_world = _forms_helpers.forms_world




# Exit codes, messages and files of the command itself: run on SQLite only, as the
# services behind it are tested on both backends (and each run spawns `acsa`).
CLI_PLUMBING = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_order_form_written_and_verified(forms_world: Engine, db_url: str, _acsa_home: Path,
                                         tmp_path: Path) -> None:
    with unit_of_work(forms_world) as s:
        number = received_mixed(s)
    target = tmp_path / "out" / "form.pdf"
    target.parent.mkdir()
    r = acsa(db_url, _acsa_home, "docs", "order-form", number, "--lang", "fil", "-o", target,
             "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    pdf = target.read_bytes()
    assert data == {"file": str(target), "sha256": hashlib.sha256(pdf).hexdigest(),
                    "bytes": len(pdf), "pages": pages(pdf)}
    assert "Order at Resibo ng ACSA" in text(pdf) and _leftovers(target.parent) == []
    r = acsa(db_url, _acsa_home, "verify-doc", target, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["status"] == "match" and r.err == ""
    r = acsa(db_url, _acsa_home, "verify-doc", png(pdf, tmp_path / "scan.png"))
    assert r.code == 0 and "MATCH" in r.out


@CLI_PLUMBING
def test_refusals_leave_no_file(forms_world: Engine, db_url: str, _acsa_home: Path,
                                tmp_path: Path) -> None:
    with unit_of_work(forms_world) as s:
        number = order_to(s, "accepted").number
    target = tmp_path / "form.pdf"
    target.write_bytes(b"the old copy")
    r = acsa(db_url, _acsa_home, "docs", "order-form", number, "--lang", "de", "-o", target)
    assert r.code == 3 and "--lang" in r.err and r.out == ""
    r = acsa(db_url, _acsa_home, "docs", "order-form", "PHJP-JP-2026-0999", "-o", target,
             "--json")
    assert r.code == 5 and json.loads(r.err)["error"] == "NotFound" and r.out == ""
    for args in (("claim", "PHJP-JP-2026-0999-C1"), ("receipt", "999"),
                 ("offset", "PHJP-OFS-0999")):
        r = acsa(db_url, _acsa_home, "docs", *args, "-o", target)
        assert r.code == 5, (args, r.err)
    assert target.read_bytes() == b"the old copy" and _leftovers(tmp_path) == []
    r = acsa(db_url, _acsa_home, "docs", "order-form", number, "-o", tmp_path / "no" / "f.pdf")
    assert r.code == 3 and "does not exist" in r.err


def test_settlement_forms(forms_world: Engine, db_url: str, _acsa_home: Path,
                          tmp_path: Path) -> None:
    with unit_of_work(forms_world) as s:
        claim = cash_claim(s, received_mixed(s))
        receipt = pay(s, claim, "7250 PHP")
        offset = offset_both_ways(s)
    for args, words in ((("claim", claim), "PHP 907,250.00"),
                        (("receipt", receipt), "PHP 7,250.00"),
                        (("offset", offset), "PHP 955,000.00")):
        target = tmp_path / f"{args[0]}.pdf"
        r = acsa(db_url, _acsa_home, "docs", *args, "-o", target)
        assert r.code == 0, r.err
        assert words in text(target.read_bytes())
        assert acsa(db_url, _acsa_home, "verify-doc", target).code == 0


@CLI_PLUMBING
def test_verify_doc_exit_codes(forms_world: Engine, db_url: str, _acsa_home: Path,
                               tmp_path: Path) -> None:
    with unit_of_work(forms_world) as s:
        number = order_to(s, "delivered").number
    form = tmp_path / "form.pdf"
    assert acsa(db_url, _acsa_home, "docs", "order-form", number, "-o", form).code == 0
    with unit_of_work(forms_world) as s:
        orders.record_receipt(s, number=number, by=official("JP", "receiving"),
                              on=D(2026, 5, 12), lines={})
    r = acsa(db_url, _acsa_home, "verify-doc", form, "--json")
    assert r.code == 8
    report, error = json.loads(r.out), json.loads(r.err)
    assert report["status"] == "changed" and report["changes"][0]["action"] == "order.received"
    assert error["error"] == "DocumentChanged" and "order.received" in error["message"]
    r = acsa(db_url, _acsa_home, "verify-doc", form)
    assert r.code == 8 and r.err.startswith("error: ") and "changed" in r.err
    # a copy whose hash no version of the order ever had, and an unknown order
    for payload in (f"ACSA1:ORDER:{number}:{'0' * 64}",
                    f"ACSA1:ORDER:PHJP-JP-2026-0999:{'1' * 64}"):
        buf = io.BytesIO()
        SimpleDocTemplate(buf, invariant=1).build([qr_drawing(payload, 120)])
        image = png(buf.getvalue(), tmp_path / "fake.png")
        r = acsa(db_url, _acsa_home, "verify-doc", image, "--json")
        assert r.code == 5, r.err
        assert json.loads(r.err)["error"] == "DocumentNotRecognised"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a form")
    r = acsa(db_url, _acsa_home, "verify-doc", notes)
    assert r.code == 3 and "not a PDF, PNG or JPEG" in r.err
