"""Where the gate finds a principal's policies: the metadata store, parsed once per version.

For a user: the managed policies attached to the user and to each of its groups (their default
versions) and their inline policies are the identity policies; the user's permissions boundary
is the boundary; the guardrails of the user's organization and tenant are the guardrails, one
level each (the platform account has none, like an AWS management account). A principal that no
longer exists has no policies, so every request it still makes is implicitly denied.

Parsed (and compiled) policies are cached by what identifies a version — managed policy ARN and
version id, or inline policy owner, name and the document itself (not its update time, which
two quick replacements can share) — so a document is parsed once per change, never once per
request, and a change is never served stale.

Whole answers are cached too, per principal, tagged with the policy generation read before
them: a counter that database triggers advance in the same transaction as any change to a table
these answers come from (``db/_models_policy_generation.py``, ADR 0168). Each request reads
the counter (one indexed row, on the raw driver path) and reuses the cached answer only while
it is unchanged, so a revoked permission takes effect for the next request, in every process.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.audit import IdentityType
from lakevault.core import PLATFORM_ACCOUNT_ID
from lakevault.db import Database, models
from lakevault.identity._names import EntityKind
from lakevault.identity._principal import Principal, PrincipalPolicies


def _default_versions() -> Select[str, str, str]:
    """Managed policies with their default version: (ARN, version id, document). The one
    query every attachment lookup narrows, so which version applies is decided once."""
    return select(
        models.Policy.arn, models.PolicyVersion.version_id, models.PolicyVersion.document
    ).join(
        models.PolicyVersion,
        (models.PolicyVersion.policy_id == models.Policy.policy_id)
        & (models.PolicyVersion.version_id == models.Policy.default_version_id),
    )


class DatabasePolicySource:
    """Finds the policies of users (and, with STS, role sessions) in the metadata store."""

    def __init__(self, database: Database, *, cache_size: int = 4096) -> None:
        self._database = database
        self._cache: OrderedDict[Hashable, iam.Policy] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, tuple[int, PrincipalPolicies]] = OrderedDict()

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        if principal.identity_type not in (IdentityType.ASSUMED_ROLE, IdentityType.IAM_USER):
            return PrincipalPolicies()
        # Read the generation BEFORE the policies: an answer is never tagged newer than it is.
        generation = self._generation()
        key = (principal.identity_type, principal.principal_id, principal.arn, principal.role_arn)
        if generation is not None:
            with self._lock:
                cached = self._answers.get(key)
                if cached is not None and cached[0] == generation:
                    self._answers.move_to_end(key)
                    return cached[1]
        found = self._load(principal)
        if generation is not None:
            with self._lock:
                self._answers[key] = (generation, found)
                self._answers.move_to_end(key)
                while len(self._answers) > self._cache_size:
                    self._answers.popitem(last=False)
        return found

    def _generation(self) -> int | None:
        """The current policy generation; ``None`` (cache nothing) if the row is missing."""
        return self._database.generation("policy_generation")

    def _load(self, principal: Principal) -> PrincipalPolicies:
        if principal.identity_type is IdentityType.ASSUMED_ROLE:
            return self._role_session_policies(principal)
        with self._database.read_session() as session:
            user = session.get(models.User, principal.principal_id)
            if user is None or user.arn != principal.arn:
                return PrincipalPolicies()
            group_ids = list(
                session.scalars(
                    select(models.GroupMembership.group_id).where(
                        models.GroupMembership.user_id == user.user_id
                    )
                )
            )
            identity = self._managed(session, user.user_id, group_ids)
            identity += self._inline(session, user.user_id, group_ids)
            boundaries = self._boundary(session, user.permissions_boundary_arn)
            guardrails = self._guardrails(session, user.account_id)
        return PrincipalPolicies(
            identity=identity, permission_boundaries=boundaries, guardrails=guardrails
        )

    def _role_session_policies(self, principal: Principal) -> PrincipalPolicies:
        """A role session acts with its role's policies, boundary and tenant guardrails; its
        session policies travel on the principal and narrow these (the gate adds them)."""
        role_id = principal.principal_id.partition(":")[0]
        with self._database.read_session() as session:
            role = session.get(models.Role, role_id)
            if role is None or role.arn != principal.role_arn:
                return PrincipalPolicies()
            identity = self._role_managed(session, role.role_id)
            identity += self._owned_inline(session, EntityKind.ROLE, role.role_id)
            boundaries = self._boundary(session, role.permissions_boundary_arn)
            guardrails = self._guardrails(session, role.account_id)
        return PrincipalPolicies(
            identity=identity, permission_boundaries=boundaries, guardrails=guardrails
        )

    def _boundary(self, session: Session, arn: str | None) -> tuple[iam.Policy, ...]:
        if arn is None:
            return ()
        boundary = self._managed_by_arn(session, arn, iam.PolicyKind.PERMISSION_BOUNDARY)
        # A boundary that names a deleted policy allows nothing (fail closed).
        return (boundary,) if boundary is not None else (_deny_all_boundary(),)

    def _role_managed(self, session: Session, role_id: str) -> tuple[iam.Policy, ...]:
        attached = (
            _default_versions()
            .join(
                models.RolePolicyAttachment,
                models.RolePolicyAttachment.policy_id == models.Policy.policy_id,
            )
            .where(models.RolePolicyAttachment.role_id == role_id)
            .order_by(models.Policy.arn)
        )
        return self._identity_policies(session, attached)

    def _identity_policies(
        self, session: Session, attached: Select[str, str, str]
    ) -> tuple[iam.Policy, ...]:
        """The parsed identity policies of a :func:`_default_versions` query's rows."""
        return tuple(
            self._parsed((arn, version), document, arn, iam.PolicyKind.IDENTITY)
            for arn, version, document in session.execute(attached)
        )

    def _owned_inline(
        self, session: Session, kind: EntityKind, owner_id: str
    ) -> tuple[iam.Policy, ...]:
        rows = session.execute(
            select(
                models.InlinePolicy.name,
                models.InlinePolicy.document,
            )
            .where(
                models.InlinePolicy.principal_kind == kind.value,
                models.InlinePolicy.principal_id == owner_id,
            )
            .order_by(models.InlinePolicy.name)
        )
        return tuple(
            self._parsed(
                ("inline", kind.value, owner_id, name, document),
                document,
                f"inline:{kind.value}/{owner_id}/{name}",
                iam.PolicyKind.IDENTITY,
            )
            for name, document in rows
        )

    def _managed(
        self, session: Session, user_id: str, group_ids: list[str]
    ) -> tuple[iam.Policy, ...]:
        attached = (
            _default_versions()
            .where(
                or_(
                    models.Policy.policy_id.in_(
                        select(models.UserPolicyAttachment.policy_id).where(
                            models.UserPolicyAttachment.user_id == user_id
                        )
                    ),
                    models.Policy.policy_id.in_(
                        select(models.GroupPolicyAttachment.policy_id).where(
                            models.GroupPolicyAttachment.group_id.in_(group_ids)
                        )
                    ),
                )
            )
            .order_by(models.Policy.arn)
        )
        return self._identity_policies(session, attached)

    def _inline(
        self, session: Session, user_id: str, group_ids: list[str]
    ) -> tuple[iam.Policy, ...]:
        rows = session.execute(
            select(
                models.InlinePolicy.principal_kind,
                models.InlinePolicy.principal_id,
                models.InlinePolicy.name,
                models.InlinePolicy.document,
            )
            .where(
                or_(
                    (models.InlinePolicy.principal_kind == EntityKind.USER.value)
                    & (models.InlinePolicy.principal_id == user_id),
                    (models.InlinePolicy.principal_kind == EntityKind.GROUP.value)
                    & (models.InlinePolicy.principal_id.in_(group_ids)),
                )
            )
            .order_by(models.InlinePolicy.principal_kind, models.InlinePolicy.name)
        )
        return tuple(
            self._parsed(
                ("inline", kind, owner, name, document),
                document,
                f"inline:{kind}/{owner}/{name}",
                iam.PolicyKind.IDENTITY,
            )
            for kind, owner, name, document in rows
        )

    def _managed_by_arn(
        self, session: Session, arn: str, kind: iam.PolicyKind
    ) -> iam.Policy | None:
        row = session.execute(
            select(models.PolicyVersion.version_id, models.PolicyVersion.document)
            .join(models.Policy, models.Policy.policy_id == models.PolicyVersion.policy_id)
            .where(
                models.Policy.arn == arn,
                models.PolicyVersion.version_id == models.Policy.default_version_id,
            )
        ).first()
        if row is None:
            return None
        return self._parsed((arn, row.version_id, kind), row.document, arn, kind)

    def _guardrails(self, session: Session, account_id: str) -> tuple[iam.Policy, ...]:
        if account_id == PLATFORM_ACCOUNT_ID:
            return ()
        tenant = session.get(models.Tenant, account_id)
        if tenant is None:
            return ()
        targets = [("tenant", account_id)]
        if tenant.organization_id is not None:
            targets.append(("organization", tenant.organization_id))
        found: list[iam.Policy] = []
        for target_kind, target_id in targets:
            rows = session.execute(
                select(
                    models.Policy.arn,
                    models.PolicyVersion.version_id,
                    models.PolicyVersion.document,
                )
                .join(
                    models.GuardrailAttachment,
                    models.GuardrailAttachment.policy_id == models.Policy.policy_id,
                )
                .join(
                    models.PolicyVersion,
                    (models.PolicyVersion.policy_id == models.Policy.policy_id)
                    & (models.PolicyVersion.version_id == models.Policy.default_version_id),
                )
                .where(
                    models.GuardrailAttachment.target_kind == target_kind,
                    models.GuardrailAttachment.target_id == target_id,
                )
                .order_by(models.Policy.arn)
            )
            scope = f"{target_kind}:{target_id}"
            found.extend(
                self._parsed(
                    (arn, version, "guardrail", scope),
                    document,
                    arn,
                    iam.PolicyKind.GUARDRAIL,
                    scope=scope,
                )
                for arn, version, document in rows
            )
        return tuple(found)

    def _parsed(
        self,
        key: Hashable,
        document: str,
        policy_id: str,
        kind: iam.PolicyKind,
        *,
        scope: str = "",
    ) -> iam.Policy:
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        policy = iam.parse_policy(document, policy_id=policy_id, kind=kind, scope=scope)
        with self._lock:
            self._cache[key] = policy
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return policy


@functools.cache
def _deny_all_boundary() -> iam.Policy:
    """The boundary used when a user's boundary policy no longer exists: it allows nothing."""
    return iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
        },
        policy_id="lakevault:missing-permissions-boundary",
        kind=iam.PolicyKind.PERMISSION_BOUNDARY,
    )
