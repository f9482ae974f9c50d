"""Applying lifecycle rules: a periodic job that expires objects and old versions.

For every bucket with a lifecycle configuration and every enabled rule:

* ``Expiration.Days``: a current version older than that is expired — a delete marker in a
  versioned bucket (the version stays, non-current), the version itself otherwise;
* ``ExpiredObjectDeleteMarker``: a delete marker that is a key's only version goes;
* ``NoncurrentVersionExpiration``: a non-current version goes once it has been non-current for
  ``NoncurrentDays`` (counted from when the next version replaced it), keeping the newest
  ``NewerNoncurrentVersions`` non-current versions.

The job acts alone, as the service (``lifecycle.s3.amazonaws.com``), not as any principal: the
rules were put through the gate by the tenant, and the job only carries them out. Each removal
is one transaction with the bucket row locked and one ``LifecycleExpiration`` audit event; a
version under object lock is never removed — :func:`release_version_lock` refuses it and the
job keeps it (and counts it). A removed version's blob is deleted after the commit (journalled,
so the orphan sweep finishes an interrupted deletion); its data key existed only wrapped in the
blob and the row, so no data key is left behind (docs/decisions/0157).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity, append_in
from lakevault.core import new_request_id
from lakevault.db import models
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.storage._core import StorageCore
from lakevault.storage._lifecycle import LifecycleRule, lifecycle_rules
from lakevault.storage._listing import successor
from lakevault.storage._lock import check_version_deletable
from lakevault.storage._lock_types import ObjectLocked
from lakevault.storage._names import object_arn
from lakevault.storage._objects import Objects
from lakevault.storage._types import Versioning

LIFECYCLE_TASK = "storage.lifecycle"
LIFECYCLE_SERVICE = "lifecycle.s3.amazonaws.com"
_KEY_BATCH = 200


@dataclass(slots=True)
class LifecycleReport:
    """What one run did."""

    delete_markers_added: int = 0
    versions_removed: int = 0
    delete_markers_removed: int = 0
    kept_locked: int = 0
    buckets: int = 0
    errors: list[str] = field(default_factory=list)


def _event(
    core: StorageCore,
    *,
    account_id: str,
    bucket: str,
    key: str,
    version_id: str | None,
    rule: LifecycleRule,
    outcome: str,
    now: datetime,
) -> AuditEvent:
    arn = object_arn(bucket, key)
    return AuditEvent(
        event_id=new_request_id(core.random),
        event_time=now,
        event_source="s3.amazonaws.com",
        event_name="LifecycleExpiration",
        region=core.region,
        source_ip_address=LIFECYCLE_SERVICE,
        user_agent=LIFECYCLE_SERVICE,
        user_identity=UserIdentity(
            type=IdentityType.AWS_SERVICE,
            principal_id=LIFECYCLE_SERVICE,
            arn=LIFECYCLE_SERVICE,
            account_id=account_id,
        ),
        request_id=new_request_id(core.random),
        read_only=False,
        recipient_account_id=account_id,
        resources=(EventResource(arn=arn, account_id=account_id, type="AWS::S3::Object"),),
        request_parameters={
            "bucketName": bucket,
            "key": key,
            "versionId": version_id,
            "lifecycleRuleId": rule.id,
        },
        response_elements={"outcome": outcome},
        additional={"stateChange": True},
    )


def _noncurrent_since(versions: list[models.ObjectVersion]) -> dict[str, datetime]:
    """When each version became non-current: the time the next newer version was written."""
    since: dict[str, datetime] = {}
    for newer, older in itertools.pairwise(versions):
        since[older.version_id] = newer.last_modified
    return since


class LifecycleRunner:
    """Carries out the lifecycle rules of every bucket (see the module's docstring)."""

    def __init__(self, core: StorageCore) -> None:
        self._core = core
        self._objects = Objects(core)

    def run(self) -> LifecycleReport:
        core = self._core
        report = LifecycleReport()
        with core.database.read_session() as session:
            buckets = list(
                session.execute(
                    select(models.BucketLifecycle.bucket_name, models.Bucket.account_id).join(
                        models.Bucket, models.Bucket.name == models.BucketLifecycle.bucket_name
                    )
                ).all()
            )
        for bucket, account_id in buckets:
            report.buckets += 1
            with core.database.read_session() as session:
                rules = [rule for rule in lifecycle_rules(session, bucket) if rule.enabled]
            for rule in rules:
                if (
                    rule.expiration_days is None
                    and not rule.expired_object_delete_marker
                    and rule.noncurrent_days is None
                ):
                    continue
                self._apply_rule(bucket, account_id, rule, report)
        return report

    def _keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key of ``bucket`` under ``prefix``, read in batches (the keys are held; each
        key's versions are loaded one key at a time)."""
        keys: list[str] = []
        after: str | None = None
        objects = models.ObjectVersion
        with self._core.database.read_session() as session:
            while True:
                query = (
                    select(objects.key)
                    .where(objects.bucket_name == bucket)
                    .distinct()
                    .order_by(objects.key)
                    .limit(_KEY_BATCH)
                )
                if prefix:
                    # A range, not LIKE: '%' and '_' in a prefix are plain characters.
                    query = query.where(objects.key >= prefix, objects.key < successor(prefix))
                if after is not None:
                    query = query.where(objects.key > after)
                batch = list(session.scalars(query).all())
                keys.extend(batch)
                if len(batch) < _KEY_BATCH:
                    return keys
                after = batch[-1]

    def _apply_rule(
        self, bucket: str, account_id: str, rule: LifecycleRule, report: LifecycleReport
    ) -> None:
        for key in self._keys(bucket, rule.prefix):
            try:
                self._apply_to_key(bucket, account_id, key, rule, report)
            except Exception as exc:  # noqa: BLE001 - one key's failure must not stop the run
                report.errors.append(f"{bucket}/{key}: {type(exc).__name__}: {exc}")

    @staticmethod
    def _locked(
        session: Session, bucket: str, key: str, row: models.ObjectVersion, now: datetime
    ) -> bool:
        """Whether object lock protects ``row`` (the job never bypasses anything)."""
        try:
            check_version_deletable(
                session.get(models.ObjectVersionLock, row.version_id),
                bucket=bucket,
                key=key,
                now=now,
            )
        except ObjectLocked:
            return True
        return False

    def _expire_noncurrent(  # noqa: PLR0917 - one step of _apply_to_key
        self,
        session: Session,
        bucket: str,
        key: str,
        versions: list[models.ObjectVersion],
        rule: LifecycleRule,
        now: datetime,
        doomed: list[str],
        report: LifecycleReport,
        events: list[tuple[str | None, str]],
    ) -> None:
        """Remove the noncurrent versions of ``key`` the rule says are old enough (and within
        its size filter; a delete marker has no size), keeping the newest it says to keep."""
        if rule.noncurrent_days is None:
            return
        since = _noncurrent_since(versions)
        keep = rule.newer_noncurrent_versions or 0
        cutoff = now - timedelta(days=rule.noncurrent_days)
        for index, row in enumerate(versions[1:]):
            if index < keep or since[row.version_id] > cutoff:
                continue
            if rule.has_size_filter and (row.is_delete_marker or not rule.matches_size(row.size)):
                continue
            if self._locked(session, bucket, key, row, now):
                report.kept_locked += 1
                continue
            version_id = "null" if row.is_null_version else row.version_id
            self._objects._delete_version(session, bucket, key, version_id, doomed)
            report.versions_removed += 1
            events.append((row.version_id, "NoncurrentVersionRemoved"))

    def _apply_to_key(
        self,
        bucket: str,
        account_id: str,
        key: str,
        rule: LifecycleRule,
        report: LifecycleReport,
    ) -> None:
        core = self._core
        objects = self._objects
        now = core.clock.now()
        doomed: list[str] = []
        with core.database.session() as session:
            bucket_row = core.lock_bucket(session, bucket)
            versioning = Versioning(bucket_row.versioning)
            versions = list(
                session.scalars(
                    select(models.ObjectVersion)
                    .where(
                        models.ObjectVersion.bucket_name == bucket,
                        models.ObjectVersion.key == key,
                    )
                    .order_by(models.ObjectVersion.sequence.desc())
                ).all()
            )
            if not versions:
                return
            events: list[tuple[str | None, str]] = []
            latest = versions[0]
            # Noncurrent versions first (their ages come from the versions as they are now).
            self._expire_noncurrent(
                session, bucket, key, versions, rule, now, doomed, report, events
            )
            remaining = session.scalars(
                select(models.ObjectVersion)
                .where(models.ObjectVersion.bucket_name == bucket, models.ObjectVersion.key == key)
                .order_by(models.ObjectVersion.sequence.desc())
            ).all()
            latest = remaining[0] if remaining else latest
            if (
                rule.expiration_days is not None
                and remaining
                and not latest.is_delete_marker
                and rule.matches_size(latest.size)
                and latest.last_modified <= now - timedelta(days=rule.expiration_days)
            ):
                if versioning is Versioning.ENABLED:
                    result = objects._add_marker(session, bucket, key, null=False)
                    report.delete_markers_added += 1
                    events.append((result.version_id, "DeleteMarkerCreated"))
                elif versioning is Versioning.SUSPENDED:
                    doomed.extend(objects._retire(session, bucket, key, versioning))
                    objects._add_marker(session, bucket, key, null=True)
                    report.delete_markers_added += 1
                    events.append((None, "DeleteMarkerCreated"))
                elif self._locked(session, bucket, key, latest, now):
                    report.kept_locked += 1
                else:
                    objects._delete_version(session, bucket, key, "null", doomed)
                    report.versions_removed += 1
                    events.append((None, "ObjectRemoved"))
            elif (
                rule.expired_object_delete_marker
                and len(remaining) == 1
                and remaining[0].is_delete_marker
            ):
                marker = remaining[0]
                marker_id = "null" if marker.is_null_version else marker.version_id
                objects._delete_version(session, bucket, key, marker_id, doomed)
                report.delete_markers_removed += 1
                events.append((marker.version_id, "ExpiredDeleteMarkerRemoved"))
            for changed_id, outcome in events:
                append_in(
                    session,
                    _event(
                        core,
                        account_id=account_id,
                        bucket=bucket,
                        key=key,
                        version_id=changed_id,
                        rule=rule,
                        outcome=outcome,
                        now=now,
                    ),
                )
        objects._delete_blobs(doomed)


class ApplyLifecycle(BaseModel):
    """Payload of :data:`LIFECYCLE_TASK` (none: every bucket's rules are applied)."""


def lifecycle_tasks(
    runner: Callable[[], LifecycleRunner],
) -> tuple[list[TaskDefinition[ApplyLifecycle]], list[PeriodicTask]]:
    """The lifecycle job and its daily schedule, for ``runtime/_tasks.py``.

    ``runner`` is called when the job runs (``lambda: platform.storage.lifecycle_runner()``),
    so registering the task builds no storage.
    """

    def apply(context: TaskContext, payload: ApplyLifecycle) -> None:
        runner().run()

    return (
        [
            TaskDefinition(
                name=LIFECYCLE_TASK,
                payload_model=ApplyLifecycle,
                handler=apply,
                timeout_seconds=3600.0,
                retry=RetryPolicy(max_attempts=3, base_delay_seconds=300.0),
            )
        ],
        [
            PeriodicTask(
                name="storage-lifecycle",
                task_name=LIFECYCLE_TASK,
                cron="37 2 * * *",
                payload=ApplyLifecycle(),
                catch_up_seconds=6 * 3600.0,
            )
        ],
    )
