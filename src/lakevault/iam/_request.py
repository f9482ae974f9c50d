"""What is being asked: the caller, the action, the resource and the request context.

Context normalisation (done once per request, when the :class:`EvaluationRequest` is built):

* keys are case-insensitive and stored lower-cased (``aws:PrincipalTag/Team`` and
  ``aws:principaltag/team`` are the same key);
* every value becomes a tuple of strings: ``str`` → one value; ``bool`` → ``"true"``/``"false"``
  (AWS's spelling); ``int`` → its decimal form; ``float`` → ``repr`` (``1.5`` → ``"1.5"``); a
  sequence of strings → a multi-valued key, in order (an empty sequence is an empty set, which
  ``ForAllValues`` accepts and ``Null`` treats as missing);
* nothing is derived: the gate fills ``aws:PrincipalArn``, ``aws:CurrentTime`` and the others,
  because the engine has no clock and no directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lakevault.core.errors import InvalidParameterValue
from lakevault.iam._match import normalize_arn
from lakevault.iam._types import ContextValue, PrincipalKind

__all__ = ["ANONYMOUS", "EvaluationRequest", "Principal", "normalize_context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The caller.

    ``arn`` is the caller's ARN (a user, role, role session ``arn:aws:sts::ACCT:assumed-role/R/S``,
    federated user, or a service name such as ``lambda.amazonaws.com``); ``account`` its 12-digit
    tenant id (empty for services and anonymous callers). ``role_arn`` is, for a role session, the
    ARN of its role *with its path*; when empty it is derived from the session ARN (without a
    path), which is right only for roles at path ``/``.
    """

    arn: str = ""
    account: str = ""
    kind: PrincipalKind
    role_arn: str = ""

    @property
    def is_anonymous(self) -> bool:
        """Whether the request is unauthenticated."""
        return self.kind is PrincipalKind.ANONYMOUS

    @property
    def session_role_arn(self) -> str:
        """The role ARN of a role session (or of a role), else ``""``."""
        if self.role_arn:
            return self.role_arn
        if self.kind is PrincipalKind.ROLE:
            return self.arn
        if self.kind is PrincipalKind.ROLE_SESSION:
            resource = self.arn.split(":", 5)[-1]
            pieces = resource.split("/")
            if len(pieces) >= 3:
                return f"arn:aws:iam::{self.account}:role/{pieces[1]}"
        return ""

    @classmethod
    def from_arn(cls, arn: str) -> Principal:
        """Build a principal from an ARN (or a service name), deriving ``kind`` and ``account``.

        Raises ``InvalidParameterValue`` for a string that is neither.
        """
        if arn.endswith(".amazonaws.com") or (":" not in arn and "." in arn):
            return cls(arn=arn, kind=PrincipalKind.SERVICE)
        parts = arn.split(":", 5)
        if len(parts) != 6 or normalize_arn(arn) is None:
            raise InvalidParameterValue(
                f"principal must be an ARN or a service name; got a value with {len(parts)} "
                "colon-separated parts, expected 6"
            )
        service, account, resource = parts[2], parts[4], parts[5]
        if resource == "root":
            kind = PrincipalKind.ROOT
        elif service == "sts" and resource.startswith("assumed-role/"):
            kind = PrincipalKind.ROLE_SESSION
        elif service == "sts" and resource.startswith("federated-user/"):
            kind = PrincipalKind.FEDERATED_USER
        elif resource.startswith("role/"):
            kind = PrincipalKind.ROLE
        else:
            kind = PrincipalKind.USER
        return cls(arn=arn, account=account, kind=kind)


#: The unauthenticated caller.
ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)


def _normalize_value(key: str, value: ContextValue) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, int):
        return (str(value),)
    if isinstance(value, float):
        return (repr(value),)
    values = tuple(value)
    if not all(isinstance(item, str) for item in values):
        raise InvalidParameterValue(
            f"context key {key} must be a string, bool, number or a sequence of strings"
        )
    return values


def normalize_context(context: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    """Lower-case the keys and turn every value into a tuple of strings (see the module doc).

    Raises ``InvalidParameterValue`` when a value has another type, or when two keys differ only
    in case (which would make the request ambiguous).
    """
    normalized: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        lowered = key.lower()
        if lowered in normalized:
            raise InvalidParameterValue(f"context key {key} is given twice (keys ignore case)")
        normalized[lowered] = _normalize_value(key, value)
    return normalized


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRequest:
    """One authorization question.

    ``resource_account`` is the tenant that owns the resource; ``None`` means the caller's own
    tenant. ``resource`` is an ARN, or ``"*"`` for actions without resource-level permissions
    (then only policy resources that are exactly ``"*"`` match). The context is left out of
    ``repr``: it may hold values (an external id) that logs must not carry.
    """

    principal: Principal
    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict, repr=False)
    normalized_context: Mapping[str, tuple[str, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    normalized_resource: str | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalized_context", normalize_context(self.context))
        object.__setattr__(self, "normalized_resource", normalize_arn(self.resource))

    @property
    def is_cross_account(self) -> bool:
        """Whether caller and resource belong to different tenants (both sides must allow)."""
        account = self.principal.account
        return (
            bool(account) and self.resource_account is not None and self.resource_account != account
        )
