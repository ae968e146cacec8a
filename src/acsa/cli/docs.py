"""`acsa docs ...`: the documents as files. The commands live in `docs_forms` (order form,
claim notice, payment receipt, offset document) and `docs_reports` (statement, ageing,
activity register, annual report), which add themselves to `app`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Documents as files: the bilingual order and receipt form, claim "
                  "notices, payment receipts, offset documents (PDF), and statements and "
                  "reports (PDF or xlsx).", no_args_is_help=True)
