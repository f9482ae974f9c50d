"""Simulation of decision cases written in the conformance format.

The format is that of ``../shared/conformance/iam/cases_full_iamsim_strict.jsonl`` (see its
README): a request (principal ARN or ``{"type": "Anonymous"}``, action, resource, resource
account, context) and policies by type (``identity``, ``resource``, ``permission_boundaries``,
``session``, ``scps`` and ``rcps`` as levels, ``vpc_endpoint``). It maps onto lakevault's types:
SCP levels become guardrail levels, RCP levels resource-guardrail levels (each with AWS's default
allow-all RCP first, as AWS attaches it), VPC endpoint policies endpoint policies.

Documents are parsed with ``Strictness.LENIENT``: these cases come from a simulator that accepts
what AWS's storage would refuse (a ``Principal`` in an identity policy, an empty statement list).
A case that cannot be expressed gives a result with ``decision=None`` and a message, never an
exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lakevault.core.errors import LakevaultError
from lakevault.iam._evaluate import Evaluator, PolicySet
from lakevault.iam._explain import Explanation
from lakevault.iam._parse import parse_policy
from lakevault.iam._policy import Policy
from lakevault.iam._request import ANONYMOUS, EvaluationRequest, Principal
from lakevault.iam._types import DecisionKind, PolicyKind, Strictness

__all__ = ["SimulationResult", "simulate_case"]

#: AWS attaches this RCP ("RCPFullAWSAccess") at every level; the cases assume it.
DEFAULT_RESOURCE_GUARDRAIL: Mapping[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    """The outcome of one case: a decision, or ``decision=None`` and why it could not run."""

    case_id: str | None
    decision: DecisionKind | None
    message: str = ""
    explanation: Explanation | None = None

    def to_document(self) -> dict[str, Any]:
        """The CLI's JSON line: ``{"id", "decision"}``, plus ``message`` or ``explanation``."""
        document: dict[str, Any] = {
            "id": self.case_id,
            "decision": self.decision.value if self.decision is not None else "Error",
        }
        if self.message:
            document["message"] = self.message
        if self.explanation is not None:
            document["explanation"] = self.explanation.to_document()
        return document


def _parse(document: Any, *, kind: PolicyKind, policy_id: str, scope: str = "") -> Policy:
    return parse_policy(
        document, policy_id=policy_id, kind=kind, scope=scope, strictness=Strictness.LENIENT
    )


def _documents(value: Any, name: str) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return (value,)
    if isinstance(value, list):
        return value
    raise TypeError(f"policies.{name} must be a policy document or a list of them")


def _levels(
    value: Any, *, kind: PolicyKind, name: str, default: Mapping[str, Any] | None
) -> tuple[Policy, ...]:
    policies: list[Policy] = []
    for level_index, level in enumerate(_documents(value, name)):
        scope = f"{name}[{level_index}]:{level.get('orgIdentifier', '')}"
        documents = list(level.get("policies", []))
        if default is not None:
            documents.insert(0, default)
        if not documents:
            # A level with no policy allows nothing; it still has to exist as a gate.
            policies.append(Policy(policy_id=scope, kind=kind, scope=scope, statements=()))
        for index, document in enumerate(documents):
            policies.append(_parse(document, kind=kind, policy_id=f"{scope}/{index}", scope=scope))
    return tuple(policies)


def _principal(value: Any) -> Principal:
    if isinstance(value, Mapping) and value.get("type") == "Anonymous":
        return ANONYMOUS
    if isinstance(value, str):
        return Principal.from_arn(value)
    raise TypeError('request.principal must be an ARN string or {"type": "Anonymous"}')


def _policy_set(policies: Mapping[str, Any]) -> PolicySet:
    def listed(name: str, kind: PolicyKind) -> tuple[Policy, ...]:
        return tuple(
            _parse(document, kind=kind, policy_id=f"{name}[{index}]")
            for index, document in enumerate(_documents(policies.get(name), name))
        )

    return PolicySet(
        identity=listed("identity", PolicyKind.IDENTITY),
        resource=listed("resource", PolicyKind.RESOURCE),
        permission_boundaries=listed("permission_boundaries", PolicyKind.PERMISSION_BOUNDARY),
        session=listed("session", PolicyKind.SESSION),
        endpoints=listed("vpc_endpoint", PolicyKind.ENDPOINT),
        guardrails=_levels(
            policies.get("scps"), kind=PolicyKind.GUARDRAIL, name="scps", default=None
        ),
        resource_guardrails=_levels(
            policies.get("rcps"),
            kind=PolicyKind.RESOURCE_GUARDRAIL,
            name="rcps",
            default=DEFAULT_RESOURCE_GUARDRAIL,
        ),
    )


def simulate_case(
    case: Mapping[str, Any], *, explain: bool = False, evaluator: Evaluator | None = None
) -> SimulationResult:
    """Evaluate one case. Never raises for a bad case: the result says what was wrong.

    ``policies.resource_policies_multi`` is ignored, as the upstream harness ignores it.
    """
    raw_id = case.get("id") if isinstance(case, Mapping) else None
    case_id = raw_id if isinstance(raw_id, str) else None
    try:
        request_document = case["request"]
        resource = request_document["resource"]
        if request_document.get("wildcard_only_action"):
            resource = "*"
        request = EvaluationRequest(
            principal=_principal(request_document["principal"]),
            action=request_document["action"],
            resource=resource,
            resource_account=request_document.get("resource_account"),
            context=request_document.get("context") or {},
        )
        policies = _policy_set(case.get("policies") or {})
        result = (evaluator or Evaluator()).evaluate(request, policies, explain=explain)
    except LakevaultError as exc:
        return SimulationResult(
            case_id=case_id, decision=None, message=f"{exc.code}: {exc.message}"
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return SimulationResult(
            case_id=case_id,
            decision=None,
            message=f"case cannot be expressed: {type(exc).__name__}: {exc}",
        )
    return SimulationResult(
        case_id=case_id, decision=result.decision, explanation=result.explanation
    )
