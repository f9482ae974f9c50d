"""What every secrets operation shares: finding a secret, asking the gate, recording events.

Each operation is one ``secretsmanager:`` action on one secret ARN (``*`` for ``ListSecrets``).
The gate decides it with the secret's resource policy as the request's resource policy and the
secret's tags as ``aws:ResourceTag/*``; the gate's audit event records the decision — for
``GetSecretValue`` that event (``secretsmanager.amazonaws.com``, the secret ARN in
``resources``) is the read's record, which the alarm detectors count. Only then does the
service check the secret's state, recording a refusal as its own event with the error code.
State changes are recorded in the same transaction as the change. No event ever carries a
value: request parameters name versions and labels, never contents.

A secret that does not exist answers like one the caller may not touch: the gate is asked about
the ARN (or name) the caller gave, and only a caller it allows learns "not found".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.audit import AuditEvent, AuditSink, EventResource, append_in
from lakevault.core import Clock, RandomSource
from lakevault.core.errors import LakevaultError
from lakevault.db import Database, models
from lakevault.gate import ContextValue, EventFactory, Gate, Proof, Request
from lakevault.keys import KeyService
from lakevault.secrets._errors import ResourceNotFoundException
from lakevault.secrets._names import RESOURCE_TYPE, parse_secret_arn
from lakevault.secrets._stages import stages_by_version
from lakevault.secrets._types import SecretDescription, SecretsCall, VersionEntry
from lakevault.secrets._values import SecretValues

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretRecord:
    """A secret as loaded for one request: its settings, labels and versions (never values)."""

    arn: str
    account_id: str
    name: str
    description: str
    kms_key_id: str | None
    service_key_id: str | None
    policy_text: str | None
    policy: iam.Policy | None
    tags: Mapping[str, str]
    rotation_enabled: bool
    rotation_hook: str | None
    rotation_days: int | None
    last_rotated_at: datetime | None
    last_changed_at: datetime
    last_accessed_at: datetime | None
    created_at: datetime
    deleted_at: datetime | None
    purge_at: datetime | None
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    versions: Mapping[str, VersionEntry] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def description_of(self) -> SecretDescription:
        return SecretDescription(
            arn=self.arn,
            name=self.name,
            account_id=self.account_id,
            description=self.description,
            kms_key_id=self.kms_key_id,
            rotation_enabled=self.rotation_enabled,
            rotation_hook=self.rotation_hook,
            rotation_days=self.rotation_days,
            last_rotated_date=self.last_rotated_at,
            last_changed_date=self.last_changed_at,
            last_accessed_date=self.last_accessed_at,
            created_date=self.created_at,
            deleted_date=self.deleted_at,
            purge_date=self.purge_at,
            tags=self.tags,
            version_ids_to_stages=MappingProxyType(
                {k: tuple(v) for k, v in stages_by_version(self.labels).items()}
            ),
            has_policy=self.policy_text is not None,
        )


class SecretsCore:
    """Authorise through the gate, load secrets, record changes and refusals."""

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
    ) -> None:
        self.database = database
        self.gate = gate
        self.audit = audit
        self.keys = keys
        self.values = SecretValues(keys)
        self.clock = clock
        self.random = random
        self.region = region
        self.events = EventFactory(clock=clock, random=random, region=region)
        self._policies: dict[tuple[str, str], iam.Policy] = {}
        self._policies_lock = threading.Lock()

    # -- loading -----------------------------------------------------------------------------

    def parsed_policy(self, arn: str, text: str) -> iam.Policy:
        """The resource policy ``text``, parsed once per (secret, text)."""
        cache_key = (arn, text)
        with self._policies_lock:
            found = self._policies.get(cache_key)
        if found is None:
            found = iam.parse_policy(
                text, policy_id=f"{arn}#resource-policy", kind=iam.PolicyKind.RESOURCE
            )
            with self._policies_lock:
                if len(self._policies) > 4096:
                    self._policies.clear()
                self._policies[cache_key] = found
        return found

    def record_in(self, session: Session, row: models.Secret) -> SecretRecord:
        labels = {
            stage.stage: stage.version_id
            for stage in session.scalars(
                select(models.SecretVersionStage).where(
                    models.SecretVersionStage.secret_arn == row.arn
                )
            )
        }
        by_version = stages_by_version(labels)
        versions = {
            version.version_id: VersionEntry(
                version_id=version.version_id,
                version_stages=tuple(by_version.get(version.version_id, ())),
                created_date=version.created_at,
                last_accessed_date=version.last_accessed_at,
            )
            for version in session.scalars(
                select(models.SecretVersion)
                .where(models.SecretVersion.secret_arn == row.arn)
                .order_by(models.SecretVersion.created_at)
            )
        }
        return SecretRecord(
            arn=row.arn,
            account_id=row.account_id,
            name=row.name,
            description=row.description,
            kms_key_id=row.kms_key_id,
            service_key_id=row.service_key_id,
            policy_text=row.policy,
            policy=self.parsed_policy(row.arn, row.policy) if row.policy else None,
            tags=MappingProxyType(dict(row.tags or {})),
            rotation_enabled=row.rotation_enabled,
            rotation_hook=row.rotation_hook,
            rotation_days=row.rotation_days,
            last_rotated_at=row.last_rotated_at,
            last_changed_at=row.last_changed_at,
            last_accessed_at=row.last_accessed_at,
            created_at=row.created_at,
            deleted_at=row.deleted_at,
            purge_at=row.purge_at,
            labels=MappingProxyType(labels),
            versions=MappingProxyType(versions),
        )

    def find_row(self, session: Session, call: SecretsCall, secret_id: str) -> models.Secret | None:
        """The secret a ``SecretId`` names: a full ARN, a partial ARN (no suffix) or a name of
        the caller's account."""
        parsed = parse_secret_arn(secret_id)
        if parsed is None:
            account, name = call.principal.account_id, secret_id
        else:
            row = session.get(models.Secret, secret_id)
            if row is not None:
                return row
            account, name = parsed
        return session.scalar(
            select(models.Secret).where(
                models.Secret.account_id == account, models.Secret.name == name
            )
        )

    def requested_arn(self, call: SecretsCall, secret_id: str) -> tuple[str, str]:
        """The ARN and account the gate is asked about for a secret that was not found."""
        parsed = parse_secret_arn(secret_id)
        if parsed is not None:
            return secret_id, parsed[0]
        account = call.principal.account_id
        return f"arn:aws:secretsmanager:{self.region}:{account}:secret:{secret_id}", account

    def load(
        self,
        call: SecretsCall,
        secret_id: str,
        *,
        action: str,
        read_only: bool,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> tuple[SecretRecord, Proof]:
        """The secret and the gate's proof for ``action`` on it; else AccessDenied or, for a
        caller the gate allows, ``ResourceNotFoundException``."""
        with self.database.read_session() as session:
            row = self.find_row(session, call, secret_id)
            record = self.record_in(session, row) if row is not None else None
        if record is None:
            arn, account = self.requested_arn(call, secret_id)
            self.authorize(
                call,
                action=action,
                resource=arn,
                resource_account=account,
                record=None,
                read_only=read_only,
                parameters=parameters,
                context=context,
            )
            missing = ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret {secret_id!r} in account "
                f"{account}; check the name or ARN (ListSecrets shows the account's secrets)"
            )
            # Recorded like every refusal after an allowed decision (docs/secrets.md, "Audit").
            self.audit.append(
                self._event(
                    call,
                    action=action,
                    arn=arn,
                    account_id=account,
                    parameters=parameters,
                    error=missing,
                    read_only=read_only,
                )
            )
            raise missing
        proof = self.authorize(
            call,
            action=action,
            resource=record.arn,
            resource_account=record.account_id,
            record=record,
            read_only=read_only,
            parameters=parameters,
            context=context,
        )
        return record, proof

    # -- the gate ----------------------------------------------------------------------------

    def authorize(
        self,
        call: SecretsCall,
        *,
        action: str,
        resource: str,
        resource_account: str,
        record: SecretRecord | None,
        read_only: bool,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> Proof:
        return self.gate.require(
            Request(
                principal=call.principal,
                action=action,
                resource=resource,
                resource_account=resource_account,
                resource_type=RESOURCE_TYPE,
                resource_policy=record.policy if record is not None else None,
                resource_tags=record.tags if record is not None else _EMPTY,
                context=MappingProxyType(dict(context or {})),
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=read_only,
                request_parameters=parameters,
            )
        )

    # -- events ------------------------------------------------------------------------------

    def _event(
        self,
        call: SecretsCall,
        *,
        action: str,
        arn: str,
        account_id: str,
        parameters: Mapping[str, Any] | None,
        elements: Mapping[str, Any] | None = None,
        error: LakevaultError | None = None,
        read_only: bool = False,
        additional: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        return self.events.event(
            call,
            action=action,
            resource=EventResource(arn=arn, account_id=account_id, type=RESOURCE_TYPE),
            read_only=read_only,
            parameters=parameters,
            elements=elements,
            error_code=error.code if error is not None else None,
            error_message=error.message if error is not None else None,
            additional=additional,
        )

    def record_change(
        self,
        session: Session,
        call: SecretsCall,
        *,
        action: str,
        record_arn: str,
        account_id: str,
        parameters: Mapping[str, Any] | None,
        elements: Mapping[str, Any] | None = None,
    ) -> None:
        """Append the change event inside the transaction that makes the change."""
        append_in(
            session,
            self._event(
                call,
                action=action,
                arn=record_arn,
                account_id=account_id,
                parameters=parameters,
                elements=elements,
                additional={"stateChange": True},
            ),
        )

    def record_refusal(
        self,
        call: SecretsCall,
        record: SecretRecord,
        *,
        action: str,
        parameters: Mapping[str, Any] | None,
        error: LakevaultError,
        read_only: bool,
    ) -> None:
        """Record that an allowed request was refused by the secret's state, then the caller
        gets ``error``. The event carries the error's code and message (never a value)."""
        self.audit.append(
            self._event(
                call,
                action=action,
                arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
                error=error,
                read_only=read_only,
            )
        )
