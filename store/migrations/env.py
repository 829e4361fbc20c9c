"""Alembic environment: the engine comes from store.db (no alembic.ini, no URL in files)."""

from alembic import context

import store.kpi.rollups  # noqa: F401  (the roll-up tables join Base.metadata)
from store.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    # leave no pooled connection holding a transaction open
    engine.dispose()


run_migrations_online()
