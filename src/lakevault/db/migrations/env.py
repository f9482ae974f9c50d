"""Alembic environment: runs migrations on the connection of the lakevault ``Database``.

On SQLite, batch migrations rebuild a table (copy, drop, rename); with foreign keys enforced,
dropping the old table would cascade or fail on the rows that reference it. SQLite's documented
procedure is followed instead: foreign keys off for the migration (the pragma only works outside
a transaction, so it is set on the raw connection before SQLAlchemy begins), then
``PRAGMA foreign_key_check`` must find no violation before they are turned back on.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from lakevault.core.errors import InternalFailure
from lakevault.db._types import UTCDateTime
from lakevault.db.models import Base


def render_item(kind: str, value: Any, context: Any) -> str | Literal[False]:
    """Write ``UTCDateTime`` columns as plain ``sa.DateTime(timezone=True)`` in migrations:
    the conversion is Python-side only, and migrations must not import the models' types."""
    if kind == "type" and isinstance(value, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


database = context.config.attributes["database"]

with database.engine.connect() as connection:
    raw = connection.connection.driver_connection if database.is_sqlite else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys = OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=database.is_sqlite,
            transaction_per_migration=True,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if raw is not None:
            violations = raw.execute("PRAGMA foreign_key_check").fetchall()
            if violations:
                raise InternalFailure(
                    f"a migration left {len(violations)} foreign key violations (first: "
                    f"{violations[0]!r}); restore the backup taken before 'lakevault db upgrade'"
                )
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = ON")
