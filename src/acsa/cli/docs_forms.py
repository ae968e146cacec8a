"""`acsa docs order-form|claim|receipt|offset` and `acsa verify-doc` (being written)."""

from __future__ import annotations

import typer

from acsa.cli.docs import app  # noqa: F401  (the commands register on it)


def verify_doc(file: str = typer.Argument(..., help="A generated PDF.")) -> None:
    """Check a printed or saved document against the books (being written)."""
    raise typer.Exit(2)
