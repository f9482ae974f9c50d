"""Principals: the authenticated callers the gate decides about, and their policies.

Identity resolves credentials (password, access key, token, assumed role) into a
:class:`Principal`; the gate turns a principal's request into a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lakevault import iam
from lakevault.audit import IdentityType

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """An authenticated caller, as identity resolved it.

    ``principal_id`` is the stable unique id (``aws:userid``); ``tags`` feed
    ``aws:PrincipalTag/*``; ``session_policies`` are those passed at AssumeRole or federation.
    """

    arn: str
    account_id: str
    principal_id: str
    identity_type: IdentityType
    username: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    session_policies: tuple[iam.Policy, ...] = ()
    mfa_authenticated: bool = False
    role_arn: str = ""
    """For a role session: the ARN of the assumed role, with its path."""

    @property
    def is_anonymous(self) -> bool:
        return self.identity_type is IdentityType.ANONYMOUS


ANONYMOUS = Principal(
    arn="*",
    account_id="",
    principal_id="anonymous",
    identity_type=IdentityType.ANONYMOUS,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalPolicies:
    """The policies that apply to a principal wherever it acts."""

    identity: tuple[iam.Policy, ...] = ()
    permission_boundaries: tuple[iam.Policy, ...] = ()
    guardrails: tuple[iam.Policy, ...] = ()
