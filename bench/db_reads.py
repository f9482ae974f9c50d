"""The small PUT's reads before its key: CPU per read and per PUT's reads (ADRs 0240, 0241).

``python -m bench db_reads [--postgres URL] [--reads N]``

Anchors measured in the same run: the same one-row read through SQLAlchemy's pool (checkout,
the statement, on PostgreSQL the ``ROLLBACK``, the checkin with its reset — what
``Database.fetch_one`` did before ADR 0240), and the PUT's three statements (token row, storage
generation, policy generation) as three ``fetch_one`` calls (before ADR 0241). Rounds alternate;
medians are printed with the load average, since the machines are shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy
from sqlalchemy import text

from lakevault.db import Database, generation_snapshot, upgrade

_TOKEN = (
    "SELECT u.user_id, u.account_id, u.name, u.arn, u.tags, s.token_generation FROM users u "
    "LEFT JOIN user_sign_in_states s ON s.user_id = u.user_id WHERE u.user_id = ?"
)
_GENERATION = "SELECT value FROM policy_generation WHERE id = 1"
_USER = "LVUSRBENCHREADS"


def _seed(database: Database) -> None:
    with database.session() as session:
        session.execute(text("DELETE FROM users WHERE user_id = :u"), {"u": _USER})
        session.execute(text("DELETE FROM tenants WHERE account_id = '999988887777'"))
        session.execute(
            text(
                "INSERT INTO tenants (account_id, name, is_platform, created_at) "
                "VALUES ('999988887777', 'bench-db-reads', false, CURRENT_TIMESTAMP)"
            )
        )
        session.execute(
            text(
                "INSERT INTO users (user_id, account_id, name, path, arn, tags, created_at) "
                "VALUES (:u, '999988887777', 'ada', '/', "
                "'arn:aws:iam::999988887777:user/ada', '{}', CURRENT_TIMESTAMP)"
            ),
            {"u": _USER},
        )


def _pooled(database: Database) -> Callable[[], object]:
    """The read as ``fetch_one`` made it before ADR 0240: through the engine's pool."""
    sql = _GENERATION

    def read() -> object:
        connection = database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, ())
                row = cursor.fetchone()
            finally:
                cursor.close()
            if not database.is_sqlite:
                connection.rollback()
            return row
        finally:
            connection.close()

    return read


def _measure(cases: dict[str, Callable[[], object]], reads: int, rounds: int) -> None:
    for case in cases.values():
        for _ in range(100):
            case()
    spent: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            started = time.process_time()
            for _ in range(reads):
                cases[name]()
            spent[name].append(1e6 * (time.process_time() - started) / reads)
    for name, values in spent.items():
        print(
            f"  {name:48} {statistics.median(values):8.1f} µs CPU "
            f"(min {min(values):.1f}, max {max(values):.1f})"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench db_reads")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        admin = None
        if options.postgres:
            admin = sqlalchemy.create_engine(options.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql("DROP DATABASE IF EXISTS bench_db_reads")
                connection.exec_driver_sql("CREATE DATABASE bench_db_reads")
            url = options.postgres.rsplit("/", 1)[0] + "/bench_db_reads"
        else:
            url = f"sqlite:///{Path(work) / 'metadata.db'}"
        database = Database(url)
        try:
            upgrade(database)
            _seed(database)

            def three() -> None:
                database.fetch_one(_TOKEN, (_USER,))
                database.fetch_one("SELECT value FROM storage_generation WHERE id = 1", ())
                database.fetch_one(_GENERATION, ())

            def snapshot() -> None:
                with generation_snapshot():
                    database.fetch_one(_TOKEN, (_USER,), with_generations=True)
                    database.generation("storage_generation")
                    database.generation("policy_generation")

            print(f"{database.dialect}, load average {os.getloadavg()[0]:.1f}, 1 thread")
            print(" one generation read:")
            _measure(
                {
                    "through the pool (anchor, before ADR 0240)": _pooled(database),
                    "Database.fetch_one (own connections)": lambda: database.fetch_one(
                        _GENERATION, ()
                    ),
                },
                options.reads,
                options.rounds,
            )
            print(" the PUT's token and generation reads:")
            _measure(
                {
                    "three fetch_one (anchor, before ADR 0241)": three,
                    "one, in a generation snapshot": snapshot,
                },
                options.reads,
                options.rounds,
            )
            print(f" load average at the end {os.getloadavg()[0]:.1f}")
        finally:
            database.dispose()
            if admin is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql("DROP DATABASE IF EXISTS bench_db_reads")
                admin.dispose()
    return 0
