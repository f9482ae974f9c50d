"""Key policies: the default one, and grants turned into policy statements.

A key policy is an IAM resource policy evaluated by the same engine as every other policy (the
gate passes it as the request's ``resource_policy``). For ``kms:`` actions the engine treats it as
authoritative (rule R4 of docs/policies.md): even in the key's own tenant, an identity policy
alone is not enough — the key policy must allow the caller or the tenant.

The default key policy is AWS's: the tenant's root account may do ``kms:*``, which delegates
access to the tenant's IAM policies. Keys a service makes for a resource (a bucket's key) also
let that service (``s3.amazonaws.com``) use the key for data keys.

Grants become extra Allow statements of the key policy for the request being decided, naming
the grantee and the granted operations, with the grant's encryption-context constraints as
conditions: the decision, and the audit event's deciding statement, then name the grant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lakevault.keys._types import Grant

#: Operations a grant may allow (AWS's grant operations lakevault implements).
GRANT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "DescribeKey",
        "CreateGrant",
        "RetireGrant",
    }
)

#: What a service may do with a key made for one of its resources.
SERVICE_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


def default_key_policy(account_id: str, *, service: str | None = None) -> str:
    """AWS's default key policy for ``account_id``, plus a service's use for service keys."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if service is not None:
        statements.append(
            {
                "Sid": "Allow use by the platform service",
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": list(SERVICE_KEY_ACTIONS),
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": statements})


def with_grants(policy_text: str, grants: Iterable[Grant]) -> dict[str, Any]:
    """The key policy document with one Allow statement per grant (Sid ``grant:ID``)."""
    document: dict[str, Any] = json.loads(policy_text)
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    for grant in grants:
        if any(operation != "RetireGrant" for operation in grant.operations):
            statements.append(grant_statement(grant))
        retiring = retire_statement(grant)
        if retiring is not None:
            statements.append(retiring)
    return {**document, "Statement": statements}


#: The condition key naming the grant a ``kms:RetireGrant`` request retires (set by the key
#: service only; callers cannot put keys into a gate request's context).
GRANT_ID_KEY = "kms:GrantId"


def retire_statement(grant: Grant) -> dict[str, Any] | None:
    """Who may retire this grant (AWS ``RetireGrant``): its retiring principal, and its grantee
    when the grant includes ``RetireGrant`` — for this grant only (``kms:GrantId``)."""
    principals = [grant.retiring_principal] if grant.retiring_principal else []
    if "RetireGrant" in grant.operations:
        principals.append(grant.grantee_principal)
    if not principals:
        return None
    return {
        "Sid": f"retire:{grant.grant_id}",
        "Effect": "Allow",
        "Principal": {"AWS": sorted(set(principals))},
        "Action": "kms:RetireGrant",
        "Resource": "*",
        "Condition": {"StringEquals": {GRANT_ID_KEY: grant.grant_id}},
    }


def grant_statement(grant: Grant) -> dict[str, Any]:
    """One grant as a policy statement.

    ``EncryptionContextSubset`` becomes ``StringEquals`` on each named
    ``kms:EncryptionContext:NAME``; ``EncryptionContextEquals`` adds that the request's context
    has no other names (``ForAllValues:StringEquals`` on ``kms:EncryptionContextKeys``) and at
    least one (``Null`` false), so the context must be exactly the grant's.
    """
    statement: dict[str, Any] = {
        "Sid": f"grant:{grant.grant_id}",
        "Effect": "Allow",
        "Principal": {"AWS": grant.grantee_principal},
        "Action": [
            f"kms:{operation}" for operation in grant.operations if operation != "RetireGrant"
        ],
        "Resource": "*",
    }
    equals = grant.encryption_context_equals
    pairs = equals if equals is not None else grant.encryption_context_subset
    condition: dict[str, Any] = {}
    if pairs:
        condition["StringEquals"] = {
            f"kms:EncryptionContext:{name}": value for name, value in pairs
        }
    if equals is not None and equals:
        condition["ForAllValues:StringEquals"] = {
            "kms:EncryptionContextKeys": [name for name, _ in equals]
        }
    elif equals is not None:
        condition["Null"] = {"kms:EncryptionContextKeys": "true"}
    if condition:
        statement["Condition"] = condition
    return statement
