"""Simulation of conformance-format cases, including cases it cannot express."""

from __future__ import annotations

from typing import Any

from lakevault import iam

from .helpers import ACCOUNT, USER, document, statement


def case(policies: dict[str, Any], **request: Any) -> dict[str, Any]:
    base = {
        "principal": USER,
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::b/k",
        "resource_account": ACCOUNT,
        "context": {},
    }
    base.update(request)
    return {"id": "c1", "request": base, "policies": policies}


def test_identity_allow_is_allowed() -> None:
    result = iam.simulate_case(case({"identity": [document(statement())]}))
    assert result.decision is iam.DecisionKind.ALLOWED
    assert result.to_document() == {"id": "c1", "decision": "Allowed"}


def test_guardrail_level_without_policies_denies() -> None:
    policies = {
        "identity": [document(statement())],
        "scps": [{"orgIdentifier": "root", "policies": []}],
    }
    assert iam.simulate_case(case(policies)).decision is iam.DecisionKind.IMPLICITLY_DENIED


def test_resource_guardrail_level_gets_the_default_allow_all() -> None:
    policies = {
        "identity": [document(statement())],
        "rcps": [{"orgIdentifier": "root", "policies": []}],
    }
    assert iam.simulate_case(case(policies)).decision is iam.DecisionKind.ALLOWED


def test_wildcard_only_action_uses_star_as_the_resource() -> None:
    policies = {"identity": [document(statement(resource="arn:aws:s3:::b/k"))]}
    result = iam.simulate_case(case(policies, wildcard_only_action=True))
    assert result.decision is iam.DecisionKind.IMPLICITLY_DENIED


def test_anonymous_principal_object() -> None:
    public = document(statement(Principal="*"))
    result = iam.simulate_case(case({"resource": public}, principal={"type": "Anonymous"}))
    assert result.decision is iam.DecisionKind.ALLOWED


def test_invalid_policy_is_an_error_result_not_an_exception() -> None:
    result = iam.simulate_case(case({"identity": [{"Version": "2012-10-17", "Statement": "nope"}]}))
    assert result.decision is None
    assert result.to_document() == {
        "id": "c1",
        "decision": "Error",
        "message": "MalformedPolicyDocument: Syntax errors in policy.",
    }


def test_case_missing_its_request_is_an_error_result() -> None:
    result = iam.simulate_case({"id": "broken"})
    assert result.decision is None
    assert result.message.startswith("case cannot be expressed: KeyError")


def test_explanation_is_added_when_asked() -> None:
    result = iam.simulate_case(case({"identity": [document(statement())]}), explain=True)
    assert result.explanation is not None
    assert result.to_document()["explanation"]["decision"] == "Allowed"
