"""The gate: the one door every action passes through.

``Gate.authorize`` turns a :class:`Request` into a :class:`Decision`: it fills the global
context keys from trusted values, gathers the principal's policies, asks the policy engine,
appends the audit event naming the deciding statements, and only then — for an allowed request
— issues the :class:`Proof` that storage, kms and secrets require. If the audit event cannot
be written, no proof is issued (fail closed).

One caller may defer the wait (ADR 0230): ``require(..., defer_audit=True)`` issues the proof of
an allowed decision while its event is only queued, and the proof's ``wait_recorded`` waits for
it. A denial is never deferred (the refusal is the answer the caller sees), and the gate's own
``verify`` waits for a pending proof, so any consumer but the key service's data key path (which
chains the wait into the data key's) acts only on a durable decision.
"""

from __future__ import annotations

import functools
import operator
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from lakevault import iam
from lakevault.audit import (
    AuditEvent,
    AuditSink,
    DecisionRecord,
    EventResource,
)
from lakevault.core import Clock, RandomSource, new_request_id
from lakevault.core.errors import AccessDenied
from lakevault.gate._proof import Proof, _issue
from lakevault.gate._request import ContextValue, Request
from lakevault.identity import Principal, PrincipalPolicies

#: Service prefixes that are AWS's; their events carry ``<service>.amazonaws.com`` as
#: ``eventSource`` so CloudTrail tooling reads them unchanged. lakevault's own services use
#: ``lakevault.local`` (docs/decisions/0003-audit-event-source.md).
_AWS_SERVICES = frozenset({"s3", "kms", "iam", "sts", "secretsmanager", "organizations"})

#: How many policy sets the gate keeps built (and compiled) between requests (ADR 0257).
_POLICY_SET_ENTRIES = 1024

#: The anonymous caller's policies: none, one object so its policy sets are shared.
_NO_POLICIES = PrincipalPolicies()


def event_source(action: str) -> str:
    """The CloudTrail ``eventSource`` of an action such as ``s3:GetObject``."""
    service = action.partition(":")[0]
    return f"{service}.amazonaws.com" if service in _AWS_SERVICES else "lakevault.local"


class PolicySource(Protocol):
    """Finds the identity policies, boundary and guardrails of a principal."""

    def policies_for(self, principal: Principal) -> PrincipalPolicies: ...


class Receipt(Protocol):
    """A queued audit event's outcome: its sequence once durable, or the log's error."""

    def result(self, timeout: float | None = None) -> int: ...


class PolicyEngine(Protocol):
    """The narrow interface the gate needs from the policy engine (``lakevault.iam``)."""

    def evaluate(
        self, request: iam.EvaluationRequest, policies: iam.PolicySet, *, explain: bool = False
    ) -> iam.Evaluation: ...


class ProofVerifier(Protocol):
    """What storage, kms and secrets hold: the means to check a proof, never to make one."""

    def verify(self, proof: Proof, *, action: str, resource: str) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The gate's answer. ``proof`` is present exactly when the request is allowed."""

    effect: iam.DecisionKind
    request_id: str
    event_id: str
    deciding_statements: tuple[iam.StatementRef, ...]
    proof: Proof | None
    message: str

    @property
    def is_allowed(self) -> bool:
        return self.proof is not None

    def require_proof(self) -> Proof:
        """The proof, or ``AccessDenied`` with the AWS-style message for a denial."""
        if self.proof is None:
            raise AccessDenied(self.message)
        return self.proof


class Gate:
    """Authorise, audit, and issue proofs. One instance per process, shared by all services."""

    def __init__(
        self,
        *,
        engine: PolicyEngine,
        policies: PolicySource,
        audit: AuditSink,
        clock: Clock,
        random: RandomSource,
        region: str,
    ) -> None:
        self._engine = engine
        self._policies = policies
        self._audit = audit
        self._clock = clock
        self._random = random
        self._region = region
        self._issued: weakref.WeakSet[Proof] = weakref.WeakSet()
        #: Policy sets by the identity of their parts (ADR 0257); each entry holds its parts.
        self._policy_sets: dict[tuple[int, ...], _PolicySetEntry] = {}
        #: ``audit.submit`` when the sink can queue (deferred decisions, ADR 0230), else None.
        self._submit: Callable[[AuditEvent], Receipt] | None = getattr(audit, "submit", None)

    def authorize(self, request: Request, *, defer_audit: bool = False) -> Decision:
        """Decide ``request``, record the decision, and return it (with a proof when allowed).

        Raises whatever the audit log raises when the event cannot be written: a decision that
        is not recorded is never acted on.

        ``defer_audit`` (ADR 0230): an allowed decision's event is queued, not awaited; the
        proof's ``wait_recorded`` waits for it (and raises the log's error). Only for a caller
        that makes nothing visible before it waits — today storage's ``PutObject``, whose data
        key's wait covers the decision. A denial is always durable before this returns.
        """
        now = self._clock.now()
        principal = request.principal
        evaluation = self._evaluate(request, now)
        allowed = evaluation.decision is iam.DecisionKind.ALLOWED
        message = "" if allowed else _denial_message(request, evaluation.decision)
        event_id = new_request_id(self._random)
        recorded = self._record(
            request, evaluation, event_id, now, message, defer=defer_audit and allowed
        )
        proof = None
        if allowed:
            proof = _issue(
                action=request.action,
                resource=request.resource,
                principal_arn=principal.arn,
                request_id=request.request_id,
                event_id=event_id,
                issued_at=now,
                recorded=recorded,
            )
            self._issued.add(proof)
        return Decision(
            effect=evaluation.decision,
            request_id=request.request_id,
            event_id=event_id,
            deciding_statements=evaluation.deciding_statements,
            proof=proof,
            message=message,
        )

    def _evaluate(self, request: Request, now: datetime) -> iam.Evaluation:
        principal = request.principal
        found = _NO_POLICIES if principal.is_anonymous else self._policies.policies_for(principal)
        policy_set = self._policy_set(found, request.resource_policy, principal.session_policies)
        return self._engine.evaluate(
            iam.EvaluationRequest(
                principal=_iam_principal(principal),
                action=request.action,
                resource=request.resource,
                resource_account=request.resource_account,
                context=self._context(request, now.timestamp(), now.isoformat()),
            ),
            policy_set,
        )

    def _policy_set(
        self,
        found: PrincipalPolicies,
        resource_policy: iam.Policy | None,
        session: tuple[iam.Policy, ...],
    ) -> iam.PolicySet:
        """The policy set of these parts, built (and compiled, on first use) once per parts.

        The parts come from caches that already answer for freshness: the policy source
        returns new policy tuples once the policy generation moves, a bucket's record (and its
        policy) is reloaded once the storage generation moves (ADRs 0168, 0177). The same
        objects therefore mean the same policies, and only their identity is compared — never
        their content, and nothing about the request: every request is still evaluated afresh,
        with its own context. An entry holds its parts, so their ids cannot be taken by other
        objects while it exists (ADR 0257).
        """
        parts = (
            found.identity,
            found.permission_boundaries,
            found.guardrails,
            resource_policy,
            session,
        )
        key = tuple(map(id, parts))
        entry = self._policy_sets.get(key)
        if entry is not None and all(map(operator.is_, entry.parts, parts)):
            return entry.policy_set
        policy_set = iam.PolicySet(
            identity=found.identity,
            resource=(resource_policy,) if resource_policy is not None else (),
            permission_boundaries=found.permission_boundaries,
            session=session,
            guardrails=found.guardrails,
        )
        if len(self._policy_sets) >= _POLICY_SET_ENTRIES:
            self._policy_sets.clear()
        self._policy_sets[key] = _PolicySetEntry(parts=parts, policy_set=policy_set)
        return policy_set

    def would_allow(self, request: Request) -> bool:
        """Whether ``request`` would be allowed — a what-if: no proof, no audit event.

        For checks about a policy that is not in force yet, such as KMS's lockout safety
        check ("would the caller still be allowed ``kms:PutKeyPolicy`` under the new key
        policy?"). It authorises nothing; the operation that asks is itself decided by
        :meth:`authorize` and recorded.
        """
        evaluation = self._evaluate(request, self._clock.now())
        return evaluation.decision is iam.DecisionKind.ALLOWED

    def require(self, request: Request, *, defer_audit: bool = False) -> Proof:
        """Authorise and return the proof, or raise ``AccessDenied`` (``defer_audit``: see
        :meth:`authorize`)."""
        return self.authorize(request, defer_audit=defer_audit).require_proof()

    def verify(self, proof: Proof, *, action: str, resource: str) -> None:
        """Raise ``AccessDenied`` unless this gate issued ``proof`` for this action and resource.

        Every failure is the same error: the reason is not the caller's business. A proof whose
        decision is still queued (``defer_audit``) is waited for: a consumer acts only on a
        durable decision, and gets the log's error if it could not be written.
        """
        self.verify_pending(proof, action=action, resource=resource)
        proof.wait_recorded()

    def verify_pending(self, proof: Proof, *, action: str, resource: str) -> None:
        """:meth:`verify` without waiting for a deferred decision to become durable.

        For the key service's data key path alone (ADR 0230): it chains the proof's
        ``wait_recorded`` into the data key's, which its caller must call before it opens the
        blob. Everyone else uses :meth:`verify`.
        """
        if (
            not isinstance(proof, Proof)
            or proof not in self._issued
            or proof.action != action
            or proof.resource != resource
        ):
            raise AccessDenied(
                f"not authorized to perform: {action} on resource: {resource} because the "
                "operation carries no proof of an allowed decision"
            )

    def _context(
        self, request: Request, epoch_seconds: float, iso_time: str
    ) -> Mapping[str, ContextValue]:
        principal = request.principal
        context: dict[str, ContextValue] = dict(request.context)
        context["aws:CurrentTime"] = iso_time.replace("+00:00", "Z")
        context["aws:EpochTime"] = str(int(epoch_seconds))
        context["aws:SecureTransport"] = request.secure_transport
        if request.source_ip is not None:
            context["aws:SourceIp"] = request.source_ip
        if request.resource_account is not None:
            context["aws:ResourceAccount"] = request.resource_account
        for key, value in request.resource_tags.items():
            context[f"aws:ResourceTag/{key}"] = value
        if not principal.is_anonymous:
            context["aws:PrincipalArn"] = principal.arn
            context["aws:PrincipalAccount"] = principal.account_id
            context["aws:PrincipalType"] = principal.identity_type.value
            context["aws:userid"] = principal.principal_id
            context["aws:MultiFactorAuthPresent"] = principal.mfa_authenticated
            if principal.username is not None:
                context["aws:username"] = principal.username
            for key, value in principal.tags.items():
                context[f"aws:PrincipalTag/{key}"] = value
        return MappingProxyType(context)

    def _record(
        self,
        request: Request,
        evaluation: iam.Evaluation,
        event_id: str,
        now: object,
        message: str,
        *,
        defer: bool = False,
    ) -> Callable[[], None] | None:
        """Append the decision's event (one per recipient account).

        With ``defer`` and a sink that can queue, the events are queued and the function
        returned waits until all are durable; otherwise they are durable on return (None).
        """
        principal = request.principal
        name = request.event_name or request.action.partition(":")[2]
        resource_account = request.resource_account or principal.account_id
        recipients = [resource_account]
        if principal.account_id and principal.account_id != resource_account:
            recipients.append(principal.account_id)
        allowed = evaluation.decision is iam.DecisionKind.ALLOWED
        submit = self._submit if defer else None
        receipts: list[Receipt] = []
        for recipient in recipients:
            event = AuditEvent(
                # A cross-account decision is recorded in both accounts' logs; like
                # CloudTrail, each copy has its own id and both share the first one.
                event_id=event_id if recipient == recipients[0] else new_request_id(self._random),
                event_time=self._clock.now(),
                event_source=event_source(request.action),
                event_name=name,
                region=self._region,
                source_ip_address=request.source_ip,
                user_agent=request.user_agent,
                user_identity=principal.audit_identity(),
                request_id=request.request_id,
                read_only=request.read_only,
                recipient_account_id=recipient,
                resources=(
                    EventResource(
                        arn=request.resource,
                        account_id=resource_account,
                        type=request.resource_type,
                    ),
                ),
                request_parameters=request.request_parameters,
                error_code=None if allowed else AccessDenied.code,
                error_message=None if allowed else message,
                additional={"sharedEventID": event_id} if len(recipients) > 1 else {},
                decision=DecisionRecord(
                    effect=evaluation.decision.value,
                    statements=tuple(
                        {
                            "policy": ref.policy_id,
                            "sid": ref.sid,
                            "index": ref.index,
                            "effect": ref.effect.value,
                        }
                        for ref in evaluation.deciding_statements
                    ),
                ),
            )
            if submit is None:
                self._audit.append(event)
            else:
                receipts.append(submit(event))
        if submit is None:
            return None

        def wait() -> None:
            for receipt in receipts:
                receipt.result()

        return wait


@dataclass(frozen=True, slots=True, kw_only=True)
class _PolicySetEntry:
    """A built policy set and the objects it was built from (kept alive by the entry)."""

    parts: tuple[object, ...]
    policy_set: iam.PolicySet


def _iam_principal(principal: Principal) -> iam.Principal:
    if principal.is_anonymous:
        return iam.ANONYMOUS
    if principal.role_arn:
        return iam.Principal(
            arn=principal.arn,
            account=principal.account_id,
            kind=iam.PrincipalKind.ROLE_SESSION,
            role_arn=principal.role_arn,
        )
    return _principal_of_arn(principal.arn)


#: ``iam.Principal.from_arn`` is a pure function of the ARN and its result is immutable.
_principal_of_arn = functools.lru_cache(maxsize=4096)(iam.Principal.from_arn)


def _denial_message(request: Request, decision: iam.DecisionKind) -> str:
    who = "Anonymous caller" if request.principal.is_anonymous else f"User: {request.principal.arn}"
    why = (
        "with an explicit deny in a policy"
        if decision is iam.DecisionKind.EXPLICITLY_DENIED
        else f"because no policy allows the {request.action} action"
    )
    action, resource = request.action, request.resource
    return f"{who} is not authorized to perform: {action} on resource: {resource} {why}"
