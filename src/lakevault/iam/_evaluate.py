"""Evaluation: from a request and a policy set to Allowed / ImplicitlyDenied / ExplicitlyDenied.

The order (AWS's evaluation logic; the decisions where AWS's sources disagree are recorded in
``docs/decisions/0022`` to ``0027``):

1. **Explicit deny wins.** A matching ``Deny`` in any policy that applies — identity, resource,
   permission boundary, session, guardrail, resource guardrail, endpoint — decides
   ``ExplicitlyDenied``. Denies are checked first; without an explanation the first one ends
   the evaluation.
2. **Every gate needs an Allow.** Each guardrail level (grouped by ``Policy.scope``), each
   resource-guardrail level, the endpoint policies, the session policy and the permission
   boundary must each contain a matching ``Allow``. Guardrails do not apply to anonymous callers
   or services (they restrict a tenant's own principals).
3. **A grant.** Same tenant: an Allow in an identity policy *or* in the resource policy grants.
   A resource policy that names the caller directly (user, session, service, or ``*``) grants
   past a permission boundary, but not past a session policy; one that names only the role of a
   session leaves the boundary in force; one that names only the tenant delegates to the
   tenant's identity policies (rule R3). Another tenant: both the identity policy and the
   resource policy must allow (R2). Key policies and role trust policies are authoritative:
   without their Allow nothing grants, and identity policies count only where they trust the
   tenant (R4).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from lakevault.core.errors import InvalidParameterValue
from lakevault.iam._compile import (
    CompiledPolicySet,
    CompiledStatement,
    PrincipalMatch,
    StatementRef,
)
from lakevault.iam._conditions import ConditionOutcome
from lakevault.iam._explain import Explanation, GateExplanation, StatementExplanation
from lakevault.iam._policy import Policy
from lakevault.iam._request import EvaluationRequest
from lakevault.iam._types import DecisionKind, PolicyKind, PrincipalKind

__all__ = ["Evaluation", "Evaluator", "PolicySet", "evaluate"]

_GUARDRAIL_EXEMPT = frozenset({PrincipalKind.ANONYMOUS, PrincipalKind.SERVICE})


def _levels(policies: tuple[Policy, ...]) -> list[tuple[str, list[Policy]]]:
    """Group guardrail policies into levels: same non-empty scope together, unscoped alone."""
    levels: list[tuple[str, list[Policy]]] = []
    by_scope: dict[str, list[Policy]] = {}
    for policy in policies:
        if policy.scope and policy.scope in by_scope:
            by_scope[policy.scope].append(policy)
            continue
        members = [policy]
        levels.append((policy.scope, members))
        if policy.scope:
            by_scope[policy.scope] = members
    return levels


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySet:
    """The policies that apply to one request, by the role they play.

    ``identity`` are the caller's identity policies (user, groups, role); ``resource`` the
    resource's policy (bucket, key, secret, or a role's trust policy); ``permission_boundaries``
    and ``session`` are gates — each field is one gate, allowed when any of its policies allows;
    ``guardrails`` (organization and tenant, like AWS SCPs) and ``resource_guardrails`` (like
    AWS RCPs) are grouped into levels by ``Policy.scope``, and every level must allow;
    ``endpoints`` are network-endpoint policies, one gate.

    The compiled index is built on first use and kept on the instance: reuse a ``PolicySet``
    (or give ``Evaluator`` a ``cache_key``) to compile once. Raises ``InvalidParameterValue``
    when a policy's ``kind`` does not fit its field.
    """

    identity: tuple[Policy, ...] = ()
    resource: tuple[Policy, ...] = ()
    permission_boundaries: tuple[Policy, ...] = ()
    session: tuple[Policy, ...] = ()
    guardrails: tuple[Policy, ...] = ()
    resource_guardrails: tuple[Policy, ...] = ()
    endpoints: tuple[Policy, ...] = ()
    _compiled: object = field(default=None, init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        for name, kind in _FIELD_KINDS:
            for policy in getattr(self, name):
                if policy.kind is not kind:
                    raise InvalidParameterValue(
                        f"policy {policy.policy_id or '(unnamed)'} has kind {policy.kind.value} "
                        f"but was given as {name}; expected kind {kind.value}"
                    )

    def groups(self) -> list[tuple[PolicyKind, int, str, list[Policy]]]:
        """``(kind, level, scope, policies)`` for every part of the set, gates included."""
        groups: list[tuple[PolicyKind, int, str, list[Policy]]] = [
            (PolicyKind.IDENTITY, 0, "", list(self.identity)),
            (PolicyKind.RESOURCE, 0, "", list(self.resource)),
        ]
        for name, kind in (
            ("permission_boundaries", PolicyKind.PERMISSION_BOUNDARY),
            ("session", PolicyKind.SESSION),
            ("endpoints", PolicyKind.ENDPOINT),
        ):
            policies: tuple[Policy, ...] = getattr(self, name)
            if policies:
                groups.append((kind, 0, "", list(policies)))
        for policies, kind in (
            (self.guardrails, PolicyKind.GUARDRAIL),
            (self.resource_guardrails, PolicyKind.RESOURCE_GUARDRAIL),
        ):
            for level, (scope, members) in enumerate(_levels(policies)):
                groups.append((kind, level, scope, members))
        return groups

    def compiled(self) -> CompiledPolicySet:
        """The compiled index of this set, built once."""
        cached = self._compiled
        if isinstance(cached, CompiledPolicySet):
            return cached
        compiled = CompiledPolicySet(self.groups())
        object.__setattr__(self, "_compiled", compiled)
        return compiled


_FIELD_KINDS = (
    ("identity", PolicyKind.IDENTITY),
    ("resource", PolicyKind.RESOURCE),
    ("permission_boundaries", PolicyKind.PERMISSION_BOUNDARY),
    ("session", PolicyKind.SESSION),
    ("guardrails", PolicyKind.GUARDRAIL),
    ("resource_guardrails", PolicyKind.RESOURCE_GUARDRAIL),
    ("endpoints", PolicyKind.ENDPOINT),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """The outcome. ``deciding_statements`` are the Deny that decided, or the Allows that granted
    and satisfied each gate; empty for an implicit deny. ``explanation`` is set only when asked.
    """

    decision: DecisionKind
    deciding_statements: tuple[StatementRef, ...] = ()
    explanation: Explanation | None = None

    @property
    def is_allowed(self) -> bool:
        """Whether the request may proceed."""
        return self.decision is DecisionKind.ALLOWED


def _is_authoritative_resource(request: EvaluationRequest) -> bool:
    """Whether the resource policy must allow even in the same tenant (rule R4): KMS keys for
    ``kms:`` actions, and roles for ``sts:AssumeRole*`` (their trust policy)."""
    normalized = request.normalized_resource
    if normalized is None:
        return False
    parts = normalized.split(":", 5)
    action = request.action.lower()
    if action.startswith("sts:assumerole"):
        return parts[2] == "iam" and parts[5].startswith("role/")
    return action.startswith("kms:") and parts[2] == "kms" and parts[5].startswith("key/")


_PRINCIPAL_TEXT = {how: how.name.lower() for how in PrincipalMatch}


class _Run:
    """One evaluation: lazily finds the statements that apply, caching per statement."""

    __slots__ = ("candidates", "has_boundary", "is_guardrail_exempt", "memo", "request")

    def __init__(self, request: EvaluationRequest, compiled: CompiledPolicySet) -> None:
        self.request = request
        self.candidates = compiled.candidates(request.action)
        self.has_boundary = compiled.has_boundary
        kind = request.principal.kind
        self.is_guardrail_exempt = kind is PrincipalKind.ANONYMOUS or kind is PrincipalKind.SERVICE
        #: Filled by an explanation, which has looked at every candidate already.
        self.memo: dict[CompiledStatement, PrincipalMatch] = {}

    def match(self, statement: CompiledStatement) -> PrincipalMatch:
        """How the statement applies: ``NONE`` unless principal, resource and conditions match."""
        memo = self.memo
        if memo:
            return memo[statement]
        if statement.is_guardrail and self.is_guardrail_exempt:
            return PrincipalMatch.NONE
        if statement.principals is None and not statement.needs_principal:
            how = PrincipalMatch.DIRECT
        else:
            how = statement.principal_match(self.request.principal, has_boundary=self.has_boundary)
            if how is PrincipalMatch.NONE:
                return how
        request = self.request
        # No resource element (a trust policy) covers everything; NotResource inverts the test.
        resources = statement.resources
        if resources is not None and resources.contains(request) is statement.is_not_resource:
            return PrincipalMatch.NONE
        # Conditions AND together (rule R6).
        context = request.normalized_context
        for condition in statement.conditions:
            if not condition.evaluate(context):
                return PrincipalMatch.NONE
        return how

    def first_allow(self, statements: tuple[CompiledStatement, ...]) -> CompiledStatement | None:
        for statement in statements:
            if self.match(statement) is not PrincipalMatch.NONE:
                return statement
        return None

    def best_resource_allow(self) -> tuple[PrincipalMatch, CompiledStatement | None]:
        best, chosen = PrincipalMatch.NONE, None
        for statement in self.candidates.resource_allows:
            how = self.match(statement)
            if how > best:
                best, chosen = how, statement
                if how is PrincipalMatch.DIRECT:
                    break
        return best, chosen


def _decide(
    run: _Run, compiled: CompiledPolicySet, *, explain: bool
) -> tuple[DecisionKind, tuple[StatementRef, ...], dict[int, bool]]:
    request = run.request
    candidates = run.candidates
    has_boundary = run.has_boundary
    denies = []
    for statement in candidates.denies:
        if run.match(statement) is not PrincipalMatch.NONE:
            denies.append(statement.ref)
            if not explain:
                break
    gate_results: dict[int, bool] = {}
    if denies and not explain:
        return DecisionKind.EXPLICITLY_DENIED, tuple(denies), gate_results

    granting: list[StatementRef] = []
    is_gated_open = True
    boundary: CompiledStatement | None = None
    for gate, (kind, _, _) in enumerate(compiled.gates):
        if kind is PolicyKind.GUARDRAIL and run.is_guardrail_exempt:
            continue
        allow = run.first_allow(candidates.gate_allows[gate])
        gate_results[gate] = allow is not None
        if kind is PolicyKind.PERMISSION_BOUNDARY:
            boundary = allow
            continue
        if allow is None:
            is_gated_open = False
            if not explain:
                break
        else:
            granting.append(allow.ref)

    is_granted = False
    if is_gated_open or explain:
        is_granted = _grant(request, run, boundary, granting, has_boundary=has_boundary)
    if denies:
        return DecisionKind.EXPLICITLY_DENIED, tuple(denies), gate_results
    if is_gated_open and is_granted:
        return DecisionKind.ALLOWED, tuple(granting), gate_results
    return DecisionKind.IMPLICITLY_DENIED, (), gate_results


def _grant(
    request: EvaluationRequest,
    run: _Run,
    boundary: CompiledStatement | None,
    granting: list[StatementRef],
    *,
    has_boundary: bool,
) -> bool:
    """Rules R2 to R4: whether identity and resource policies grant; appends what granted."""
    principal = request.principal
    resource_match, resource_statement = run.best_resource_allow()
    if not principal.account or principal.kind in _GUARDRAIL_EXEMPT:
        if resource_statement is not None:
            granting.append(resource_statement.ref)
        return resource_match is not PrincipalMatch.NONE
    identity_statement = run.first_allow(run.candidates.identity_allows)
    is_boundary_open = not has_boundary or boundary is not None
    if boundary is not None:
        granting.append(boundary.ref)
    if request.is_cross_account:
        if identity_statement is None or resource_statement is None or not is_boundary_open:
            return False
        granting.extend((identity_statement.ref, resource_statement.ref))
        return True
    if _is_authoritative_resource(request):
        is_via_identity = identity_statement is not None and resource_statement is not None
    else:
        is_via_identity = identity_statement is not None
    if is_via_identity and is_boundary_open and identity_statement is not None:
        granting.append(identity_statement.ref)
        if resource_statement is not None and resource_match is PrincipalMatch.ACCOUNT:
            granting.append(resource_statement.ref)
        return True
    is_via_resource = resource_match >= PrincipalMatch.ROLE and resource_statement is not None
    is_past_boundary = is_boundary_open or resource_match is PrincipalMatch.DIRECT
    if is_via_resource and is_past_boundary and resource_statement is not None:
        granting.append(resource_statement.ref)
        return True
    return False


def _detail(run: _Run) -> tuple[tuple[StatementExplanation, ...], tuple[StatementRef, ...]]:
    """Look at every candidate once, for the explanation; fills ``run.memo`` so that the
    decision that follows reuses the outcomes instead of recomputing them."""
    request = run.request
    context = request.normalized_context
    principal = request.principal
    statements = []
    elsewhere: list[StatementRef] = []
    memo: dict[CompiledStatement, PrincipalMatch] = {}
    for statement in run.candidates.ordered:
        memo[statement] = PrincipalMatch.NONE
        resources = statement.resources
        if resources is not None and resources.contains(request) is statement.is_not_resource:
            # About another resource: named, not detailed (it could not apply whatever else).
            elsewhere.append(statement.ref)
            continue
        if statement.principals is None and not statement.needs_principal:
            how = PrincipalMatch.DIRECT
            principal_text = "n/a"
        else:
            how = statement.principal_match(principal, has_boundary=run.has_boundary)
            principal_text = _PRINCIPAL_TEXT[how]
        conditions: tuple[ConditionOutcome, ...] = ()
        is_applicable = False
        # Conditions are only worth reporting where the principal matched too: elsewhere the
        # statement could not apply whatever they say.
        if how is not PrincipalMatch.NONE:
            conditions = tuple([condition.explain(context) for condition in statement.conditions])
            is_applicable = not (statement.is_guardrail and run.is_guardrail_exempt)
            for outcome in conditions:
                if not outcome.is_match:
                    is_applicable = False
                    break
        if is_applicable:
            memo[statement] = how
        statements.append(
            StatementExplanation(
                statement=statement.ref,
                policy_kind=statement.kind,
                scope=statement.scope,
                principal_match=principal_text,
                conditions=conditions,
                is_applicable=is_applicable,
            )
        )
    run.memo = memo
    return tuple(statements), tuple(elsewhere)


def _explain(run: _Run, compiled: CompiledPolicySet) -> tuple[Explanation, Evaluation]:
    """Decide with every candidate examined, and say why."""
    statements, elsewhere = _detail(run)
    decision, deciding, gate_results = _decide(run, compiled, explain=True)
    gates = tuple(
        GateExplanation(
            policy_kind=kind,
            level=level,
            scope=scope,
            is_satisfied=gate_results.get(gate, True),
        )
        for gate, (kind, level, scope) in enumerate(compiled.gates)
    )
    explanation = Explanation(
        decision=decision,
        statements=statements,
        statements_for_other_resources=elsewhere,
        unmatched_statement_count=run.candidates.unmatched_count,
        gates=gates,
        deciding_statements=deciding,
        hints=_hints(
            run.request,
            decision,
            deciding=deciding,
            statements=statements,
            elsewhere=elsewhere,
            gates=gates,
        ),
    )
    evaluation = Evaluation(
        decision=decision, deciding_statements=deciding, explanation=explanation
    )
    return explanation, evaluation


def _hints(
    request: EvaluationRequest,
    decision: DecisionKind,
    *,
    deciding: tuple[StatementRef, ...],
    statements: tuple[StatementExplanation, ...],
    elsewhere: tuple[StatementRef, ...],
    gates: tuple[GateExplanation, ...],
) -> tuple[str, ...]:
    """What would change the outcome of a denial, in plain words."""
    if decision is DecisionKind.ALLOWED:
        return ()
    if decision is DecisionKind.EXPLICITLY_DENIED:
        return tuple(
            f"statement {ref.sid or ref.index} of policy {ref.policy_id or '(unnamed)'} denies "
            "explicitly; no Allow can override it — change or remove that Deny"
            for ref in deciding
        )
    hints: list[str] = []
    for gate in gates:
        if not gate.is_satisfied:
            where = f" (scope {gate.scope})" if gate.scope else ""
            hints.append(
                f"the {gate.policy_kind.value} policy level {gate.level}{where} has no Allow for "
                f"{request.action} on {request.resource}: every gate must allow as well"
            )
    for explained in statements:
        if explained.statement.effect.value != "Allow" or explained.is_applicable:
            continue
        failed = [
            f"condition {outcome.operator} on {outcome.key} ({outcome.reason})"
            for outcome in explained.conditions
            if not outcome.is_match
        ]
        if explained.principal_match == "none":
            failed.insert(0, "its principal")
        name = explained.statement.sid or explained.statement.index
        policy_name = explained.statement.policy_id or "(unnamed)"
        hints.append(
            f"statement {name} of policy {policy_name} would allow, "
            f"but {', '.join(failed) or 'the grant rules'} did not match"
        )
    other_allows = [ref for ref in elsewhere if ref.effect.value == "Allow"]
    if other_allows:
        names = ", ".join(
            f"{ref.policy_id or '(unnamed)'}#{ref.sid or ref.index}" for ref in other_allows[:5]
        )
        more = f" and {len(other_allows) - 5} more" if len(other_allows) > 5 else ""
        hints.append(
            f"statements allowing {request.action} on other resources: {names}{more}; "
            f"add {request.resource} to the Resource of one of them"
        )
    grants = [s for s in statements if s.statement.effect.value == "Allow" and s.is_applicable]
    if not grants:
        where = "an identity policy"
        if request.is_cross_account:
            where = "an identity policy and the resource policy (the caller is in another tenant)"
        elif _is_authoritative_resource(request):
            where = (
                "the resource policy (key and trust policies must name the caller or its tenant)"
            )
        hints.append(f"add an Allow for {request.action} on {request.resource} to {where}")
    return tuple(hints)


class Evaluator:
    """Evaluates requests, keeping compiled policy sets.

    A ``PolicySet`` keeps its own compiled index; the evaluator adds an LRU of sets by a caller
    key (``(principal ARN, policy version)``, say) so that a gate rebuilding ``PolicySet`` objects
    still compiles once. A key is only a hint: on a hit the cached set must equal the given one,
    else it is recompiled, so a stale key can never yield a stale decision.
    """

    def __init__(self, *, max_cached_sets: int = 1024) -> None:
        self._max_cached_sets = max_cached_sets
        self._cache: OrderedDict[Hashable, PolicySet] = OrderedDict()

    def compile(
        self, policies: PolicySet, *, cache_key: Hashable | None = None
    ) -> CompiledPolicySet:
        """The compiled index for ``policies``, from cache when possible."""
        if cache_key is None:
            return policies.compiled()
        cached = self._cache.get(cache_key)
        if cached is not None and (cached is policies or cached == policies):
            self._cache.move_to_end(cache_key)
            return cached.compiled()
        self._cache[cache_key] = policies
        self._cache.move_to_end(cache_key)
        while len(self._cache) > self._max_cached_sets:
            self._cache.popitem(last=False)
        return policies.compiled()

    def evaluate(
        self,
        request: EvaluationRequest,
        policies: PolicySet,
        *,
        explain: bool = False,
        cache_key: Hashable | None = None,
    ) -> Evaluation:
        """Decide ``request`` against ``policies``; with ``explain`` also say why."""
        compiled = self.compile(policies, cache_key=cache_key)
        run = _Run(request, compiled)
        if explain:
            return _explain(run, compiled)[1]
        decision, deciding, _ = _decide(run, compiled, explain=False)
        return Evaluation(decision=decision, deciding_statements=deciding)


_DEFAULT_EVALUATOR = Evaluator()


def evaluate(
    request: EvaluationRequest, policies: PolicySet, *, explain: bool = False
) -> Evaluation:
    """Decide ``request`` with the module's default :class:`Evaluator`."""
    return _DEFAULT_EVALUATOR.evaluate(request, policies, explain=explain)
