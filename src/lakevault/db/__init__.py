"""The metadata store: SQLAlchemy 2 models, engines and sessions, Alembic migrations.

The bottom layer: it imports nothing of lakevault but ``core``.
"""

from lakevault.db import models
from lakevault.db._database import Database
from lakevault.db._driver import DriverStatement, driver_cursor
from lakevault.db._generations import generation_snapshot
from lakevault.db._kept_connection import KeptConnection
from lakevault.db._migrations import check_schema, current_revision, head_revision, upgrade

__all__ = [
    "Database",
    "DriverStatement",
    "KeptConnection",
    "check_schema",
    "current_revision",
    "driver_cursor",
    "generation_snapshot",
    "head_revision",
    "models",
    "upgrade",
]
