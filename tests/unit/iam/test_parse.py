"""Validation: AWS's messages, JSON paths, per-kind rules, limits (docs/policies.md, "Grammar")."""

from __future__ import annotations

import json

import pytest

from lakevault import iam
from lakevault.core.errors import MalformedPolicyDocument

from .helpers import document, statement


def error_of(text_or_document: object, **options: object) -> iam.PolicyDocumentError:
    with pytest.raises(iam.PolicyDocumentError) as caught:
        iam.parse_policy(text_or_document, **options)  # type: ignore[arg-type]
    return caught.value


def test_error_is_a_malformed_policy_document_with_aws_code() -> None:
    error = error_of("not json")
    assert isinstance(error, MalformedPolicyDocument)
    assert error.code == "MalformedPolicyDocument"
    assert error.message == "Syntax errors in policy."


def test_error_names_the_json_path_of_the_element() -> None:
    bad = document(statement(), statement(Effect="Maybe"))
    error = error_of(bad)
    assert error.message == "Syntax errors in policy."
    assert error.json_path == "$.Statement[1].Effect"
    assert error.detail == "Syntax errors in policy. (at $.Statement[1].Effect)"


def test_duplicate_json_keys_are_a_syntax_error() -> None:
    text = (
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Effect": "Deny",'
        ' "Action": "s3:GetObject", "Resource": "*"}}'
    )
    assert error_of(text).message == "Syntax errors in policy."


def test_nan_and_infinity_are_not_json() -> None:
    text = json.dumps(document(statement(Condition={"NumericEquals": {"a": "1"}}))).replace(
        '"1"', "NaN"
    )
    assert error_of(text).message == "Syntax errors in policy."


def test_document_over_the_size_quota_is_limit_exceeded() -> None:
    actions = [f"s3:Action{index:05d}" for index in range(700)]
    error = error_of(document(statement(action=actions)))
    assert error.code == "LimitExceeded"
    assert error.message == "Cannot exceed quota for PolicySize: 6144"


def test_whitespace_does_not_count_towards_the_quota() -> None:
    actions = [f"s3:Get{index:04d}" for index in range(300)]
    text = json.dumps(document(statement(action=actions)), indent=12)
    assert len(text) > 6144 > len("".join(text.split()))
    iam.parse_policy(text)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert error_of(text, kind=iam.PolicyKind.RESOURCE).code in {
        "MalformedPolicyDocument",
        "LimitExceeded",
    }


def test_identity_policy_must_say_2012_10_17() -> None:
    error = error_of(document(statement(), version="2008-10-17"))
    assert error.message == "Policy document must be version 2012-10-17 or greater."


def test_resource_policy_may_say_2008_10_17_and_then_has_no_variables() -> None:
    policy = iam.parse_policy(
        document(statement(Principal="*"), version="2008-10-17"), kind=iam.PolicyKind.RESOURCE
    )
    assert not policy.has_variables


def test_principal_in_identity_policy_is_refused_with_aws_message() -> None:
    error = error_of(document(statement(Principal="*")))
    assert error.message == "Policy document should not specify a principal."
    assert error.json_path == "$.Statement[0].Principal"


def test_bare_arn_principal_is_refused_in_strict_mode() -> None:
    error = error_of(
        document(statement(Principal=f"arn:aws:iam::{'1' * 12}:root")), kind=iam.PolicyKind.RESOURCE
    )
    assert error.message == "Invalid principal in policy"


def test_lenient_mode_accepts_what_only_aws_storage_refuses() -> None:
    lenient = iam.Strictness.LENIENT
    assert iam.parse_policy({"Statement": []}, strictness=lenient).statements == ()
    policy = iam.parse_policy(document(statement(Principal="*")), strictness=lenient)
    assert policy.statements[0].principals is not None


def test_trust_policy_needs_no_resource_but_identity_policy_does() -> None:
    trust = document(statement(action="sts:AssumeRole", resource=None, Principal={"AWS": "*"}))
    assert iam.parse_policy(trust, kind=iam.PolicyKind.RESOURCE).statements[0].resources is None
    error = error_of(document(statement(resource=None)))
    assert error.message == "Policy statement must contain resources."


def test_action_without_vendor_is_refused_before_missing_resource() -> None:
    error = error_of(document(statement(action="invalid", resource=None)))
    assert (
        error.message
        == "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    )


def test_null_entries_in_a_resource_list_are_dropped() -> None:
    policy = iam.parse_policy(document(statement(resource=["arn:aws:s3:::b/*", None])))
    assert policy.statements[0].resources == ("arn:aws:s3:::b/*",)


def test_condition_booleans_and_numbers_become_aws_strings() -> None:
    policy = iam.parse_policy(
        document(
            statement(
                Condition={"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"n": 10}}
            )
        )
    )
    values = [condition.values for condition in policy.statements[0].conditions]
    assert values == [("true",), ("10",)]


def test_unknown_operator_with_empty_body_is_accepted_and_tests_nothing() -> None:
    policy = iam.parse_policy(document(statement(Condition={"Whatever": {}})))
    assert policy.statements[0].conditions == ()


def test_unknown_operator_with_a_body_is_a_syntax_error() -> None:
    error = error_of(document(statement(Condition={"StringEqualz": {"a": "b"}})))
    assert error.message == "Syntax errors in policy."
    assert error.json_path == "$.Statement[0].Condition.StringEqualz"


def test_operator_parts_are_parsed() -> None:
    policy = iam.parse_policy(
        document(statement(Condition={"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*"]}}))
    )
    condition = policy.statements[0].conditions[0]
    assert condition.operator is iam.ConditionOperator.STRING_LIKE
    assert condition.qualifier is iam.SetQualifier.FOR_ANY_VALUE
    assert condition.if_exists
    assert condition.operator_name == "ForAnyValue:StringLikeIfExists"


def test_canonical_form_round_trips() -> None:
    source = document(
        statement(Sid="A", action=["s3:Get*"], resource="arn:aws:s3:::b/${aws:username}/*"),
        statement("Deny", NotAction="iam:*", resource=None, NotResource=["arn:aws:iam::*:role/x"]),
    )
    del source["Statement"][1]["Action"]
    policy = iam.parse_policy(source, policy_id="p")
    assert iam.parse_policy(policy.to_document(), policy_id="p") == policy


def test_mapping_with_non_json_keys_is_read_as_its_json() -> None:
    error = error_of({"Version": "2012-10-17", "Statement": {1: "x"}})
    assert error.message == "Syntax errors in policy."
    assert error.json_path == "$.Statement.1"
    parsed = iam.parse_policy({"Version": "2012-10-17", "Statement": (statement(),)})
    assert parsed.statements[0].actions == ("s3:GetObject",)
