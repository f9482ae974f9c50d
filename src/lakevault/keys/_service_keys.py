"""Keys the platform's services use on a tenant's behalf: the contract storage and secrets use.

Storage makes one KMS key per bucket and one data key per object version; it has no principal
of its own to ask the gate with. Instead it passes the gate's :class:`~lakevault.gate.Proof` of
the caller's allowed operation (``s3:CreateBucket``, then ``s3:PutObject``/``s3:GetObject``...):

* :meth:`ServiceKeys.create_service_key` accepts only a genuine proof (one this process's gate
  issued) of a *creating* action (:data:`SERVICE_KEY_CREATORS`) by a principal of ``tenant_id``;
  the key is bound to the proof's resource (the bucket's ARN) and its default key policy lets
  the service (``s3.amazonaws.com``) use it.
* Every later use needs a genuine proof whose resource is that resource or lies under it
  (``arn:aws:s3:::bucket/key``), of an action of the same service; the key policy is evaluated
  for the service principal (a tenant can cut its storage off by a Deny), the key must be
  Enabled, and each use is counted and audited (``kms.amazonaws.com``, the key ARN, the
  encryption context, the proof's audit event id).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from lakevault import iam, kms
from lakevault.audit import CompanionRow
from lakevault.core import new_request_id
from lakevault.core.errors import AccessDenied, InvalidParameterValue
from lakevault.db import models
from lakevault.gate import Proof
from lakevault.keys._core import KeyCore
from lakevault.keys._events import EventWho
from lakevault.keys._policy import default_key_policy
from lakevault.keys._records import KeyRecord, load_service_record, lock_row
from lakevault.keys._types import DataKey, KeyState

#: The actions whose proof may create a service key, and the service that then uses the key.
SERVICE_KEY_CREATORS: Mapping[str, str] = {
    "s3:CreateBucket": "s3.amazonaws.com",
    "secretsmanager:CreateSecret": "secretsmanager.amazonaws.com",
}

MIN_DELETION_DAYS = 7
MAX_DELETION_DAYS = 30


def _service_of(action: str) -> str:
    return f"{action.partition(':')[0]}.amazonaws.com"


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) >= 6 else ""


def validate_deletion_days(days: int) -> None:
    if not MIN_DELETION_DAYS <= days <= MAX_DELETION_DAYS:
        raise InvalidParameterValue(
            f"PendingWindowInDays must be {MIN_DELETION_DAYS} to {MAX_DELETION_DAYS}, got {days}"
        )


def context_parameters(context: kms.EncryptionContext) -> dict[str, Any]:
    return {"encryptionContext": context.as_dict()} if context.pairs else {}


class ServiceKeys(KeyCore):
    """The proof-based half of the key service (see the module docstring)."""

    def _genuine(self, proof: Proof, *, pending: bool = False) -> None:
        """Raise ``AccessDenied`` unless ``proof`` is a proof this process's gate issued.

        A proof whose decision is still queued (``defer_audit`` at the gate) is waited for,
        unless ``pending``: then the caller chains ``proof.wait_recorded`` itself (ADR 0230).
        """
        if not isinstance(proof, Proof):
            raise AccessDenied(
                "the key service acts only on the gate's proof of an allowed decision; "
                f"got {type(proof).__name__}"
            )
        if pending:
            self.gate.verify_pending(proof, action=proof.action, resource=proof.resource)
        else:
            self.gate.verify(proof, action=proof.action, resource=proof.resource)

    def _bound_record(
        self, proof: Proof, key_id: str, *, pending: bool = False
    ) -> tuple[KeyRecord, EventWho, str]:
        """The key, if ``proof`` is genuine and about the key's resource; else AccessDenied."""
        self._genuine(proof, pending=pending)
        record = self.service_records.get(key_id)
        service = _service_of(proof.action)
        bound = record.service_resource
        if (
            bound is None
            or not (proof.resource == bound or proof.resource.startswith(bound + "/"))
            or _service_of_resource(bound) != service
        ):
            raise AccessDenied(
                f"not authorized to use key {record.arn} for {proof.action} on "
                f"{proof.resource}: the key serves another resource"
            )
        who = EventWho.of_service(
            service=service,
            principal_arn=proof.principal_arn,
            request_id=proof.request_id,
            authorization_event_id=proof.event_id,
        )
        return record, who, service

    def _require_service_allowed(
        self,
        who: EventWho,
        record: KeyRecord,
        *,
        service: str,
        operation: str,
        context: kms.EncryptionContext,
        parameters: Mapping[str, Any],
    ) -> None:
        """Evaluate the key policy for the service principal; record and raise a denial.

        An allow that no part of the request's context could have changed — no statement of
        the key policy has a condition or a policy variable — is remembered per (key, key
        policy text, service, operation): the same inputs give the same answer. Anything else,
        and every denial, is evaluated on each use (ADR 0257). Whether the key is enabled is
        checked on every use by the caller, never remembered here.
        """
        memo = (record.key_id, record.arn, record.policy, service, operation)
        if memo in self.context_free_allows:
            return
        evaluation = self.service_evaluator.evaluate(
            iam.EvaluationRequest(
                principal=_service_principal(service),
                action=f"kms:{operation}",
                resource=record.arn,
                resource_account=record.account_id,
                context=encryption_context_keys(context),
            ),
            self.service_policy_set(record),
        )
        if evaluation.decision is not iam.DecisionKind.ALLOWED:
            error = AccessDenied(
                f"the key policy of {record.arn} does not allow {service} to perform "
                f"kms:{operation}; add the default service statement back to the key policy"
            )
            self.record_refusal(
                who, record, operation=operation, parameters=parameters, error=error
            )
            raise error
        policy = self.parsed_policy(record, with_grants_of=False)
        if not _reads_request_context(policy):
            if len(self.context_free_allows) >= _CONTEXT_FREE_ALLOWS:
                self.context_free_allows.clear()
            self.context_free_allows.add(memo)

    def create_service_key(self, proof: Proof, *, tenant_id: str, description: str) -> str:
        """A new KMS key of ``tenant_id`` for the proof's resource; returns its key id.

        Raises ``AccessDenied`` for a proof this gate did not issue, of an action that does not
        create a resource (:data:`SERVICE_KEY_CREATORS`), or of a principal of another tenant.
        """
        self._genuine(proof)
        service = SERVICE_KEY_CREATORS.get(proof.action)
        if service is None or _account_of(proof.principal_arn) != tenant_id:
            raise AccessDenied(
                f"a service key for tenant {tenant_id} needs the proof of an allowed "
                f"{' or '.join(SERVICE_KEY_CREATORS)} by a principal of that tenant; got "
                f"{proof.action} by {proof.principal_arn}"
            )
        key_id = str(uuid.UUID(bytes=self.random.token_bytes(16), version=4))
        now = self.clock.now()
        arn = f"arn:aws:kms:{self.region}:{tenant_id}:key/{key_id}"
        who = EventWho.of_service(
            service=service,
            principal_arn=proof.principal_arn,
            request_id=proof.request_id,
            authorization_event_id=proof.event_id,
        )

        def act(session: Any) -> str:
            row = models.KMSKey(
                key_id=key_id,
                account_id=tenant_id,
                description=description,
                state=KeyState.ENABLED.value,
                policy=default_key_policy(tenant_id, service=service),
                service_resource=proof.resource,
                current_version=0,
                rotation_enabled=False,
                rotation_period_days=365,
                created_at=now,
            )
            session.add(row)
            session.flush()
            self.add_version(session, row, now)
            return key_id

        return self.change(
            who,
            operation="CreateKey",
            key_arn=arn,
            account_id=tenant_id,
            parameters={"description": description, "serviceResource": proof.resource},
            act=act,
            elements=lambda _: {"keyMetadata": {"keyId": key_id, "arn": arn}},
        )

    def generate_data_key(
        self,
        proof: Proof,
        *,
        key_id: str,
        context: kms.EncryptionContext,
        defer_audit: bool = False,
        companion: CompanionRow | None = None,
    ) -> DataKey:
        """A fresh data key wrapped under the key's current version, bound to ``context``.

        ``defer_audit``: return before the use's audit event is durable; the caller must call
        ``wait_recorded()`` on the key before anything it made with it becomes visible.
        ``companion``: a row written durably with the use's event (storage's blob-journal row,
        ADR 0195); durable once the event is (``wait_recorded()``). Nothing is written when
        the use is refused.

        With ``defer_audit`` the proof's decision may itself still be queued (the gate's
        ``defer_audit``, ADR 0230): its wait is chained after the use's, so ``wait_recorded()``
        returns only once the decision is durable too — at no extra cost, as the decision was
        queued first on the same writer and so commits in the same or an earlier transaction.
        A refusal here waits for the decision before it is raised.
        """
        if not defer_audit:
            record, who, service = self._bound_record(proof, key_id)
            return self._generate(
                record,
                who,
                service=service,
                principal_arn=proof.principal_arn,
                context=context,
                companion=companion,
            )
        try:
            record, who, service = self._bound_record(proof, key_id, pending=True)
            data_key = self._generate(
                record,
                who,
                service=service,
                principal_arn=proof.principal_arn,
                context=context,
                defer_audit=True,
                companion=companion,
            )
        except BaseException:
            if isinstance(proof, Proof):
                proof.wait_recorded()  # the decision is durable before any answer leaves
            raise
        if proof.is_recorded:
            return data_key
        use_recorded = data_key.recorded

        def recorded() -> None:
            use_recorded()
            proof.wait_recorded()

        return DataKey(
            plaintext=data_key.plaintext,
            wrapped=data_key.wrapped,
            key_id=data_key.key_id,
            key_version=data_key.key_version,
            recorded=recorded,
        )

    def _generate(
        self,
        record: KeyRecord,
        who: EventWho,
        *,
        service: str,
        principal_arn: str,
        context: kms.EncryptionContext,
        defer_audit: bool = False,
        companion: CompanionRow | None = None,
    ) -> DataKey:
        key_id = record.key_id
        parameters = {"keyId": key_id, "keySpec": "AES_256", **context_parameters(context)}
        self._require_service_allowed(
            who,
            record,
            service=service,
            operation="GenerateDataKey",
            context=context,
            parameters=parameters,
        )
        self.require_enabled(who, record, operation="GenerateDataKey", parameters=parameters)
        version = record.current_version
        material = self.material(record, version)
        plaintext = kms.PlaintextDataKey.generate(self.random)
        wrapped = material.wrap_data_key(plaintext, context=context, random=self.random)
        self.count_use(record.arn, principal_arn, "GenerateDataKey")
        recorded = self.record_use(
            who,
            record,
            operation="GenerateDataKey",
            parameters=parameters,
            elements={"keyVersion": version},
            defer=defer_audit,
            companion=companion,
        )
        return DataKey(
            plaintext=plaintext,
            wrapped=wrapped,
            key_id=key_id,
            key_version=version,
            recorded=recorded,
        )

    def decrypt_data_key(
        self,
        proof: Proof,
        *,
        key_id: str,
        key_version: int,
        wrapped: bytes,
        context: kms.EncryptionContext,
    ) -> kms.PlaintextDataKey:
        """The data key ``generate_data_key`` wrapped (any version of the key, old ones too).

        Raises ``kms.IntegrityError`` (``InvalidCiphertextException``) when ``wrapped`` does not
        open under that version with ``context`` — recorded, like every refusal.
        """
        record, who, service = self._bound_record(proof, key_id)
        return self._decrypt(
            record,
            who,
            service=service,
            principal_arn=proof.principal_arn,
            key_version=key_version,
            wrapped=wrapped,
            context=context,
        )

    def _decrypt(
        self,
        record: KeyRecord,
        who: EventWho,
        *,
        service: str,
        principal_arn: str,
        key_version: int,
        wrapped: bytes,
        context: kms.EncryptionContext,
    ) -> kms.PlaintextDataKey:
        key_id = record.key_id
        parameters = {"keyId": key_id, "keyVersion": key_version, **context_parameters(context)}
        self._require_service_allowed(
            who,
            record,
            service=service,
            operation="Decrypt",
            context=context,
            parameters=parameters,
        )
        self.require_enabled(who, record, operation="Decrypt", parameters=parameters)
        try:
            plaintext = self.material(record, key_version).unwrap_data_key(wrapped, context=context)
        except kms.IntegrityError as exc:
            self.record_refusal(who, record, operation="Decrypt", parameters=parameters, error=exc)
            raise
        self.count_use(record.arn, principal_arn, "Decrypt")
        self.record_use(who, record, operation="Decrypt", parameters=parameters)
        return plaintext

    # -- the platform's own jobs (ADR 0211, 0212) ---------------------------------------------

    def _job_record(self, resource_arn: str, key_id: str) -> tuple[KeyRecord, EventWho, str]:
        """The key, if it is a service key bound to exactly ``resource_arn``; else AccessDenied.

        The job's identity in events is the resource's service, as the KMS's own jobs appear
        as ``kms.amazonaws.com``."""
        record = load_service_record(self.database, key_id, region=self.region)
        service = _service_of_resource(resource_arn)
        if not service or record.service_resource != resource_arn:
            raise AccessDenied(
                f"a platform job may use key {record.arn} only for the resource it is bound "
                f"to; got {resource_arn}"
            )
        who = EventWho.of_service(
            service=service,
            principal_arn=f"arn:aws:iam::{record.account_id}:root",
            request_id=new_request_id(self.random),
            authorization_event_id="",
        )
        return record, who, service

    def generate_data_key_for_job(
        self, *, resource_arn: str, key_id: str, context: kms.EncryptionContext
    ) -> DataKey:
        """:meth:`generate_data_key` for a platform job acting on a tenant's standing request
        (the secrets rotation job, ADR 0212): no proof, only the key bound to the resource;
        the key policy still decides for the service principal and the key must be Enabled."""
        record, who, service = self._job_record(resource_arn, key_id)
        return self._generate(record, who, service=service, principal_arn=service, context=context)

    def decrypt_data_key_for_job(
        self,
        *,
        resource_arn: str,
        key_id: str,
        key_version: int,
        wrapped: bytes,
        context: kms.EncryptionContext,
    ) -> kms.PlaintextDataKey:
        """:meth:`decrypt_data_key` for a platform job (see :meth:`generate_data_key_for_job`)."""
        record, who, service = self._job_record(resource_arn, key_id)
        return self._decrypt(
            record,
            who,
            service=service,
            principal_arn=service,
            key_version=key_version,
            wrapped=wrapped,
            context=context,
        )

    def schedule_service_key_deletion(self, proof: Proof, *, key_id: str, days: int) -> None:
        """Schedule the deletion of a service key (its resource is being deleted)."""
        validate_deletion_days(days)
        record, who, _ = self._bound_record(proof, key_id)
        self.schedule_deletion_now(who, record, days=days)

    def schedule_resource_key_deletion(self, *, resource_arn: str, days: int) -> list[str]:
        """For the platform's own jobs: schedule the deletion of the service keys bound to
        ``resource_arn``, a resource the job has just deleted; return their key ids.

        A job (the secrets purge) acts on the tenant's earlier, gate-decided request (the
        ``DeleteSecret`` that set the window), not on a proof of its own. Like the KMS's own
        scheduled work it is audited as the service: ``ScheduleKeyDeletion`` by
        ``secretsmanager.amazonaws.com`` (ADR 0211). Only service keys bound to exactly that
        resource qualify — never a tenant's own key — and the waiting period still applies,
        so a mistaken call is cancellable for ``days`` days. Keys already pending deletion are
        left alone, so the job may repeat after a crash.
        """
        validate_deletion_days(days)
        service = _service_of_resource(resource_arn)
        if not service:
            raise InvalidParameterValue(f"{resource_arn!r} is not a resource ARN")
        with self.database.read_session() as session:
            key_ids = list(
                session.scalars(
                    select(models.KMSKey.key_id)
                    .where(
                        models.KMSKey.service_resource == resource_arn,
                        models.KMSKey.state.in_((KeyState.ENABLED.value, KeyState.DISABLED.value)),
                    )
                    .order_by(models.KMSKey.key_id)
                )
            )
        for key_id in key_ids:
            record = load_service_record(self.database, key_id, region=self.region)
            who = EventWho.of_service(
                service=service,
                principal_arn=f"arn:aws:iam::{record.account_id}:root",
                request_id=new_request_id(self.random),
                authorization_event_id="",
            )
            self.schedule_deletion_now(who, record, days=days)
        return key_ids

    def schedule_deletion_now(self, who: EventWho, record: KeyRecord, *, days: int) -> None:
        """Move the key to PendingDeletion, to be destroyed ``days`` days from now."""
        when = self.clock.now()
        deletion_date = when.replace(microsecond=0) + timedelta(days=days)

        def act(session: Any) -> None:
            row = lock_row(session, record.key_id)
            row.state = KeyState.PENDING_DELETION.value
            row.deletion_date = deletion_date
            self.materials.forget_key(record.key_id)

        self.change(
            who,
            operation="ScheduleKeyDeletion",
            key_arn=record.arn,
            account_id=record.account_id,
            parameters={"keyId": record.key_id, "pendingWindowInDays": days},
            act=act,
            elements=lambda _: {
                "keyId": record.arn,
                "keyState": KeyState.PENDING_DELETION.value,
                "deletionDate": deletion_date.isoformat(),
            },
        )


#: The service principal of a service name (``s3.amazonaws.com``): a pure function of the
#: name whose result is immutable, so it is made once per service (ADR 0257).
_service_principal = functools.lru_cache(maxsize=64)(iam.Principal.from_arn)


#: How many context-free allows of key policies the key service remembers (ADR 0257).
_CONTEXT_FREE_ALLOWS = 4096


def _reads_request_context(policy: iam.Policy) -> bool:
    """Whether any decision under ``policy`` may depend on the request's context: a statement
    with a condition, or a policy variable (``${...}``) in a resource or principal where the
    document substitutes them. Conservative: the whole policy counts, not only the statements
    that apply to one action."""
    for statement in policy.statements:
        if statement.conditions:
            return True
        if not policy.has_variables:
            continue
        texts = [
            *(statement.resources or ()),
            *(statement.not_resources or ()),
            *(entry.value for entry in statement.principals or ()),
            *(entry.value for entry in statement.not_principals or ()),
        ]
        if any("${" in text for text in texts):
            return True
    return False


def _service_of_resource(arn: str) -> str:
    """``arn:aws:s3:::bucket`` → ``s3.amazonaws.com``: the service a bound key serves."""
    parts = arn.split(":")
    return f"{parts[2]}.amazonaws.com" if len(parts) >= 6 else ""


def encryption_context_keys(context: kms.EncryptionContext) -> dict[str, iam.ContextValue]:
    """The ``kms:EncryptionContext:NAME`` and ``kms:EncryptionContextKeys`` condition keys."""
    keys: dict[str, iam.ContextValue] = {
        f"kms:EncryptionContext:{name}": value for name, value in context.pairs
    }
    if context.pairs:
        keys["kms:EncryptionContextKeys"] = [name for name, _ in context.pairs]
    return keys
