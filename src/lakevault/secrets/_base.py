"""What the secrets manager's operations share: loading, sealing, opening and labelling.

:class:`SecretsBase` holds the per-process state (the core, the rotation hooks) and the steps
every operation builds on — writing a new version (``_put``), opening one (``_open``), moving
labels under the secret's row lock. The operations themselves live in ``_manager.py`` and the
rotation steps in ``_rotation_runner.py``.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lakevault.audit import AuditSink
from lakevault.core import Clock, RandomSource
from lakevault.core.errors import AccessDenied, LakevaultError
from lakevault.db import Database, models
from lakevault.gate import Gate, Proof
from lakevault.keys import KeyService
from lakevault.secrets._core import SecretRecord, SecretsCore
from lakevault.secrets._errors import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from lakevault.secrets._functions import (
    RotationFunction,
    SandboxedRotationHook,
    SandboxInvoker,
    parse_function_reference,
)
from lakevault.secrets._inputs import check_version_id
from lakevault.secrets._rotation import RotationHook, RotationHooks
from lakevault.secrets._stages import labels_with_new_version
from lakevault.secrets._types import NewVersion, SecretsCall, SecretValue
from lakevault.secrets._values import PlatformJob, StoredKey, version_columns


class SecretsBase:
    """The shared state and steps of :class:`~lakevault.secrets.SecretsManager`."""

    def __init__(
        self,
        *,
        database: Database,
        gate: Gate,
        audit: AuditSink,
        keys: KeyService,
        clock: Clock,
        random: RandomSource,
        region: str,
        rotation_hooks: RotationHooks | None = None,
        sandbox: SandboxInvoker | None = None,
        sandbox_allow_loopback_endpoints: bool = False,
    ) -> None:
        self._core = SecretsCore(
            database=database,
            gate=gate,
            audit=audit,
            keys=keys,
            clock=clock,
            random=random,
            region=region,
        )
        self._hooks = rotation_hooks or RotationHooks()
        # Tenants' rotation functions run here (docs/secrets.md, "Rotation functions").
        self._sandbox = sandbox
        # Tests only: lets a function reach a loopback endpoint registered with it.
        self._sandbox_allow_loopback = sandbox_allow_loopback_endpoints

    # -- helpers -----------------------------------------------------------------------------

    def _hook_reference(self, record: SecretRecord, hook_name: str) -> str:
        """The name a secret saves: a built-in hook's name, or its function's full ARN."""
        arn = parse_function_reference(
            hook_name, region=self._core.region, account_id=record.account_id
        )
        return hook_name if arn is None else arn

    def _hook_for(self, record: SecretRecord, hook_name: str) -> RotationHook:
        """The hook that rotates ``record``: a rotation function of the secret's own account
        (run in the sandbox), or a built-in hook registered with the platform."""
        arn = parse_function_reference(
            hook_name, region=self._core.region, account_id=record.account_id
        )
        if arn is None:
            return self._hooks.get(hook_name)
        function = self._load_function(arn)
        if function is None or function.account_id != record.account_id:
            raise InvalidParameterException(
                f"there is no rotation function {arn} in the secret's account "
                f"{record.account_id}; register one with PutRotationFunction (a secret is "
                "rotated only by a function of its own account)"
            )
        if self._sandbox is None:
            raise InvalidRequestException(
                "this platform runs no sandbox, so rotation functions cannot run here; use a "
                "built-in rotation hook"
            )
        return SandboxedRotationHook(
            self._sandbox, function, allow_loopback_endpoints=self._sandbox_allow_loopback
        )

    def _load_function(self, arn: str, *, with_source: bool = True) -> RotationFunction | None:
        with self._core.database.read_session() as session:
            row = session.get(models.SecretRotationFunction, arn)
            if row is None:
                return None
            return RotationFunction(
                arn=row.arn,
                name=row.name,
                account_id=row.account_id,
                handler=row.handler,
                endpoints=tuple(row.endpoints or ()),
                timeout_seconds=row.timeout_seconds,
                memory_mb=row.memory_mb,
                code_sha256=row.code_sha256,
                description=row.description,
                source=row.source if with_source else None,
            )

    def _new_version_id(self) -> str:
        return str(uuid.UUID(bytes=self._core.random.token_bytes(16), version=4))

    def _version_id_for(self, client_request_token: str | None) -> str:
        """The id of the version a call adds: its ``ClientRequestToken`` (checked), else new."""
        if client_request_token is not None:
            return check_version_id(client_request_token)
        return self._new_version_id()

    def _refuse(
        self,
        call: SecretsCall,
        record: SecretRecord,
        error: LakevaultError,
        *,
        action: str,
        parameters: Mapping[str, Any] | None,
        read_only: bool,
    ) -> LakevaultError:
        self._core.record_refusal(
            call, record, action=action, parameters=parameters, error=error, read_only=read_only
        )
        return error

    def _require_not_deleted(
        self,
        call: SecretsCall,
        record: SecretRecord,
        *,
        action: str,
        parameters: Mapping[str, Any] | None,
        read_only: bool,
    ) -> None:
        if record.is_deleted:
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"You can't perform this operation on the secret {record.arn} because it "
                    "was marked for deletion; restore it with RestoreSecret first"
                ),
                action=action,
                parameters=parameters,
                read_only=read_only,
            )

    def _require_same_account_for_service_key(
        self,
        call: SecretsCall,
        record: SecretRecord,
        *,
        action: str,
        parameters: Mapping[str, Any] | None,
        read_only: bool,
    ) -> None:
        """A value under the secret's service key is for its own tenant only (as AWS's
        ``aws/secretsmanager`` key): another account reads it only under a KmsKeyId whose
        key policy lets it."""
        if record.kms_key_id is None and call.principal.account_id != record.account_id:
            raise self._refuse(
                call,
                record,
                AccessDenied(
                    f"the secret {record.arn} is encrypted under its own service key, which "
                    "only its account can use; to share it, encrypt it under a KMS key "
                    "(KmsKeyId) whose key policy allows the other account"
                ),
                action=action,
                parameters=parameters,
                read_only=read_only,
            )

    def _require_value_access(
        self,
        call: SecretsCall,
        record: SecretRecord,
        *,
        action: str,
        parameters: Mapping[str, Any] | None,
        read_only: bool,
    ) -> None:
        """The checks before a value is read or written: the secret is not marked for
        deletion, and its service key serves only its own account (in that order)."""
        refusal: dict[str, Any] = {
            "action": action,
            "parameters": parameters,
            "read_only": read_only,
        }
        self._require_not_deleted(call, record, **refusal)
        self._require_same_account_for_service_key(call, record, **refusal)

    def _seal(
        self,
        proof: Proof | PlatformJob,
        call: SecretsCall,
        record: SecretRecord,
        version_id: str,
        data: bytes,
    ) -> bytes:
        return self._core.values.seal(
            proof,
            call,
            arn=record.arn,
            version_id=version_id,
            service_key_id=record.service_key_id,
            kms_key_id=record.kms_key_id,
            plaintext=data,
        )

    def _open(
        self, proof: Proof | PlatformJob, call: SecretsCall, record: SecretRecord, version_id: str
    ) -> tuple[bytes, bool]:
        with self._core.database.read_session() as session:
            row = session.get(models.SecretVersion, (record.arn, version_id))
            if row is None:
                raise ResourceNotFoundException(
                    f"the secret {record.arn} has no version {version_id}"
                )
            ciphertext, is_binary = row.ciphertext, row.is_binary
            stored = (
                StoredKey(
                    key_id=row.key_id, key_version=row.key_version, wrapped=row.wrapped_data_key
                )
                if row.key_id is not None
                and row.key_version is not None
                and row.wrapped_data_key is not None
                else None
            )
        plaintext = self._core.values.open(
            proof,
            call,
            arn=record.arn,
            version_id=version_id,
            service_key_id=record.service_key_id,
            kms_key_id=record.kms_key_id,
            ciphertext=ciphertext,
            stored=stored,
        )
        return plaintext, is_binary

    def _value(
        self, record: SecretRecord, version_id: str, plaintext: bytes, is_binary: bool
    ) -> SecretValue:
        version = record.versions[version_id]
        return SecretValue(
            arn=record.arn,
            name=record.name,
            version_id=version_id,
            version_stages=version.version_stages,
            created_date=version.created_date,
            secret_string=None if is_binary else plaintext.decode("utf-8"),
            secret_binary=plaintext if is_binary else None,
        )

    def _lock(self, session: Session, arn: str) -> models.Secret:
        row = session.get(models.Secret, arn, with_for_update=not self._core.database.is_sqlite)
        if row is None:
            raise ResourceNotFoundException(f"the secret {arn} no longer exists")
        return row

    def _lock_live(self, session: Session, arn: str) -> models.Secret:
        """The locked row of a secret a new version is written to: checked again under the
        lock, since a ``DeleteSecret`` may have come between the load and the write."""
        row = self._lock(session, arn)
        if row.deleted_at is not None:
            raise InvalidRequestException(f"the secret {arn} was marked for deletion")
        return row

    def _add_version(
        self,
        session: Session,
        *,
        arn: str,
        service_key_id: str | None,
        version_id: str,
        is_binary: bool,
        ciphertext: bytes,
        created_at: datetime,
        stages: Sequence[str],
    ) -> None:
        """Store a sealed version and move ``stages`` to it (AWS's label rules), in
        ``session``: the one way every operation adds a version."""
        labels = labels_with_new_version(self._current_labels(session, arn), version_id, stages)
        session.add(
            models.SecretVersion(
                secret_arn=arn,
                version_id=version_id,
                is_binary=is_binary,
                ciphertext=ciphertext,
                created_at=created_at,
                **version_columns(ciphertext, service_key_id=service_key_id),
            )
        )
        session.flush()
        self._write_labels(session, arn, labels)

    def _write_labels(self, session: Session, arn: str, labels: Mapping[str, str]) -> None:
        session.execute(
            delete(models.SecretVersionStage).where(models.SecretVersionStage.secret_arn == arn)
        )
        session.flush()
        for stage, version_id in sorted(labels.items()):
            session.add(
                models.SecretVersionStage(secret_arn=arn, stage=stage, version_id=version_id)
            )

    def _current_labels(self, session: Session, arn: str) -> dict[str, str]:
        return {
            stage.stage: stage.version_id
            for stage in session.scalars(
                select(models.SecretVersionStage).where(models.SecretVersionStage.secret_arn == arn)
            )
        }

    def _reload(self, arn: str) -> SecretRecord:
        with self._core.database.read_session() as session:
            row = session.get(models.Secret, arn)
            if row is None:
                raise ResourceNotFoundException(f"the secret {arn} no longer exists")
            return self._core.record_in(session, row)

    def _put(
        self,
        call: SecretsCall,
        record: SecretRecord,
        proof: Proof | PlatformJob,
        *,
        data: bytes,
        is_binary: bool,
        version_id: str,
        stages: Sequence[str],
        action: str,
        parameters: Mapping[str, Any],
        record_key_refusals: bool = True,
    ) -> NewVersion:
        """Write a new version labelled ``stages`` (a repeated ``version_id`` with the same
        value changes nothing). A key that refuses to seal or open is recorded as a refusal of
        ``action`` unless ``record_key_refusals`` is off: the rotation records its own."""
        refusal: dict[str, Any] = {"action": action, "parameters": parameters, "read_only": False}
        self._require_value_access(call, record, **refusal)
        if version_id in record.versions:
            try:
                existing, existing_binary = self._open(proof, call, record, version_id)
            except LakevaultError as error:
                if record_key_refusals:
                    self._refuse(call, record, error, **refusal)
                raise
            if existing_binary == is_binary and hmac.compare_digest(existing, data):
                return NewVersion(
                    arn=record.arn,
                    name=record.name,
                    version_id=version_id,
                    version_stages=record.versions[version_id].version_stages,
                )
            raise self._refuse(
                call,
                record,
                ResourceExistsException(
                    f"the secret {record.arn} already has a version {version_id} with another "
                    "value; use a new ClientRequestToken"
                ),
                **refusal,
            )
        try:
            ciphertext = self._seal(proof, call, record, version_id, data)
        except LakevaultError as error:
            # The key's refusal is the key service's event; this one is the call's own.
            if record_key_refusals:
                self._refuse(call, record, error, **refusal)
            raise
        now = self._core.clock.now()
        with self._core.database.session() as session:
            row = self._lock_live(session, record.arn)
            self._add_version(
                session, arn=record.arn, service_key_id=record.service_key_id,
                version_id=version_id, is_binary=is_binary, ciphertext=ciphertext,
                created_at=now, stages=stages,
            )  # fmt: skip
            row.last_changed_at = now
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
                elements={"arn": record.arn, "versionId": version_id, "versionStages": stages},
            )
        return NewVersion(
            arn=record.arn,
            name=record.name,
            version_id=version_id,
            version_stages=tuple(sorted(set(stages))),
        )
