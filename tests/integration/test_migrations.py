"""The migrations: an empty database goes to head, back down to nothing, and up again."""

from sqlalchemy import inspect

from acsa.db import migrate
from acsa.db.engine import make_engine
from acsa.db.models import Base


def test_upgrade_downgrade_upgrade(db_url):
    engine = make_engine(db_url)
    assert migrate.current(engine) == migrate.head(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert not set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_match_the_migrations(db_url):
    """Autogenerate finds nothing to do: the models and the migrated schema agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"include_object": migrate.include_object}), Base.metadata)
    engine.dispose()
    assert diff == []
