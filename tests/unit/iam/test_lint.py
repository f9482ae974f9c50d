"""Lint findings: one test per finding code, and a clean policy has none."""

from __future__ import annotations

from lakevault import iam

from .helpers import ACCOUNT, OTHER_ACCOUNT, policy, statement


def codes(policy_to_lint: iam.Policy, **options: str) -> list[iam.FindingCode]:
    return [finding.code for finding in iam.lint_policy(policy_to_lint, **options)]


def test_clean_policy_has_no_findings() -> None:
    assert codes(policy(statement(action="s3:GetObject", resource="arn:aws:s3:::data/*"))) == []


def test_unknown_lakevault_action_is_reported() -> None:
    findings = iam.lint_policy(
        policy(statement(action=["lakevault:GetDataset", "lakevault:GetDataSetz"]))
    )
    assert [f.code for f in findings] == [iam.FindingCode.UNKNOWN_ACTION]
    assert findings[0].severity is iam.Severity.ERROR
    assert findings[0].json_path == "$.Statement[0].Action"
    assert "lakevault:GetDataSetz" in findings[0].message


def test_wildcard_matching_no_lakevault_action_is_reported() -> None:
    assert codes(policy(statement(action="lakevault:Frobnicate*"))) == [
        iam.FindingCode.UNKNOWN_ACTION
    ]
    assert codes(policy(statement(action="lakevault:Get*", resource="arn:aws:s3:::d"))) == []


def test_write_actions_on_every_resource_are_reported() -> None:
    assert codes(policy(statement(action="s3:PutObject", resource="*"))) == [
        iam.FindingCode.RESOURCE_STAR_WITH_WRITE
    ]
    assert codes(policy(statement(action="s3:*", resource="*"))) == [
        iam.FindingCode.RESOURCE_STAR_WITH_WRITE
    ]
    assert codes(policy(statement(action="s3:Get*", resource="*"))) == []


def test_not_action_with_allow_is_reported() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::d"}],
    }
    assert codes(iam.parse_policy(document)) == [iam.FindingCode.NOT_ACTION_WITH_ALLOW]


def trust(principal: object, **extra: object) -> iam.Policy:
    return policy(
        statement(action="sts:AssumeRole", resource=None, Principal=principal, **extra),
        kind=iam.PolicyKind.RESOURCE,
    )


def test_cross_tenant_trust_without_external_id_is_reported() -> None:
    other = {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}
    assert codes(trust(other), tenant=ACCOUNT) == [iam.FindingCode.MISSING_EXTERNAL_ID]
    guarded = trust(other, Condition={"StringEquals": {"sts:ExternalId": "x"}})
    assert codes(guarded, tenant=ACCOUNT) == []
    assert codes(trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), tenant=ACCOUNT) == []
    assert codes(trust("*")) == [iam.FindingCode.MISSING_EXTERNAL_ID]


def test_allow_covered_by_an_unconditional_deny_is_unreachable() -> None:
    shadowed = policy(
        statement(action="s3:GetObject", resource="arn:aws:s3:::data/x"),
        statement("Deny", action="s3:*", resource="arn:aws:s3:::data/*"),
    )
    findings = iam.lint_policy(shadowed)
    assert [(f.code, f.statement_index) for f in findings] == [
        (iam.FindingCode.UNREACHABLE_STATEMENT, 0)
    ]
    conditional = policy(
        statement(action="s3:GetObject", resource="arn:aws:s3:::data/x"),
        statement(
            "Deny",
            action="s3:*",
            resource="arn:aws:s3:::data/*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
    assert codes(conditional) == []


def test_resource_statement_without_principal_is_unreachable() -> None:
    assert codes(policy(statement(resource="arn:aws:s3:::d"), kind=iam.PolicyKind.RESOURCE)) == [
        iam.FindingCode.UNREACHABLE_STATEMENT
    ]
