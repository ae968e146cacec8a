"""What `acsa` loads before it runs a command. The test suite and every user pay for each
`import` the CLI makes at start-up, so the libraries and services only some commands need are
imported inside those commands; these tests fail when one of them comes back to the top of a
module the CLI imports, and check that `--help` still shows every command and that a command
still finds every table before it reaches the database.

Each check runs a fresh interpreter: this test process has imported everything already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Libraries for units, documents and spreadsheets: a few tenths of a second between them.
HEAVY_LIBRARIES = {"pint", "reportlab", "openpyxl", "matplotlib", "pypdf", "pypdfium2", "PIL"}

# Modules the CLI modules import inside their commands (with what they pull in, the order,
# settlement and ledger services, the report and bulk machinery, password hashing).
LAZY_MODULES = {
    "acsa.units",
    "acsa.orders.service",
    "acsa.settlement.service",
    "acsa.activities.service",
    "acsa.rates.service",
    "acsa.ledger.reports",
    "acsa.documents.bulk_export",
    "acsa.documents.bulk_import",
    "acsa.documents.bulk_format",
    "acsa.documents.reports",
    "acsa.audit.pack",
    "acsa.users.service",
    "sqlalchemy.dialects.postgresql",
}

ACSA = Path(sys.executable).parent / "acsa"

GROUPS = ["agreements", "parties", "units", "officials", "activities", "orders", "settle",
          "claims", "rates", "books", "audit", "db", "docs", "import", "export", "users",
          "keys", "sync"]
COMMANDS = ["init", "deadlines", "verify-doc", "serve", "reconcile"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ACSA_DATABASE_URL"}
    return env | {"ACSA_HOME": str(tmp_path), "COLUMNS": "200"}


def _python(code: str, tmp_path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_cli_loads_no_heavy_library_and_no_lazy_service(tmp_path: Path) -> None:
    loaded = set(json.loads(_python(
        "import json, sys; import acsa.cli.main; print(json.dumps(sorted(sys.modules)))",
        tmp_path)))
    assert "acsa.cli.main" in loaded  # the probe did import the CLI
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY_LIBRARIES) == []
    assert sorted(LAZY_MODULES & loaded) == []


def test_help_lists_every_command_and_group(tmp_path: Path) -> None:
    done = subprocess.run([str(ACSA), "--help"], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {line.strip("│ ").split(" ")[0] for line in done.stdout.splitlines()}
    assert set(GROUPS + COMMANDS) <= listed, sorted(set(GROUPS + COMMANDS) - listed)


def test_a_group_help_still_lists_its_commands_and_options(tmp_path: Path) -> None:
    """The commands whose imports moved keep their options and help text."""
    done = subprocess.run([str(ACSA), "export", "orders", "--help"], capture_output=True,
                          text=True, env=_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    for option in ("--format", "--output", "--party", "--agreement", "--from", "--to",
                   "--json"):
        assert option in done.stdout
    assert "One row per order: parties, dates, state, total and signatures." in done.stdout


def test_a_command_maps_every_table_before_it_reaches_the_database(tmp_path: Path) -> None:
    """`acsa parties list` imports no order service, yet the tables it loads name others in
    their foreign keys (orders -> activities): each must be mapped, or the first flush of an
    order (by `acsa sync import`, say) fails on the missing table."""
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    missing = json.loads(_python(
        "import json\n"
        "from acsa.cli.main import app\n"
        "from acsa.db.base import Base\n"
        "try:\n"
        f"    app(['--db', {db!r}, 'parties', 'list'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "known = set(Base.metadata.tables)\n"
        "print(json.dumps(sorted({fk.target_fullname.split('.')[0]\n"
        "                         for t in Base.metadata.tables.values()\n"
        "                         for fk in t.foreign_keys} - known)))\n",
        tmp_path))
    assert missing == []
