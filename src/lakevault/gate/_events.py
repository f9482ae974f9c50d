"""The audit events a domain writes itself: state changes and refusals after the gate.

The gate records its own decision. What happens next — the bucket that was created, the secret
whose value changed, the request refused because the object is locked — is recorded by the
domain that did it, in the transaction that did it. Every domain used to build those events by
hand and they drifted (two of them left the access key id out of ``userIdentity``); this one
builder gives them the same shape as the gate's decision events: who (with the key id, never a
secret), from where, which request, which resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lakevault.audit import AuditEvent, EventResource
from lakevault.core import Clock, RandomSource, new_request_id
from lakevault.gate._gate import event_source
from lakevault.identity import Principal


class Call(Protocol):
    """The caller of one request as every domain's call context describes it."""

    @property
    def principal(self) -> Principal: ...

    @property
    def request_id(self) -> str: ...

    @property
    def source_ip(self) -> str | None: ...

    @property
    def user_agent(self) -> str | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFactory:
    """Builds a domain's events with the platform's clock, randomness and region."""

    clock: Clock
    random: RandomSource
    region: str

    def event(
        self,
        call: Call,
        *,
        action: str,
        resource: EventResource,
        read_only: bool = False,
        parameters: Mapping[str, Any] | None = None,
        elements: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        additional: Mapping[str, Any] | None = None,
        event_name: str | None = None,
    ) -> AuditEvent:
        """The event of ``call`` doing ``action`` (``service:Name``) to ``resource``; its
        name is ``event_name`` when the operation is not named after its action."""
        return AuditEvent(
            event_id=new_request_id(self.random),
            event_time=self.clock.now(),
            event_source=event_source(action),
            event_name=event_name or action.partition(":")[2],
            region=self.region,
            source_ip_address=call.source_ip,
            user_agent=call.user_agent,
            user_identity=call.principal.audit_identity(),
            request_id=call.request_id,
            read_only=read_only,
            recipient_account_id=resource.account_id,
            resources=(resource,),
            request_parameters=parameters,
            response_elements=elements,
            error_code=error_code,
            error_message=error_message,
            additional=dict(additional or {}),
        )

    def change(
        self,
        call: Call,
        *,
        action: str,
        resource: EventResource,
        parameters: Mapping[str, Any] | None = None,
        elements: Mapping[str, Any] | None = None,
        event_name: str | None = None,
    ) -> AuditEvent:
        """The event of a state change (``additionalEventData.stateChange``)."""
        return self.event(
            call,
            action=action,
            resource=resource,
            parameters=parameters,
            elements=elements,
            additional={"stateChange": True},
            event_name=event_name,
        )
