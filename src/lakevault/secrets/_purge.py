"""The end of a recovery window: a periodic job purges the secrets whose window has passed.

``DeleteSecret`` with a recovery window only marks the secret (``RestoreSecret`` brings it
back). When the window ends, this job deletes the secret's rows: every version's ciphertext,
its wrapped data keys and its labels. The job acts alone, as the service, and records one
``EndSecretDeletion`` event per purged secret (``userIdentity.type`` ``AWSService``) in the
purge's own transaction.

The secret's own service key is scheduled for deletion (KMS's shortest waiting period) just
*before* its rows go, through the key service's entry for platform jobs (ADR 0211): a crash
between the two leaves the secret due, and the next run finds the key already pending and
purges the rows. ``RestoreSecret`` refuses once the window has ended, so no restored secret
can keep a key pending deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity, append_in
from lakevault.core import Clock, RandomSource, new_request_id
from lakevault.db import Database, models
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.keys import KeyService
from lakevault.secrets._names import RESOURCE_TYPE

PURGE_SECRETS_TASK = "secrets.purge"
SERVICE = "secretsmanager.amazonaws.com"
_BATCH = 100
#: A purged secret's service key waits KMS's shortest period before it is destroyed.
PURGED_KEY_DELETION_DAYS = 7


class PurgeSecrets(BaseModel):
    """Payload of :data:`PURGE_SECRETS_TASK` (none: every secret past its window goes)."""


def _purge_event(
    *, arn: str, account_id: str, now: datetime, random: RandomSource, region: str
) -> AuditEvent:
    return AuditEvent(
        event_id=new_request_id(random),
        event_time=now,
        event_source=SERVICE,
        event_name="EndSecretDeletion",
        region=region,
        source_ip_address=SERVICE,
        user_agent=SERVICE,
        user_identity=UserIdentity(
            type=IdentityType.AWS_SERVICE, principal_id=SERVICE, arn=SERVICE, account_id=account_id
        ),
        request_id=new_request_id(random),
        read_only=False,
        recipient_account_id=account_id,
        resources=(EventResource(arn=arn, account_id=account_id, type=RESOURCE_TYPE),),
        response_elements={"arn": arn, "purged": True},
        additional={"stateChange": True},
    )


def purge_due_secrets(
    database: Database, *, keys: KeyService, clock: Clock, random: RandomSource, region: str
) -> int:
    """Delete every secret whose recovery window has ended; return how many went.

    Each secret goes in its own transaction with its event, so a crash leaves every secret
    either whole (and still due) or gone with its record.
    """
    now = clock.now()
    purged = 0
    while True:
        with database.read_session() as session:
            due = list(
                session.scalars(
                    select(models.Secret.arn)
                    .where(models.Secret.purge_at.is_not(None), models.Secret.purge_at <= now)
                    .order_by(models.Secret.purge_at)
                    .limit(_BATCH)
                )
            )
        if not due:
            return purged
        for arn in due:
            keys.schedule_resource_key_deletion(resource_arn=arn, days=PURGED_KEY_DELETION_DAYS)
            with database.session() as session:
                row = session.get(models.Secret, arn)
                if row is None or row.purge_at is None or row.purge_at > now:
                    continue  # restored, or purged by another worker meanwhile
                account_id = row.account_id
                delete_secret_rows(session, arn)
                append_in(
                    session,
                    _purge_event(
                        arn=arn, account_id=account_id, now=now, random=random, region=region
                    ),
                )
                purged += 1


def delete_secret_rows(session: Any, arn: str) -> None:
    """Delete a secret with every version (ciphertexts, wrapped data keys) and label."""
    session.execute(
        delete(models.SecretVersionStage).where(models.SecretVersionStage.secret_arn == arn)
    )
    session.execute(delete(models.SecretVersion).where(models.SecretVersion.secret_arn == arn))
    session.execute(delete(models.Secret).where(models.Secret.arn == arn))


def purge_tasks(
    *,
    database: Database,
    keys: Callable[[], KeyService],
    clock: Clock,
    random: RandomSource,
    region: str,
) -> tuple[list[TaskDefinition[Any]], list[PeriodicTask]]:
    """The purge task and its schedule (hourly; a window is counted in days)."""

    def purge(context: TaskContext, payload: PurgeSecrets) -> None:
        purge_due_secrets(database, keys=keys(), clock=clock, random=random, region=region)

    return (
        [
            TaskDefinition(
                name=PURGE_SECRETS_TASK,
                payload_model=PurgeSecrets,
                handler=purge,
                timeout_seconds=300.0,
                retry=RetryPolicy(max_attempts=3, base_delay_seconds=60.0),
            )
        ],
        [
            PeriodicTask(
                name="secrets-purge",
                task_name=PURGE_SECRETS_TASK,
                cron="7 * * * *",
                payload=PurgeSecrets(),
                catch_up_seconds=3600.0,
            )
        ],
    )
