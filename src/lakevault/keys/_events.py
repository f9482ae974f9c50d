"""The audit events the key service writes itself (the gate writes the decisions).

Three kinds, all with ``eventSource`` ``kms.amazonaws.com``, the key ARN in ``resources`` and
the encryption context (never plaintext or key bytes) in ``requestParameters``:

* a state change (CreateKey, DisableKey, ScheduleKeyDeletion, ...), written in the same
  transaction as the change (``additionalEventData.stateChange``);
* a refused use of an allowed request: the key is disabled (``DisabledException``), pending
  deletion (``KMSInvalidStateException``), or the ciphertext does not open
  (``InvalidCiphertextException``) — the alarm detectors look for these codes;
* a use on behalf of a platform service (a bucket's data key), which carries no gate decision
  of its own: it names the decision that authorised the service's operation
  (``additionalEventData.authorizationEventID``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity
from lakevault.core import RandomSource, new_request_id
from lakevault.identity import Principal

EVENT_SOURCE = "kms.amazonaws.com"
KEY_RESOURCE_TYPE = "AWS::KMS::Key"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCall:
    """The authenticated caller of one KMS request and the facts of its connection."""

    principal: Principal
    request_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    secure_transport: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EventWho:
    """Who an event names: a principal's call, or a service acting on a proof."""

    identity: UserIdentity
    request_id: str
    source_ip: str | None
    user_agent: str | None
    additional: Mapping[str, Any]

    @classmethod
    def of_call(cls, call: KeyCall) -> EventWho:
        principal = call.principal
        return cls(
            identity=UserIdentity(
                type=principal.identity_type,
                principal_id=principal.principal_id,
                arn=principal.arn,
                account_id=principal.account_id,
            ),
            request_id=call.request_id,
            source_ip=call.source_ip,
            user_agent=call.user_agent,
            additional={},
        )

    @classmethod
    def of_service(
        cls, *, service: str, principal_arn: str, request_id: str, authorization_event_id: str
    ) -> EventWho:
        account = principal_arn.split(":")[4] if principal_arn.count(":") >= 5 else ""
        return cls(
            identity=UserIdentity(
                type=IdentityType.AWS_SERVICE,
                principal_id=service,
                arn=principal_arn,
                account_id=account,
            ),
            request_id=request_id,
            source_ip=None,
            user_agent=service,
            additional={"invokedBy": service, "authorizationEventID": authorization_event_id},
        )


def key_event(
    who: EventWho,
    *,
    name: str,
    key_arn: str,
    account_id: str,
    now: datetime,
    random: RandomSource,
    region: str,
    read_only: bool,
    parameters: Mapping[str, Any] | None = None,
    elements: Mapping[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    state_change: bool = False,
) -> AuditEvent:
    additional = dict(who.additional)
    if state_change:
        additional["stateChange"] = True
    return AuditEvent(
        event_id=new_request_id(random),
        event_time=now,
        event_source=EVENT_SOURCE,
        event_name=name,
        region=region,
        source_ip_address=who.source_ip,
        user_agent=who.user_agent,
        user_identity=who.identity,
        request_id=who.request_id,
        read_only=read_only,
        recipient_account_id=account_id,
        resources=(EventResource(arn=key_arn, account_id=account_id, type=KEY_RESOURCE_TYPE),),
        request_parameters=parameters,
        response_elements=elements,
        error_code=error_code,
        error_message=error_message,
        additional=additional,
    )
