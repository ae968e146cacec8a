"""`acsa docs statement|ageing|activity|annual` (being written)."""

from __future__ import annotations

from acsa.cli.docs import app  # noqa: F401  (the commands register on it)
