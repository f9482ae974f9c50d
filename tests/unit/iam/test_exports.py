"""``lakevault.iam.__all__`` is the engine's whole public surface; a change to it is deliberate."""

from __future__ import annotations

from lakevault import iam

EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert iam.__all__ == EXPECTED


def test_every_exported_class_and_function_lives_in_a_private_module() -> None:
    for name in iam.__all__:
        value = getattr(iam, name)
        if isinstance(value, type) or callable(value):
            assert value.__module__.startswith("lakevault.iam._"), name


def test_decision_values_are_aws_spellings() -> None:
    assert [kind.value for kind in iam.DecisionKind] == [
        "Allowed",
        "ImplicitlyDenied",
        "ExplicitlyDenied",
    ]
