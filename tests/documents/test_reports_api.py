"""`/api/v1/reports/...`: each report as PDF or xlsx for the signed-in viewer's party, from its
own book, with the right media type and file name; another party's agreement or activity is
404 exactly like one that does not exist. On the demo story, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from acsa.db.engine import unit_of_work
from tests.api.conftest import (  # noqa: F401  (fixtures)
    _cheap_passwords,
    _pg_world,
    _sqlite_world,
    anonymous,
    app,
    client_for,
    world,
)
from tests.documents._reports_helpers import money_text, party_book, pdf_text, workbook

API = "/api/v1/reports"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_statement_is_the_viewers_own_book(world, client_for):  # noqa: F811
    jp = client_for("jp-req")
    r = jp.get(f"{API}/statement", params={"agreement": "PHJP", "as_of": "2026-11-29",
                                            "lang": "ja"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == PDF
    assert r.headers["content-disposition"] == \
        'attachment; filename="statement-PHJP-JP-2026-11-29.pdf"'
    with unit_of_work(world) as s:
        expected = party_book(s, party="JP", partner="PH", agreement="PHJP",
                              as_of=dt.date(2026, 11, 29))
    assert expected
    text = pdf_text(r.content)
    for commodity, units in expected.items():
        assert money_text(commodity, units) in text
    assert "勘定明細書" in text
    x = jp.get(f"{API}/statement", params={"agreement": "PHJP", "as_of": "2026-11-29",
                                            "format": "xlsx"})
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    assert x.headers["content-disposition"].endswith('.xlsx"')
    assert "Summary" in workbook(x.content).sheetnames


def test_another_partys_agreement_or_activity_is_not_found(world, client_for):  # noqa: F811
    us = client_for("us-app")
    for path, params in ((f"{API}/statement", {"agreement": "PHJP"}),
                         (f"{API}/statement", {"agreement": "ZZZZ"}),
                         (f"{API}/ageing", {"agreement": "PHJP"}),
                         (f"{API}/annual", {"fiscal_year": 2026, "agreement": "PHJP"}),
                         (f"{API}/activities/TY-RELIEF-CEBU", {}),
                         (f"{API}/activities/NO-SUCH", {})):
        r = us.get(path, params=params)
        assert r.status_code == 404, (path, params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    ok = us.get(f"{API}/activities/KAMANDAG-10", params={"format": "xlsx"})
    assert ok.status_code == 200 and ok.headers["content-type"] == XLSX
    rows = list(workbook(ok.content)["Orders"].iter_rows(min_row=8, values_only=True))
    assert all(r[1] in ("PHUS", None) for r in rows), "only US's own agreements"


def test_ageing_activity_and_annual(world, client_for, anonymous):  # noqa: F811
    ph = client_for("ph-fin")
    r = ph.get(f"{API}/ageing", params={"as_of": "2026-11-29", "format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    claims = list(workbook(r.content)["Claims"].iter_rows(min_row=4, values_only=True))
    assert claims and all("PH" in (c[3], c[4]) for c in claims)
    r = ph.get(f"{API}/activities/TY-RELIEF-CEBU")
    assert r.status_code == 200 and r.headers["content-type"] == PDF
    assert "TY-RELIEF-CEBU" in pdf_text(r.content)
    r = ph.get(f"{API}/annual", params={"fiscal_year": 2026, "lang": "fil"})
    assert r.status_code == 200 and "Taunang Ulat" in pdf_text(r.content)
    assert ph.get(f"{API}/annual", params={"fiscal_year": 2026, "format": "doc"}
                  ).status_code == 422
    assert anonymous.get(f"{API}/ageing").status_code == 401
