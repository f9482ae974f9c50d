"""Explanations: why a decision came out as it did, statement by statement.

An explanation details every statement whose action and resource matched the request: whether
the principal and each condition matched, with policy variables resolved. Statements whose
action matched but whose resource did not are named (they could not apply whatever else they
say), and those about other actions are only counted: with a thousand statements, detailing
the ones about other actions and resources helps nobody and costs most of the time. Each gate
(boundary, session, guardrail level...) says whether it allowed. A denial carries hints: what
would allow the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakevault.iam._compile import StatementRef
from lakevault.iam._conditions import ConditionOutcome
from lakevault.iam._types import DecisionKind, PolicyKind

__all__ = ["Explanation", "GateExplanation", "StatementExplanation"]


def _ref_document(ref: StatementRef) -> dict[str, Any]:
    return {
        "policy_id": ref.policy_id,
        "sid": ref.sid,
        "index": ref.index,
        "effect": ref.effect.value,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementExplanation:
    """One statement whose action and resource matched, and how the rest of it fared.

    ``principal_match`` is ``"n/a"`` for kinds without principals, else ``"none"``,
    ``"account"``, ``"role"`` or ``"direct"``. ``conditions`` are evaluated (and listed) only
    when resource and principal matched; otherwise the statement cannot apply and they are
    left out.
    """

    statement: StatementRef
    policy_kind: PolicyKind
    scope: str
    principal_match: str
    conditions: tuple[ConditionOutcome, ...]
    is_applicable: bool

    def to_document(self) -> dict[str, Any]:
        """JSON form for the CLI and audit events."""
        return {
            "policy_id": self.statement.policy_id,
            "policy_kind": self.policy_kind.value,
            "scope": self.scope,
            "sid": self.statement.sid,
            "index": self.statement.index,
            "effect": self.statement.effect.value,
            "action": True,
            "resource": True,
            "principal": self.principal_match,
            "conditions": [
                {
                    "operator": outcome.operator,
                    "key": outcome.key,
                    "request_values": None
                    if outcome.request_values is None
                    else list(outcome.request_values),
                    "policy_values": list(outcome.policy_values),
                    "matched": outcome.is_match,
                    "reason": outcome.reason,
                }
                for outcome in self.conditions
            ],
            "applies": self.is_applicable,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GateExplanation:
    """One gate: every level of it must contain an applicable Allow."""

    policy_kind: PolicyKind
    level: int
    scope: str
    is_satisfied: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """The whole story of one decision."""

    decision: DecisionKind
    statements: tuple[StatementExplanation, ...]
    statements_for_other_resources: tuple[StatementRef, ...]
    unmatched_statement_count: int
    gates: tuple[GateExplanation, ...]
    deciding_statements: tuple[StatementRef, ...]
    hints: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        """JSON form for the CLI and audit events."""
        return {
            "decision": self.decision.value,
            "statements": [statement.to_document() for statement in self.statements],
            "statements_for_other_resources": [
                _ref_document(ref) for ref in self.statements_for_other_resources
            ],
            "statements_not_matching_action": self.unmatched_statement_count,
            "gates": [
                {
                    "policy_kind": gate.policy_kind.value,
                    "level": gate.level,
                    "scope": gate.scope,
                    "satisfied": gate.is_satisfied,
                }
                for gate in self.gates
            ],
            "deciding_statements": [_ref_document(ref) for ref in self.deciding_statements],
            "hints": list(self.hints),
        }
