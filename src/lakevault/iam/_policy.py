"""The policy document model: what a parsed policy *is*, independent of how it is evaluated.

A :class:`Policy` is the validated form of a JSON document. It is a frozen value: two parses of
the same document are equal, and :meth:`Policy.to_document` writes a canonical JSON form that
parses back to an equal value (a property test pins this). Matching structures are built from it
once, lazily, by the compiler and kept on the instance (``_compiled``), which is why a
``Policy`` should be parsed once and reused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from lakevault.iam._types import Effect, PolicyKind, PrincipalType

__all__ = [
    "Condition",
    "ConditionOperator",
    "Policy",
    "PrincipalEntry",
    "SetQualifier",
    "Statement",
]

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"


class ConditionOperator(enum.Enum):
    """The base condition operators of the IAM grammar (without set prefix or ``IfExists``)."""

    STRING_EQUALS = "StringEquals"
    STRING_NOT_EQUALS = "StringNotEquals"
    STRING_EQUALS_IGNORE_CASE = "StringEqualsIgnoreCase"
    STRING_NOT_EQUALS_IGNORE_CASE = "StringNotEqualsIgnoreCase"
    STRING_LIKE = "StringLike"
    STRING_NOT_LIKE = "StringNotLike"
    NUMERIC_EQUALS = "NumericEquals"
    NUMERIC_NOT_EQUALS = "NumericNotEquals"
    NUMERIC_LESS_THAN = "NumericLessThan"
    NUMERIC_LESS_THAN_EQUALS = "NumericLessThanEquals"
    NUMERIC_GREATER_THAN = "NumericGreaterThan"
    NUMERIC_GREATER_THAN_EQUALS = "NumericGreaterThanEquals"
    DATE_EQUALS = "DateEquals"
    DATE_NOT_EQUALS = "DateNotEquals"
    DATE_LESS_THAN = "DateLessThan"
    DATE_LESS_THAN_EQUALS = "DateLessThanEquals"
    DATE_GREATER_THAN = "DateGreaterThan"
    DATE_GREATER_THAN_EQUALS = "DateGreaterThanEquals"
    BOOL = "Bool"
    BINARY_EQUALS = "BinaryEquals"
    IP_ADDRESS = "IpAddress"
    NOT_IP_ADDRESS = "NotIpAddress"
    ARN_EQUALS = "ArnEquals"
    ARN_LIKE = "ArnLike"
    ARN_NOT_EQUALS = "ArnNotEquals"
    ARN_NOT_LIKE = "ArnNotLike"
    NULL = "Null"

    @property
    def is_negated(self) -> bool:
        """Whether the operator is a negation (true on a missing key, NOR over its values)."""
        return self in _NEGATED


_NEGATED = frozenset(
    {
        ConditionOperator.STRING_NOT_EQUALS,
        ConditionOperator.STRING_NOT_EQUALS_IGNORE_CASE,
        ConditionOperator.STRING_NOT_LIKE,
        ConditionOperator.NUMERIC_NOT_EQUALS,
        ConditionOperator.DATE_NOT_EQUALS,
        ConditionOperator.NOT_IP_ADDRESS,
        ConditionOperator.ARN_NOT_EQUALS,
        ConditionOperator.ARN_NOT_LIKE,
    }
)


class SetQualifier(enum.Enum):
    """The set prefix of a condition operator."""

    NONE = ""
    FOR_ALL_VALUES = "ForAllValues:"
    FOR_ANY_VALUE = "ForAnyValue:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One ``operator → key → values`` entry of a ``Condition`` block.

    ``key`` keeps the spelling of the document (for explanations); matching uses ``key.lower()``.
    ``values`` are strings: JSON booleans and numbers are written the way AWS reads them
    (``true`` → ``"true"``, ``10`` → ``"10"``).
    """

    operator: ConditionOperator
    qualifier: SetQualifier = SetQualifier.NONE
    if_exists: bool = False
    key: str
    values: tuple[str, ...]

    @property
    def operator_name(self) -> str:
        """The operator as written in a document, e.g. ``ForAnyValue:StringLikeIfExists``."""
        suffix = "IfExists" if self.if_exists else ""
        return f"{self.qualifier.value}{self.operator.value}{suffix}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalEntry:
    """One principal named by a ``Principal``/``NotPrincipal`` element."""

    type: PrincipalType
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One statement. Exactly one of ``actions``/``not_actions`` is set (``None`` = absent);
    resources and principals likewise, except that either may be absent altogether where the
    policy kind allows it (a trust policy has no ``Resource``; an identity policy no principal).
    """

    index: int
    sid: str = ""
    effect: Effect
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: tuple[PrincipalEntry, ...] | None = None
    not_principals: tuple[PrincipalEntry, ...] | None = None
    conditions: tuple[Condition, ...] = ()

    def to_document(self) -> dict[str, Any]:
        """The canonical JSON form of the statement (lists everywhere, keys in AWS order)."""
        document: dict[str, Any] = {}
        if self.sid:
            document["Sid"] = self.sid
        document["Effect"] = self.effect.value
        for name, principals in (
            ("Principal", self.principals),
            ("NotPrincipal", self.not_principals),
        ):
            if principals is not None:
                document[name] = _principal_document(principals)
        for name, values in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if values is not None:
                document[name] = list(values)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for condition in self.conditions:
                block.setdefault(condition.operator_name, {})[condition.key] = list(
                    condition.values
                )
            document["Condition"] = block
        return document


def _principal_document(principals: tuple[PrincipalEntry, ...]) -> str | dict[str, list[str]]:
    if len(principals) == 1 and principals[0].type is PrincipalType.ANY:
        return "*"
    document: dict[str, list[str]] = {}
    for entry in principals:
        document.setdefault(entry.type.value, []).append(entry.value)
    return document


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A validated policy document and where it is attached.

    ``policy_id`` is the caller's name for the policy (an ARN or database id); it appears in
    decisions and audit events. ``scope`` groups guardrail policies into levels: guardrail
    policies with the same non-empty scope form one level, and an unscoped guardrail is a level
    of its own (see docs/decisions/0024). ``version`` is the document's ``Version``: under
    ``2008-10-17`` policy variables are plain text, as in AWS.
    """

    policy_id: str = ""
    kind: PolicyKind = PolicyKind.IDENTITY
    version: str = VERSION_2012
    document_id: str = ""
    scope: str = ""
    statements: tuple[Statement, ...]
    _compiled: object = field(default=None, init=False, compare=False, repr=False, hash=False)

    @property
    def has_variables(self) -> bool:
        """Whether ``${...}`` in this document is substituted (only from version 2012-10-17)."""
        return self.version == VERSION_2012

    def to_document(self) -> dict[str, Any]:
        """The canonical JSON form; ``parse_policy(p.to_document(), kind=p.kind) == p``."""
        document: dict[str, Any] = {}
        if self.version:
            document["Version"] = self.version
        if self.document_id:
            document["Id"] = self.document_id
        document["Statement"] = [statement.to_document() for statement in self.statements]
        return document
