"""Balances, ageing, support totals and the journal export over HTTP: each party reads only
its own agreements, its own rows and its own book."""

from __future__ import annotations

import csv
import io

from tests.api.helpers import API


def test_balances_cover_only_the_viewers_agreements_and_rows(client_for):
    jp = client_for("jp-fin").get(f"{API}/books/balance",
                                  params={"as_of": "2026-11-29"}).json()
    assert jp["as_of"] == "2026-11-29" and jp["balances"]
    assert {r["agreement"] for r in jp["balances"]} == {"PHJP"}  # no JP-US support yet
    assert all("JP" in (r["creditor"], r["debtor"]) for r in jp["balances"])
    assert all(r["books_agree"] for r in jp["balances"])
    cash = [r for r in jp["balances"] if r["method"] == "cash"]
    assert [(r["creditor"], r["debtor"], r["creditor_book"], r["creditor_book_units"])
            for r in cash] == [("PH", "JP", "825,300.00 PHP", 82_530_000)]
    us = client_for("us-app").get(f"{API}/books/balance",
                                  params={"as_of": "2026-11-29"}).json()
    assert {r["agreement"] for r in us["balances"]} == {"PHUS"}


def test_a_balance_in_a_reporting_currency_names_its_rates(client_for):
    r = client_for("ph-fin").get(f"{API}/books/balance", params={
        "as_of": "2026-11-29", "currency": "PHP"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reporting_currency"] == "PHP"
    owed = {(n["creditor"], n["debtor"]): n for n in body["net"]}
    assert owed[("PH", "JP")]["amount"] == "825,300.00 PHP"
    assert owed[("US", "PH")]["amount_minor"] == 55_200_00 * 5865 // 100  # at 58.65
    assert body["rates_used"]


def test_an_agreement_of_other_parties_is_not_found_in_every_report(client_for):
    jp = client_for("jp-fin")
    for path in ("balance", "ageing", "report", "export"):
        other = jp.get(f"{API}/books/{path}", params={"agreement": "PHUS"})
        missing = jp.get(f"{API}/books/{path}", params={"agreement": "NOPE"})
        assert other.status_code == missing.status_code == 404, path
        assert "PHUS" not in other.json()["hint"]
        assert other.json()["hint"] == missing.json()["hint"]


def test_bad_report_parameters_are_422(client_for):
    jp = client_for("jp-fin")
    for path, params in [("balance", {"as_of": "2026-13-01"}), ("balance", {"currency": "P"}),
                         ("balance", {"currency": "ZZZ"}), ("ageing", {"as_of": "yesterday"}),
                         ("report", {"fiscal_year": "1066"}), ("export", {"format": "xlsx"}),
                         ("report", {"agreement": "PH JP"}),
                         ("ageing", {"agreement": "PHJP\x00"})]:
        r = jp.get(f"{API}/books/{path}", params=params)
        assert r.status_code == 422, (path, params, r.text)


def test_ageing_shows_the_viewers_open_claims_by_bucket(client_for):
    jp = client_for("jp-fin").get(f"{API}/books/ageing", params={"as_of": "2026-11-29"}).json()
    assert [c["claim"] for c in jp["claims"]] == [
        "PHJP-JP-2026-0002-C1", "PHJP-JP-2026-0003-C1", "PHJP-JP-2026-0004-C1"]
    assert jp["bucket_names"][0] == "0-30"
    [pair] = jp["buckets"]
    assert (pair["creditor"], pair["debtor"], pair["currency"]) == ("PH", "JP", "PHP")
    assert sum(pair["amounts_minor"].values()) == 82_530_000
    assert pair["amounts"]["91-180"] == "825,300.00 PHP"
    us = client_for("us-app").get(f"{API}/books/ageing", params={"as_of": "2026-11-29"}).json()
    assert [c["claim"] for c in us["claims"]] == ["PHUS-PH-2025-0001-C2"]
    assert us["claims"][0]["value"] == "55,200.00 USD"


def test_the_support_report_and_ceilings(client_for):
    r = client_for("ph-fin").get(f"{API}/books/report", params={"as_of": "2026-11-29"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]
    assert all("PH" in (t["supplier"], t["recipient"]) for t in body["totals"])
    assert {t["agreement"] for t in body["totals"]} == {"PHJP", "PHUS"}
    medical = [t for t in body["totals"] if t["category"] == "medical"]
    assert [(t["supplier"], t["activity"], t["amount"]) for t in medical] == [
        ("PH", "HADR-EX-2026", "382,500.00 PHP")]
    for c in body["ceilings"]:
        assert c["agreement"] in ("PHJP", "PHUS")
        assert c["ceiling_minor"] - c["used_minor"] == c["headroom_minor"]
    jp = client_for("jp-fin").get(f"{API}/books/report").json()
    assert {t["agreement"] for t in jp["totals"]} == {"PHJP"}


def test_the_export_is_the_viewers_own_book(client_for):
    jp = client_for("jp-fin")
    r = jp.get(f"{API}/books/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="acsa-JP-book.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and {row["book"] for row in rows} == {"JP"}
    assert {row["agreement"] for row in rows} == {"PHJP"}
    ledger = jp.get(f"{API}/books/export", params={"format": "hledger",
                                                   "as_of": "2026-06-30"}).text
    postings = [ln for ln in ledger.splitlines() if ln.startswith("    ")]
    assert postings and all(ln.startswith("    JP:") for ln in postings)
    assert "2026-07" not in ledger
    bean = jp.get(f"{API}/books/export", params={"format": "beancount"}).text
    accounts = [word for ln in bean.splitlines() for word in ln.split()
                if word.split(":")[0] in ("Assets", "Liabilities", "Equity", "Income",
                                          "Expenses")]
    assert accounts and {a.split(":")[1] for a in accounts} == {"JP"}
    us = client_for("us-app").get(f"{API}/books/export", params={"format": "csv"}).text
    assert {row["book"] for row in csv.DictReader(io.StringIO(us))} == {"US"}


def test_auditors_read_the_books(client_for):
    audit = client_for("jp-audit")
    for path in ("balance", "ageing", "report", "export"):
        assert audit.get(f"{API}/books/{path}").status_code == 200, path


def test_the_books_need_a_signed_in_user(anonymous):
    for path in ("balance", "ageing", "report", "export"):
        r = anonymous.get(f"{API}/books/{path}")
        assert r.status_code == 401 and r.headers["content-type"].startswith(
            "application/problem+json"), path


def test_the_first_and_last_days_of_the_calendar_are_answered(client_for):
    jp = client_for("jp-fin")
    for as_of in ("0001-01-01", "9999-12-31"):
        for path, params in [("balance", {}), ("balance", {"currency": "PHP"}),
                             ("ageing", {}), ("report", {}), ("export", {"format": "csv"})]:
            r = jp.get(f"{API}/books/{path}", params={"as_of": as_of, **params})
            assert r.status_code in (200, 409), (path, as_of, r.text)
