"""`acsa reconcile --with PARTY`: compare our book with a partner's."""

from __future__ import annotations
