"""Running the Alembic migrations shipped inside the package (`acsa db upgrade`)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: a command that does not migrate starts faster.


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Objects the models cannot declare, left out of autogenerate's comparison: the order
    text search of migration 0010 (SQLite's FTS5 table and its shadow tables, PostgreSQL's
    trigram indexes on expressions)."""
    return not (reflected and compare_to is None and (
        (type_ == "table" and (name or "").startswith("order_search"))
        or (type_ == "index" and (name or "").endswith("_trgm"))))


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("acsa") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = _config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        from alembic import command

        command.upgrade(cfg, revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    cfg = _config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        from alembic import command

        command.downgrade(cfg, revision)
        conn.commit()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def head(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(engine)).get_current_head()
