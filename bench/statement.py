"""A statement of account for a partner with 10,000 movements, as PDF and as xlsx.

Builds bench/out/statement.db (migrated to head, the test world of tests/factories.py, a
short history of every kind of settlement through the services, then --claims cash claims of
PHP 100.00 raised by PH on JP and paid, inserted directly as ledger entries and lines shaped
as the services post them: two movements each). Then times, --repeat times each, from opening
the unit of work to the last byte of the document:
  * pdf:  acsa.documents.reports.statement_document(fmt="pdf")
  * xlsx: acsa.documents.reports.statement_document(fmt="xlsx")
and, as the same run's baseline, the bare read of the same ledger lines with sqlite3 (no
grouping, no document). Medians of wall and CPU time are compared with the 5 s target; the
documents are read back (pypdf, openpyxl) and their closing balance checked against
ledger.reports.balances.

    .venv/bin/python bench/statement.py [--claims 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sqlite3
import statistics
import time
from pathlib import Path

from _common import OUT, fresh, home, table, verdict

TARGET_SECONDS = 5.0
AS_OF = dt.date(2027, 9, 30)
FROM = dt.date(2026, 1, 1)


def build(db: Path, claims: int) -> float:
    from tests.documents._reports_helpers import add_movements, history
    from tests.factories import setup_world

    from acsa.db import migrate
    from acsa.db.engine import make_engine, unit_of_work

    start = time.perf_counter()
    engine = make_engine(f"sqlite:///{fresh(db)}")
    migrate.upgrade(engine)
    with unit_of_work(engine) as s:
        setup_world(s, home("statement"))
    with unit_of_work(engine) as s:
        history(s)
    add_movements(engine, claims)
    engine.dispose()
    return time.perf_counter() - start


def timed(fn) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000, help="claims raised and paid "
                        "(two movements each; default 5,000 = 10,000 movements)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from openpyxl import load_workbook
    from pypdf import PdfReader

    from acsa.db.engine import make_engine, unit_of_work
    from acsa.documents import reports
    from acsa.documents import reports_data as data
    from acsa.ledger import reports as ledger

    db = OUT / "statement.db"
    print(f"building {db} ...", flush=True)
    built = build(db, args.claims)
    engine = make_engine(f"sqlite:///{db}")
    with unit_of_work(engine) as s:
        st = data.statement(s, party="PH", agreement="PHJP", as_of=AS_OF, from_on=FROM)
        closing = {r.commodity: r.creditor_book for r in ledger.balances(s, as_of=AS_OF,
                                                                          agreement="PHJP")
                   if (r.creditor, r.debtor) == ("PH", "JP")}
    movements = st.movement_count
    print(f"  built in {built:.1f} s: {movements:,} movements in PH's statement against JP")

    def document(fmt: str) -> bytes:
        with unit_of_work(engine) as s:
            return reports.statement_document(s, party="PH", agreement="PHJP", as_of=AS_OF,
                                              from_on=FROM, fmt=fmt)  # type: ignore[arg-type]

    def bare() -> int:
        with sqlite3.connect(db) as conn:
            return len(conn.execute(
                "SELECT posted_on, entry_id, claim_id, commodity, amount FROM ledger_lines "
                "WHERE book = 'PH' AND counterparty = 'JP' AND agreement_code = 'PHJP' "
                "AND (account LIKE 'assets:receivable:%' OR account LIKE 'liabilities:payable:%')"
                " ORDER BY posted_on, entry_id").fetchall())

    document("pdf")  # fonts registered, modules imported: not part of the figures
    runs: dict[str, list[tuple[float, float]]] = {"pdf": [], "xlsx": [], "bare": []}
    outputs: dict[str, bytes] = {}
    for _ in range(args.repeat):  # alternating, so drift in the machine's speed hits all
        for fmt in ("pdf", "xlsx"):
            wall, cpu, content = timed(lambda f=fmt: document(f))
            runs[fmt].append((wall, cpu))
            outputs[fmt] = content  # type: ignore[assignment]
        wall, cpu, _ = timed(bare)
        runs["bare"].append((wall, cpu))
    for fmt, content in outputs.items():
        (OUT / f"statement.{fmt}").write_bytes(content)

    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in runs.items()}
    rows = [[f"statement as {k} ({movements:,} movements)", f"{med[k][0]:.2f}",
             f"{med[k][1]:.2f}", f"{len(outputs[k]):,}", f"{med[k][0] / TARGET_SECONDS:.2f}"]
            for k in ("pdf", "xlsx")]
    rows.append(["bare sqlite3 read of the lines (baseline)", f"{med['bare'][0]:.3f}",
                 f"{med['bare'][1]:.3f}", "-", "-"])
    print()
    print(table(["step", "wall s", "cpu s", "bytes", "x target"], rows))

    # read back: the closing balance is the books'
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(outputs["pdf"])).pages)
    php = closing.get("PHP", 0)
    pdf_ok = data.amount_text("PHP", php) in text
    ws = load_workbook(io.BytesIO(outputs["xlsx"]), read_only=True)["PHP"]
    last = list(ws.iter_rows(values_only=True))[-1]
    xlsx_ok = round(float(last[7]) * 100) == php
    print()
    print(f"closing balance PHP {php / 100:,.2f} in the PDF: {'yes' if pdf_ok else 'NO'}; "
          f"in the xlsx: {'yes' if xlsx_ok else 'NO'}")
    for k in ("pdf", "xlsx"):
        print(f"{k} statement < {TARGET_SECONDS:.0f} s   {med[k][0]:.2f} s "
              f"(cpu {med[k][1]:.2f} s)   {verdict(med[k][0] < TARGET_SECONDS)}")


if __name__ == "__main__":
    main()
