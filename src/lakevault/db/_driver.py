"""Core statements compiled once per dialect and run on the driver's cursor (a hot path's).

SQLAlchemy's execution of a cached, compiled statement still builds an execution context,
processes every parameter through its own machinery and wraps the cursor in a result: on a
4 KiB PUT's version commit that was several times the database's own work for the same
statement (docs/performance.md, session 6; docs/decisions/0222). A :class:`DriverStatement`
keeps what SQLAlchemy compiled for the dialect (the SQL text with its casts and quoting, the
order of the parameters) and each column's own bind processor (time zones, JSON, booleans), and
runs the text on the DBAPI cursor of the caller's connection, inside the caller's transaction.
Driver errors come out as SQLAlchemy's (``IntegrityError``, ``OperationalError``...), so
:func:`translate_errors` and the callers' handlers see what they always saw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Column, Connection, Dialect
from sqlalchemy.sql.expression import Executable


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    #: Parameter names in the order of the text's markers (``None``: named markers).
    positions: tuple[str, ...] | None
    processors: Mapping[str, Callable[[Any], Any]]


class DriverStatement:
    """``statement`` (bound parameters only, no expanding ones) for the driver's cursor.

    ``columns`` names the columns whose types process the parameter of the same name (an
    ``INSERT``'s columns, a comparison's column); other parameters go to the driver as given.
    """

    def __init__(
        self, statement: Executable, *, columns: Mapping[str, Column[Any]] | None = None
    ) -> None:
        self._statement = statement
        self._columns = dict(columns or {})
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        compiled = self._statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, column in self._columns.items():
            processor = column.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        positions = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        found = _Compiled(sql=compiled.string, positions=positions, processors=processors)
        with self._lock:
            self._compiled[dialect.name] = found
        return found

    def execute(self, connection: Connection, cursor: Any, parameters: Mapping[str, Any]) -> Any:
        """Run on ``cursor`` (a DBAPI cursor of ``connection``, see :func:`driver_cursor`)
        with ``parameters`` by name; return the cursor for fetching."""
        dialect = connection.dialect
        compiled = self._for(dialect)
        values = _values(compiled, parameters)
        try:
            cursor.execute(compiled.sql, values)
        except dialect.loaded_dbapi.Error as exc:
            raise sqlalchemy.exc.DBAPIError.instance(
                compiled.sql, values, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        return cursor

    def execute_many(
        self, connection: Connection, cursor: Any, parameters: Sequence[Mapping[str, Any]]
    ) -> None:
        """Run once per parameter set (the driver's ``executemany``), on ``cursor``."""
        dialect = connection.dialect
        compiled = self._for(dialect)
        values = [_values(compiled, one) for one in parameters]
        try:
            cursor.executemany(compiled.sql, values)
        except dialect.loaded_dbapi.Error as exc:
            raise sqlalchemy.exc.DBAPIError.instance(
                compiled.sql, values, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc


def _values(compiled: _Compiled, parameters: Mapping[str, Any]) -> Any:
    processors = compiled.processors
    if compiled.positions is not None:
        return tuple(
            processors[name](parameters[name]) if name in processors else parameters[name]
            for name in compiled.positions
        )
    return {
        name: processors[name](value) if name in processors else value
        for name, value in parameters.items()
    }


def driver_cursor(connection: Connection) -> Any:
    """A DBAPI cursor on ``connection``'s driver connection, in its current transaction."""
    return connection.connection.cursor()
