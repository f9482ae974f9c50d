"""Bucket policies: validation against their bucket, and S3's test of what is "public".

A bucket policy is an IAM resource policy, evaluated by the gate's engine like any other. Before
one is stored it must name only its own bucket's ARNs (S3: "Policy has invalid resource"), and,
while block-public-access is on (always, for tenants: docs/decisions/0153), it must not be
public. S3 calls a policy public when an ``Allow`` statement applies to everyone (``"*"``,
``{"AWS": "*"}`` or a ``NotPrincipal``) without a condition that pins one of the keys that
narrow "everyone" to known callers to fixed values (``aws:SourceIp``, ``aws:PrincipalAccount``,
``aws:PrincipalArn``, ``aws:PrincipalOrgID``, ``aws:SourceAccount``, ``aws:SourceArn``,
``aws:userid``, ``aws:SourceVpc``, ``aws:SourceVpce``).
"""

from __future__ import annotations

from lakevault import iam
from lakevault.core.errors import AccessDenied, MalformedPolicyDocument
from lakevault.storage._names import bucket_arn

_NARROWING_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceIp",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:userid",
        "aws:SourceVpc",
        "aws:SourceVpce",
    )
)
_WILDCARD_FREE_OPERATORS = ("StringEquals", "ArnEquals", "IpAddress", "StringEqualsIgnoreCase")


def _applies_to_everyone(statement: iam.Statement) -> bool:
    if statement.not_principals is not None:
        return True
    return any(
        entry.type is iam.PrincipalType.ANY
        or (entry.type is iam.PrincipalType.AWS and entry.value == "*")
        for entry in statement.principals or ()
    )


def _is_narrowed(statement: iam.Statement) -> bool:
    for condition in statement.conditions:
        if condition.key.lower() not in _NARROWING_KEYS or condition.if_exists:
            continue
        operator = condition.operator_name
        if operator.startswith(_WILDCARD_FREE_OPERATORS) and not any(
            "*" in value or "?" in value for value in condition.values
        ):
            if condition.key.lower() == "aws:sourceip" and any(
                value.endswith(("/0",)) for value in condition.values
            ):
                continue
            return True
    return False


def is_public(policy: iam.Policy) -> bool:
    """Whether S3 would call ``policy`` public (see the module docstring)."""
    return any(
        statement.effect is iam.Effect.ALLOW
        and _applies_to_everyone(statement)
        and not _is_narrowed(statement)
        for statement in policy.statements
    )


def check_bucket_policy(bucket: str, text: str, *, block_public_access: bool) -> iam.Policy:
    """Parse and check a bucket policy; raise ``MalformedPolicyDocument`` or ``AccessDenied``."""
    policy = iam.parse_policy(text, policy_id=bucket_arn(bucket), kind=iam.PolicyKind.RESOURCE)
    own = bucket_arn(bucket)
    for statement in policy.statements:
        if statement.principals is None and statement.not_principals is None:
            raise MalformedPolicyDocument(
                f"statement {statement.index} of the policy for bucket {bucket!r} has no "
                "Principal; a bucket policy names who it applies to"
            )
        for resource in (statement.resources or ()) + (statement.not_resources or ()):
            if resource != own and not resource.startswith(own + "/"):
                raise MalformedPolicyDocument(
                    f"Policy has invalid resource: {resource!r} is not bucket {bucket!r} or an "
                    f"object in it; use {own} or {own}/*"
                )
    if block_public_access and is_public(policy):
        raise AccessDenied(
            f"the policy would make bucket {bucket!r} public and block-public-access is on "
            "(BlockPublicPolicy); name the principals it applies to, or pin aws:SourceIp or "
            "aws:PrincipalAccount to fixed values"
        )
    return policy
