"""Small builders shared by the policy-engine tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lakevault import iam

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reader"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/job-7"
OBJECT = "arn:aws:s3:::data/reports/q1.csv"


def statement(
    effect: str = "Allow",
    action: str | list[str] = "s3:GetObject",
    resource: str | list[str] | None = "*",
    **extra: Any,
) -> dict[str, Any]:
    """One statement document; ``extra`` adds elements such as ``Condition`` or ``Principal``."""
    document: dict[str, Any] = {"Effect": effect, "Action": action}
    if resource is not None:
        document["Resource"] = resource
    document.update(extra)
    return document


def document(*statements: Mapping[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def policy(
    *statements: Mapping[str, Any],
    kind: iam.PolicyKind = iam.PolicyKind.IDENTITY,
    policy_id: str = "",
    scope: str = "",
) -> iam.Policy:
    return iam.parse_policy(
        document(*statements), policy_id=policy_id or kind.value, kind=kind, scope=scope
    )


def decide(
    *,
    identity: Sequence[iam.Policy] = (),
    resource: Sequence[iam.Policy] = (),
    boundaries: Sequence[iam.Policy] = (),
    session: Sequence[iam.Policy] = (),
    guardrails: Sequence[iam.Policy] = (),
    resource_guardrails: Sequence[iam.Policy] = (),
    endpoints: Sequence[iam.Policy] = (),
    principal: iam.Principal | str = USER,
    action: str = "s3:GetObject",
    resource_arn: str = OBJECT,
    resource_account: str | None = ACCOUNT,
    context: Mapping[str, iam.ContextValue] | None = None,
    explain: bool = False,
) -> iam.Evaluation:
    """Evaluate one request with fresh objects, as the gate would."""
    caller = iam.Principal.from_arn(principal) if isinstance(principal, str) else principal
    request = iam.EvaluationRequest(
        principal=caller,
        action=action,
        resource=resource_arn,
        resource_account=resource_account,
        context=dict(context or {}),
    )
    policies = iam.PolicySet(
        identity=tuple(identity),
        resource=tuple(resource),
        permission_boundaries=tuple(boundaries),
        session=tuple(session),
        guardrails=tuple(guardrails),
        resource_guardrails=tuple(resource_guardrails),
        endpoints=tuple(endpoints),
    )
    return iam.Evaluator().evaluate(request, policies, explain=explain)


def condition_holds(
    operator: str,
    values: Any,
    context: Mapping[str, iam.ContextValue],
    *,
    key: str = "test:key",
    version: str = "2012-10-17",
) -> bool:
    """Whether a single-condition Allow statement grants in ``context``."""
    allow = iam.parse_policy(
        document(statement(Condition={operator: {key: values}}), version=version),
        strictness=iam.Strictness.LENIENT,
    )
    return decide(identity=[allow], context=context).is_allowed
