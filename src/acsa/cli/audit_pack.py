"""`acsa audit pack|verify-pack` (being written)."""

from __future__ import annotations

from acsa.cli.admin import audit_app  # noqa: F401  (the commands register on it)
