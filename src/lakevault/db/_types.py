"""Column types shared by every model.

``UTCDateTime``: SQLite keeps no time zone, so a ``DateTime(timezone=True)`` column comes back
naive there and aware on PostgreSQL; comparing the two raises. Every time lakevault stores is
UTC, so this type refuses naive values on the way in and returns aware UTC values on the way
out, on both databases alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("lakevault stores aware UTC datetimes only; got a naive value")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
