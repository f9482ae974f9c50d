"""The directory: organizations, tenants, users, groups, roles and policies as an API.

A domain service above the gate: each operation is decided by the gate, then performed through
``lakevault.identity`` with its change recorded in the same transaction.
"""

from lakevault.directory._context import CallContext
from lakevault.directory._directory import DirectoryCore, organization_arn, tenant_arn
from lakevault.directory._federation import FederatedSession, SignInRedirect
from lakevault.directory._operations import Directory, NewTenant
from lakevault.directory._user_pool import UserPoolAdministration

__all__ = [
    "CallContext",
    "Directory",
    "DirectoryCore",
    "FederatedSession",
    "NewTenant",
    "SignInRedirect",
    "UserPoolAdministration",
    "organization_arn",
    "tenant_arn",
]
