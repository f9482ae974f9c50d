"""Condition operators and their multi-value semantics.

Each :class:`~lakevault.iam._policy.Condition` compiles to a :class:`CompiledCondition`. The rules
(AWS's documentation; the rule numbers are those of the conformance README):

* keys AND together, operators AND together, the values of one key OR together (R6);
* a negated operator (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``...) is true when the
  request value matches *none* of the values (NOR) — and is **false** when the request value or
  any policy value is invalid or holds an unresolved variable (R8): a broken condition never
  grants through negation;
* a missing key makes a condition false, except that negated operators, ``...IfExists`` and
  ``ForAllValues:`` are true on a missing key, and ``Null`` tests for absence (R5, R7);
* ``ForAllValues:`` is true when every request value matches (so also for an empty or missing
  set); ``ForAnyValue:`` when at least one does; without a set prefix a multi-valued key behaves
  as ``ForAnyValue:`` for positive operators and as its negation for negated ones;
* condition key names are case-insensitive (the context is keyed in lower case), values are
  case-sensitive except under ``IgnoreCase`` operators and ``Bool`` (R10);
* ``IpAddress`` never matches an IPv4 value against an IPv6 network or the reverse; a bare
  address means ``/32`` or ``/128`` (R15).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from lakevault.iam._match import ArnPattern, compile_arn, compile_glob, normalize_arn
from lakevault.iam._policy import Condition, ConditionOperator, SetQualifier
from lakevault.iam._variables import UNRESOLVED, Pieces, Template, parse_template

__all__ = ["CompiledCondition", "ConditionOutcome", "compile_condition"]

Context = Mapping[str, tuple[str, ...]]
#: Compares one request value with one policy value: True/False, or None when either is invalid.
Comparator = Callable[[str, str, Pieces], bool | None]

#: Keys whose values explanations never show: an ``sts:ExternalId`` is the shared secret of a
#: cross-tenant trust, and explanations go to logs and the audit trail.
MASKED_KEYS = frozenset({"sts:externalid"})
MASK = "[masked]"

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EPOCH = re.compile(r"[+-]?[0-9]+")
_OPS = ConditionOperator


@lru_cache(maxsize=4096)
def _parse_number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text.strip()) else None


@lru_cache(maxsize=4096)
def _parse_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 date/time or an epoch number; ``None`` if invalid."""
    if _EPOCH.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=4096)
def _parse_network(text: str) -> _IPNetwork | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _parse_address(text: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _glob(parts: Pieces) -> re.Pattern[str]:
    return compile_glob(parts)


def _string_equals(value: str, policy: str, _: Pieces) -> bool:
    return value == policy


def _string_equals_ignore_case(value: str, policy: str, _: Pieces) -> bool:
    return value.casefold() == policy.casefold()


def _string_like(value: str, _: str, parts: Pieces) -> bool:
    return _glob(parts).fullmatch(value) is not None


def _numeric(test: Callable[[float, float], bool]) -> Comparator:
    def compare(value: str, policy: str, _: Pieces) -> bool | None:
        left, right = _parse_number(value), _parse_number(policy)
        if left is None or right is None or math.isnan(left) or math.isnan(right):
            return None
        return test(left, right)

    return compare


def _date(test: Callable[[float, float], bool]) -> Comparator:
    def compare(value: str, policy: str, _: Pieces) -> bool | None:
        left, right = _parse_date(value), _parse_date(policy)
        if left is None or right is None:
            return None
        return test(left, right)

    return compare


def _bool(value: str, policy: str, _: Pieces) -> bool | None:
    left, right = value.lower(), policy.lower()
    if left not in ("true", "false") or right not in ("true", "false"):
        return None
    return left == right


def _binary(value: str, policy: str, _: Pieces) -> bool:
    return value == policy


def _ip(value: str, policy: str, _: Pieces) -> bool | None:
    address, network = _parse_address(value), _parse_network(policy)
    if address is None or network is None:
        return None
    return address.version == network.version and address in network


@lru_cache(maxsize=4096)
def _arn_pattern(parts: Pieces) -> ArnPattern:
    return compile_arn(parts, pad_short=False)


def _arn(value: str, _: str, parts: Pieces) -> bool | None:
    """ARN operators; a request or policy value that is not a full ARN is invalid."""
    normalized = normalize_arn(value)
    pattern = _arn_pattern(parts)
    if normalized is None or pattern.is_void:
        return None
    return pattern.matches(normalized)


def _equal(left: float, right: float) -> bool:
    return left == right


def _less(left: float, right: float) -> bool:
    return left < right


def _less_equal(left: float, right: float) -> bool:
    return left <= right


def _greater(left: float, right: float) -> bool:
    return left > right


def _greater_equal(left: float, right: float) -> bool:
    return left >= right


#: Each operator's comparator; a negated operator uses its positive twin's.
_COMPARATORS: Mapping[ConditionOperator, Comparator] = {
    _OPS.STRING_EQUALS: _string_equals,
    _OPS.STRING_NOT_EQUALS: _string_equals,
    _OPS.STRING_EQUALS_IGNORE_CASE: _string_equals_ignore_case,
    _OPS.STRING_NOT_EQUALS_IGNORE_CASE: _string_equals_ignore_case,
    _OPS.STRING_LIKE: _string_like,
    _OPS.STRING_NOT_LIKE: _string_like,
    _OPS.NUMERIC_EQUALS: _numeric(_equal),
    _OPS.NUMERIC_NOT_EQUALS: _numeric(_equal),
    _OPS.NUMERIC_LESS_THAN: _numeric(_less),
    _OPS.NUMERIC_LESS_THAN_EQUALS: _numeric(_less_equal),
    _OPS.NUMERIC_GREATER_THAN: _numeric(_greater),
    _OPS.NUMERIC_GREATER_THAN_EQUALS: _numeric(_greater_equal),
    _OPS.DATE_EQUALS: _date(_equal),
    _OPS.DATE_NOT_EQUALS: _date(_equal),
    _OPS.DATE_LESS_THAN: _date(_less),
    _OPS.DATE_LESS_THAN_EQUALS: _date(_less_equal),
    _OPS.DATE_GREATER_THAN: _date(_greater),
    _OPS.DATE_GREATER_THAN_EQUALS: _date(_greater_equal),
    _OPS.BOOL: _bool,
    _OPS.BINARY_EQUALS: _binary,
    _OPS.IP_ADDRESS: _ip,
    _OPS.NOT_IP_ADDRESS: _ip,
    _OPS.ARN_EQUALS: _arn,
    _OPS.ARN_LIKE: _arn,
    _OPS.ARN_NOT_EQUALS: _arn,
    _OPS.ARN_NOT_LIKE: _arn,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionOutcome:
    """How one condition fared in one request, for explanations.

    ``request_values`` is ``None`` when the key is missing; ``policy_values`` are the values
    after variable substitution (``None`` for an entry whose variable could not be resolved).
    Values of ``sts:ExternalId`` are shown as ``[masked]``.
    """

    operator: str
    key: str
    request_values: tuple[str, ...] | None
    policy_values: tuple[str | None, ...]
    is_match: bool
    reason: str


class CompiledCondition:
    """One condition, ready to test against a request context."""

    __slots__ = (
        "comparator",
        "condition",
        "is_negated",
        "key",
        "operator_name",
        "static_texts",
        "static_values",
        "templates",
    )

    def __init__(self, condition: Condition, *, has_variables: bool) -> None:
        self.condition = condition
        self.key = condition.key.lower()
        self.operator_name = condition.operator_name
        self.templates: tuple[Template, ...] = tuple(
            parse_template(value, has_variables=has_variables) for value in condition.values
        )
        operator = condition.operator
        self.comparator = _COMPARATORS.get(operator)
        self.is_negated = operator.is_negated
        # Values without variables are resolved once, here, not per request.
        self.static_values: list[tuple[str, Pieces] | None] | None = None
        self.static_texts: tuple[str | None, ...] | None = None
        if not any(template.has_variables for template in self.templates):
            self.static_values = [
                (template.plain_text, template.pieces) for template in self.templates
            ]
            self.static_texts = tuple(template.plain_text for template in self.templates)

    def _resolve(self, context: Context) -> list[tuple[str, Pieces] | None]:
        if self.static_values is not None:
            return self.static_values
        resolved: list[tuple[str, Pieces] | None] = []
        for template in self.templates:
            parts = template.resolve(context)
            if parts is UNRESOLVED or not isinstance(parts, tuple):
                resolved.append(None)
            else:
                resolved.append(("".join(text for text, _ in parts), parts))
        return resolved

    def _matches_one(self, value: str, policy_values: list[tuple[str, Pieces] | None]) -> bool:
        """Positive operator: any value matches. Negated: none matches and nothing is invalid."""
        comparator = self.comparator
        if comparator is None:  # Only Null has no comparator, and it never comes here.
            return False
        if self.is_negated:
            for entry in policy_values:
                if entry is None:
                    return False
                outcome = comparator(value, entry[0], entry[1])
                if outcome is None or outcome:
                    return False
            return True
        for entry in policy_values:
            if entry is not None and comparator(value, entry[0], entry[1]):
                return True
        return False

    def _null(self, values: tuple[str, ...] | None) -> bool:
        is_missing = values is None or len(values) == 0
        for template in self.templates:
            wanted = template.plain_text.lower()
            if (wanted == "true" and is_missing) or (wanted == "false" and not is_missing):
                return True
        return False

    def evaluate(self, context: Context) -> bool:
        """Whether the condition holds for the request."""
        return self._evaluate(context, context.get(self.key), None)

    def _evaluate(
        self,
        context: Context,
        values: tuple[str, ...] | None,
        policy_values: list[tuple[str, Pieces] | None] | None,
    ) -> bool:
        condition = self.condition
        if condition.operator is _OPS.NULL:
            return self._null(values)
        if values is None or len(values) == 0:
            if condition.if_exists or condition.qualifier is SetQualifier.FOR_ALL_VALUES:
                return True
            if condition.qualifier is SetQualifier.FOR_ANY_VALUE:
                return False
            return self.is_negated
        if policy_values is None:
            policy_values = self._resolve(context)
        if len(values) == 1:
            # One request value: every set qualifier reduces to testing it.
            return self._matches_one(values[0], policy_values)
        if condition.qualifier is SetQualifier.FOR_ALL_VALUES:
            return all(self._matches_one(value, policy_values) for value in values)
        if condition.qualifier is SetQualifier.FOR_ANY_VALUE:
            return any(self._matches_one(value, policy_values) for value in values)
        if self.is_negated:
            return all(self._matches_one(value, policy_values) for value in values)
        return any(self._matches_one(value, policy_values) for value in values)

    def explain(self, context: Context) -> ConditionOutcome:
        """The outcome with the resolved values and a one-line reason."""
        values = context.get(self.key)
        policy_values = self._resolve(context)
        is_match = self._evaluate(context, values, policy_values)
        resolved = self.static_texts
        if resolved is None:
            resolved = tuple([None if entry is None else entry[0] for entry in policy_values])
        if values is None or len(values) == 0:
            reason = f"key {self.condition.key} is missing from the request"
        elif None in resolved:
            reason = "a policy value holds a variable the request does not resolve"
        elif is_match:
            reason = "the request value matches"
        else:
            reason = "the request value does not match"
        if self.key in MASKED_KEYS:
            values = None if values is None else tuple(MASK for _ in values)
            resolved = tuple(MASK for _ in resolved)
        return ConditionOutcome(
            operator=self.operator_name,
            key=self.condition.key,
            request_values=values,
            policy_values=resolved,
            is_match=is_match,
            reason=reason,
        )


def compile_condition(condition: Condition, *, has_variables: bool) -> CompiledCondition:
    """Compile one condition of a policy (``has_variables``: the document substitutes ``${}``)."""
    return CompiledCondition(condition, has_variables=has_variables)
