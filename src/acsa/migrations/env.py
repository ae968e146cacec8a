"""Alembic environment: runs against the connection `acsa.db.migrate` hands it."""

from alembic import context

from acsa.db.migrate import include_object
from acsa.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via `alembic` on the command line
    from acsa.db.engine import get_engine

    connection = get_engine(config.get_main_option("sqlalchemy.url") or None).connect()

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                  include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
