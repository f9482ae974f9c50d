"""The policy engine: AWS-IAM-compatible policies, evaluated exactly, explained, and fast.

Parse a document once with :func:`parse_policy`, put the policies of a request in a
:class:`PolicySet`, and ask :func:`evaluate` (or an :class:`Evaluator`) about an
:class:`EvaluationRequest`. Pure: no I/O, no clock, no environment — ``aws:CurrentTime`` and
every other context key come from the request. See ``docs/policies.md``.
"""

from lakevault.iam._compile import StatementRef
from lakevault.iam._conditions import ConditionOutcome
from lakevault.iam._errors import PolicyDocumentError
from lakevault.iam._evaluate import Evaluation, Evaluator, PolicySet, evaluate
from lakevault.iam._explain import Explanation, GateExplanation, StatementExplanation
from lakevault.iam._lint import LAKEVAULT_ACTIONS, Finding, FindingCode, Severity, lint_policy
from lakevault.iam._parse import parse_policy
from lakevault.iam._policy import (
    Condition,
    ConditionOperator,
    Policy,
    PrincipalEntry,
    SetQualifier,
    Statement,
)
from lakevault.iam._request import ANONYMOUS, EvaluationRequest, Principal
from lakevault.iam._simulate import SimulationResult, simulate_case
from lakevault.iam._types import (
    ContextValue,
    DecisionKind,
    Effect,
    PolicyKind,
    PrincipalKind,
    PrincipalType,
    Strictness,
)

__all__ = [
    "ANONYMOUS",
    "LAKEVAULT_ACTIONS",
    "Condition",
    "ConditionOperator",
    "ConditionOutcome",
    "ContextValue",
    "DecisionKind",
    "Effect",
    "Evaluation",
    "EvaluationRequest",
    "Evaluator",
    "Explanation",
    "Finding",
    "FindingCode",
    "GateExplanation",
    "Policy",
    "PolicyDocumentError",
    "PolicyKind",
    "PolicySet",
    "Principal",
    "PrincipalEntry",
    "PrincipalKind",
    "PrincipalType",
    "SetQualifier",
    "Severity",
    "SimulationResult",
    "Statement",
    "StatementExplanation",
    "StatementRef",
    "Strictness",
    "evaluate",
    "lint_policy",
    "parse_policy",
    "simulate_case",
]
