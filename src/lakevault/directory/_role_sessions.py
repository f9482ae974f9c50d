"""Issuing a role session through the gate: the one path of ``AssumeRole`` and
``AssumeRoleWithWebIdentity`` (and a federated sign-in) from decision to credentials.

The role's trust policy is the resource policy of the request; the gate decides each action
asked for (``sts:AssumeRole`` or ``sts:AssumeRoleWithWebIdentity``, plus ``sts:TagSession``
when session tags are passed); then the session is recorded and its change event appended in
one transaction. The event's actor is the principal that assumed the role (for a web identity,
the identity provider's user, not the anonymous HTTP caller).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from lakevault import iam, identity
from lakevault.audit import EventResource, append_in
from lakevault.core.errors import InvalidParameterValue, NoSuchEntity
from lakevault.db import models
from lakevault.directory._context import CallContext
from lakevault.directory._directory import DirectoryCore
from lakevault.gate import Request


def role_account(role_arn: str) -> str:
    """The account of a role ARN; ``InvalidParameterValue`` when it is not one."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise InvalidParameterValue(
            "roleArn must be a role ARN such as 'arn:aws:iam::123456789012:role/Reader'"
        )
    return parts[4]


class RoleSessionIssuer(DirectoryCore):
    """The shared end of every way to assume a role."""

    def _issue_role_session(
        self,
        call: CallContext,
        *,
        principal: identity.Principal,
        actions: Sequence[str],
        role_arn: str,
        context: Mapping[str, Any],
        parameters: Mapping[str, Any],
        session_name: str,
        source_arn: str,
        duration_seconds: int,
        policy: str | None,
        tags: identity.SessionTags,
        elements: Mapping[str, Any] | None = None,
    ) -> identity.TemporaryCredentials:
        """Ask the gate for each of ``actions`` on the role, then record the session.

        A role that does not exist has no trust policy, so the gate denies it exactly like a
        role the caller may not assume. Raises the gate's ``AccessDenied``, or the parameter
        errors of :func:`identity.create_role_session`.
        """
        account_id = role_account(role_arn)
        with self.database.read_session() as session:
            role = session.scalar(select(models.Role).where(models.Role.arn == role_arn))
            trust = (
                iam.parse_policy(
                    role.trust_policy, kind=iam.PolicyKind.RESOURCE, policy_id=f"{role_arn}#trust"
                )
                if role is not None
                else None
            )
        for action in actions:
            self.gate.require(
                Request(
                    principal=principal,
                    action=action,
                    resource=role_arn,
                    resource_account=account_id,
                    resource_type="Role",
                    resource_policy=trust,
                    context=context,
                    request_id=call.request_id,
                    source_ip=call.source_ip,
                    user_agent=call.user_agent,
                    secure_transport=call.secure_transport,
                    request_parameters=parameters,
                )
            )
        with self.database.session() as session:
            row = session.get(models.Role, role.role_id) if role is not None else None
            if row is None:  # deleted between the decision and now
                raise NoSuchEntity(f"The role {role_arn} cannot be found.")
            credentials = identity.create_role_session(
                session,
                row,
                session_name=session_name,
                source_arn=source_arn[:2048],
                duration_seconds=duration_seconds,
                policy=policy,
                tags=tags,
                root_key=self.root_key(),
                now=self.clock.now(),
                random=self.random,
            )
            event = self.events.change(
                call,
                action=actions[0],
                resource=EventResource(arn=role_arn, account_id=account_id, type="Role"),
                parameters=parameters,
                elements={
                    "accessKeyId": credentials.access_key_id,
                    "assumedRoleArn": credentials.assumed_role_arn,
                    "expiration": credentials.expiration.isoformat(),
                    **(elements or {}),
                },
            )
            append_in(session, replace(event, user_identity=principal.audit_identity()))
        return credentials
