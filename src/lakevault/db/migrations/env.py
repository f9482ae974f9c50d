"""Alembic environment: runs migrations on the connection of the lakevault ``Database``."""

from __future__ import annotations

from alembic import context

from lakevault.db.models import Base

database = context.config.attributes["database"]

with database.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=database.is_sqlite,
        transaction_per_migration=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
