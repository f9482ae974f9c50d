"""What every trail operation shares: ask the gate about an account's log, record a change.

The gate is asked with the log's resource policy (``audit_log_policies``), so a tenant's grant
decides for every audit action on its log (docs/decisions/0201).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.audit import EventResource, append_in
from lakevault.core import Clock, RandomSource, parse_account_id
from lakevault.db import Database, models
from lakevault.directory import CallContext
from lakevault.gate import EventFactory, Gate, Request
from lakevault.trail import _names as names


class TrailCore:
    """Authorise through the gate against a log's policy; record changes in the log."""

    def __init__(
        self, *, database: Database, gate: Gate, clock: Clock, random: RandomSource, region: str
    ) -> None:
        self.database = database
        self.gate = gate
        self.clock = clock
        self.random = random
        self.region = region
        self.events = EventFactory(clock=clock, random=random, region=region)

    def authorize(
        self,
        call: CallContext,
        action: str,
        account_id: str,
        *,
        parameters: Mapping[str, Any] | None,
        read_only: bool = True,
        resource: str | None = None,
        resource_type: str = names.LOG_RESOURCE_TYPE,
    ) -> None:
        """Raise ``AccessDenied`` unless the gate allows ``action`` (recorded either way).

        The resource is the log (default) or something of the log's account (a subscription),
        always decided with the log's resource policy.
        """
        account_id = parse_account_id(account_id)
        self.gate.require(
            Request(
                principal=call.principal,
                action=action,
                resource=resource or names.audit_log_arn(account_id),
                resource_account=account_id,
                resource_type=resource_type,
                resource_policy=self.log_policy(account_id),
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=read_only,
                request_parameters=parameters,
            )
        )

    def log_policy(self, account_id: str) -> iam.Policy | None:
        with self.database.read_session() as session:
            row = session.get(models.AuditLogPolicy, account_id)
            document = None if row is None else row.document
        if document is None:
            return None
        return iam.parse_policy(
            document,
            kind=iam.PolicyKind.RESOURCE,
            policy_id=f"{names.audit_log_arn(account_id)}/policy",
        )

    def record_change(
        self,
        session: Session,
        call: CallContext,
        action: str,
        account_id: str,
        *,
        resource: str | None = None,
        resource_type: str = names.LOG_RESOURCE_TYPE,
        parameters: Mapping[str, Any] | None = None,
        elements: Mapping[str, Any] | None = None,
    ) -> None:
        """Append the change event in ``session``: it exists exactly when the change commits."""
        append_in(
            session,
            self.events.change(
                call,
                action=action,
                resource=EventResource(
                    arn=resource or names.audit_log_arn(account_id),
                    account_id=account_id,
                    type=resource_type,
                ),
                parameters=parameters,
                elements=elements,
            ),
        )
