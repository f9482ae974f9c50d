"""Migrations on SQLite and a real PostgreSQL: create, check, refuse mismatches, match models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from lakevault.core.errors import SchemaMismatch
from lakevault.db import Database, check_schema, current_revision, head_revision, models, upgrade


def test_upgrade_takes_an_empty_database_to_head(database_url: str) -> None:
    database = Database(database_url)
    assert current_revision(database) is None
    before, after = upgrade(database)
    assert before is None
    assert after == head_revision(database)
    assert check_schema(database) == after
    database.dispose()


def test_upgrade_twice_changes_nothing(database: Database) -> None:
    head = head_revision(database)
    assert upgrade(database) == (head, head)


def test_unmigrated_database_is_refused_with_the_command_to_run(database_url: str) -> None:
    database = Database(database_url)
    with pytest.raises(SchemaMismatch, match="lakevault db upgrade"):
        check_schema(database)
    database.dispose()


def test_database_newer_than_the_code_is_refused_and_left_alone(database: Database) -> None:
    with database.session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaMismatch, match="newer than this lakevault"):
        check_schema(database)
    with pytest.raises(SchemaMismatch, match="Nothing was changed"):
        upgrade(database)
    assert current_revision(database) == "9999_future"


def test_migrations_create_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, models.Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    database.dispose()
