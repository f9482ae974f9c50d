"""The alarm scanner: reads each log past its cursor, counts, and raises alarms (ADR 0202).

A periodic job (every minute) runs :meth:`AlarmScanner.scan`. Per account, in one transaction
under the account's cursor row lock: read the events after the cursor, add their observations
(``_detectors.observe``) to per-minute counts, judge every subject that got new counts, record
each alarm as an audit event of the account (``AuditAlarm``, by the platform's alarm service),
queue its deliveries, and move the cursor. Alarm, deliveries and cursor commit together, so a
crash repeats a scan but never loses or doubles an alarm; two workers never scan one account at
once.

The appended events are not touched: detection runs beside the writer, so appends stay as fast
as they were and the alarms are at most one scan interval behind.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lakevault.audit import (
    AuditEvent,
    EventResource,
    IdentityType,
    UserIdentity,
    append_in,
    encode_event,
)
from lakevault.core import PLATFORM_ACCOUNT_ID, Clock, RandomSource, new_request_id
from lakevault.db import Database, models
from lakevault.trail import _names as names
from lakevault.trail._delivery import Enqueue, enqueue_deliveries
from lakevault.trail._detectors import Detector, Thresholds, Verdict, judge, observe
from lakevault.trail._subscriptions import AlarmSubscription, subscriptions_of

ALARM_EVENT_NAME = "AuditAlarm"
#: Who the log says raised an alarm: the platform's alarm service.
ALARM_IDENTITY = UserIdentity(
    type=IdentityType.AWS_SERVICE,
    principal_id="lakevault-alarms",
    arn="alarms.lakevault.local",
    account_id=PLATFORM_ACCOUNT_ID,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RaisedAlarm:
    account_id: str
    event_id: str
    verdict: Verdict
    deliveries: int


class AlarmScanner:
    """Runs the detectors over every log that grew since the last scan."""

    def __init__(
        self,
        *,
        database: Database,
        thresholds: Thresholds,
        clock: Clock,
        random: RandomSource,
        region: str,
        enqueue: Enqueue,
        batch_events: int = 20000,
    ) -> None:
        self._database = database
        self._thresholds = thresholds
        self._clock = clock
        self._random = random
        self._region = region
        self._enqueue = enqueue
        self._batch = batch_events

    def scan(self) -> list[RaisedAlarm]:
        """Scan every account whose log has events past its cursor; return the alarms raised."""
        raised: list[RaisedAlarm] = []
        for account_id in self._grown_accounts():
            raised.extend(self.scan_account(account_id))
        return raised

    def scan_account(self, account_id: str) -> list[RaisedAlarm]:
        raised: list[RaisedAlarm] = []
        while True:
            batch, more = self._scan_batch(account_id)
            raised.extend(batch)
            if not more:
                return raised

    def _grown_accounts(self) -> list[str]:
        cursor = models.AuditAlarmCursor
        with self._database.read_session() as session:
            return list(
                session.scalars(
                    select(models.AuditHead.account_id)
                    .outerjoin(cursor, cursor.account_id == models.AuditHead.account_id)
                    .where(models.AuditHead.size > func.coalesce(cursor.next_sequence, 0))
                    .order_by(models.AuditHead.account_id)
                )
            )

    def _scan_batch(self, account_id: str) -> tuple[list[RaisedAlarm], bool]:
        thresholds = self._thresholds
        raised: list[RaisedAlarm] = []
        with self._database.session() as session:
            start = _lock_cursor(session, account_id)
            rows = session.execute(
                select(models.AuditEvent.sequence, models.AuditEvent.body)
                .where(models.AuditEvent.account_id == account_id)
                .where(models.AuditEvent.sequence >= start)
                .order_by(models.AuditEvent.sequence)
                .limit(self._batch)
            ).all()
            if not rows:
                return [], False
            counts: dict[tuple[Detector, str, int], int] = defaultdict(int)
            latest: dict[tuple[Detector, str], int] = {}
            for _sequence, body in rows:
                record = orjson.loads(body)
                minute = _minute_of(record)
                for seen in observe(record):
                    counts[(seen.detector, seen.subject, minute)] += 1
                    key = (seen.detector, seen.subject)
                    latest[key] = max(latest.get(key, minute), minute)
            digests = {subject: _digest(subject) for _, subject in latest}
            stored = _stored_counts(
                session,
                account_id,
                sorted(set(digests.values())),
                after=min(latest.values(), default=0) - thresholds.baseline_minutes,
            )
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for (detector, subject, minute), count in counts.items():
                stored_key = (detector.value, digests[subject], minute)
                row = {
                    "account_id": account_id,
                    "detector": detector.value,
                    "subject_digest": digests[subject],
                    "minute": minute,
                }
                if stored_key in stored:
                    stored[stored_key] += count
                    updates.append({**row, "count": stored[stored_key]})
                else:
                    stored[stored_key] = count
                    inserts.append({**row, "subject": subject, "count": count})
            if inserts:
                session.execute(insert(models.AuditAlarmCount), inserts)
            if updates:
                session.execute(update(models.AuditAlarmCount), updates)
            by_subject: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
            for (detector_name, digest, minute), count in stored.items():
                by_subject[(detector_name, digest)][minute] = count
            subscriptions = None
            for (detector, subject), end in sorted(latest.items()):
                minutes = by_subject[(detector.value, digests[subject])]
                window_start = end - thresholds.window_minutes
                window = sum(c for m, c in minutes.items() if window_start < m <= end)
                baseline = (
                    sum(
                        c
                        for m, c in minutes.items()
                        if end - thresholds.baseline_minutes < m <= window_start
                    )
                    if thresholds.surge_minimum(detector) is not None
                    else 0
                )
                verdict = judge(
                    detector,
                    subject,
                    window_count=window,
                    baseline_count=baseline,
                    thresholds=thresholds,
                )
                if verdict is None or self._is_cooling(session, account_id, detector, subject):
                    continue
                if subscriptions is None:
                    subscriptions = subscriptions_of(self._database, account_id)
                raised.append(self._raise(session, account_id, verdict, rows[-1][0], subscriptions))
            cursor = session.get(models.AuditAlarmCursor, account_id)
            assert cursor is not None  # Locked above.
            cursor.next_sequence = rows[-1][0] + 1
            _prune(session, account_id, self._clock.now(), thresholds)
        return raised, len(rows) == self._batch

    def _is_cooling(
        self, session: Session, account_id: str, detector: Detector, subject: str
    ) -> bool:
        state = session.get(models.AuditAlarmState, (account_id, detector.value, _digest(subject)))
        if state is None:
            return False
        quiet_until = state.last_raised_at + timedelta(seconds=self._thresholds.cooldown_seconds)
        return self._clock.now() < quiet_until

    def _raise(
        self,
        session: Session,
        account_id: str,
        verdict: Verdict,
        last_sequence: int,
        subscriptions: list[AlarmSubscription],
    ) -> RaisedAlarm:
        now = self._clock.now()
        parameters: dict[str, Any] = {
            "detector": verdict.detector.value,
            "subject": verdict.subject,
            "count": verdict.count,
            "threshold": verdict.threshold,
            "windowSeconds": self._thresholds.window_seconds,
            "lastSequence": last_sequence,
        }
        if verdict.baseline_per_window is not None:
            parameters["baselinePerWindow"] = verdict.baseline_per_window
        subject_is_arn = verdict.subject.startswith("arn:")
        event = AuditEvent(
            event_id=new_request_id(self._random),
            event_time=now,
            event_source="lakevault.local",
            event_name=ALARM_EVENT_NAME,
            region=self._region,
            source_ip_address=None,
            user_agent="lakevault-alarms",
            user_identity=ALARM_IDENTITY,
            request_id=new_request_id(self._random),
            read_only=False,
            recipient_account_id=account_id,
            resources=(
                EventResource(
                    arn=verdict.subject if subject_is_arn else names.audit_log_arn(account_id),
                    account_id=account_id,
                    type="" if subject_is_arn else names.LOG_RESOURCE_TYPE,
                ),
            ),
            request_parameters=parameters,
            additional={"alarm": True},
        )
        append_in(session, event)
        digest = _digest(verdict.subject)
        state = session.get(models.AuditAlarmState, (account_id, verdict.detector.value, digest))
        if state is None:
            session.add(
                models.AuditAlarmState(
                    account_id=account_id,
                    detector=verdict.detector.value,
                    subject_digest=digest,
                    last_raised_at=now,
                )
            )
        else:
            state.last_raised_at = now
        queued = enqueue_deliveries(
            session,
            self._enqueue,
            subscriptions=subscriptions,
            detector=verdict.detector,
            alarm=orjson.loads(encode_event(event)),
            now=now,
            random=self._random,
        )
        return RaisedAlarm(
            account_id=account_id, event_id=event.event_id, verdict=verdict, deliveries=queued
        )


def _lock_cursor(session: Session, account_id: str) -> int:
    """Take the account's cursor row lock (creating it at 0); return the next sequence."""
    upsert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        upsert(models.AuditAlarmCursor)
        .values(account_id=account_id, next_sequence=0)
        .on_conflict_do_nothing()
    )
    position: int = session.execute(
        select(models.AuditAlarmCursor.next_sequence)
        .where(models.AuditAlarmCursor.account_id == account_id)
        .with_for_update()
    ).scalar_one()
    return position


def _stored_counts(
    session: Session, account_id: str, digests: list[str], *, after: int
) -> dict[tuple[str, str, int], int]:
    """The stored per-minute counts of these subjects after minute ``after``, in one pass."""
    found: dict[tuple[str, str, int], int] = {}
    for first in range(0, len(digests), 500):  # Nothing to read when no subject was seen.
        rows = session.execute(
            select(
                models.AuditAlarmCount.detector,
                models.AuditAlarmCount.subject_digest,
                models.AuditAlarmCount.minute,
                models.AuditAlarmCount.count,
            )
            .where(models.AuditAlarmCount.account_id == account_id)
            .where(models.AuditAlarmCount.subject_digest.in_(digests[first : first + 500]))
            .where(models.AuditAlarmCount.minute > after)
        ).all()
        for detector, digest, minute, count in rows:
            found[(detector, digest, minute)] = count
    return found


def _prune(session: Session, account_id: str, now: datetime, thresholds: Thresholds) -> None:
    """Forget counts older than the baseline needs."""
    oldest = int(now.timestamp()) // 60 - thresholds.baseline_minutes - thresholds.window_minutes
    session.query(models.AuditAlarmCount).filter(
        models.AuditAlarmCount.account_id == account_id, models.AuditAlarmCount.minute < oldest
    ).delete(synchronize_session=False)


def _minute_of(record: dict[str, Any]) -> int:
    text = str(record.get("eventTime", "")).replace("Z", "+00:00")
    return int(datetime.fromisoformat(text).timestamp()) // 60


def _digest(subject: str) -> str:
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()
