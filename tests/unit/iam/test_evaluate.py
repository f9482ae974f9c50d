"""Evaluation logic: one named test per rule, asserting the exact decision (and what decided)."""

from __future__ import annotations

import pytest

from lakevault import iam
from lakevault.core.errors import InvalidParameterValue

from .helpers import (
    ACCOUNT,
    OBJECT,
    OTHER_ACCOUNT,
    ROLE,
    SESSION,
    USER,
    decide,
    policy,
    statement,
)

ALLOWED = iam.DecisionKind.ALLOWED
IMPLICIT = iam.DecisionKind.IMPLICITLY_DENIED
EXPLICIT = iam.DecisionKind.EXPLICITLY_DENIED
RESOURCE = iam.PolicyKind.RESOURCE
BOUNDARY = iam.PolicyKind.PERMISSION_BOUNDARY
SESSION_KIND = iam.PolicyKind.SESSION
GUARDRAIL = iam.PolicyKind.GUARDRAIL


def resource_policy(principal: object, effect: str = "Allow", **extra: object) -> iam.Policy:
    return policy(
        statement(effect, Principal=principal, **extra), kind=RESOURCE, policy_id="bucket"
    )


def test_no_policy_is_an_implicit_deny_with_no_deciding_statement() -> None:
    result = decide()
    assert result.decision is IMPLICIT
    assert result.deciding_statements == ()


def test_identity_allow_grants_and_names_the_statement() -> None:
    result = decide(identity=[policy(statement(Sid="Read"), policy_id="p1")])
    assert result.decision is ALLOWED
    assert result.deciding_statements == (
        iam.StatementRef(policy_id="p1", sid="Read", index=0, effect=iam.Effect.ALLOW),
    )


def test_explicit_deny_wins_over_any_allow() -> None:
    allow = policy(statement(), policy_id="allow")
    deny = policy(statement("Deny", Sid="No"), policy_id="deny")
    result = decide(identity=[allow, deny], resource=[resource_principal_star()])
    assert result.decision is EXPLICIT
    assert result.deciding_statements == (
        iam.StatementRef(policy_id="deny", sid="No", index=0, effect=iam.Effect.DENY),
    )


def resource_principal_star() -> iam.Policy:
    return resource_policy("*")


def test_same_tenant_resource_policy_alone_grants_to_a_named_user() -> None:
    assert decide(resource=[resource_policy({"AWS": USER})]).decision is ALLOWED


def test_same_tenant_resource_policy_naming_the_tenant_delegates_to_identity_policies() -> None:
    assert decide(resource=[resource_policy({"AWS": ACCOUNT})]).decision is IMPLICIT
    grant = decide(identity=[policy(statement())], resource=[resource_policy({"AWS": ACCOUNT})])
    assert grant.decision is ALLOWED


def test_cross_tenant_needs_both_identity_and_resource_policy() -> None:
    caller = f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"
    named = resource_policy({"AWS": caller})
    assert decide(principal=caller, resource=[named]).decision is IMPLICIT
    assert decide(principal=caller, identity=[policy(statement())]).decision is IMPLICIT
    both = decide(principal=caller, identity=[policy(statement())], resource=[named])
    assert both.decision is ALLOWED
    assert len(both.deciding_statements) == 2


def test_resource_statement_without_principal_never_applies() -> None:
    no_principal = policy(statement(), kind=RESOURCE)
    assert decide(resource=[no_principal]).decision is IMPLICIT
    deny_without_principal = policy(statement("Deny"), kind=RESOURCE)
    assert (
        decide(identity=[policy(statement())], resource=[deny_without_principal]).decision
        is ALLOWED
    )


def test_not_principal_allow_matches_everyone_not_listed() -> None:
    excluded = resource_policy_with(NotPrincipal={"AWS": USER})
    assert decide(resource=[excluded]).decision is IMPLICIT
    assert decide(principal=ROLE, resource=[excluded]).decision is ALLOWED


def resource_policy_with(**elements: object) -> iam.Policy:
    return policy(statement(**elements), kind=RESOURCE)


def test_not_principal_deny_spares_a_listed_principal_without_boundary() -> None:
    deny_others = policy(statement("Deny", NotPrincipal={"AWS": ROLE}), kind=RESOURCE)
    assert (
        decide(principal=ROLE, identity=[policy(statement())], resource=[deny_others]).decision
        is ALLOWED
    )


def test_not_principal_deny_denies_a_listed_principal_that_has_a_boundary() -> None:
    """docs/decisions/0025: AWS's documented NotPrincipal + Deny behaviour with boundaries."""
    deny_others = policy(statement("Deny", NotPrincipal={"AWS": ROLE}), kind=RESOURCE)
    boundary = policy(statement(action="*"), kind=BOUNDARY)
    result = decide(
        principal=ROLE,
        identity=[policy(statement())],
        resource=[deny_others],
        boundaries=[boundary],
    )
    assert result.decision is EXPLICIT


def test_boundary_must_allow_an_identity_grant() -> None:
    boundary = policy(statement(action="ec2:*"), kind=BOUNDARY)
    assert decide(identity=[policy(statement())], boundaries=[boundary]).decision is IMPLICIT


@pytest.mark.parametrize(
    ("caller", "named", "expected"),
    [
        (USER, {"AWS": USER}, ALLOWED),
        (SESSION, {"AWS": SESSION}, ALLOWED),
        (SESSION, {"AWS": "*"}, ALLOWED),
        (ROLE, {"AWS": ROLE}, IMPLICIT),
        (SESSION, {"AWS": ROLE}, IMPLICIT),
        (USER, {"AWS": ACCOUNT}, IMPLICIT),
    ],
)
def test_resource_policy_grant_past_a_boundary_depends_on_how_it_names_the_caller(
    caller: str, named: object, expected: iam.DecisionKind
) -> None:
    """Rule R3: naming the caller itself (or ``*``) passes a boundary; naming its role does not."""
    boundary = policy(statement(action="ec2:*"), kind=BOUNDARY)
    assert (
        decide(principal=caller, resource=[resource_policy(named)], boundaries=[boundary]).decision
        is expected
    )


def test_boundary_explicit_deny_is_never_bypassed() -> None:
    boundary = policy(statement("Deny", action="s3:*"), kind=BOUNDARY)
    assert (
        decide(resource=[resource_policy({"AWS": USER})], boundaries=[boundary]).decision
        is EXPLICIT
    )


def test_session_policy_is_a_gate_for_identity_grants() -> None:
    narrow = policy(statement(action="ec2:*"), kind=SESSION_KIND)
    assert (
        decide(principal=SESSION, identity=[policy(statement())], session=[narrow]).decision
        is IMPLICIT
    )
    wide = policy(statement(action="*"), kind=SESSION_KIND)
    assert (
        decide(principal=SESSION, identity=[policy(statement())], session=[wide]).decision
        is ALLOWED
    )


def test_session_policy_gates_a_resource_policy_naming_the_session() -> None:
    """docs/decisions/0023: unlike the STS docs, a session policy is never bypassed."""
    narrow = policy(statement(action="ec2:*"), kind=SESSION_KIND)
    result = decide(
        principal=SESSION, resource=[resource_policy({"AWS": SESSION})], session=[narrow]
    )
    assert result.decision is IMPLICIT


def test_role_trust_policy_is_authoritative_in_the_same_tenant() -> None:
    trust = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sts:AssumeRole"}
            ],
        },
        kind=RESOURCE,
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/target"
    assume = {"action": "sts:AssumeRole", "resource_arn": role}
    assert (
        decide(identity=[policy(statement(action="sts:AssumeRole"))], **assume).decision is IMPLICIT
    )
    assert decide(resource=[trust], **assume).decision is ALLOWED


def test_key_policy_trusting_the_tenant_lets_identity_policies_decide() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"
    key_policy = resource_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:*")
    decrypt = {"action": "kms:Decrypt", "resource_arn": key}
    assert decide(resource=[key_policy], **decrypt).decision is IMPLICIT
    allow = policy(statement(action="kms:Decrypt"))
    assert decide(identity=[allow], resource=[key_policy], **decrypt).decision is ALLOWED
    assert decide(identity=[allow], **decrypt).decision is IMPLICIT


def test_external_id_condition_on_a_trust_policy() -> None:
    trust = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "shared-secret-id"}},
                }
            ],
        },
        kind=RESOURCE,
    )
    caller = f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"
    request = {
        "principal": caller,
        "identity": [policy(statement(action="sts:AssumeRole"))],
        "resource": [trust],
        "action": "sts:AssumeRole",
        "resource_arn": f"arn:aws:iam::{ACCOUNT}:role/shared",
    }
    assert decide(context={"sts:ExternalId": "shared-secret-id"}, **request).decision is ALLOWED  # type: ignore[arg-type]
    assert decide(context={"sts:ExternalId": "guess"}, **request).decision is IMPLICIT  # type: ignore[arg-type]
    assert decide(**request).decision is IMPLICIT  # type: ignore[arg-type]


def test_every_guardrail_level_must_allow() -> None:
    org = policy(statement(action="*"), kind=GUARDRAIL, scope="org")
    tenant = policy(statement(action="ec2:*"), kind=GUARDRAIL, scope="tenant")
    assert decide(identity=[policy(statement())], guardrails=[org, tenant]).decision is IMPLICIT
    assert decide(identity=[policy(statement())], guardrails=[org]).decision is ALLOWED


def test_guardrails_with_the_same_scope_form_one_level() -> None:
    allow_all = policy(statement(action="*"), kind=GUARDRAIL, scope="org", policy_id="full")
    deny_kms = policy(
        statement("Deny", action="kms:*"), kind=GUARDRAIL, scope="org", policy_id="no-kms"
    )
    assert (
        decide(identity=[policy(statement())], guardrails=[allow_all, deny_kms]).decision is ALLOWED
    )


def test_unscoped_guardrails_are_each_a_level_of_their_own() -> None:
    """docs/decisions/0024: without a scope, every guardrail must allow (fail closed)."""
    allow_all = policy(statement(action="*"), kind=GUARDRAIL)
    deny_kms = policy(statement("Deny", action="kms:*"), kind=GUARDRAIL)
    assert (
        decide(identity=[policy(statement())], guardrails=[allow_all, deny_kms]).decision
        is IMPLICIT
    )


def test_guardrails_do_not_apply_to_anonymous_callers() -> None:
    deny = policy(statement("Deny", action="*"), kind=GUARDRAIL)
    public = resource_policy("*")
    assert decide(principal=iam.ANONYMOUS, resource=[public], guardrails=[deny]).decision is ALLOWED


def test_anonymous_caller_is_granted_only_by_a_public_resource_policy() -> None:
    assert (
        decide(principal=iam.ANONYMOUS, resource=[resource_policy({"AWS": ACCOUNT})]).decision
        is IMPLICIT
    )
    assert decide(principal=iam.ANONYMOUS, resource=[resource_policy("*")]).decision is ALLOWED


def test_service_principal_is_matched_by_service_name() -> None:
    service = iam.Principal.from_arn("lambda.amazonaws.com")
    named = resource_policy({"Service": "lambda.amazonaws.com"})
    assert decide(principal=service, resource=[named]).decision is ALLOWED
    other = resource_policy({"Service": "logs.amazonaws.com"})
    assert decide(principal=service, resource=[other]).decision is IMPLICIT


def test_endpoint_policy_is_a_gate() -> None:
    endpoint = policy(statement(action="s3:ListBucket"), kind=iam.PolicyKind.ENDPOINT)
    assert decide(identity=[policy(statement())], endpoints=[endpoint]).decision is IMPLICIT


def test_resource_account_none_means_the_callers_tenant() -> None:
    assert (
        decide(resource=[resource_policy({"AWS": USER})], resource_account=None).decision is ALLOWED
    )


def test_policy_of_the_wrong_kind_is_refused_by_the_policy_set() -> None:
    with pytest.raises(InvalidParameterValue, match="has kind resource but was given as identity"):
        iam.PolicySet(identity=(resource_policy("*"),))


def test_context_keys_differing_only_in_case_are_refused() -> None:
    with pytest.raises(InvalidParameterValue, match="given twice"):
        iam.EvaluationRequest(
            principal=iam.ANONYMOUS,
            action="s3:GetObject",
            resource=OBJECT,
            context={"a:b": "1", "A:B": "2"},
        )


def test_principal_from_arn_derives_kind_and_account() -> None:
    session = iam.Principal.from_arn(SESSION)
    assert session.kind is iam.PrincipalKind.ROLE_SESSION
    assert session.account == ACCOUNT
    assert session.session_role_arn == ROLE
    with pytest.raises(InvalidParameterValue):
        iam.Principal.from_arn("alice")


def test_evaluator_cache_key_never_serves_a_stale_set() -> None:
    evaluator = iam.Evaluator()
    request = iam.EvaluationRequest(
        principal=iam.Principal.from_arn(USER), action="s3:GetObject", resource=OBJECT
    )
    allowing = iam.PolicySet(identity=(policy(statement()),))
    denying = iam.PolicySet(identity=(policy(statement(action="ec2:*")),))
    assert evaluator.evaluate(request, allowing, cache_key=("alice", 1)).is_allowed
    assert not evaluator.evaluate(request, denying, cache_key=("alice", 1)).is_allowed


def test_evaluate_with_and_without_explanation_agree() -> None:
    cases = [
        {"identity": [policy(statement())]},
        {"identity": [policy(statement()), policy(statement("Deny"))]},
        {
            "resource": [resource_policy({"AWS": USER})],
            "boundaries": [policy(statement(action="ec2:*"), kind=BOUNDARY)],
        },
    ]
    for case in cases:
        plain = decide(**case)  # type: ignore[arg-type]
        explained = decide(explain=True, **case)  # type: ignore[arg-type]
        assert plain.decision is explained.decision
        assert plain.explanation is None
        assert explained.explanation is not None


def test_federated_principal_is_matched_by_the_callers_name() -> None:
    provider = iam.Principal(arn="accounts.example.com", kind=iam.PrincipalKind.FEDERATED_USER)
    trust = resource_policy(
        {"Federated": "accounts.example.com"}, action="sts:AssumeRoleWithWebIdentity"
    )
    web_identity = {
        "action": "sts:AssumeRoleWithWebIdentity",
        "resource_arn": f"arn:aws:iam::{ACCOUNT}:role/web",
    }
    assert decide(principal=provider, resource=[trust], **web_identity).decision is ALLOWED  # type: ignore[arg-type]
    other = resource_policy(
        {"Federated": "other.example.com"}, action="sts:AssumeRoleWithWebIdentity"
    )
    assert decide(principal=provider, resource=[other], **web_identity).decision is IMPLICIT  # type: ignore[arg-type]


def test_allowed_decision_names_the_gate_allows_too() -> None:
    boundary = policy(statement(Sid="Cap", action="s3:*"), kind=BOUNDARY, policy_id="boundary")
    result = decide(identity=[policy(statement(Sid="Read"), policy_id="id")], boundaries=[boundary])
    assert result.decision is ALLOWED
    assert {(ref.policy_id, ref.sid) for ref in result.deciding_statements} == {
        ("boundary", "Cap"),
        ("id", "Read"),
    }
