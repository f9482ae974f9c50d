"""Principals: the authenticated callers the gate decides about, and their policies.

Identity resolves credentials (password, access key, token, assumed role) into a
:class:`Principal`; the gate turns a principal's request into a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lakevault import iam
from lakevault.audit import IdentityType, UserIdentity

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
    transitive_tag_keys: tuple[str, ...] = ()
    """For a role session: the keys of ``tags`` that carry into a role it assumes."""
    access_key_id: str | None = None
    """The id (never the secret) of the access key, temporary credentials or API key that
    authenticated the request; ``None`` for a password token or anonymous."""
    is_temporary: bool = False
    """The credentials are temporary (AssumeRole, GetSessionToken, federation)."""

    @property
    def is_anonymous(self) -> bool:
        return self.identity_type is IdentityType.ANONYMOUS

    def audit_identity(self) -> UserIdentity:
        """Who this principal is in an audit event (``userIdentity``), with the key id."""
        return UserIdentity(
            type=self.identity_type,
            principal_id=self.principal_id,
            arn=self.arn,
            account_id=self.account_id,
            access_key_id=self.access_key_id,
        )


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
