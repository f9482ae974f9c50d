"""Schema migrations with Alembic, run programmatically from the package.

One migration tree serves SQLite and PostgreSQL (``render_as_batch`` lets Alembic rebuild
SQLite tables where ``ALTER`` falls short). The server refuses to start unless the database is
exactly at the code's head revision: an unmigrated database would fail on first use, and a
database migrated by newer code may hold data this code would misread or corrupt.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lakevault.core.errors import SchemaMismatch
from lakevault.db._database import Database, translate_errors

_MIGRATIONS = Path(str(resources.files("lakevault.db") / "migrations"))


def _alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["database"] = database
    return config


def head_revision(database: Database) -> str:
    """The newest revision this code knows."""
    head = _packaged_revisions()[0]
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaMismatch("no migrations are packaged with this build of lakevault")
    return head


@functools.cache
def _packaged_revisions() -> tuple[str | None, frozenset[str]]:
    """The head and every revision shipped with this code.

    Read once per process: the scripts are part of the package and do not change under a
    running process, and parsing the ~30 files took ~0.1 s at every schema check.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return scripts.get_current_head(), known


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    with translate_errors(database), database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database, *, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to ``revision`` (default: the newest); return (before, after).

    Each migration runs in a transaction (SQLite and PostgreSQL both have transactional DDL),
    so a failure leaves the database at the last completed revision. Raises ``SchemaMismatch``
    when the database is newer than this code.
    """
    before = current_revision(database)
    if before is not None:
        _require_known(database, before)
    with translate_errors(database):
        command.upgrade(_alembic_config(database), revision)
    after = current_revision(database)
    return before, after if after is not None else head_revision(database)


def check_schema(database: Database) -> str:
    """Raise ``SchemaMismatch`` unless the database is at this code's head revision."""
    current = current_revision(database)
    head = head_revision(database)
    if current is None:
        raise SchemaMismatch(
            f"the metadata database {database.display_url} has no lakevault schema; run "
            "'lakevault db upgrade' (or 'lakevault init') first"
        )
    _require_known(database, current)
    if current != head:
        raise SchemaMismatch(
            f"the metadata database is at schema revision {current}, this lakevault needs "
            f"{head}; run 'lakevault db upgrade'"
        )
    return current


def _require_known(database: Database, revision: str) -> None:
    if revision not in _packaged_revisions()[1]:
        raise SchemaMismatch(
            f"the metadata database is at schema revision {revision}, which is newer than this "
            f"lakevault (its newest is {head_revision(database)}); run the lakevault version "
            "that migrated it, or upgrade lakevault. Nothing was changed"
        )
