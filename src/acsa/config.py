"""Where acsa keeps its data: the database URL and the folder of user agreement files.

Resolution order for the database: an explicit `--db` URL, then `ACSA_DATABASE_URL`, then a
SQLite file `acsa.db` in the acsa home folder (`ACSA_HOME`, default `~/.local/share/acsa`).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    explicit = os.environ.get("ACSA_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "acsa"


def database_url(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("ACSA_DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{home() / 'acsa.db'}"


def agreements_dir() -> Path:
    """User-supplied agreement files (new agreements and amendments) live here."""
    return Path(os.environ.get("ACSA_AGREEMENTS_DIR") or home() / "agreements")
