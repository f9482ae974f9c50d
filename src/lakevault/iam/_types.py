"""Closed sets and shared aliases of the policy engine."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TypeAlias

__all__ = [
    "ContextValue",
    "DecisionKind",
    "Effect",
    "PolicyKind",
    "PrincipalKind",
    "PrincipalType",
    "Strictness",
]

#: A request-context value as a caller may pass it. See ``EvaluationRequest`` for normalisation.
ContextValue: TypeAlias = str | bool | int | float | Sequence[str]


class Effect(enum.Enum):
    """The ``Effect`` of a statement."""

    ALLOW = "Allow"
    DENY = "Deny"


class DecisionKind(enum.Enum):
    """The three outcomes of an evaluation, spelled as AWS's policy simulator spells them."""

    ALLOWED = "Allowed"
    IMPLICITLY_DENIED = "ImplicitlyDenied"
    EXPLICITLY_DENIED = "ExplicitlyDenied"


class PolicyKind(enum.Enum):
    """Where a policy is attached; it decides validation rules and how the policy takes part.

    ``RESOURCE`` covers bucket, key, secret and role-trust policies. ``GUARDRAIL`` is the
    organization/tenant policy (AWS SCP), ``RESOURCE_GUARDRAIL`` the resource-side guardrail (AWS
    RCP) and ``ENDPOINT`` a network-endpoint policy (AWS VPC endpoint policy).
    """

    IDENTITY = "identity"
    RESOURCE = "resource"
    PERMISSION_BOUNDARY = "permission_boundary"
    SESSION = "session"
    GUARDRAIL = "guardrail"
    RESOURCE_GUARDRAIL = "resource_guardrail"
    ENDPOINT = "endpoint"

    @property
    def names_principals(self) -> bool:
        """Whether statements of this kind carry a ``Principal`` that takes part in matching."""
        return self in _PRINCIPAL_KINDS


_PRINCIPAL_KINDS = frozenset(
    {PolicyKind.RESOURCE, PolicyKind.RESOURCE_GUARDRAIL, PolicyKind.ENDPOINT}
)


class Strictness(enum.Enum):
    """How strictly ``parse_policy`` applies AWS's attachment-time rules.

    ``STRICT`` (the default) accepts exactly what AWS accepts for that kind of policy.
    ``LENIENT`` is for simulation of documents written elsewhere: it still rejects documents
    whose meaning is unclear, but tolerates rules that only AWS's storage enforces (a missing or
    2008 ``Version`` on identity policies, an empty ``Statement`` list, a ``Principal`` in an
    identity policy — which is then ignored, as AWS's simulator does).
    """

    STRICT = "strict"
    LENIENT = "lenient"


class PrincipalKind(enum.Enum):
    """What kind of caller a request comes from."""

    ROOT = "root"
    USER = "user"
    ROLE = "role"
    ROLE_SESSION = "role_session"
    FEDERATED_USER = "federated_user"
    SERVICE = "service"
    ANONYMOUS = "anonymous"


class PrincipalType(enum.Enum):
    """The keys of a ``Principal`` element; ``ANY`` is the bare string ``"*"``."""

    ANY = "*"
    AWS = "AWS"
    SERVICE = "Service"
    FEDERATED = "Federated"
    CANONICAL_USER = "CanonicalUser"
