"""Compile policies once into matchers, and index a policy set by action.

A :class:`CompiledStatement` holds everything a decision needs with no further parsing: action
patterns as a set of exact lower-cased names, prefixes for ``s3:Get*`` and precompiled regexes
for the rest; resource patterns as a set of normalised ARNs, prefixes for ``.../*`` and regexes
(templates with variables are compiled per request, after a check of their literal prefix, and
cached); the principal element as sets; and compiled conditions.

A :class:`CompiledPolicySet` indexes the statements of every policy of a set by action: exact
action names in a dict, patterns with a literal service (``s3:Get*``) by service, and the rest
(``*``, ``NotAction``) in one list that every request scans. The statements that can apply to an
action are computed once per action and cached, already split into denies (checked first) and
allows grouped by the gate they belong to.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from lakevault.iam._conditions import CompiledCondition, compile_condition
from lakevault.iam._match import ArnPattern, compile_arn, compile_glob, has_wildcard
from lakevault.iam._policy import Policy, PrincipalEntry, Statement
from lakevault.iam._request import EvaluationRequest, Principal
from lakevault.iam._types import Effect, PolicyKind, PrincipalKind, PrincipalType
from lakevault.iam._variables import UNRESOLVED, Pieces, Template, parse_template

__all__ = [
    "CompiledPolicy",
    "CompiledPolicySet",
    "CompiledStatement",
    "PrincipalMatch",
    "StatementRef",
    "compile_policy",
]

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ROOT_ARN = re.compile(r"arn:[^:]+:iam::([0-9]{12}):root")
#: Kinds whose short resource ARNs are padded with ``*`` (rule R12).
_PADDING_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.PERMISSION_BOUNDARY, PolicyKind.SESSION}
)
#: Kinds where a short resource ARN matches only if it holds a wildcard (rule R12).
_WILDCARD_PADDING_KINDS = frozenset(
    {PolicyKind.RESOURCE, PolicyKind.ENDPOINT, PolicyKind.GUARDRAIL}
)
_CANDIDATE_CACHE_SIZE = 4096
#: ``CompiledPolicySet.gate_of`` for identity and resource statements; gates count from 0.
IDENTITY_GATE = -2
RESOURCE_GATE = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementRef:
    """Names one statement in decisions and audit events: policy, ``Sid``, position, effect."""

    policy_id: str
    sid: str
    index: int
    effect: Effect


class PrincipalMatch(enum.IntEnum):
    """How a ``Principal`` element names the caller, weakest first.

    ``ACCOUNT`` (the caller's tenant) delegates to the tenant's identity policies; ``ROLE`` (the
    role of a session, or the role itself) grants but leaves the role's boundary in force;
    ``DIRECT`` (the exact user or session, a service, or ``*``) grants past a boundary in the
    same tenant (rule R3).
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


class PrincipalMatcher:
    """A ``Principal``/``NotPrincipal`` element as sets."""

    __slots__ = ("accounts", "arns", "is_any", "others", "services")

    def __init__(self, entries: Sequence[PrincipalEntry]) -> None:
        self.is_any = False
        arns: set[str] = set()
        accounts: set[str] = set()
        services: set[str] = set()
        others: set[str] = set()
        for entry in entries:
            if entry.type is PrincipalType.ANY or (
                entry.type is PrincipalType.AWS and entry.value == "*"
            ):
                self.is_any = True
            elif entry.type is PrincipalType.AWS:
                root = _ROOT_ARN.fullmatch(entry.value)
                if root is not None:
                    accounts.add(root.group(1))
                elif _ACCOUNT_ID.fullmatch(entry.value):
                    accounts.add(entry.value)
                else:
                    arns.add(entry.value)
            elif entry.type is PrincipalType.SERVICE:
                services.add(entry.value)
            else:
                others.add(entry.value)
        self.arns = frozenset(arns)
        self.accounts = frozenset(accounts)
        self.services = frozenset(services)
        self.others = frozenset(others)

    def match(self, principal: Principal) -> PrincipalMatch:
        """How strongly this element names ``principal``."""
        if self.is_any:
            return PrincipalMatch.DIRECT
        kind = principal.kind
        if kind is PrincipalKind.ANONYMOUS:
            return PrincipalMatch.NONE
        if kind is PrincipalKind.SERVICE:
            return PrincipalMatch.DIRECT if principal.arn in self.services else PrincipalMatch.NONE
        if principal.arn in self.arns or principal.arn in self.others:
            return PrincipalMatch.ROLE if kind is PrincipalKind.ROLE else PrincipalMatch.DIRECT
        if kind is PrincipalKind.ROLE_SESSION and principal.session_role_arn in self.arns:
            return PrincipalMatch.ROLE
        if principal.account in self.accounts:
            return PrincipalMatch.ACCOUNT
        return PrincipalMatch.NONE


class ActionPattern:
    """A lower-cased action pattern with a wildcard: a prefix test for the common ``s3:Get*``,
    a regex otherwise."""

    __slots__ = ("prefix", "regex", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        is_prefix = text.endswith("*") and not has_wildcard(text[:-1])
        self.prefix = text[:-1] if is_prefix else None
        self.regex = None if is_prefix else compile_glob(((text, True),))

    def matches(self, action: str) -> bool:
        """Whether the lower-cased action matches."""
        if self.prefix is not None:
            return action.startswith(self.prefix)
        return self.regex is not None and self.regex.fullmatch(action) is not None


@lru_cache(maxsize=8192)
def _variable_arn(parts: Pieces, pad_short: bool) -> ArnPattern:
    return compile_arn(parts, pad_short=pad_short)


def _literal_prefix(text: str) -> str:
    """The normalised literal start of a resource pattern, up to its first variable or wildcard;
    every ARN it matches starts with it."""
    cut = len(text)
    for marker in ("${", "*", "?"):
        found = text.find(marker)
        if found != -1:
            cut = min(cut, found)
    prefix = text[:cut]
    parts = prefix.split(":", 5)
    if len(parts) < 6:
        return prefix.lower()
    return ":".join(part.lower() for part in parts[:5]) + ":" + parts[5]


class ResourceMatcher:
    """A ``Resource``/``NotResource`` element: ``*``, exact ARNs, regexes and templates."""

    __slots__ = ("exact", "has_star", "kind", "prefixes", "regexes", "templates")

    def __init__(self, patterns: Sequence[str], *, kind: PolicyKind, has_variables: bool) -> None:
        self.kind = kind
        self.has_star = "*" in patterns
        exact: set[str] = set()
        prefixes: list[str] = []
        regexes: list[re.Pattern[str]] = []
        templates: list[tuple[str, Template]] = []
        for text in patterns:
            if text == "*":
                continue
            if has_variables and "${" in text:
                template = parse_template(text, has_variables=True)
                if template.has_variables:
                    templates.append((_literal_prefix(text), template))
                    continue
                pieces = template.pieces
            else:
                pieces = ((text, True),)
            pattern = compile_arn(pieces, pad_short=self.pads(text))
            if pattern.exact is not None:
                exact.add(pattern.exact)
            elif pattern.prefix is not None:
                prefixes.append(pattern.prefix)
            elif pattern.regex is not None:
                regexes.append(pattern.regex)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.regexes = tuple(regexes)
        self.templates = tuple(templates)

    def pads(self, text: str) -> bool:
        """Rule R12: whether a short ARN is padded with ``*`` (otherwise it matches nothing)."""
        if self.kind in _PADDING_KINDS:
            return True
        return self.kind in _WILDCARD_PADDING_KINDS and has_wildcard(text)

    def contains(self, request: EvaluationRequest) -> bool:
        """Whether the request's resource is among the patterns."""
        if self.has_star:
            return True
        normalized = request.normalized_resource
        if normalized is None:
            return False
        if normalized in self.exact:
            return True
        if self.prefixes and normalized.startswith(self.prefixes):
            return True
        for regex in self.regexes:
            if regex.fullmatch(normalized) is not None:
                return True
        for prefix, template in self.templates:
            if not normalized.startswith(prefix):
                continue  # The text before the first variable or wildcard already differs.
            parts = template.resolve(request.normalized_context)
            if parts is UNRESOLVED or not isinstance(parts, tuple):
                continue
            if _variable_arn(parts, self.pads(template.text)).matches(normalized):
                return True
        return False


class CompiledStatement:
    """One statement, compiled once per policy and shared by every set holding the policy."""

    __slots__ = (
        "action_exact",
        "action_patterns",
        "conditions",
        "has_principal_element",
        "is_allow",
        "is_guardrail",
        "is_not_action",
        "is_not_principal",
        "is_not_resource",
        "kind",
        "needs_principal",
        "principals",
        "ref",
        "resources",
        "scope",
        "statement",
    )

    def __init__(self, statement: Statement, policy: Policy) -> None:
        self.statement = statement
        self.kind = policy.kind
        self.scope = policy.scope
        self.is_guardrail = policy.kind is PolicyKind.GUARDRAIL
        # A resource-policy statement must name a principal to apply (rule R13).
        self.needs_principal = policy.kind is PolicyKind.RESOURCE
        self.is_allow = statement.effect is Effect.ALLOW
        self.ref = StatementRef(
            policy_id=policy.policy_id,
            sid=statement.sid,
            index=statement.index,
            effect=statement.effect,
        )
        self.is_not_action = statement.actions is None
        action_patterns = (
            statement.actions if statement.actions is not None else statement.not_actions or ()
        )
        self.action_exact = frozenset(p.lower() for p in action_patterns if not has_wildcard(p))
        self.action_patterns = tuple(
            ActionPattern(p.lower()) for p in action_patterns if has_wildcard(p)
        )
        self.is_not_resource = statement.not_resources is not None
        resource_patterns = (
            statement.resources if statement.resources is not None else statement.not_resources
        )
        self.resources = (
            None
            if resource_patterns is None
            else ResourceMatcher(
                resource_patterns, kind=policy.kind, has_variables=policy.has_variables
            )
        )
        principal_entries = (
            statement.principals if statement.principals is not None else statement.not_principals
        )
        self.has_principal_element = principal_entries is not None and policy.kind.names_principals
        self.is_not_principal = statement.not_principals is not None
        self.principals = (
            PrincipalMatcher(principal_entries)
            if principal_entries is not None and policy.kind.names_principals
            else None
        )
        self.conditions: tuple[CompiledCondition, ...] = tuple(
            compile_condition(condition, has_variables=policy.has_variables)
            for condition in statement.conditions
        )

    def matches_action(self, action: str) -> bool:
        """Whether the (lower-cased) action is covered, honouring ``NotAction``."""
        listed = action in self.action_exact or any(
            pattern.matches(action) for pattern in self.action_patterns
        )
        return listed != self.is_not_action

    def principal_match(self, principal: Principal, *, has_boundary: bool) -> PrincipalMatch:
        """How the statement names the caller; ``DIRECT`` for kinds without principals.

        A resource-policy statement without a principal element never applies (rule R13).
        ``NotPrincipal`` applies to everyone not listed, with AWS's exception: a ``Deny`` with
        ``NotPrincipal`` also applies to a listed caller that has a permission boundary.
        """
        matcher = self.principals
        if matcher is None:
            if self.kind is PolicyKind.RESOURCE:
                return PrincipalMatch.NONE
            return PrincipalMatch.DIRECT
        if not self.is_not_principal:
            return matcher.match(principal)
        if not self.is_allow and has_boundary:
            return PrincipalMatch.DIRECT
        return PrincipalMatch.NONE if matcher.match(principal) else PrincipalMatch.DIRECT


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """The compiled statements of one policy."""

    statements: tuple[CompiledStatement, ...]


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile ``policy`` once; later calls return the same object (kept on the policy)."""
    cached = policy._compiled
    if isinstance(cached, CompiledPolicy):
        return cached
    compiled = CompiledPolicy(
        tuple(CompiledStatement(statement, policy) for statement in policy.statements)
    )
    object.__setattr__(policy, "_compiled", compiled)
    return compiled


@dataclass(frozen=True, slots=True)
class Candidates:
    """The statements whose action matches one action: denies, and allows by where they count
    (``gate_allows`` is indexed like ``CompiledPolicySet.gates``)."""

    denies: tuple[CompiledStatement, ...]
    identity_allows: tuple[CompiledStatement, ...]
    resource_allows: tuple[CompiledStatement, ...]
    gate_allows: tuple[tuple[CompiledStatement, ...], ...]
    unmatched_count: int
    ordered: tuple[CompiledStatement, ...]


class CompiledPolicySet:
    """Every statement of a policy set, indexed by action. Built once per policy set.

    Compiled statements are shared with their ``Policy`` (never copied); what depends on the
    set — a statement's position and gate — lives here, keyed by the statement's position.
    """

    def __init__(self, groups: Sequence[tuple[PolicyKind, int, str, Sequence[Policy]]]) -> None:
        """``groups`` are ``(kind, level, scope, policies)``; every kind other than identity and
        resource is a gate, one per ``(kind, level)``."""
        self.statements: list[CompiledStatement] = []
        self.gate_of: list[int] = []
        self.gates: list[tuple[PolicyKind, int, str]] = []
        self.has_boundary = False
        for kind, level, scope, policies in groups:
            if kind is PolicyKind.IDENTITY:
                gate = IDENTITY_GATE
            elif kind is PolicyKind.RESOURCE:
                gate = RESOURCE_GATE
            else:
                gate = len(self.gates)
                self.gates.append((kind, level, scope))
                self.has_boundary = self.has_boundary or kind is PolicyKind.PERMISSION_BOUNDARY
            for policy in policies:
                compiled = compile_policy(policy).statements
                self.statements.extend(compiled)
                self.gate_of.extend([gate] * len(compiled))
        self.exact: dict[str, list[int]] = {}
        self.by_service: dict[str, list[tuple[int, ActionPattern]]] = {}
        # Statements whose action patterns need a scan on every new action: NotAction, and
        # patterns whose service part has a wildcard (``*``, ``s3*:Get``).
        self.scanned: list[int] = []
        for position, statement in enumerate(self.statements):
            self._index(position, statement)
        self._candidates: dict[str, Candidates] = {}

    def _index(self, position: int, statement: CompiledStatement) -> None:
        if statement.is_not_action:
            self.scanned.append(position)
            return
        for action in statement.action_exact:
            self.exact.setdefault(action, []).append(position)
        for pattern in statement.action_patterns:
            service, colon, _ = pattern.text.partition(":")
            if colon and not has_wildcard(service):
                self.by_service.setdefault(service, []).append((position, pattern))
            elif not self.scanned or self.scanned[-1] != position:
                self.scanned.append(position)

    def candidates(self, action: str) -> Candidates:
        """The statements that can apply to ``action`` (case-insensitive), cached per action."""
        lowered = action.lower()
        cached = self._candidates.get(lowered)
        if cached is not None:
            return cached
        statements = self.statements
        found: set[int] = set(self.exact.get(lowered, ()))
        service = lowered.partition(":")[0]
        for position, pattern in self.by_service.get(service, ()):
            if pattern.matches(lowered):
                found.add(position)
        for position in self.scanned:
            if statements[position].matches_action(lowered):
                found.add(position)
        positions = sorted(found)
        gate_allows: list[list[CompiledStatement]] = [[] for _ in self.gates]
        identity_allows: list[CompiledStatement] = []
        resource_allows: list[CompiledStatement] = []
        denies: list[CompiledStatement] = []
        for position in positions:
            statement = statements[position]
            gate = self.gate_of[position]
            if not statement.is_allow:
                denies.append(statement)
            elif gate == IDENTITY_GATE:
                identity_allows.append(statement)
            elif gate == RESOURCE_GATE:
                resource_allows.append(statement)
            else:
                gate_allows[gate].append(statement)
        result = Candidates(
            denies=tuple(denies),
            identity_allows=tuple(identity_allows),
            resource_allows=tuple(resource_allows),
            gate_allows=tuple(tuple(group) for group in gate_allows),
            unmatched_count=len(statements) - len(positions),
            ordered=tuple(statements[position] for position in positions),
        )
        if len(self._candidates) >= _CANDIDATE_CACHE_SIZE:
            self._candidates.clear()
        self._candidates[lowered] = result
        return result
