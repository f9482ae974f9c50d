"""Audit event rows on PostgreSQL: one multi-row INSERT vs. statements of ≤ 50 parameters
(ADR 0252).

``python -m bench audit_inserts --postgres URL [--statements 300]``

Inserts batches of 4, 8, 16 and 32 event-shaped rows (7 columns) into a temporary table on one
psycopg connection, as ``audit._append.insert_events_on_driver`` does: the anchor puts a batch
in one statement (what it did before ADR 0252; psycopg re-splits the text of a query with more
than 50 parameters at every execution); the other in statements of
``rows_per_statement(dialect, 7)`` rows. Alternated in the same run; process CPU and wall time
per batch.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

import psycopg
from sqlalchemy import create_engine

from lakevault.audit._append import rows_per_statement

_COLUMNS = "event_id, account_id, sequence, event_time, event_name, body, leaf_hash"


def _statement(rows: int) -> str:
    row = "(%s, %s, %s, %s, %s, %s, %s)"
    return f"INSERT INTO bench_events ({_COLUMNS}) VALUES {', '.join([row] * rows)}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench audit_inserts")
    parser.add_argument("--postgres", required=True, help="a PostgreSQL URL")
    parser.add_argument("--statements", type=int, default=300, help="batches per measurement")
    args = parser.parse_args(argv)
    per = rows_per_statement(create_engine(args.postgres).dialect, 7)
    url = args.postgres.replace("postgresql+psycopg://", "postgresql://")
    counter = [0]

    def batch(count: int) -> list[object]:
        values: list[object] = []
        for _ in range(count):
            counter[0] += 1
            values += [
                f"ev-{counter[0]:032d}",
                "123456789012",
                counter[0],
                datetime.now(UTC),
                "PutObject",
                '{"a": "' + "x" * 600 + '"}',
                os.urandom(32),
            ]
        return values

    print(f"audit event rows, PostgreSQL, {args.statements} batches, {per} rows per statement")
    with psycopg.connect(url) as connection:
        connection.execute(
            "CREATE TEMP TABLE bench_events (event_id varchar(36), account_id varchar(12), "
            "sequence integer, event_time timestamptz, event_name varchar(128), body text, "
            "leaf_hash bytea)"
        )
        for count in (4, 8, 16, 32):
            results: dict[str, list[tuple[float, float]]] = {"one": [], "chunked": []}
            for name in ("one", "chunked", "chunked", "one"):
                cursor = connection.cursor()
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(args.statements):
                    values = batch(count)
                    step = (count if name == "one" else per) * 7
                    for start in range(0, len(values), step):
                        part = values[start : start + step]
                        cursor.execute(_statement(len(part) // 7), part)
                connection.commit()
                results[name].append(
                    (
                        1e6 * (time.process_time() - cpu) / args.statements,
                        1e6 * (time.perf_counter() - wall) / args.statements,
                    )
                )
            one = min(r[0] for r in results["one"])
            for name, label in (("one", "one statement (anchor)"), ("chunked", "≤ 50 parameters")):
                cpu_us = min(r[0] for r in results[name])
                wall_us = min(r[1] for r in results[name])
                print(
                    f"  {count:2} rows  {label:22} {cpu_us:6.0f} µs CPU {wall_us:6.0f} µs wall"
                    f"  {cpu_us / one:.2f}x"
                )
    print(f"load {os.getloadavg()[0]:.1f}")
    return 0
