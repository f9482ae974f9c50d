"""The platform's background tasks, listed explicitly (docs/jobs.md, "Adding a task").

Services define what work is; this list says which work this platform runs, and when. A service
that needs background work adds its ``TaskDefinition`` values and ``PeriodicTask`` schedules
here; nothing registers itself on import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from lakevault import identity, secrets, storage, trail
from lakevault.audit import Checkpointer, load_signing_key, load_verifier, logged_accounts
from lakevault.core import Clock, RandomSource, Settings
from lakevault.db import Database
from lakevault.jobs import (
    PeriodicTask,
    RetryPolicy,
    TaskContext,
    TaskDefinition,
    housekeeping_tasks,
)
from lakevault.keys import KeyService
from lakevault.keys import key_tasks as kms_key_tasks
from lakevault.kms import PlatformRootKey

AUDIT_CHECKPOINT_TASK = "audit.checkpoint"


class CheckpointAuditLogs(BaseModel):
    """Payload of :data:`AUDIT_CHECKPOINT_TASK` (none: every log that grew is signed)."""


def platform_tasks(
    settings: Settings,
    database: Database,
    clock: Clock,
    random: RandomSource,
    *,
    enqueue: Callable[..., Any],
    keys: Callable[[], KeyService] | None = None,
    secrets_manager: Callable[[], secrets.SecretsManager] | None = None,
    object_storage: Callable[[], storage.ObjectStorage] | None = None,
) -> tuple[list[TaskDefinition[Any]], list[PeriodicTask]]:
    """Every task of the platform and every periodic schedule, for the job registry.

    ``enqueue`` is the queue's own ``enqueue`` (bound late: the queue is built from this list),
    for tasks that queue further work (alarm deliveries).
    """
    housekeeping, schedules = housekeeping_tasks(
        backend=settings.job_backend.value,
        database=database,
        clock=clock,
        random=random,
        region=settings.region,
    )
    tasks: list[TaskDefinition[Any]] = list(housekeeping)
    periodic = list(schedules)

    def checkpoint_audit_logs(context: TaskContext, payload: CheckpointAuditLogs) -> None:
        # The key is read per run: a worker machine needs the installation's signing key file,
        # and a missing one is a clear, retried error (SigningKeyUnavailable), not a crash.
        home = settings.resolved_home
        checkpointer = Checkpointer(
            database, load_signing_key(home), clock, verifiers=load_verifier(home)
        )
        for account_id in logged_accounts(database):
            checkpointer.checkpoint(account_id)

    tasks.append(
        TaskDefinition(
            name=AUDIT_CHECKPOINT_TASK,
            payload_model=CheckpointAuditLogs,
            handler=checkpoint_audit_logs,
            timeout_seconds=300.0,
            retry=RetryPolicy(max_attempts=3, base_delay_seconds=10.0),
        )
    )
    # Every minute; a checkpoint of a log that did not grow is not signed again.
    periodic.append(
        PeriodicTask(
            name="audit-checkpoints",
            task_name=AUDIT_CHECKPOINT_TASK,
            cron="* * * * *",
            payload=CheckpointAuditLogs(),
            catch_up_seconds=60.0,
        )
    )
    # The user pool's mail, and the daily rotation of the token signing keys (docs/user-pool.md).
    tasks.extend(
        identity.mail_tasks(
            database=database, sender=identity.mail_sender_for(settings), clock=clock
        )
    )
    key_tasks, key_schedules = identity.signing_key_tasks(
        keys=lambda: identity.SigningKeys.load_or_create(
            settings.resolved_home, random=random, clock=clock
        ),
        rotate=lambda keys: keys.rotate_due(
            random=random,
            clock=clock,
            rotate_after_seconds=settings.token_key_rotation_days * 86400,
            max_token_seconds=max(settings.access_token_ttl_seconds, settings.id_token_ttl_seconds),
        ),
    )
    tasks.extend(key_tasks)
    periodic.extend(key_schedules)
    # Audit alarms: a scan of every grown log each minute, and signed webhook deliveries.
    alarm_definitions, alarm_schedules = trail.alarm_tasks(
        database=database,
        thresholds=trail.Thresholds.from_settings(settings),
        clock=clock,
        random=random,
        region=settings.region,
        enqueue=enqueue,
        root_key=functools.cache(lambda: PlatformRootKey.load(settings)),
    )
    tasks.extend(alarm_definitions)
    periodic.extend(alarm_schedules)
    # The tenant KMS: automatic key rotation and crypto-shredding (docs/keys.md).
    if keys is not None:
        kms_tasks, kms_schedules = kms_key_tasks(keys)
        tasks.extend(kms_tasks)
        periodic.extend(kms_schedules)
    # Secrets past their recovery window are purged hourly, their service keys scheduled for
    # deletion (docs/secrets.md, "Deletion").
    if keys is not None:
        purge_definitions, purge_schedules = secrets.purge_tasks(
            database=database, keys=keys, clock=clock, random=random, region=settings.region
        )
        tasks.extend(purge_definitions)
        periodic.extend(purge_schedules)
    # Secrets whose AutomaticallyAfterDays have passed are rotated hourly (docs/secrets.md).
    if secrets_manager is not None:
        rotation_definitions, rotation_schedules = secrets.rotation_tasks(secrets_manager)
        tasks.extend(rotation_definitions)
        periodic.extend(rotation_schedules)
    # Blobs orphaned by a crash mid-upload are removed hourly (docs/storage.md).
    sweep_definitions, sweep_schedules = storage.storage_tasks(
        database=database, backend=storage.open_backend(settings), clock=clock
    )
    tasks.extend(sweep_definitions)
    periodic.extend(sweep_schedules)
    # Multipart uploads nobody completed are aborted daily, their parts deleted (docs/storage.md).
    abort_definitions, abort_schedules = storage.multipart_tasks(
        database=database,
        backend=storage.open_backend(settings),
        clock=clock,
        abort_after_days=settings.storage_multipart_abort_after_days,
    )
    tasks.extend(abort_definitions)
    periodic.extend(abort_schedules)
    # Audit logs go into each configured account's object-locked bucket every five minutes, and
    # whole segments past retention are expired daily (docs/audit.md, ADR 0205).
    if object_storage is not None:
        reach_storage = object_storage

        def bucket_exporter() -> trail.BucketExporter:
            home = settings.resolved_home
            return trail.BucketExporter(
                database=database,
                object_storage=reach_storage(),
                checkpointer=Checkpointer(
                    database, load_signing_key(home), clock, verifiers=load_verifier(home)
                ),
                clock=clock,
                random=random,
            )

        export_definitions, export_schedules = trail.bucket_export_tasks(bucket_exporter)
        tasks.extend(export_definitions)
        periodic.extend(export_schedules)
        # Lifecycle rules expire objects and old versions daily; a locked version is never
        # removed (docs/storage.md, "Lifecycle").
        lifecycle_definitions, lifecycle_schedules = storage.lifecycle_tasks(
            lambda: reach_storage().lifecycle_runner()
        )
        tasks.extend(lifecycle_definitions)
        periodic.extend(lifecycle_schedules)
    return tasks, periodic
