"""Matching of actions and resources (README rules R10, R11, R12, R14)."""

from __future__ import annotations

import pytest

from lakevault import iam

from .helpers import ACCOUNT, condition_holds, decide, policy, statement


def allowed(action_pattern: str | list[str], action: str) -> bool:
    return decide(identity=[policy(statement(action=action_pattern))], action=action).is_allowed


def test_actions_match_case_insensitively() -> None:
    assert allowed("S3:getobject", "s3:GetObject")
    assert allowed("s3:GetObject", "S3:GETOBJECT")


def test_action_wildcards_star_and_question_mark() -> None:
    assert allowed("s3:Get*", "s3:GetObjectTagging")
    assert allowed("s3:?etObject", "s3:GetObject")
    assert not allowed("s3:Get?", "s3:GetObject")
    assert allowed("*", "kms:Decrypt")
    assert allowed("*:Decrypt", "kms:Decrypt")


def test_whitespace_in_actions_is_not_trimmed() -> None:
    assert not allowed("s3:GetObject ", "s3:GetObject")
    assert not allowed("s3: GetObject", "s3:GetObject")


def test_whitespace_before_the_vendor_is_refused_as_aws_does() -> None:
    with pytest.raises(iam.PolicyDocumentError, match="Vendor  s3 is not valid"):
        policy(statement(action=" s3:GetObject"))


def test_comma_is_part_of_the_action_name() -> None:
    assert not allowed("s3:GetObject,PutObject", "s3:GetObject")


def test_not_action_with_whitespace_matches_every_action() -> None:
    allow = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "NotAction": "s3:GetObject ", "Resource": "*"}],
        }
    )
    assert decide(identity=[allow]).is_allowed


def resource_allowed(
    pattern: str, resource: str, kind: iam.PolicyKind = iam.PolicyKind.IDENTITY
) -> bool:
    if kind is iam.PolicyKind.IDENTITY:
        return decide(
            identity=[policy(statement(resource=pattern))], resource_arn=resource
        ).is_allowed
    resource_policy = policy(statement(resource=pattern, Principal="*"), kind=kind)
    return decide(resource=[resource_policy], resource_arn=resource).is_allowed


def test_arn_wildcards_do_not_cross_the_first_five_colons() -> None:
    assert resource_allowed("arn:aws:*:::bucket/key", "arn:aws:s3:::bucket/key")
    assert not resource_allowed("arn:aws:*:::bucket/key", "arn:aws:s3:us-east-1::bucket/key")
    assert resource_allowed("arn:aws:*:*:*:*", "arn:aws:s3:::bucket/key")
    assert not condition_holds(
        "ArnLike", "arn:aws:*:bucket/key", {"test:key": "arn:aws:s3:::bucket/key"}
    )


def test_the_resource_part_may_contain_colons_and_star_crosses_them() -> None:
    assert resource_allowed(
        "arn:aws:logs:*:*:log-group:*", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:stream"
    )


def test_first_five_segments_ignore_case_and_the_resource_part_does_not() -> None:
    assert resource_allowed("arn:aws:S3:::bucket/key", "ARN:aws:s3:::bucket/key")
    assert not resource_allowed("arn:aws:s3:::Bucket/key", "arn:aws:s3:::bucket/key")


def test_question_mark_matches_one_character_within_a_segment() -> None:
    assert resource_allowed(
        "arn:aws:s3:::bucket/report-??.csv", "arn:aws:s3:::bucket/report-07.csv"
    )
    assert not resource_allowed(
        "arn:aws:s3:::bucket/report-??.csv", "arn:aws:s3:::bucket/report-7.csv"
    )


def test_request_resource_star_is_matched_only_by_a_literal_star() -> None:
    assert resource_allowed("*", "*")
    assert not resource_allowed("arn:aws:s3:::*", "*")


QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"


def test_short_arn_is_padded_in_identity_policies() -> None:
    assert resource_allowed("arn:aws:sqs", QUEUE)


def test_short_arn_in_resource_policy_needs_a_wildcard() -> None:
    assert not resource_allowed("arn:aws:sqs", QUEUE, iam.PolicyKind.RESOURCE)
    assert resource_allowed("arn:aws:sqs:*", QUEUE, iam.PolicyKind.RESOURCE)


def test_short_arn_in_resource_guardrail_never_matches() -> None:
    guardrail = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "arn:aws:sqs:*"}
            ],
        },
        kind=iam.PolicyKind.RESOURCE_GUARDRAIL,
        scope="org",
    )
    allow_all = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
        },
        kind=iam.PolicyKind.RESOURCE_GUARDRAIL,
        scope="org",
    )
    result = decide(
        identity=[policy(statement(action="sqs:SendMessage"))],
        resource_guardrails=[allow_all, guardrail],
        action="sqs:SendMessage",
        resource_arn=QUEUE,
    )
    assert result.decision is iam.DecisionKind.ALLOWED


@pytest.mark.parametrize("resource", ["arn:::bucket", "bucket/key", ""])
def test_a_request_resource_that_is_not_an_arn_matches_only_star(resource: str) -> None:
    assert not resource_allowed("arn:aws:s3:::*", resource)
    assert resource_allowed("*", resource)
