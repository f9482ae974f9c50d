"""Rotation: AWS's four steps with a registered hook, for ``RotateSecret`` and the schedule.

``RotateSecret`` runs the steps with the caller's proof. The periodic job
(:func:`rotation_tasks`) rotates every secret whose ``AutomaticallyAfterDays`` have passed
since its last rotation (or creation) through its saved hook, as the service
(``secretsmanager.amazonaws.com``, ADR 0212): the tenant's gate-decided ``RotateSecret``
that set the schedule is its authority, the secret's service key is used through the key
service's entry for platform jobs (its key policy still decides for the service principal),
and every step is recorded as the service. A failed step leaves the version ``AWSPENDING``;
the next run resumes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from lakevault.audit import IdentityType
from lakevault.core import new_request_id
from lakevault.core.errors import LakevaultError
from lakevault.db import models
from lakevault.gate import Proof
from lakevault.identity import Principal
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.secrets._base import SecretsBase
from lakevault.secrets._core import SecretRecord
from lakevault.secrets._errors import InvalidRequestException
from lakevault.secrets._functions import RotationFunctionFailed
from lakevault.secrets._rotation import RotationRequest, RotationStep
from lakevault.secrets._stages import AWSCURRENT, AWSPENDING, labels_after_move
from lakevault.secrets._types import NewVersion, SecretsCall
from lakevault.secrets._values import PLATFORM_JOB, PlatformJob

ROTATE_SECRETS_TASK = "secrets.rotate-due"
SERVICE = "secretsmanager.amazonaws.com"


class RotateDueSecrets(BaseModel):
    """Payload of :data:`ROTATE_SECRETS_TASK` (none: every due secret is rotated)."""


def service_call(account_id: str, random: Any) -> SecretsCall:
    """The service itself as the caller of its scheduled work, for the audit events."""
    return SecretsCall(
        principal=Principal(
            arn=SERVICE,
            account_id=account_id,
            principal_id=SERVICE,
            identity_type=IdentityType.AWS_SERVICE,
        ),
        request_id=new_request_id(random),
        user_agent=SERVICE,
    )


def is_due(record: SecretRecord, now: datetime) -> bool:
    """Automatic rotation is due ``rotation_days`` after the last rotation (or creation)."""
    if not record.rotation_enabled or record.rotation_days is None or record.is_deleted:
        return False
    since = record.last_rotated_at or record.created_at
    return since + timedelta(days=record.rotation_days) <= now


class RotationRunner(SecretsBase):
    """The rotation steps, and the job that runs them on schedule."""

    def _rotate_recorded(
        self,
        call: SecretsCall,
        record: SecretRecord,
        proof: Proof | PlatformJob,
        hook_name: str,
        version_id: str,
        *,
        parameters: Mapping[str, Any],
    ) -> NewVersion:
        """Run the rotation and record, as a refused ``RotateSecret``, a failure the runner
        does not record itself: a failed step is recorded by the runner (it is
        ``InvalidRequestException``); a key that refuses to open or seal a value, or a hook
        that is gone, is recorded here — for ``RotateSecret`` and the scheduled job alike."""
        try:
            return self._run_rotation(call, record, proof, hook_name, version_id)
        except LakevaultError as error:
            if not isinstance(error, InvalidRequestException):
                self._core.record_refusal(
                    call,
                    record,
                    action="secretsmanager:RotateSecret",
                    parameters=parameters,
                    error=error,
                    read_only=False,
                )
            raise

    def _run_rotation(
        self,
        call: SecretsCall,
        record: SecretRecord,
        proof: Proof | PlatformJob,
        hook_name: str,
        version_id: str,
    ) -> NewVersion:
        hook = self._hook_for(record, hook_name)
        action = "secretsmanager:RotateSecret"
        current_id = record.labels.get(AWSCURRENT)
        current = None
        if current_id is not None:
            plaintext, is_binary = self._open(proof, call, record, current_id)
            current = self._value(record, current_id, plaintext, is_binary)
        request = RotationRequest(
            arn=record.arn, name=record.name, version_id=version_id, current=current
        )
        step = RotationStep.CREATE_SECRET
        try:
            if version_id not in record.versions:
                new_value = hook.create_secret(request)
                data = new_value if isinstance(new_value, bytes) else new_value.encode("utf-8")
                self._put(
                    call, record, proof, data=data, is_binary=isinstance(new_value, bytes),
                    version_id=version_id, stages=[AWSPENDING], action=action,
                    parameters={"versionId": version_id, "step": step.value},
                    record_key_refusals=False,
                )  # fmt: skip
                record = self._reload(record.arn)
            plaintext, is_binary = self._open(proof, call, record, version_id)
            pending = self._value(record, version_id, plaintext, is_binary)
            step = RotationStep.SET_SECRET
            hook.set_secret(request, pending)
            step = RotationStep.TEST_SECRET
            hook.test_secret(request, pending)
            step = RotationStep.FINISH_SECRET
            # The hook's finishSecret runs first: only its success lets AWSCURRENT move, so a
            # failure at any step leaves AWSCURRENT where it was.
            hook.finish_secret(request)
            self._finish(call, record, version_id)
        except LakevaultError:
            raise
        except Exception as exc:  # a hook's failure is translated, never echoed
            # A sandboxed function's reason is the sandbox's status (never its message).
            reason = exc.reason if isinstance(exc, RotationFunctionFailed) else type(exc).__name__
            error = InvalidRequestException(
                f"rotation of {record.arn} failed at step {step.value} in hook {hook_name!r} "
                f"({reason}); version {version_id} keeps AWSPENDING and "
                "AWSCURRENT did not move; fix the hook and call RotateSecret with the same "
                "ClientRequestToken"
            )
            raise self._refuse(
                call,
                record,
                error,
                action=action,
                parameters={"versionId": version_id, "step": step.value},
                read_only=False,
            ) from exc
        return NewVersion(
            arn=record.arn, name=record.name, version_id=version_id, version_stages=(AWSCURRENT,)
        )

    def _finish(self, call: SecretsCall, record: SecretRecord, version_id: str) -> None:
        """``finishSecret``: ``AWSCURRENT`` to the new version, ``AWSPENDING`` off it."""
        now = self._core.clock.now()
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            labels = self._current_labels(session, record.arn)
            if labels.get(AWSCURRENT) != version_id:
                labels = labels_after_move(
                    labels,
                    AWSCURRENT,
                    remove_from_version_id=labels.get(AWSCURRENT),
                    move_to_version_id=version_id,
                )
            if labels.get(AWSPENDING) == version_id:
                del labels[AWSPENDING]
            self._write_labels(session, record.arn, labels)
            row.last_rotated_at = now
            row.last_changed_at = now
            self._core.record_change(
                session,
                call,
                action="secretsmanager:RotateSecret",
                record_arn=record.arn,
                account_id=record.account_id,
                parameters={"versionId": version_id, "step": RotationStep.FINISH_SECRET.value},
                elements={"arn": record.arn, "versionId": version_id},
            )

    def rotate_due_secrets(self, *, now: datetime | None = None) -> int:
        """Rotate every secret whose automatic rotation is due; return how many finished.

        Only secrets under their own service key qualify (a ``KmsKeyId`` key is used with a
        caller's identity, which a job does not have; ``RotateSecret`` refuses the schedule
        for them). A secret whose rotation fails is recorded and left for the next run.
        """
        core = self._core
        now = now or core.clock.now()
        with core.database.read_session() as session:
            rows = session.scalars(
                select(models.Secret)
                .where(
                    models.Secret.rotation_enabled.is_(True),
                    models.Secret.rotation_days.is_not(None),
                    models.Secret.deleted_at.is_(None),
                    models.Secret.kms_key_id.is_(None),
                )
                .order_by(models.Secret.arn)
            ).all()
            due = [
                record
                for record in (core.record_in(session, row) for row in rows)
                if is_due(record, now)
            ]
        rotated = 0
        for record in due:
            hook_name = record.rotation_hook
            if hook_name is None:
                continue
            pending = record.labels.get(AWSPENDING)
            version_id = (
                pending
                if pending is not None and pending != record.labels.get(AWSCURRENT)
                else self._new_version_id()
            )
            call = service_call(record.account_id, core.random)
            try:
                self._rotate_recorded(
                    call, record, PLATFORM_JOB, hook_name, version_id,
                    parameters={"versionId": version_id, "scheduled": True},
                )  # fmt: skip
            except LakevaultError:
                continue
            rotated += 1
        return rotated


def rotation_tasks(
    manager: Callable[[], RotationRunner],
) -> tuple[list[TaskDefinition[Any]], list[PeriodicTask]]:
    """The scheduled-rotation task and its hourly schedule (``AutomaticallyAfterDays``)."""

    def rotate(context: TaskContext, payload: RotateDueSecrets) -> None:
        manager().rotate_due_secrets(now=context.now)

    return (
        [
            TaskDefinition(
                name=ROTATE_SECRETS_TASK,
                payload_model=RotateDueSecrets,
                handler=rotate,
                timeout_seconds=600.0,
                retry=RetryPolicy(max_attempts=3, base_delay_seconds=60.0),
            )
        ],
        [
            PeriodicTask(
                name="secrets-rotation",
                task_name=ROTATE_SECRETS_TASK,
                cron="37 * * * *",
                payload=RotateDueSecrets(),
                catch_up_seconds=3600.0,
            )
        ],
    )
