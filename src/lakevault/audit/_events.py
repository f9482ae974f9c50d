"""The audit event: CloudTrail's record shape plus lakevault's ``decision``.

An event is built from values, never from request or response bodies wholesale: callers pick
the parameters that are safe to record. Secrets, passwords, tokens and object contents never
enter an event — ``requestParameters`` refuses keys that name them (fail closed, so a careless
caller gets an error in tests rather than a leak in production).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from lakevault.core.errors import InvalidParameterValue

EVENT_VERSION = "1.09"

#: Parameter names that may carry secrets; an event refuses them (case-insensitive, substring).
_FORBIDDEN_PARAMETER_FRAGMENTS = (
    "password",
    "secret",
    "token",
    "plaintext",
    "privatekey",
    "private_key",
    "credential",
    "body",
)


@functools.lru_cache(maxsize=4096)
def _may_carry_secret(key: str) -> bool:
    """Whether a parameter name contains a forbidden fragment (case-insensitive).

    A pure function of the name, remembered: an event's keys are the few names the platform's
    code writes, checked once each instead of once per event (three events per small PUT,
    ADR 0257). A name that is not a string raises, as ``key.lower()`` always did.
    """
    lowered = key.lower()
    return any(fragment in lowered for fragment in _FORBIDDEN_PARAMETER_FRAGMENTS)


class IdentityType(StrEnum):
    """CloudTrail's ``userIdentity.type`` values that lakevault produces."""

    ROOT = "Root"
    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    AWS_SERVICE = "AWSService"
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserIdentity:
    type: IdentityType
    principal_id: str
    arn: str
    account_id: str
    session_context: Mapping[str, Any] | None = None
    access_key_id: str | None = None
    """The id (never the secret) of the access key, session or API key the request used."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventResource:
    arn: str
    account_id: str
    type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRecord:
    """Which effect the policy engine reached and which statements decided it."""

    effect: str
    statements: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One audit record. ``recipient_account_id`` is the account whose log receives it."""

    event_id: str
    event_time: datetime
    event_source: str
    event_name: str
    region: str
    source_ip_address: str | None
    user_agent: str | None
    user_identity: UserIdentity
    request_id: str
    read_only: bool
    recipient_account_id: str
    resources: tuple[EventResource, ...] = ()
    request_parameters: Mapping[str, Any] | None = None
    response_elements: Mapping[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    decision: DecisionRecord | None = None
    additional: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, values in (
            ("requestParameters", self.request_parameters),
            ("responseElements", self.response_elements),
            ("additionalEventData", self.additional),
        ):
            for key in values or ():
                if _may_carry_secret(key):
                    raise InvalidParameterValue(
                        f"audit event {self.event_name}: {name} key {key!r} may carry a secret "
                        "and is never recorded; record a non-secret fact about it instead"
                    )

    def to_record(self) -> dict[str, Any]:
        """The JSON object written to the log (CloudTrail field names)."""
        identity: dict[str, Any] = {
            "type": self.user_identity.type.value,
            "principalId": self.user_identity.principal_id,
            "arn": self.user_identity.arn,
            "accountId": self.user_identity.account_id,
        }
        if self.user_identity.access_key_id is not None:
            identity["accessKeyId"] = self.user_identity.access_key_id
        if self.user_identity.session_context is not None:
            identity["sessionContext"] = dict(self.user_identity.session_context)
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "eventTime": self.event_time.isoformat().replace("+00:00", "Z"),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": self.source_ip_address,
            "userAgent": self.user_agent,
            "userIdentity": identity,
            "requestParameters": dict(self.request_parameters)
            if self.request_parameters is not None
            else None,
            "responseElements": dict(self.response_elements)
            if self.response_elements is not None
            else None,
            "requestID": self.request_id,
            "eventID": self.event_id,
            "readOnly": self.read_only,
            "resources": [
                {"ARN": r.arn, "accountId": r.account_id, "type": r.type} for r in self.resources
            ],
            "eventType": "AwsApiCall",
            "recipientAccountId": self.recipient_account_id,
        }
        if self.error_code is not None:
            record["errorCode"] = self.error_code
            record["errorMessage"] = self.error_message
        if self.decision is not None:
            record["decision"] = {
                "effect": self.decision.effect,
                "statements": [dict(s) for s in self.decision.statements],
            }
        if self.additional:
            record["additionalEventData"] = dict(self.additional)
        return record


def encode_event(event: AuditEvent) -> bytes:
    """The canonical bytes of ``event``: the leaf data of the Merkle log and the stored body.

    Canonical means one byte string per record: orjson's compact JSON (UTF-8, no whitespace)
    with keys sorted at every level, so that anyone can re-derive a leaf hash from the record.
    A value JSON cannot carry (a set, bytes, an integer beyond 64 bits, a non-string key) is
    refused here, in the caller's thread, rather than by the log writer.
    """
    try:
        return orjson.dumps(event.to_record(), option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise InvalidParameterValue(
            f"audit event {event.event_name}: a parameter value is not JSON (strings, numbers, "
            f"booleans, null, lists and objects with string keys only): {exc}"
        ) from exc
