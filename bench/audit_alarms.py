"""Benchmark of the alarm scan: ``python -m bench audit_alarms [--events N] [--principals P]``.

Fills a SQLite log with ``--events`` gate-decision events (a tenth denied, a fifth KMS key uses,
from ``--principals`` principals over ten minutes), then times one ``AlarmScanner.scan()`` over
all of them (observations, per-minute counts, judgement, cursor) — the work the per-minute job
does for a log that grew by that much. Anchor from the same run: reading the same rows and
decoding their JSON, the floor of any scan. Reported: events/s of both and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from lakevault.audit import (
    AuditEvent,
    DecisionRecord,
    EventResource,
    IdentityType,
    UserIdentity,
    append_in,
)
from lakevault.core import FixedClock, SystemRandom
from lakevault.db import Database, models, upgrade
from lakevault.trail import AlarmScanner, Thresholds

ACCOUNT = "123456789012"
START = datetime(2026, 1, 1, tzinfo=UTC)


def _event(number: int, principals: int, events: int) -> AuditEvent:
    principal = f"arn:aws:iam::{ACCOUNT}:user/u{number % principals}"
    is_key_use = number % 5 == 0
    is_denied = number % 10 == 3
    resource = (
        f"arn:aws:kms:local:{ACCOUNT}:key/k{number % 7}"
        if is_key_use
        else f"arn:aws:s3:::bucket/key-{number}"
    )
    return AuditEvent(
        event_id=f"00000000-0000-4000-8000-{number:012d}",
        event_time=START + timedelta(seconds=600 * number / events),
        event_source="kms.amazonaws.com" if is_key_use else "s3.amazonaws.com",
        event_name="Decrypt" if is_key_use else "GetObject",
        region="local",
        source_ip_address="10.0.0.1",
        user_agent="bench",
        user_identity=UserIdentity(
            type=IdentityType.IAM_USER,
            principal_id=f"LVUS{number % principals:016d}",
            arn=principal,
            account_id=ACCOUNT,
        ),
        request_id=f"req-{number}",
        read_only=True,
        recipient_account_id=ACCOUNT,
        resources=(EventResource(arn=resource, account_id=ACCOUNT, type=""),),
        error_code="AccessDenied" if is_denied else None,
        error_message="denied" if is_denied else None,
        decision=DecisionRecord(
            effect="ImplicitlyDenied" if is_denied else "Allowed",
            statements=({"policy": "P", "sid": "A", "index": 0},),
        ),
    )


def _fill(database: Database, events: int, principals: int) -> None:
    for start in range(0, events, 5000):
        with database.session() as session:
            for number in range(start, min(start + 5000, events)):
                append_in(session, _event(number, principals, events))


def _refuse_enqueue(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("no subscription exists, so nothing is enqueued")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench audit_alarms", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--principals", type=int, default=100)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        database = Database(f"sqlite:///{Path(scratch) / 'bench.db'}")
        upgrade(database)
        _fill(database, arguments.events, arguments.principals)

        began = time.perf_counter()
        with database.read_session() as session:
            rows = session.scalars(
                select(models.AuditEvent.body)
                .where(models.AuditEvent.account_id == ACCOUNT)
                .order_by(models.AuditEvent.sequence)
            ).all()
            decoded = sum(1 for body in rows if orjson.loads(body))
        anchor = time.perf_counter() - began

        scanner = AlarmScanner(
            database=database,
            thresholds=Thresholds(),
            clock=FixedClock(START + timedelta(minutes=10)),
            random=SystemRandom(),
            region="local",
            enqueue=_refuse_enqueue,
        )
        began = time.perf_counter()
        raised = scanner.scan()
        scan = time.perf_counter() - began
        database.dispose()
    events = arguments.events
    print(f"events: {events} from {arguments.principals} principals (decoded {decoded})")
    print(f"anchor, read + decode JSON: {events / anchor:>10,.0f} events/s ({anchor:.2f} s)")
    print(f"alarm scan:                 {events / scan:>10,.0f} events/s ({scan:.2f} s)")
    print(f"scan / anchor: {anchor / scan:.2f}x; alarms raised: {len(raised)}")
    return 0
