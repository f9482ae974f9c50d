"""KMS's policy lockout safety check (AWS's ``BypassPolicyLockoutSafetyCheck``).

A key policy is authoritative for its key (docs/keys.md, rule R4): a policy that no longer
lets anyone of the tenant change it makes the key unmanageable for good — no IAM policy can
give access back. So ``PutKeyPolicy`` (and ``CreateKey`` with a policy) first asks the gate,
as a what-if that authorises and records nothing, whether the **caller** would still be
allowed ``kms:PutKeyPolicy`` on the key under the new policy, and refuses the policy with
``MalformedPolicyDocument`` when not — unless the caller sets
``bypass_policy_lockout_safety_check``, which the audit event then records.
"""

from __future__ import annotations

from collections.abc import Mapping

from lakevault import iam
from lakevault.core.errors import MalformedPolicyDocument
from lakevault.gate import Gate, Request
from lakevault.keys._events import KeyCall


def require_no_lockout(
    gate: Gate,
    call: KeyCall,
    *,
    key_arn: str,
    account_id: str,
    policy_text: str,
    tags: Mapping[str, str],
) -> None:
    """Raise unless the caller could call ``kms:PutKeyPolicy`` under ``policy_text``."""
    policy = iam.parse_policy(
        policy_text, policy_id=f"{key_arn}#proposed-key-policy", kind=iam.PolicyKind.RESOURCE
    )
    allowed = gate.would_allow(
        Request(
            principal=call.principal,
            action="kms:PutKeyPolicy",
            resource=key_arn,
            resource_account=account_id,
            resource_type="AWS::KMS::Key",
            resource_policy=policy,
            resource_tags=dict(tags),
            context={"kms:CallerAccount": call.principal.account_id},
            request_id=call.request_id,
            source_ip=call.source_ip,
            user_agent=call.user_agent,
            secure_transport=call.secure_transport,
            read_only=False,
        )
    )
    if not allowed:
        raise MalformedPolicyDocument(
            "The new key policy will not allow you to change the key policy later "
            f"({call.principal.arn} would be denied kms:PutKeyPolicy on {key_arn}). Add a "
            "statement allowing it (the default policy's tenant-root statement does), or set "
            "BypassPolicyLockoutSafetyCheck if you mean to lock yourself out"
        )
