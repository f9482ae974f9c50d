"""The secrets manager: AWS Secrets Manager's operations, each decided by the gate.

See :mod:`lakevault.secrets._core` for how a request is decided and recorded, and
docs/secrets.md for the API. The operations here load the secret, ask the gate, check the
secret's state, and act — reading or writing values only through
:class:`~lakevault.secrets._values.SecretValues`, with the gate's proof.

The class is assembled from one module per concern: ``_base.py`` (shared steps: sealing,
opening, writing a version, labels under the row lock), ``_rotation_runner.py`` (the four
rotation steps and the scheduled rotation job), ``_secret_settings.py`` (labels, resource
policies, tags) and this module (create, read, write, describe, list, delete, restore,
``RotateSecret``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from lakevault.core.errors import AccessDenied, LakevaultError
from lakevault.db import models
from lakevault.secrets._core import SecretRecord
from lakevault.secrets._errors import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from lakevault.secrets._function_registry import RotationFunctionRegistry
from lakevault.secrets._inputs import check_tags, tag_context, value_bytes
from lakevault.secrets._names import check_name, new_secret_arn
from lakevault.secrets._purge import delete_secret_rows
from lakevault.secrets._secret_settings import SecretSettings
from lakevault.secrets._secret_updates import SecretUpdates
from lakevault.secrets._stages import (
    AWSCURRENT,
    AWSPENDING,
)
from lakevault.secrets._types import NewVersion, SecretDescription, SecretsCall, SecretValue

MIN_RECOVERY_DAYS = 7
MAX_RECOVERY_DAYS = 30
DEFAULT_RECOVERY_DAYS = 30
#: A service key of a force-deleted secret is destroyed after KMS's shortest waiting period.
SERVICE_KEY_DELETION_DAYS = 7


class SecretsManager(SecretSettings, RotationFunctionRegistry, SecretUpdates):
    """AWS Secrets Manager for the tenants (docs/secrets.md). One instance per process."""

    # -- CreateSecret ------------------------------------------------------------------------

    def create_secret(
        self,
        call: SecretsCall,
        name: str,
        *,
        secret_string: str | None = None,
        secret_binary: bytes | None = None,
        description: str = "",
        kms_key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_request_token: str | None = None,
    ) -> NewVersion:
        """``CreateSecret``: a new secret, with a first version (``AWSCURRENT``) when a value is
        given. Without ``kms_key_id`` the secret gets its own service key (docs/secrets.md)."""
        core = self._core
        check_name(name)
        clean_tags = check_tags(tags or {})
        has_value = secret_string is not None or secret_binary is not None
        data, is_binary = value_bytes(secret_string, secret_binary) if has_value else (b"", False)
        version_id = self._version_id_for(client_request_token)
        account = call.principal.account_id
        if not account:
            raise AccessDenied("an anonymous caller cannot create secrets; sign in first")
        arn = new_secret_arn(core.region, account, name, core.random)
        parameters: dict[str, Any] = {
            "name": name,
            "kmsKeyId": kms_key_id,
            "tagKeys": sorted(clean_tags),
            "hasValue": has_value,
        }
        context: dict[str, Any] = {"secretsmanager:Name": name, **tag_context(clean_tags)}
        if kms_key_id is not None:
            context["secretsmanager:KmsKeyId"] = kms_key_id
        proof = core.authorize(
            call,
            action="secretsmanager:CreateSecret",
            resource=arn,
            resource_account=account,
            record=None,
            read_only=False,
            parameters=parameters,
            context=context,
        )
        with core.database.read_session() as session:
            existing = session.scalar(
                select(models.Secret).where(
                    models.Secret.account_id == account, models.Secret.name == name
                )
            )
        if existing is not None:
            if existing.deleted_at is not None:
                raise InvalidRequestException(
                    f"a secret named {name!r} is scheduled for deletion; restore it with "
                    "RestoreSecret or wait until it is purged"
                )
            raise ResourceExistsException(
                f"the secret {name!r} already exists in account {account}; use PutSecretValue "
                "to give it a new value"
            )
        service_key_id = (
            core.keys.create_service_key(
                proof, tenant_id=account, description=f"secrets manager: {name}"
            )
            if kms_key_id is None
            else None
        )
        now = core.clock.now()
        record = SecretRecord(
            arn=arn,
            account_id=account,
            name=name,
            description=description,
            kms_key_id=kms_key_id,
            service_key_id=service_key_id,
            policy_text=None,
            policy=None,
            tags=clean_tags,
            rotation_enabled=False,
            rotation_hook=None,
            rotation_days=None,
            last_rotated_at=None,
            last_changed_at=now,
            last_accessed_at=None,
            created_at=now,
            deleted_at=None,
            purge_at=None,
        )
        try:
            ciphertext = None
            if has_value:
                try:
                    ciphertext = self._seal(proof, call, record, version_id, data)
                except LakevaultError as error:
                    # Recorded under CreateSecret, as every other call's refusal by the key
                    # is under its own name (the gate's event above said only "allowed").
                    raise self._refuse(
                        call, record, error, action="secretsmanager:CreateSecret",
                        parameters=parameters, read_only=False,
                    ) from error  # fmt: skip
            with core.database.session() as session:
                if session.scalar(
                    select(models.Secret.arn).where(
                        models.Secret.account_id == account, models.Secret.name == name
                    )
                ):
                    raise ResourceExistsException(f"the secret {name!r} already exists")
                session.add(
                    models.Secret(
                        arn=arn,
                        account_id=account,
                        name=name,
                        description=description,
                        kms_key_id=kms_key_id,
                        service_key_id=service_key_id,
                        policy=None,
                        tags=clean_tags,
                        rotation_enabled=False,
                        last_changed_at=now,
                        created_at=now,
                    )
                )
                session.flush()
                if ciphertext is not None:
                    self._add_version(
                        session, arn=arn, service_key_id=service_key_id, version_id=version_id,
                        is_binary=is_binary, ciphertext=ciphertext, created_at=now,
                        stages=[AWSCURRENT],
                    )  # fmt: skip
                core.record_change(
                    session,
                    call,
                    action="secretsmanager:CreateSecret",
                    record_arn=arn,
                    account_id=account,
                    parameters=parameters,
                    elements={
                        "arn": arn,
                        "name": name,
                        "versionId": version_id if has_value else None,
                    },
                )
        except BaseException:
            # The secret was not created: its fresh key protects nothing, so it goes.
            if service_key_id is not None:
                core.keys.schedule_service_key_deletion(
                    proof, key_id=service_key_id, days=SERVICE_KEY_DELETION_DAYS
                )
            raise
        return NewVersion(
            arn=arn,
            name=name,
            version_id=version_id if has_value else None,
            version_stages=(AWSCURRENT,) if has_value else (),
        )

    # -- GetSecretValue ----------------------------------------------------------------------

    def get_secret_value(
        self,
        call: SecretsCall,
        secret_id: str,
        *,
        version_id: str | None = None,
        version_stage: str | None = None,
    ) -> SecretValue:
        """``GetSecretValue``: the value of one version (``AWSCURRENT`` by default).

        The gate's decision is the read's audit event; every refusal after it (deleted secret,
        no such version or label, a key that refuses) is recorded with its error code.
        """
        action = "secretsmanager:GetSecretValue"
        parameters: dict[str, Any] = {"versionId": version_id, "versionStage": version_stage}
        context: dict[str, Any] = {}
        if version_id is not None:
            context["secretsmanager:VersionId"] = version_id
        if version_stage is not None:
            context["secretsmanager:VersionStage"] = version_stage
        record, proof = self._core.load(
            call,
            secret_id,
            action=action,
            read_only=True,
            parameters=parameters,
            context=context,
        )
        self._require_value_access(
            call, record, action=action, parameters=parameters, read_only=True
        )
        chosen = self._choose_version(record, version_id, version_stage)
        if chosen is None:
            what = (
                f"version {version_id}"
                if version_id is not None
                else f"a version labelled {version_stage or AWSCURRENT}"
            )
            if version_id is not None and version_stage is not None:
                what = f"version {version_id} labelled {version_stage}"
            raise self._refuse(
                call,
                record,
                ResourceNotFoundException(
                    f"Secrets Manager can't find {what} of the secret {record.arn}; "
                    "DescribeSecret lists its versions and labels"
                ),
                action=action,
                parameters=parameters,
                read_only=True,
            )
        try:
            plaintext, is_binary = self._open(proof, call, record, chosen)
        except LakevaultError as error:
            raise self._refuse(
                call, record, error, action=action, parameters=parameters, read_only=True
            ) from error
        self._touch(record.arn, chosen)
        return self._value(record, chosen, plaintext, is_binary)

    @staticmethod
    def _choose_version(
        record: SecretRecord, version_id: str | None, version_stage: str | None
    ) -> str | None:
        if version_id is not None:
            if version_id not in record.versions:
                return None
            if version_stage is not None and record.labels.get(version_stage) != version_id:
                return None
            return version_id
        return record.labels.get(version_stage or AWSCURRENT)

    def _touch(self, arn: str, version_id: str) -> None:
        """Keep ``LastAccessedDate`` (a day, as AWS keeps it): one write per secret per day."""
        today = self._core.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        with self._core.database.read_session() as session:
            row = session.get(models.Secret, arn)
            if row is None or (row.last_accessed_at is not None and row.last_accessed_at >= today):
                return
        with self._core.database.session() as session:
            row = session.get(models.Secret, arn)
            version = session.get(models.SecretVersion, (arn, version_id))
            if row is not None:
                row.last_accessed_at = today
            if version is not None:
                version.last_accessed_at = today

    # -- PutSecretValue ----------------------------------------------------------------------

    def put_secret_value(
        self,
        call: SecretsCall,
        secret_id: str,
        *,
        secret_string: str | None = None,
        secret_binary: bytes | None = None,
        client_request_token: str | None = None,
        version_stages: Sequence[str] | None = None,
    ) -> NewVersion:
        """``PutSecretValue``: a new version, labelled ``AWSCURRENT`` unless ``version_stages``
        says otherwise. Repeating a token with the same value changes nothing; with another
        value it is ``ResourceExistsException``."""
        data, is_binary = value_bytes(secret_string, secret_binary)
        version_id = self._version_id_for(client_request_token)
        stages = list(version_stages) if version_stages is not None else [AWSCURRENT]
        action = "secretsmanager:PutSecretValue"
        parameters = {"versionId": version_id, "versionStages": stages}
        record, proof = self._core.load(
            call, secret_id, action=action, read_only=False, parameters=parameters
        )
        return self._put(
            call, record, proof, data=data, is_binary=is_binary, version_id=version_id,
            stages=stages, action=action, parameters=parameters,
        )  # fmt: skip

    # -- DescribeSecret, ListSecrets ---------------------------------------------------------

    def describe_secret(self, call: SecretsCall, secret_id: str) -> SecretDescription:
        """``DescribeSecret``: settings, tags and labels (never a value); deleted ones too."""
        record, _ = self._core.load(
            call, secret_id, action="secretsmanager:DescribeSecret", read_only=True
        )
        return record.description_of()

    def list_secrets(
        self, call: SecretsCall, *, include_planned_deletion: bool = False
    ) -> list[SecretDescription]:
        """``ListSecrets``: the caller's account's secrets by name (never values)."""
        core = self._core
        account = call.principal.account_id
        core.authorize(
            call,
            action="secretsmanager:ListSecrets",
            resource="*",
            resource_account=account,
            record=None,
            read_only=True,
            parameters={"includePlannedDeletion": include_planned_deletion},
        )
        with core.database.read_session() as session:
            query = select(models.Secret).where(models.Secret.account_id == account)
            if not include_planned_deletion:
                query = query.where(models.Secret.deleted_at.is_(None))
            rows = session.scalars(query.order_by(models.Secret.name)).all()
            return [core.record_in(session, row).description_of() for row in rows]

    # -- DeleteSecret, RestoreSecret ---------------------------------------------------------

    def delete_secret(
        self,
        call: SecretsCall,
        secret_id: str,
        *,
        recovery_window_in_days: int | None = None,
        force_delete_without_recovery: bool = False,
    ) -> SecretDescription:
        """``DeleteSecret``: mark the secret for purge after a 7-30 day recovery window (30 by
        default), or delete it at once with ``force_delete_without_recovery`` — its versions
        go now and its service key is scheduled for destruction (crypto-shredding)."""
        if force_delete_without_recovery and recovery_window_in_days is not None:
            raise InvalidParameterException(
                "pass either RecoveryWindowInDays or ForceDeleteWithoutRecovery, not both"
            )
        days = DEFAULT_RECOVERY_DAYS if recovery_window_in_days is None else recovery_window_in_days
        if not force_delete_without_recovery and not (
            MIN_RECOVERY_DAYS <= days <= MAX_RECOVERY_DAYS
        ):
            raise InvalidParameterException(
                f"RecoveryWindowInDays must be {MIN_RECOVERY_DAYS} to {MAX_RECOVERY_DAYS}, "
                f"got {days}"
            )
        action = "secretsmanager:DeleteSecret"
        parameters = {
            "recoveryWindowInDays": None if force_delete_without_recovery else days,
            "forceDeleteWithoutRecovery": force_delete_without_recovery,
        }
        record, proof = self._core.load(
            call, secret_id, action=action, read_only=False, parameters=parameters
        )
        if record.is_deleted and not force_delete_without_recovery:
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"the secret {record.arn} is already scheduled for deletion on "
                    f"{record.purge_at}; RestoreSecret cancels it"
                ),
                action=action,
                parameters=parameters,
                read_only=False,
            )
        now = self._core.clock.now()
        purge_at = now if force_delete_without_recovery else now + timedelta(days=days)
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            if force_delete_without_recovery:
                delete_secret_rows(session, record.arn)
            else:
                row.deleted_at = now
                row.purge_at = purge_at
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
                elements={"arn": record.arn, "deletionDate": purge_at.isoformat()},
            )
        if force_delete_without_recovery and record.service_key_id is not None:
            self._core.keys.schedule_service_key_deletion(
                proof, key_id=record.service_key_id, days=SERVICE_KEY_DELETION_DAYS
            )
        described = record.description_of()
        return replace(described, deleted_date=now, purge_date=purge_at)

    def restore_secret(self, call: SecretsCall, secret_id: str) -> SecretDescription:
        """``RestoreSecret``: cancel a scheduled deletion (before the window ends)."""
        action = "secretsmanager:RestoreSecret"
        record, _ = self._core.load(call, secret_id, action=action, read_only=False)
        if record.purge_at is not None and record.purge_at <= self._core.clock.now():
            # The purge job may already have scheduled its service key's deletion.
            error = InvalidRequestException(
                f"the recovery window of {record.arn} ended at {record.purge_at.isoformat()}; "
                "the secret is being purged and can no longer be restored"
            )
            raise self._refuse(call, record, error, action=action, parameters=None, read_only=False)
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            row.deleted_at = None
            row.purge_at = None
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=None,
                elements={"arn": record.arn, "name": record.name},
            )
        return self._reload(record.arn).description_of()

    # -- RotateSecret ------------------------------------------------------------------------

    def rotate_secret(
        self,
        call: SecretsCall,
        secret_id: str,
        *,
        rotation_hook: str | None = None,
        automatically_after_days: int | None = None,
        rotate_immediately: bool = True,
        client_request_token: str | None = None,
    ) -> NewVersion:
        """``RotateSecret``: configure rotation and run AWS's four steps with the secret's hook.

        The hook is ``rotation_hook`` (which is then saved) or the one saved before; a failed
        step raises ``InvalidRequestException`` naming the step (never the hook's message) and
        leaves the new version labelled ``AWSPENDING``.
        """
        if automatically_after_days is not None and not 1 <= automatically_after_days <= 1000:
            raise InvalidParameterException(
                f"AutomaticallyAfterDays must be 1 to 1000, got {automatically_after_days}"
            )
        version_id = self._version_id_for(client_request_token)
        action = "secretsmanager:RotateSecret"
        parameters = {
            "rotationHook": rotation_hook,
            "automaticallyAfterDays": automatically_after_days,
            "rotateImmediately": rotate_immediately,
            "versionId": version_id,
        }
        record, proof = self._core.load(
            call, secret_id, action=action, read_only=False, parameters=parameters
        )
        refusal: dict[str, Any] = {"action": action, "parameters": parameters, "read_only": False}
        self._require_value_access(call, record, **refusal)
        if automatically_after_days is not None and record.kms_key_id is not None:
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"the secret {record.arn} is encrypted under its KmsKeyId, which only a "
                    "caller can use; scheduled rotation runs as the service and needs the "
                    "secret's own service key. Rotate it with RotateSecret calls instead"
                ),
                **refusal,
            )
        hook_name = rotation_hook or record.rotation_hook
        if hook_name is None:
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"the secret {record.arn} has no rotation hook; pass RotationHook"
                ),
                **refusal,
            )
        try:
            hook_name = self._hook_reference(record, hook_name)
            self._hook_for(record, hook_name)
        except (InvalidParameterException, InvalidRequestException) as error:
            raise self._refuse(call, record, error, **refusal) from error
        pending = record.labels.get(AWSPENDING)
        current = record.labels.get(AWSCURRENT)
        if pending is not None and pending not in (current, version_id):
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"a previous rotation of {record.arn} is not complete: version {pending} "
                    "is labelled AWSPENDING; finish it with its ClientRequestToken, or remove "
                    "the label with UpdateSecretVersionStage"
                ),
                **refusal,
            )
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            row.rotation_enabled = True
            row.rotation_hook = hook_name
            if automatically_after_days is not None:
                row.rotation_days = automatically_after_days
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
                elements={"arn": record.arn, "versionId": version_id},
            )
        if not rotate_immediately:
            return NewVersion(arn=record.arn, name=record.name, version_id=None, version_stages=())
        return self._rotate_recorded(
            call, self._reload(record.arn), proof, hook_name, version_id, parameters=parameters
        )
