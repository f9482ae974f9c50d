"""The dialect-specific corner of the queue's SQL: ``INSERT ... ON CONFLICT``.

Everything else is portable SQLAlchemy Core. SQLite and PostgreSQL spell the upsert the same
way, but SQLAlchemy keeps it in each dialect's module, so the session's dialect picks one.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects.postgresql import Insert as PostgreSQLInsert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_for(session: Session, table: Any) -> PostgreSQLInsert | SQLiteInsert:
    """An INSERT for ``table`` that supports ``on_conflict_do_nothing`` on this dialect."""
    if is_postgresql(session):
        return postgresql_insert(table)
    return sqlite_insert(table)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE touched (SQLAlchemy types ``execute`` generically)."""
    return int(cast(CursorResult[Any], result).rowcount)
