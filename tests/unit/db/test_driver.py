"""``DriverStatement``: a Core statement on the driver's cursor writes and reads the same values
as SQLAlchemy's execution (UTC times, JSON, booleans), inside the caller's transaction, and its
driver errors come out as SQLAlchemy's (docs/decisions/0222)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy.exc
from sqlalchemy import bindparam, select

from lakevault.db import Database, DriverStatement, driver_cursor, models

_OBJECTS = models.ObjectVersion.__table__
_INSERT = DriverStatement(_OBJECTS.insert(), columns={c.name: c for c in _OBJECTS.columns})
_SELECT = DriverStatement(
    select(_OBJECTS.c.version_id, _OBJECTS.c.is_latest).where(
        _OBJECTS.c.bucket_name == bindparam("bucket")
    )
)


def _row(version_id: str, moment: datetime) -> dict[str, object]:
    return {
        "version_id": version_id,
        "bucket_name": "drivers",
        "key": "k",
        "sequence": 1,
        "is_latest": True,
        "is_delete_marker": False,
        "is_null_version": True,
        "size": 3,
        "stored_size": 40,
        "blob_path": f"a/drivers/{version_id}",
        "content_type": "text/plain",
        "user_metadata": {"colour": "blue"},
        "etag": '"abc"',
        "sha256": "00" * 32,
        "kms_key_id": "key",
        "key_version": 1,
        "wrapped_data_key": b"\x00\x01",
        "last_modified": moment,
    }


def _bucket(database: Database) -> None:
    with database.session() as session:
        session.add(
            models.Tenant(
                account_id="111111111111",
                name="drivers",
                is_platform=False,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        session.flush()
        session.add(
            models.Bucket(
                name="drivers",
                account_id="111111111111",
                kms_key_id="key",
                versioning="Unversioned",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def test_values_written_on_the_driver_read_back_as_sqlalchemy_wrote_them(
    database: Database,
) -> None:
    _bucket(database)
    moment = datetime(2026, 11, 29, 23, 0, 1, 123456, tzinfo=timezone(timedelta(hours=2)))
    with database.transaction() as connection:
        _INSERT.execute(connection, driver_cursor(connection), _row("v1", moment))
        found = _SELECT.execute(connection, driver_cursor(connection), {"bucket": "drivers"})
        assert [tuple(row) for row in found.fetchall()] in ([("v1", True)], [("v1", 1)])
    with database.read_session() as session:
        row = session.get(models.ObjectVersion, "v1")
        assert row is not None
        assert row.last_modified == moment and row.last_modified.tzinfo is not None
        assert row.user_metadata == {"colour": "blue"}
        assert row.is_latest is True and row.is_delete_marker is False
        assert row.wrapped_data_key == b"\x00\x01"


def test_a_driver_error_is_sqlalchemys_and_rolls_the_transaction_back(
    database: Database,
) -> None:
    _bucket(database)
    moment = datetime(2026, 11, 29, tzinfo=UTC)
    with database.transaction() as connection:
        _INSERT.execute(connection, driver_cursor(connection), _row("v1", moment))
    with pytest.raises(sqlalchemy.exc.IntegrityError), database.transaction() as connection:
        cursor = driver_cursor(connection)
        _INSERT.execute(connection, cursor, _row("v2", moment))
        _INSERT.execute(connection, cursor, _row("v1", moment))  # the same primary key
    with database.read_session() as session:
        assert list(session.scalars(select(models.ObjectVersion.version_id))) == ["v1"]
