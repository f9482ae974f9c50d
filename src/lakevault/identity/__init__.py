"""Identity: principals, credentials and the policies attached to them.

Issue #4 grows this into users, groups, roles, the user pool, tokens, federation, API keys and
STS; the foundation provides the platform administrator, password sign-in and the policy source
the gate reads.
"""

from lakevault.identity._authenticate import authenticate_password
from lakevault.identity._bootstrap import (
    ADMIN_USER_NAME,
    ADMINISTRATOR_POLICY_DOCUMENT,
    ADMINISTRATOR_POLICY_NAME,
    BootstrapCredentials,
    bootstrap_platform,
    is_bootstrapped,
    policy_arn,
    user_arn,
)
from lakevault.identity._policy_source import DatabasePolicySource
from lakevault.identity._principal import ANONYMOUS, Principal, PrincipalPolicies

__all__ = [
    "ADMINISTRATOR_POLICY_DOCUMENT",
    "ADMINISTRATOR_POLICY_NAME",
    "ADMIN_USER_NAME",
    "ANONYMOUS",
    "BootstrapCredentials",
    "DatabasePolicySource",
    "Principal",
    "PrincipalPolicies",
    "authenticate_password",
    "bootstrap_platform",
    "is_bootstrapped",
    "policy_arn",
    "user_arn",
]
