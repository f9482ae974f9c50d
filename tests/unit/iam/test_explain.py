"""Explanations: what matched, with variables resolved, which statement decided, and hints."""

from __future__ import annotations

from lakevault import iam

from .helpers import OTHER_ACCOUNT, decide, policy, statement


def explanation_of(result: iam.Evaluation) -> iam.Explanation:
    assert result.explanation is not None
    return result.explanation


def test_explanation_reports_each_condition_with_resolved_values() -> None:
    allow = policy(
        statement(
            Sid="Team", Condition={"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
        ),
        policy_id="p",
    )
    result = decide(
        identity=[allow],
        context={"aws:username": "red", "aws:PrincipalTag/team": "blue"},
        explain=True,
    )
    explanation = explanation_of(result)
    assert explanation.decision is iam.DecisionKind.IMPLICITLY_DENIED
    [detail] = explanation.statements
    assert detail.statement.sid == "Team"
    assert not detail.is_applicable
    [outcome] = detail.conditions
    assert outcome.policy_values == ("red",)
    assert outcome.request_values == ("blue",)
    assert not outcome.is_match


def test_explanation_names_statements_for_other_resources_and_hints_at_them() -> None:
    allow = policy(statement(Sid="Other", resource="arn:aws:s3:::elsewhere/*"), policy_id="p")
    explanation = explanation_of(decide(identity=[allow], explain=True))
    assert [ref.sid for ref in explanation.statements_for_other_resources] == ["Other"]
    assert any("other resources: p#Other" in hint for hint in explanation.hints)


def test_explanation_counts_statements_about_other_actions() -> None:
    allow = policy(statement(action="ec2:RunInstances"), statement(action="kms:Decrypt"))
    explanation = explanation_of(decide(identity=[allow], explain=True))
    assert explanation.unmatched_statement_count == 2
    assert explanation.statements == ()


def test_explicit_deny_hint_names_the_deny() -> None:
    deny = policy(statement("Deny", Sid="Never"), policy_id="guard")
    explanation = explanation_of(decide(identity=[policy(statement()), deny], explain=True))
    assert explanation.deciding_statements[0].sid == "Never"
    assert explanation.hints == (
        "statement Never of policy guard denies explicitly; no Allow can override it — change or "
        "remove that Deny",
    )


def test_denial_without_any_grant_hints_where_to_add_one() -> None:
    caller = f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"
    explanation = explanation_of(decide(principal=caller, explain=True))
    assert explanation.hints[-1].startswith("add an Allow for s3:GetObject on arn:aws:s3:::data")
    assert "another tenant" in explanation.hints[-1]


def test_failed_gate_is_reported() -> None:
    boundary = policy(statement(action="ec2:*"), kind=iam.PolicyKind.PERMISSION_BOUNDARY)
    explanation = explanation_of(
        decide(identity=[policy(statement())], boundaries=[boundary], explain=True)
    )
    assert [(gate.policy_kind, gate.is_satisfied) for gate in explanation.gates] == [
        (iam.PolicyKind.PERMISSION_BOUNDARY, False)
    ]
    assert any("permission_boundary policy level 0" in hint for hint in explanation.hints)


def test_explanation_document_is_json_ready() -> None:
    import json

    result = decide(
        identity=[policy(statement(Condition={"Bool": {"aws:SecureTransport": "true"}}))],
        explain=True,
    )
    text = json.dumps(explanation_of(result).to_document())
    assert '"operator": "Bool"' in text
    assert '"key": "aws:SecureTransport"' in text


def test_external_id_values_are_masked_in_explanations() -> None:
    trust_statement = statement(
        action="sts:AssumeRole",
        resource=None,
        Principal={"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
        Condition={"StringEquals": {"sts:ExternalId": "shared-secret-id"}},
    )
    trust = policy(trust_statement, kind=iam.PolicyKind.RESOURCE)
    result = decide(
        principal=f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob",
        identity=[policy(statement(action="sts:AssumeRole"))],
        resource=[trust],
        action="sts:AssumeRole",
        resource_arn="arn:aws:iam::123456789012:role/shared",
        context={"sts:ExternalId": "guess"},
        explain=True,
    )
    [outcome] = [c for s in explanation_of(result).statements for c in s.conditions]
    assert outcome.request_values == ("[masked]",)
    assert outcome.policy_values == ("[masked]",)
    assert "shared-secret-id" not in repr(result)
    assert "guess" not in repr(result)
