"""`acsa docs statement|ageing|activity|annual` through the installed `acsa` console script,
on SQLite and PostgreSQL: the files written (and their --json report), the exit codes of a
bad option (3) and of an unknown agreement or activity (5), and no file left by a failure."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from acsa.db.engine import unit_of_work
from tests.documents._reports_helpers import (  # noqa: F401  (fixtures)
    books,
    money_text,
    party_book,
    pdf_text,
    workbook,
)
from tests.e2e.conftest import Cli

# Exit codes, messages and files of the command itself: run on SQLite only, as the
# services behind it are tested on both backends (and each run spawns `acsa`).
CLI_PLUMBING = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

AS_OF = "2026-12-31"


@pytest.fixture
def cli(books, db_url: str, _acsa_home: Path) -> Cli:  # noqa: F811
    return Cli(_acsa_home, db_url)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for the documents (tmp_path also holds the test's home and db)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_each_report_is_written_with_its_digest(cli: Cli, books, out: Path):  # noqa: F811
    engine, _ = books
    statement = out / "statement.pdf"
    done = cli.json("docs", "statement", "--party", "PH", "--partner", "JP", "--agreement",
                    "PHJP", "--as-of", AS_OF, "--lang", "ja", "-o", statement)
    content = statement.read_bytes()
    assert done == {"file": str(statement), "sha256": hashlib.sha256(content).hexdigest(),
                    "bytes": len(content)}
    with unit_of_work(engine) as s:
        expected = party_book(s, party="PH", partner="JP", agreement="PHJP",
                              as_of=dt.date.fromisoformat(AS_OF))
    text = pdf_text(content)
    assert money_text("PHP", expected["PHP"]) in text and "勘定明細書" in text
    for args, name in ((("ageing", "--as-of", AS_OF, "--party", "JP"), "ageing.xlsx"),
                       (("activity", "KAMANDAG-10"), "register.xlsx"),
                       (("annual", "--fy", "2026", "--party", "JP", "--agreement", "PHJP"),
                        "annual.pdf"),
                       (("statement", "--party", "JP", "--agreement", "PHJP", "--as-of", AS_OF,
                         "--format", "xlsx"), "statement-jp.xlsx")):
        r = cli("docs", *args, "-o", out / name)
        assert r.out.startswith("wrote "), r.describe()
        data = (out / name).read_bytes()
        if name.endswith(".xlsx"):
            assert workbook(data).sheetnames
        else:
            assert "Annual Report" in pdf_text(data)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["statement.pdf", "ageing.xlsx", "register.xlsx", "annual.pdf", "statement-jp.xlsx"])


REFUSALS = [
    (("statement", "--party", "PH", "--agreement", "PHJP", "--format", "docx"), 3, "--format"),
    (("statement", "--party", "PH", "--agreement", "PHJP", "--lang", "de"), 3, "--lang"),
    (("statement", "--party", "PH", "--agreement", "PHJP", "--as-of", "2026-02-30"), 3,
     "--as-of"),
    (("statement", "--party", "US", "--agreement", "PHJP"), 3, "--party"),
    (("statement", "--party", "PH", "--agreement", "PHJP", "--partner", "US"), 3, "--partner"),
    (("statement", "--party", "PH", "--agreement", "PHJP", "--from", "2027-01-01",
      "--as-of", AS_OF), 3, "--from"),
    (("statement", "--party", "JP", "--agreement", "PHJP", "--as-of", "2027-09-30",
      "--currency", "JPY"), 4, "rate"),
    (("statement", "--party", "PH", "--agreement", "ZZZZ"), 5, "agreement"),
    (("ageing", "--agreement", "ZZZZ"), 5, "agreement"),
    (("activity", "NO-SUCH-ACTIVITY"), 5, "activity"),
    (("annual", "--fy", "2026", "--party", "JP", "--agreement", "ZZZZ"), 5, "agreement"),
    (("annual", "--fy", "12", "--party", "JP"), 3, "--fy"),
]


@CLI_PLUMBING
def test_refusals_exit_with_their_code_and_leave_no_file(cli: Cli, out: Path):
    """Each refusal (one world per backend for all of them: each is a process of its own)."""
    target = out / "out.pdf"
    problems = []
    for args, code, fragment in REFUSALS:
        r = cli.run("docs", *args, "-o", target)
        if r.code != code or r.out or not r.first_err_line.startswith("error: ") \
                or fragment not in r.first_err_line:
            problems.append(f"expected exit {code} naming {fragment!r}:\n{r.describe()}")
        if list(out.iterdir()):
            problems.append(f"a refused command left a file: {args}")
    j = cli.run("docs", *REFUSALS[0][0], "-o", target, "--json")
    assert j.code == 3 and j.error()["field"] == "format" and not j.out
    assert not problems, "\n\n".join(problems)


@CLI_PLUMBING
def test_the_format_comes_from_the_suffix_or_must_agree(cli: Cli, out: Path):
    base = ("docs", "activity", "KAMANDAG-10")
    r = cli.refused(*base, "-o", out / "register.doc", code=3)
    assert "-o" in r.first_err_line
    r = cli.refused(*base, "--format", "pdf", "-o", out / "register.xlsx", code=3)
    assert "--format" in r.first_err_line
    assert list(out.iterdir()) == []
    r = cli.refused(*base, "-o", out / "missing" / "register.pdf", code=3)
    assert "cannot write" in r.first_err_line and not (out / "missing").exists()
