"""The directory: the IAM and tenant management API as a domain service.

Every operation is one AWS-named action (``iam:CreateUser``, ``lakevault:CreateTenant``...) on
one resource ARN. It asks the gate (which records the decision), then changes the metadata store
and records the change (with its non-secret response elements) in the same transaction as the
change itself: the change exists if and only if its audit event does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from lakevault.audit import EventResource, append_in
from lakevault.core import PLATFORM_ACCOUNT_ID, Clock, RandomSource
from lakevault.core.errors import AccessDenied
from lakevault.db import Database
from lakevault.directory._context import CallContext
from lakevault.gate import EventFactory, Gate, Request
from lakevault.kms import PlatformRootKey

T = TypeVar("T")


def tenant_arn(account_id: str) -> str:
    return f"arn:aws:lakevault::{PLATFORM_ACCOUNT_ID}:tenant/{account_id}"


def organization_arn(organization_id: str) -> str:
    return f"arn:aws:lakevault::{PLATFORM_ACCOUNT_ID}:organization/{organization_id}"


class DirectoryCore:
    """Authorise through the gate, act in a transaction, record the change."""

    def __init__(
        self,
        *,
        database: Database,
        gate: Gate,
        clock: Clock,
        random: RandomSource,
        region: str,
        root_key: Callable[[], PlatformRootKey],
    ) -> None:
        """``root_key`` loads the platform root key (on first use: building opens nothing)."""
        self.root_key = root_key
        self.database = database
        self.gate = gate
        self.clock = clock
        self.random = random
        self.region = region
        self.events = EventFactory(clock=clock, random=random, region=region)

    @staticmethod
    def require_unnarrowed(call: CallContext, what: str) -> None:
        """Refuse credential-minting to callers narrowed by a session policy.

        An API key or a role session with a session policy acts within that scope; letting it
        create long-term credentials (access keys, API keys, passwords) would let it escape the
        scope, whatever the scope says. Only a caller acting with its own full identity may.
        """
        if call.principal.session_policies:
            raise AccessDenied(
                f"{what} needs the caller's own credentials; credentials narrowed by a session "
                "policy or an API key scope cannot create credentials"
            )

    def perform(
        self,
        call: CallContext,
        *,
        action: str,
        resource: str,
        resource_account: str,
        resource_type: str,
        operation: Callable[[Session], T],
        read_only: bool,
        parameters: Mapping[str, Any] | None = None,
        response: Callable[[T], Mapping[str, Any]] | None = None,
    ) -> T:
        """Run ``operation`` if the gate allows ``action`` on ``resource`` for the caller.

        Raises ``AccessDenied`` (nothing runs) or whatever the operation raises (nothing is
        committed, and no change event is recorded).
        """
        self.gate.require(
            Request(
                principal=call.principal,
                action=action,
                resource=resource,
                resource_account=resource_account,
                resource_type=resource_type,
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=read_only,
                request_parameters=parameters,
            )
        )
        if read_only:
            with self.database.read_session() as session:
                return operation(session)
        with self.database.session() as session:
            result = operation(session)
            append_in(
                session,
                self.events.change(
                    call,
                    action=action,
                    resource=EventResource(
                        arn=resource, account_id=resource_account, type=resource_type
                    ),
                    parameters=parameters,
                    elements=response(result) if response is not None else None,
                ),
            )
            return result
