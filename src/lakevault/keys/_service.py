"""The tenant KMS as a domain service: AWS KMS's operations, each decided by the gate.

Every operation is one ``kms:`` action on one key ARN (``*`` for CreateKey, ListKeys and
ListAliases). The gate decides it with the key's policy as the request's resource policy (and
the key's grants as extra statements of it, see ``_policy.py``), the key's tags as
``aws:ResourceTag/*``, and the encryption context as ``kms:EncryptionContext:*`` condition keys;
the gate's audit event records the decision. Only then does the service check the key's state
(so a caller without access learns nothing about it), recording a refusal as its own event, and
act. State changes are recorded in the same transaction as the change.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lakevault import iam, kms
from lakevault.core import new_request_id
from lakevault.core.errors import InvalidParameterValue, MalformedPolicyDocument
from lakevault.db import models
from lakevault.gate import Proof, Request
from lakevault.keys._ciphertext import decode_blob, encode_blob
from lakevault.keys._errors import AlreadyExistsException, KeyNotFound, KMSInvalidStateException
from lakevault.keys._events import EventWho, KeyCall
from lakevault.keys._grant_tokens import check_grant_tokens, grant_token_names
from lakevault.keys._lockout import require_no_lockout
from lakevault.keys._policy import (
    GRANT_ID_KEY,
    GRANT_OPERATIONS,
    default_key_policy,
    with_grants,
)
from lakevault.keys._records import (
    KeyRecord,
    grant_of,
    load_record,
    lock_row,
    requested_arn,
    resolve_key_id,
    validate_alias_name,
)
from lakevault.keys._rewrap import DataKeyRegistry, RewrapProgress
from lakevault.keys._service_keys import (
    ServiceKeys,
    context_parameters,
    encryption_context_keys,
    validate_deletion_days,
)
from lakevault.keys._types import (
    Alias,
    Ciphertext,
    Grant,
    KeyMetadata,
    KeyState,
    KeyVersion,
    alias_arn,
)

_PRINCIPAL_ARN = re.compile(r"arn:aws:(iam|sts)::[0-9]{12}:[A-Za-z0-9+=,.@_/-]{1,1900}")
MIN_ROTATION_DAYS = 90
MAX_ROTATION_DAYS = 2560
DEFAULT_ROTATION_DAYS = 365
_MAX_POLICY_BYTES = 32 * 1024


class KeyService(ServiceKeys):
    """AWS KMS for the tenants (docs/keys.md). One instance per process."""

    def _authorize(
        self,
        call: KeyCall,
        *,
        action: str,
        record: KeyRecord | None,
        parameters: Mapping[str, Any] | None,
        read_only: bool,
        context: kms.EncryptionContext | None = None,
        request_context: Mapping[str, iam.ContextValue] | None = None,
    ) -> Proof:
        """The gate's proof for ``action`` on ``record`` (on ``*`` in the caller's account
        when ``None``), decided with the key policy and tags."""
        return self._decide(
            call,
            action=action,
            resource=(record.arn, record.account_id)
            if record
            else ("*", call.principal.account_id),
            policy=self.parsed_policy(record) if record is not None else None,
            tags=dict(record.tags) if record is not None else {},
            parameters=parameters,
            read_only=read_only,
            context=context,
            request_context=request_context,
        )

    def _decide(
        self,
        call: KeyCall,
        *,
        action: str,
        resource: tuple[str, str],
        policy: iam.Policy | None,
        tags: dict[str, str],
        parameters: Mapping[str, Any] | None,
        read_only: bool,
        context: kms.EncryptionContext | None = None,
        request_context: Mapping[str, iam.ContextValue] | None = None,
    ) -> Proof:
        condition_keys: dict[str, Any] = {"kms:CallerAccount": call.principal.account_id}
        if context is not None:
            condition_keys.update(encryption_context_keys(context))
        if request_context:
            condition_keys.update(request_context)
        return self.gate.require(
            Request(
                principal=call.principal,
                action=action,
                resource=resource[0],
                resource_account=resource[1],
                resource_type="AWS::KMS::Key",
                resource_policy=policy,
                resource_tags=tags,
                context=condition_keys,
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=read_only,
                request_parameters=parameters,
            )
        )

    def _record(self, call: KeyCall, reference: str, *, action: str, read_only: bool) -> KeyRecord:
        """The key ``reference`` names for ``action``.

        A key that is not there is decided like one that is (docs/decisions/0234): the gate
        is asked about the ARN the caller named, so a caller without the permission is refused
        (403) whether or not the key exists, another tenant's key ARN is refused the same way
        existing or not (no existence oracle), and an allowed caller's ``NotFoundException``
        is recorded in the log of the account it named.
        """
        try:
            with self.database.read_session() as session:
                key_id = resolve_key_id(
                    session, reference, caller_account=call.principal.account_id
                )
                return load_record(session, key_id, region=self.region)
        except KeyNotFound as missing:
            self._refuse_missing(call, reference, missing, action=action, read_only=read_only)
            raise

    def _refuse_missing(
        self, call: KeyCall, reference: str, missing: KeyNotFound, *, action: str, read_only: bool
    ) -> None:
        """Ask the gate about the ARN ``reference`` names (raising its ``AccessDenied``) and
        record the allowed caller's ``NotFoundException`` in that ARN's account."""
        named = requested_arn(self.region, reference, caller_account=call.principal.account_id)
        if named is None:  # an anonymous caller's bare id, or not a KMS ARN: it names nothing
            return
        arn, account = named
        parameters = {"keyId": reference}
        # Decided as a key of that account under the default key policy would be: the
        # caller's IAM policies in its own tenant, a refusal for every other tenant.
        default_policy = iam.parse_policy(
            default_key_policy(account),
            policy_id=f"{arn}#default-key-policy",
            kind=iam.PolicyKind.RESOURCE,
        )
        self._decide(
            call,
            action=action,
            resource=(arn, account),
            policy=default_policy,
            tags={},
            parameters=parameters,
            read_only=read_only,
        )
        self.audit.append(
            self._event(
                EventWho.of_call(call),
                operation=action.partition(":")[2],
                key_arn=arn,
                account_id=account,
                read_only=read_only,
                parameters=parameters,
                error_code=missing.code,
                error_message=missing.message,
            )
        )

    def _record_by_id(self, key_id: str) -> KeyRecord:
        with self.database.read_session() as session:
            return load_record(session, key_id, region=self.region)

    # -- keys --------------------------------------------------------------------------------

    def create_key(
        self,
        call: KeyCall,
        *,
        description: str = "",
        policy: str | None = None,
        tags: Mapping[str, str] | None = None,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> KeyMetadata:
        """``CreateKey``: a symmetric encryption key with one version of fresh material.

        A ``policy`` that would not let the caller call ``PutKeyPolicy`` on the new key is
        refused unless ``bypass_policy_lockout_safety_check`` (``_lockout.py``)."""
        account = call.principal.account_id
        tags = dict(tags or {})
        policy_text = policy if policy is not None else default_key_policy(account)
        _validate_policy(policy_text)
        self._authorize(
            call,
            action="kms:CreateKey",
            record=None,
            parameters={"description": description, "tagKeys": sorted(tags)},
            read_only=False,
            request_context={
                **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
                **({"aws:TagKeys": sorted(tags)} if tags else {}),
            },
        )
        key_id = str(uuid.UUID(bytes=self.random.token_bytes(16), version=4))
        arn = f"arn:aws:kms:{self.region}:{account}:key/{key_id}"
        if policy is not None and not bypass_policy_lockout_safety_check:
            require_no_lockout(
                self.gate, call, key_arn=arn, account_id=account, policy_text=policy_text, tags=tags
            )
        now = self.clock.now()

        def act(session: Session) -> KeyMetadata:
            row = models.KMSKey(
                key_id=key_id,
                account_id=account,
                description=description,
                state=KeyState.ENABLED.value,
                policy=policy_text,
                service_resource=None,
                current_version=0,
                rotation_enabled=False,
                rotation_period_days=DEFAULT_ROTATION_DAYS,
                created_at=now,
            )
            session.add(row)
            session.flush()
            self.add_version(session, row, now)
            for tag_key, tag_value in tags.items():
                session.add(models.KMSKeyTag(key_id=key_id, tag_key=tag_key, tag_value=tag_value))
            session.flush()
            return load_record(session, key_id, region=self.region).metadata()

        return self.change(
            EventWho.of_call(call),
            operation="CreateKey",
            key_arn=arn,
            account_id=account,
            parameters={"description": description},
            act=act,
            elements=lambda _: {"keyMetadata": {"keyId": key_id, "arn": arn}},
        )

    def describe_key(self, call: KeyCall, key: str) -> KeyMetadata:
        record = self._record(call, key, action="kms:DescribeKey", read_only=True)
        self._authorize(
            call, action="kms:DescribeKey", record=record, parameters={"keyId": key}, read_only=True
        )
        return record.metadata()

    def list_keys(self, call: KeyCall) -> list[KeyMetadata]:
        """``ListKeys``: the caller's tenant's keys."""
        self._authorize(call, action="kms:ListKeys", record=None, parameters={}, read_only=True)
        with self.database.read_session() as session:
            rows = session.execute(
                select(models.KMSKey)
                .where(models.KMSKey.account_id == call.principal.account_id)
                .order_by(models.KMSKey.created_at, models.KMSKey.key_id)
            ).scalars()
            return [load_record(session, row.key_id, region=self.region).metadata() for row in rows]

    def _set_state(
        self,
        call: KeyCall,
        key: str,
        *,
        action: str,
        allowed_from: frozenset[KeyState],
        to: KeyState,
        guarded: bool = False,
        **changes: Any,
    ) -> KeyMetadata:
        record = self._record(call, key, action=action, read_only=False)
        self._authorize(
            call, action=action, record=record, parameters={"keyId": key}, read_only=False
        )
        operation = action.partition(":")[2]
        if guarded:
            self.refuse_if_guarded(record, operation)

        def act(session: Session) -> KeyMetadata:
            row = lock_row(session, record.key_id)
            state = KeyState(row.state)
            if state not in allowed_from:
                raise KMSInvalidStateException(
                    f"{record.arn} is {state.value}; {operation} needs it to be "
                    f"{' or '.join(sorted(s.value for s in allowed_from))}"
                )
            row.state = to.value
            for name, value in changes.items():
                setattr(row, name, value)
            self.materials.forget_key(record.key_id)
            session.flush()
            return load_record(session, record.key_id, region=self.region).metadata()

        return self.change(
            EventWho.of_call(call),
            operation=operation,
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": key},
            act=act,
            elements=lambda meta: {"keyState": meta.state.value},
        )

    def enable_key(self, call: KeyCall, key: str) -> KeyMetadata:
        return self._set_state(
            call,
            key,
            action="kms:EnableKey",
            allowed_from=frozenset({KeyState.ENABLED, KeyState.DISABLED}),
            to=KeyState.ENABLED,
        )

    def disable_key(self, call: KeyCall, key: str) -> KeyMetadata:
        return self._set_state(
            call,
            key,
            action="kms:DisableKey",
            allowed_from=frozenset({KeyState.ENABLED, KeyState.DISABLED}),
            to=KeyState.DISABLED,
            guarded=True,
        )

    def schedule_key_deletion(self, call: KeyCall, key: str, *, days: int = 30) -> KeyMetadata:
        """``ScheduleKeyDeletion``: destroy the material after ``days`` (7-30) days."""
        validate_deletion_days(days)
        record = self._record(call, key, action="kms:ScheduleKeyDeletion", read_only=False)
        self._authorize(
            call,
            action="kms:ScheduleKeyDeletion",
            record=record,
            parameters={"keyId": key, "pendingWindowInDays": days},
            read_only=False,
        )
        if record.state is KeyState.PENDING_DELETION:
            raise KMSInvalidStateException(f"{record.arn} is already pending deletion")
        self.refuse_if_guarded(record, "ScheduleKeyDeletion")
        self.schedule_deletion_now(EventWho.of_call(call), record, days=days)
        return self._record_by_id(record.key_id).metadata()

    def cancel_key_deletion(self, call: KeyCall, key: str) -> KeyMetadata:
        """``CancelKeyDeletion``: the key comes back Disabled, as in AWS."""
        return self._set_state(
            call,
            key,
            action="kms:CancelKeyDeletion",
            allowed_from=frozenset({KeyState.PENDING_DELETION}),
            to=KeyState.DISABLED,
            deletion_date=None,
        )

    # -- rotation ----------------------------------------------------------------------------

    def enable_key_rotation(
        self, call: KeyCall, key: str, *, period_days: int = DEFAULT_ROTATION_DAYS
    ) -> KeyMetadata:
        """``EnableKeyRotation``: a new version every ``period_days`` (90-2560) days."""
        if not MIN_ROTATION_DAYS <= period_days <= MAX_ROTATION_DAYS:
            raise InvalidParameterValue(
                f"RotationPeriodInDays must be {MIN_ROTATION_DAYS} to {MAX_ROTATION_DAYS}, got "
                f"{period_days}"
            )
        return self._rotation(call, key, "kms:EnableKeyRotation", enabled=True, days=period_days)

    def disable_key_rotation(self, call: KeyCall, key: str) -> KeyMetadata:
        return self._rotation(call, key, "kms:DisableKeyRotation", enabled=False, days=None)

    def _rotation(
        self, call: KeyCall, key: str, action: str, *, enabled: bool, days: int | None
    ) -> KeyMetadata:
        record = self._record(call, key, action=action, read_only=False)
        parameters: dict[str, Any] = {"keyId": key}
        if days is not None:
            parameters["rotationPeriodInDays"] = days
        self._authorize(call, action=action, record=record, parameters=parameters, read_only=False)
        self.require_enabled(
            EventWho.of_call(call),
            record,
            operation=action.partition(":")[2],
            parameters=parameters,
        )
        now = self.clock.now()

        def act(session: Session) -> KeyMetadata:
            row = lock_row(session, record.key_id)
            row.rotation_enabled = enabled
            if days is not None:
                row.rotation_period_days = days
            row.next_rotation_at = (
                now + timedelta(days=row.rotation_period_days) if enabled else None
            )
            session.flush()
            return load_record(session, record.key_id, region=self.region).metadata()

        return self.change(
            EventWho.of_call(call),
            operation=action.partition(":")[2],
            key_arn=record.arn,
            account_id=record.account_id,
            parameters=parameters,
            act=act,
        )

    def list_key_rotations(self, call: KeyCall, key: str) -> list[KeyVersion]:
        """``ListKeyRotations``: every version of the key's material still held, oldest first."""
        record = self._record(call, key, action="kms:ListKeyRotations", read_only=True)
        self._authorize(
            call,
            action="kms:ListKeyRotations",
            record=record,
            parameters={"keyId": key},
            read_only=True,
        )
        with self.database.read_session() as session:
            rows = session.execute(
                select(models.KMSKeyVersion.version, models.KMSKeyVersion.created_at)
                .where(models.KMSKeyVersion.key_id == record.key_id)
                .order_by(models.KMSKeyVersion.version)
            ).all()
        return [
            KeyVersion(key_id=record.key_id, version=version, created_at=created_at)
            for version, created_at in rows
        ]

    def get_key_rotation_status(self, call: KeyCall, key: str) -> KeyMetadata:
        record = self._record(call, key, action="kms:GetKeyRotationStatus", read_only=True)
        self._authorize(
            call,
            action="kms:GetKeyRotationStatus",
            record=record,
            parameters={"keyId": key},
            read_only=True,
        )
        return record.metadata()

    def rotate_key_on_demand(self, call: KeyCall, key: str) -> KeyMetadata:
        """``RotateKeyOnDemand``: a new version now; old versions keep decrypting."""
        record = self._record(call, key, action="kms:RotateKeyOnDemand", read_only=False)
        parameters = {"keyId": key}
        self._authorize(
            call,
            action="kms:RotateKeyOnDemand",
            record=record,
            parameters=parameters,
            read_only=False,
        )
        self.require_enabled(
            EventWho.of_call(call), record, operation="RotateKeyOnDemand", parameters=parameters
        )
        return self._rotate(EventWho.of_call(call), record, "RotateKeyOnDemand")

    def _rotate(
        self, who: EventWho, record: KeyRecord, operation: str, *, only_if_due: bool = False
    ) -> KeyMetadata:
        """Add a version. ``only_if_due`` (the job): re-checked under the row lock, so a job
        delivered twice rotates once; raises ``_NothingToDo`` (nothing recorded) otherwise."""
        now = self.clock.now()

        def act(session: Session) -> KeyMetadata:
            row = lock_row(session, record.key_id)
            if only_if_due and not (
                row.rotation_enabled
                and row.state == KeyState.ENABLED.value
                and row.next_rotation_at is not None
                and row.next_rotation_at <= now
            ):
                raise _NothingToDo
            self.add_version(session, row, now)
            if row.rotation_enabled:
                row.next_rotation_at = now + timedelta(days=row.rotation_period_days)
            session.flush()
            return load_record(session, record.key_id, region=self.region).metadata()

        return self.change(
            who,
            operation=operation,
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": record.key_id},
            act=act,
            elements=lambda meta: {"keyVersion": meta.current_version},
        )

    # -- cryptographic operations ------------------------------------------------------------

    def encrypt(
        self,
        call: KeyCall,
        key: str,
        plaintext: bytes,
        *,
        context: kms.EncryptionContext,
        grant_tokens: Sequence[str] = (),
    ) -> Ciphertext:
        """``Encrypt``: up to 4 KiB under the key's current version, bound to ``context``."""
        record = self._record(call, key, action="kms:Encrypt", read_only=True)
        check_grant_tokens(grant_tokens, record)
        return self._encrypt_with(call, record, plaintext, context=context, operation="Encrypt")

    def _encrypt_with(
        self,
        call: KeyCall,
        record: KeyRecord,
        plaintext: bytes,
        *,
        context: kms.EncryptionContext,
        operation: str,
        parameters: Mapping[str, Any] | None = None,
    ) -> Ciphertext:
        parameters = parameters or _use_parameters(record, context)
        self._authorize(
            call,
            action=f"kms:{operation}",
            record=record,
            parameters=parameters,
            read_only=True,
            context=context,
        )
        self.require_enabled(
            EventWho.of_call(call), record, operation=operation, parameters=parameters
        )
        version = record.current_version
        body = self.material(record, version).encrypt(
            plaintext, context=context, random=self.random
        )
        self.count_use(record.arn, call.principal.arn, operation)
        return Ciphertext(
            blob=encode_blob(record.key_id, version, body),
            key_id=record.key_id,
            key_arn=record.arn,
            key_version=version,
        )

    def decrypt(
        self,
        call: KeyCall,
        blob: bytes,
        *,
        context: kms.EncryptionContext,
        key: str | None = None,
        operation: str = "Decrypt",
        grant_tokens: Sequence[str] = (),
    ) -> tuple[bytes, KeyRecord, int]:
        """``Decrypt``: the plaintext of a blob, with the key record and version that opened it.

        The blob names its key; ``key``, when given, must name the same one. A blob that does not
        open (wrong context, tampered, another key) is ``InvalidCiphertextException``.
        """
        key_id, version, body = decode_blob(blob)
        try:
            record = self._record_by_id(key_id)
        except KeyNotFound as exc:
            raise kms.IntegrityError(kms.IntegrityFailure.INVALID_KEY) from exc
        if (
            key is not None
            and self._record(call, key, action=f"kms:{operation}", read_only=True).key_id
            != record.key_id
        ):
            raise kms.IntegrityError(kms.IntegrityFailure.INVALID_KEY)
        check_grant_tokens(grant_tokens, record)
        parameters = _use_parameters(record, context)
        self._authorize(
            call,
            action=f"kms:{operation}",
            record=record,
            parameters=parameters,
            read_only=True,
            context=context,
        )
        who = EventWho.of_call(call)
        self.require_enabled(who, record, operation=operation, parameters=parameters)
        try:
            plaintext = self.material(record, version).decrypt(body, context=context)
        except kms.IntegrityError as exc:
            self.record_refusal(who, record, operation=operation, parameters=parameters, error=exc)
            raise
        except KeyNotFound as exc:
            error = kms.IntegrityError(kms.IntegrityFailure.INVALID_KEY)
            self.record_refusal(
                who, record, operation=operation, parameters=parameters, error=error
            )
            raise error from exc
        self.count_use(record.arn, call.principal.arn, operation)
        return plaintext, record, version

    def re_encrypt(
        self,
        call: KeyCall,
        blob: bytes,
        *,
        source_context: kms.EncryptionContext,
        destination_key: str,
        destination_context: kms.EncryptionContext,
        grant_tokens: Sequence[str] = (),
    ) -> Ciphertext:
        """``ReEncrypt``: needs ``kms:ReEncryptFrom`` on the source and ``ReEncryptTo`` on the
        destination; the plaintext never leaves the service."""
        # A token names one key: the source's (checked by the decrypt) or the destination's.
        source_key = decode_blob(blob)[0]
        source_tokens = [t for t in grant_tokens if grant_token_names(t, source_key)]
        plaintext, _, _ = self.decrypt(
            call, blob, context=source_context, operation="ReEncryptFrom",
            grant_tokens=source_tokens,
        )  # fmt: skip
        destination = self._record(call, destination_key, action="kms:ReEncryptTo", read_only=True)
        check_grant_tokens([t for t in grant_tokens if t not in source_tokens], destination)
        return self._encrypt_with(
            call, destination, plaintext, context=destination_context, operation="ReEncryptTo"
        )

    def generate_data_key_for(
        self,
        call: KeyCall,
        key: str,
        *,
        context: kms.EncryptionContext,
        number_of_bytes: int = 32,
        with_plaintext: bool = True,
        grant_tokens: Sequence[str] = (),
    ) -> tuple[bytes | None, Ciphertext]:
        """``GenerateDataKey`` (and ``...WithoutPlaintext``): random bytes and their blob."""
        if not 1 <= number_of_bytes <= 1024:
            raise InvalidParameterValue(f"NumberOfBytes must be 1 to 1024, got {number_of_bytes}")
        operation = "GenerateDataKey" if with_plaintext else "GenerateDataKeyWithoutPlaintext"
        record = self._record(call, key, action=f"kms:{operation}", read_only=True)
        check_grant_tokens(grant_tokens, record)
        data_key = self.random.token_bytes(number_of_bytes)
        parameters = {
            "keyId": key,
            "numberOfBytes": number_of_bytes,
            **context_parameters(context),
        }
        ciphertext = self._encrypt_with(
            call, record, data_key, context=context, operation=operation, parameters=parameters
        )
        return (data_key if with_plaintext else None), ciphertext

    # -- policies ----------------------------------------------------------------------------

    def get_key_policy(self, call: KeyCall, key: str) -> str:
        record = self._record(call, key, action="kms:GetKeyPolicy", read_only=True)
        self._authorize(
            call,
            action="kms:GetKeyPolicy",
            record=record,
            parameters={"keyId": key},
            read_only=True,
        )
        return record.policy

    def put_key_policy(
        self,
        call: KeyCall,
        key: str,
        policy: str,
        *,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> None:
        """``PutKeyPolicy``, refused when the caller could not change the policy again
        (the lockout safety check, ``_lockout.py``) unless bypassed."""
        _validate_policy(policy)
        record = self._record(call, key, action="kms:PutKeyPolicy", read_only=False)
        bypass = bypass_policy_lockout_safety_check
        self._authorize(
            call,
            action="kms:PutKeyPolicy",
            record=record,
            parameters={"keyId": key, "bypassPolicyLockoutSafetyCheck": bypass},
            read_only=False,
        )
        if not bypass:
            require_no_lockout(
                self.gate,
                call,
                key_arn=record.arn,
                account_id=record.account_id,
                policy_text=policy,
                tags=dict(record.tags),
            )

        def act(session: Session) -> None:
            lock_row(session, record.key_id).policy = policy

        self.change(
            EventWho.of_call(call),
            operation="PutKeyPolicy",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={
                "keyId": key,
                "policyName": "default",
                "bypassPolicyLockoutSafetyCheck": bypass,
            },
            act=act,
        )

    # -- aliases -----------------------------------------------------------------------------

    def create_alias(self, call: KeyCall, alias_name: str, key: str) -> Alias:
        validate_alias_name(alias_name)
        record = self._record(call, key, action="kms:CreateAlias", read_only=False)
        parameters = {"aliasName": alias_name, "targetKeyId": key}
        # The gate first, so that another tenant naming a key by its ARN is refused and
        # recorded in both tenants' logs like every other call; a key the policy shares with
        # the caller still takes no alias of another tenant (recorded too).
        self._authorize(
            call, action="kms:CreateAlias", record=record, parameters=parameters, read_only=False
        )
        self._refuse_foreign_target(call, record, key, "CreateAlias", parameters)
        now = self.clock.now()
        account = record.account_id

        def act(session: Session) -> Alias:
            if session.get(models.KMSAlias, (account, alias_name)) is not None:
                raise AlreadyExistsException(
                    f"alias {alias_name} already exists in tenant {account}; delete it or "
                    "choose another name"
                )
            session.add(
                models.KMSAlias(
                    account_id=account, alias_name=alias_name, key_id=record.key_id, created_at=now
                )
            )
            return Alias(
                alias_name=alias_name,
                alias_arn=alias_arn(self.region, account, alias_name),
                target_key_id=record.key_id,
                creation_date=now,
            )

        return self.change(
            EventWho.of_call(call),
            operation="CreateAlias",
            key_arn=record.arn,
            account_id=account,
            parameters={"aliasName": alias_name, "targetKeyId": record.key_id},
            act=act,
        )

    def update_alias(self, call: KeyCall, alias_name: str, key: str) -> Alias:
        """``UpdateAlias``: point an alias at another key of the tenant.

        As in AWS, the caller needs ``kms:UpdateAlias`` on both the old and the new key.
        """
        validate_alias_name(alias_name)
        current = self._record(call, alias_name, action="kms:UpdateAlias", read_only=False)
        target = self._record(call, key, action="kms:UpdateAlias", read_only=False)
        parameters = {"aliasName": alias_name, "targetKeyId": target.key_id}
        for record in (current, target):
            self._authorize(
                call,
                action="kms:UpdateAlias",
                record=record,
                parameters=parameters,
                read_only=False,
            )
        self._refuse_foreign_target(call, target, key, "UpdateAlias", parameters)

        def act(session: Session) -> Alias:
            row = session.get(models.KMSAlias, (current.account_id, alias_name))
            if row is None:
                raise KeyNotFound(f"alias {alias_name} does not exist in your tenant")
            row.key_id = target.key_id
            return Alias(
                alias_name=alias_name,
                alias_arn=alias_arn(self.region, current.account_id, alias_name),
                target_key_id=target.key_id,
                creation_date=row.created_at,
            )

        return self.change(
            EventWho.of_call(call),
            operation="UpdateAlias",
            key_arn=target.arn,
            account_id=target.account_id,
            parameters=parameters,
            act=act,
        )

    def _refuse_foreign_target(
        self,
        call: KeyCall,
        target: KeyRecord,
        key: str,
        operation: str,
        parameters: Mapping[str, Any],
    ) -> None:
        """Raise (and record) ``NotFoundException`` when an alias would name another tenant's
        key: aliases name their own tenant's keys, whatever a key policy shares."""
        if target.account_id == call.principal.account_id:
            return
        error = KeyNotFound(f"Key '{key}' does not exist in your tenant; aliases name own keys")
        self.record_refusal(
            EventWho.of_call(call), target, operation=operation, parameters=parameters, error=error
        )
        raise error

    def delete_alias(self, call: KeyCall, alias_name: str) -> None:
        validate_alias_name(alias_name)
        record = self._record(call, alias_name, action="kms:DeleteAlias", read_only=False)
        self._authorize(
            call,
            action="kms:DeleteAlias",
            record=record,
            parameters={"aliasName": alias_name},
            read_only=False,
        )

        def act(session: Session) -> None:
            session.execute(
                delete(models.KMSAlias).where(
                    models.KMSAlias.account_id == record.account_id,
                    models.KMSAlias.alias_name == alias_name,
                )
            )

        self.change(
            EventWho.of_call(call),
            operation="DeleteAlias",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"aliasName": alias_name},
            act=act,
        )

    def list_aliases(self, call: KeyCall) -> list[Alias]:
        self._authorize(call, action="kms:ListAliases", record=None, parameters={}, read_only=True)
        account = call.principal.account_id
        with self.database.read_session() as session:
            rows = session.execute(
                select(models.KMSAlias)
                .where(models.KMSAlias.account_id == account)
                .order_by(models.KMSAlias.alias_name)
            ).scalars()
            return [
                Alias(
                    alias_name=row.alias_name,
                    alias_arn=alias_arn(self.region, account, row.alias_name),
                    target_key_id=row.key_id,
                    creation_date=row.created_at,
                )
                for row in rows
            ]

    # -- tags --------------------------------------------------------------------------------

    def tag_resource(self, call: KeyCall, key: str, tags: Mapping[str, str]) -> None:
        record = self._record(call, key, action="kms:TagResource", read_only=False)
        self._authorize(
            call,
            action="kms:TagResource",
            record=record,
            parameters={"keyId": key, "tagKeys": sorted(tags)},
            read_only=False,
            request_context={
                **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
                "aws:TagKeys": sorted(tags),
            },
        )

        def act(session: Session) -> None:
            for tag_key, tag_value in tags.items():
                session.merge(
                    models.KMSKeyTag(key_id=record.key_id, tag_key=tag_key, tag_value=tag_value)
                )

        self.change(
            EventWho.of_call(call),
            operation="TagResource",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": key, "tagKeys": sorted(tags)},
            act=act,
        )

    def untag_resource(self, call: KeyCall, key: str, tag_keys: Sequence[str]) -> None:
        record = self._record(call, key, action="kms:UntagResource", read_only=False)
        self._authorize(
            call,
            action="kms:UntagResource",
            record=record,
            parameters={"keyId": key, "tagKeys": sorted(tag_keys)},
            read_only=False,
            request_context={"aws:TagKeys": sorted(tag_keys)},
        )

        def act(session: Session) -> None:
            session.execute(
                delete(models.KMSKeyTag).where(
                    models.KMSKeyTag.key_id == record.key_id,
                    models.KMSKeyTag.tag_key.in_(list(tag_keys)),
                )
            )

        self.change(
            EventWho.of_call(call),
            operation="UntagResource",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": key, "tagKeys": sorted(tag_keys)},
            act=act,
        )

    def list_resource_tags(self, call: KeyCall, key: str) -> dict[str, str]:
        record = self._record(call, key, action="kms:ListResourceTags", read_only=True)
        self._authorize(
            call,
            action="kms:ListResourceTags",
            record=record,
            parameters={"keyId": key},
            read_only=True,
        )
        return dict(record.tags)

    # -- grants ------------------------------------------------------------------------------

    def create_grant(
        self,
        call: KeyCall,
        key: str,
        *,
        grantee_principal: str,
        operations: Sequence[str],
        encryption_context_equals: Mapping[str, str] | None = None,
        encryption_context_subset: Mapping[str, str] | None = None,
        retiring_principal: str | None = None,
        name: str | None = None,
    ) -> Grant:
        """``CreateGrant``: ``grantee_principal`` may perform ``operations`` on the key, within
        the encryption-context constraint (at most one of ``..._equals``/``..._subset``)."""
        unknown = sorted(set(operations) - GRANT_OPERATIONS)
        if not operations or unknown:
            raise InvalidParameterValue(
                f"Operations must be a non-empty list of {sorted(GRANT_OPERATIONS)}; "
                f"unknown: {unknown}"
            )
        if encryption_context_equals is not None and encryption_context_subset is not None:
            raise InvalidParameterValue(
                "Constraints may hold EncryptionContextEquals or EncryptionContextSubset, not both"
            )
        for field, value in (
            ("GranteePrincipal", grantee_principal),
            ("RetiringPrincipal", retiring_principal),
        ):
            if value is not None and not _PRINCIPAL_ARN.fullmatch(value):
                raise InvalidParameterValue(
                    f"{field} must be the ARN of an IAM or STS principal; got {value!r}"
                )
        record = self._record(call, key, action="kms:CreateGrant", read_only=False)
        parameters = {
            "keyId": key,
            "granteePrincipal": grantee_principal,
            "operations": list(operations),
        }
        self._authorize(
            call,
            action="kms:CreateGrant",
            record=record,
            parameters=parameters,
            read_only=False,
            request_context={"kms:GrantOperations": list(operations)},
        )
        constraints: dict[str, Any] | None = None
        if encryption_context_equals is not None:
            constraints = {"EncryptionContextEquals": dict(encryption_context_equals)}
        elif encryption_context_subset is not None:
            constraints = {"EncryptionContextSubset": dict(encryption_context_subset)}
        grant_id = self.random.token_bytes(32).hex()
        now = self.clock.now()
        # The grant takes part in every later decision on the key as policy statements: refuse
        # one that would not parse, rather than break every use of the key.
        _validate_grant_statements(
            record,
            Grant(
                grant_id=grant_id,
                key_id=record.key_id,
                name=name,
                grantee_principal=grantee_principal,
                retiring_principal=retiring_principal,
                operations=tuple(sorted(set(operations))),
                encryption_context_equals=_pairs_of(encryption_context_equals),
                encryption_context_subset=_pairs_of(encryption_context_subset),
                issuing_account=call.principal.account_id,
                creation_date=now,
            ),
        )

        def act(session: Session) -> Grant:
            row = models.KMSGrant(
                grant_id=grant_id,
                key_id=record.key_id,
                account_id=record.account_id,
                name=name,
                grantee_principal=grantee_principal,
                retiring_principal=retiring_principal,
                operations=sorted(set(operations)),
                constraints=constraints,
                issuing_account=call.principal.account_id,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return grant_of(row)

        return self.change(
            EventWho.of_call(call),
            operation="CreateGrant",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters=parameters,
            act=act,
            elements=lambda grant: {"grantId": grant.grant_id},
        )

    def list_grants(self, call: KeyCall, key: str) -> list[Grant]:
        record = self._record(call, key, action="kms:ListGrants", read_only=True)
        self._authorize(
            call, action="kms:ListGrants", record=record, parameters={"keyId": key}, read_only=True
        )
        return list(record.grants)

    def revoke_grant(self, call: KeyCall, key: str, grant_id: str) -> None:
        record = self._record(call, key, action="kms:RevokeGrant", read_only=False)
        if grant_id not in {grant.grant_id for grant in record.grants}:
            raise KeyNotFound(f"grant {grant_id} does not exist on key {record.arn}")
        self._authorize(
            call,
            action="kms:RevokeGrant",
            record=record,
            parameters={"keyId": key, "grantId": grant_id},
            read_only=False,
        )

        def act(session: Session) -> None:
            session.execute(delete(models.KMSGrant).where(models.KMSGrant.grant_id == grant_id))

        self.change(
            EventWho.of_call(call),
            operation="RevokeGrant",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": key, "grantId": grant_id},
            act=act,
        )

    def retire_grant(self, call: KeyCall, key: str, grant_id: str) -> None:
        """``RetireGrant``: by the grant's retiring principal, its grantee when the grant allows
        ``RetireGrant``, or whoever the key policy and IAM allow ``kms:RetireGrant``."""
        record = self._record(call, key, action="kms:RetireGrant", read_only=False)
        if grant_id not in {grant.grant_id for grant in record.grants}:
            raise KeyNotFound(f"grant {grant_id} does not exist on key {record.arn}")
        parameters = {"keyId": key, "grantId": grant_id}
        self._authorize(
            call,
            action="kms:RetireGrant",
            record=record,
            parameters=parameters,
            read_only=False,
            request_context={GRANT_ID_KEY: grant_id},
        )

        def act(session: Session) -> None:
            session.execute(delete(models.KMSGrant).where(models.KMSGrant.grant_id == grant_id))

        self.change(
            EventWho.of_call(call),
            operation="RetireGrant",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters=parameters,
            act=act,
        )

    # -- rewrap -----------------------------------------------------------------------------

    def rewrap_data_keys(
        self,
        call: KeyCall,
        key: str,
        registry: DataKeyRegistry,
        *,
        batch_size: int = 500,
        max_batches: int | None = None,
    ) -> RewrapProgress:
        """Move ``registry``'s data keys of ``key`` to its newest version (``lakevault kms
        rewrap``); resumable: a later call continues where a crashed or bounded one stopped.

        Needs ``kms:ReEncryptFrom`` and ``kms:ReEncryptTo`` on the key, which must be enabled.
        A stored data key that does not open (corrupt, wrong context) is skipped, counted in
        ``failed`` and recorded as an ``InvalidCiphertextException`` event; the rest go on.
        """
        if batch_size < 1:
            raise InvalidParameterValue(f"batch_size must be at least 1, got {batch_size}")
        record = self._record(call, key, action="kms:ReEncryptFrom", read_only=False)
        parameters = {"keyId": key, "registry": registry.name}
        for action in ("kms:ReEncryptFrom", "kms:ReEncryptTo"):
            self._authorize(
                call, action=action, record=record, parameters=parameters, read_only=False
            )
        who = EventWho.of_call(call)
        self.require_enabled(who, record, operation="ReEncrypt", parameters=parameters)
        target = record.current_version
        cursor, rewrapped = self._rewrap_start(record.key_id, registry.name, target)
        newest = self.material(record, target)
        failed = batches = 0
        while True:
            batch = registry.stored_data_keys(
                record.key_id, below_version=target, after=cursor, limit=batch_size
            )
            if not batch:
                break
            for stored in batch:
                cursor = max(cursor, stored.reference)
                if stored.key_id != record.key_id or stored.key_version >= target:
                    continue
                try:
                    data_key = self.material(record, stored.key_version).unwrap_data_key(
                        stored.wrapped, context=stored.context
                    )
                except (kms.IntegrityError, KeyNotFound) as exc:
                    failed += 1
                    self.record_refusal(
                        who,
                        record,
                        operation="ReEncrypt",
                        parameters={**parameters, "reference": stored.reference},
                        error=kms.IntegrityError(kms.IntegrityFailure.INVALID_KEY)
                        if isinstance(exc, KeyNotFound)
                        else exc,
                    )
                    continue
                wrapped = newest.wrap_data_key(data_key, context=stored.context, random=self.random)
                if registry.replace_data_key(stored, key_version=target, wrapped=wrapped):
                    rewrapped += 1
            self._rewrap_save(record.key_id, registry.name, target, cursor, rewrapped)
            batches += 1
            if max_batches is not None and batches >= max_batches:
                return RewrapProgress(
                    key_id=record.key_id,
                    registry=registry.name,
                    target_version=target,
                    rewrapped=rewrapped,
                    failed=failed,
                    cursor=cursor,
                    is_done=False,
                )

        def finish(session: Session) -> None:
            session.execute(
                delete(models.KMSRewrapProgress).where(
                    models.KMSRewrapProgress.key_id == record.key_id,
                    models.KMSRewrapProgress.registry_name == registry.name,
                )
            )

        self.change(
            who,
            operation="ReEncrypt",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={**parameters, "destinationKeyVersion": target},
            act=finish,
            elements=lambda _: {"rewrapped": rewrapped, "failed": failed},
        )
        return RewrapProgress(
            key_id=record.key_id,
            registry=registry.name,
            target_version=target,
            rewrapped=rewrapped,
            failed=failed,
            cursor=cursor,
            is_done=True,
        )

    def rewrap_all(
        self,
        call: KeyCall,
        key: str,
        *,
        batch_size: int = 500,
        max_batches: int | None = None,
    ) -> list[RewrapProgress]:
        """:meth:`rewrap_data_keys` over every registry the platform has (``lakevault kms
        rewrap``); ``max_batches`` bounds each registry's run."""
        return [
            self.rewrap_data_keys(
                call, key, registry, batch_size=batch_size, max_batches=max_batches
            )
            for registry in self.data_key_registries()
        ]

    def _rewrap_start(self, key_id: str, registry: str, target: int) -> tuple[str, int]:
        """The saved cursor and count of an unfinished rewrap to ``target``, else a fresh start."""
        with self.database.session() as session:
            row = session.get(models.KMSRewrapProgress, (key_id, registry))
            if row is not None and row.target_version == target:
                return row.cursor, row.rewrapped
        self._rewrap_save(key_id, registry, target, "", 0)
        return "", 0

    def _rewrap_save(
        self, key_id: str, registry: str, target: int, cursor: str, rewrapped: int
    ) -> None:
        with self.database.session() as session:
            session.merge(
                models.KMSRewrapProgress(
                    key_id=key_id,
                    registry_name=registry,
                    target_version=target,
                    cursor=cursor,
                    rewrapped=rewrapped,
                    updated_at=self.clock.now(),
                )
            )

    def _scheduled_who(self, record: KeyRecord) -> EventWho:
        """The KMS itself, for scheduled work (CloudTrail's ``kms.amazonaws.com`` events)."""
        return EventWho.of_service(
            service="kms.amazonaws.com",
            principal_arn=f"arn:aws:iam::{record.account_id}:root",
            request_id=new_request_id(self.random),
            authorization_event_id="",
        )

    # -- background work (jobs) --------------------------------------------------------------

    def rotate_due_keys(self, *, now: datetime | None = None) -> int:
        """Add a version to every enabled key whose automatic rotation is due; return how many."""
        now = now or self.clock.now()
        with self.database.read_session() as session:
            due = (
                session.execute(
                    select(models.KMSKey.key_id).where(
                        models.KMSKey.rotation_enabled.is_(True),
                        models.KMSKey.state == KeyState.ENABLED.value,
                        models.KMSKey.next_rotation_at <= now,
                    )
                )
                .scalars()
                .all()
            )
        rotated = 0
        for key_id in due:
            try:
                record = self._record_by_id(key_id)
                self._rotate(self._scheduled_who(record), record, "RotateKey", only_if_due=True)
            except (_NothingToDo, KeyNotFound):
                continue
            rotated += 1
        return rotated

    def destroy_due_keys(self, *, now: datetime | None = None) -> int:
        """Crypto-shred every key whose deletion date has passed; return how many.

        Deletes every wrapped copy of every version (and the key, its aliases, grants and tags)
        and leaves a tombstone, in one transaction with the ``DeleteKey`` event.
        """
        now = now or self.clock.now()
        with self.database.read_session() as session:
            due = (
                session.execute(
                    select(models.KMSKey.key_id).where(
                        models.KMSKey.state == KeyState.PENDING_DELETION.value,
                        models.KMSKey.deletion_date <= now,
                    )
                )
                .scalars()
                .all()
            )
        destroyed = 0
        for key_id in due:
            try:
                self._destroy(self._record_by_id(key_id), now)
            except (_NothingToDo, KeyNotFound):
                continue
            destroyed += 1
        return destroyed

    def _destroy(self, record: KeyRecord, now: datetime) -> None:
        def act(session: Session) -> int:
            row = lock_row(session, record.key_id)
            # Re-checked under the lock: cancelled, or rescheduled later, since it was listed.
            if (
                row.state != KeyState.PENDING_DELETION.value
                or row.deletion_date is None
                or row.deletion_date > now
            ):
                raise _NothingToDo
            if self.tombstones is not None:
                # Journal first: a failed commit then refuses a live key (recoverable with the
                # override), never resurrects a destroyed one.
                self.tombstones.record(key_id=record.key_id, key_arn=record.arn, destroyed_at=now)
            versions = self.destroyed_version_count(session, record.key_id)
            for table in (models.KMSKeyVersion, models.KMSAlias, models.KMSGrant, models.KMSKeyTag):
                session.execute(delete(table).where(table.key_id == record.key_id))
            session.delete(row)
            session.merge(
                models.KMSKeyTombstone(
                    key_id=record.key_id,
                    account_id=record.account_id,
                    key_arn=record.arn,
                    versions_destroyed=versions,
                    destroyed_at=now,
                )
            )
            self.materials.forget_key(record.key_id)
            return versions

        self.change(
            self._scheduled_who(record),
            operation="DeleteKey",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": record.key_id},
            act=act,
            elements=lambda versions: {"versionsDestroyed": versions},
        )


def _use_parameters(record: KeyRecord, context: kms.EncryptionContext) -> dict[str, Any]:
    """The request parameters of a use of a key's material (``Encrypt``, ``Decrypt`` and
    their ``ReEncrypt`` halves): the key, the algorithm and the encryption context."""
    return {
        "keyId": record.arn,
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        **context_parameters(context),
    }


def _pairs_of(mapping: Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
    return tuple(sorted(mapping.items())) if mapping is not None else None


def _validate_grant_statements(record: KeyRecord, grant: Grant) -> None:
    try:
        iam.parse_policy(
            with_grants(record.policy, (*record.grants, grant)), kind=iam.PolicyKind.RESOURCE
        )
    except MalformedPolicyDocument as exc:
        raise InvalidParameterValue(
            f"the grant cannot take part in decisions on {record.arn}: {exc.message}"
        ) from exc


class _NothingToDo(Exception):
    """Scheduled work found, under the row lock, that there is nothing left to do."""


def _validate_policy(policy: str) -> None:
    if len(policy.encode("utf-8")) > _MAX_POLICY_BYTES:
        raise MalformedPolicyDocument(
            f"a key policy may be at most {_MAX_POLICY_BYTES} bytes, got "
            f"{len(policy.encode('utf-8'))}"
        )
    try:
        document = json.loads(policy)
    except ValueError as exc:
        raise MalformedPolicyDocument(f"the key policy is not valid JSON: {exc}") from exc
    iam.parse_policy(document, kind=iam.PolicyKind.RESOURCE)
