"""What the gate is asked: who (principal) wants to do what (action) to which resource.

Domain services build a :class:`Request` from an authenticated :class:`Principal`, the action
name (``s3:GetObject``), the resource ARN and the service-specific context keys they know
(``s3:prefix``, ``kms:EncryptionContext:*``, ``aws:RequestTag/*``). The global keys that say who
the caller is and where it came from (``aws:PrincipalArn``, ``aws:SourceIp``,
``aws:CurrentTime``...) are filled by the gate itself from trusted values; a request that tries
to set one is refused, so no caller can claim another identity through the context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from lakevault import iam
from lakevault.core.errors import InvalidParameterValue
from lakevault.identity import Principal

ContextValue = str | bool | int | float | Sequence[str]

#: Context keys only the gate may set (lower-cased; IAM key names are case-insensitive).
GATE_CONTEXT_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:username",
        "aws:userid",
        "aws:SourceIp",
        "aws:SecureTransport",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:MultiFactorAuthPresent",
        "aws:ResourceAccount",
    )
)
_GATE_CONTEXT_PREFIXES = ("aws:principaltag/", "aws:resourcetag/")

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One question to the gate. ``request_id`` ties the decision to the face's request.

    ``resource_policy`` is the policy attached to the resource (bucket policy, key policy,
    role trust policy) when the resource has one; the domain service that loaded the resource
    passes it. ``request_parameters`` go into the audit event: pass only non-secret values.
    ``event_name`` names the API operation in the audit event when it is not the action's
    name, as CloudTrail does: CreateMultipartUpload is decided as ``s3:PutObject``.
    """

    principal: Principal
    action: str
    resource: str
    request_id: str
    resource_account: str | None = None
    resource_type: str = ""
    resource_policy: iam.Policy | None = None
    resource_tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    context: Mapping[str, ContextValue] = field(default_factory=lambda: MappingProxyType({}))
    source_ip: str | None = None
    user_agent: str | None = None
    secure_transport: bool = False
    read_only: bool = False
    request_parameters: Mapping[str, object] | None = None
    event_name: str | None = None

    def __post_init__(self) -> None:
        if ":" not in self.action or self.action.strip() != self.action:
            raise InvalidParameterValue(
                f"action must be 'service:Action' without spaces, for example 's3:GetObject'; "
                f"got {self.action!r}"
            )
        for key in self.context:
            lowered = key.lower()
            if lowered in GATE_CONTEXT_KEYS or lowered.startswith(_GATE_CONTEXT_PREFIXES):
                raise InvalidParameterValue(
                    f"context key {key!r} is filled by the gate from the authenticated "
                    "principal and the connection; remove it from the request context"
                )
