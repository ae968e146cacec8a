"""`acsa import orders` and `acsa export orders|lines|settlements|ledger` (being written)."""

from __future__ import annotations

import typer

import_app = typer.Typer(help="Bulk import from CSV or xlsx.", no_args_is_help=True)
export_app = typer.Typer(help="Bulk export to CSV or xlsx.", no_args_is_help=True)
