"""Each package's ``__all__`` is its whole public surface; this pins it, so that a change to it is
a deliberate, reviewed change (model: httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import importlib

import pytest

EXPORTS = {
    "lakevault.core": [
        "CONFIG_FILE_VARIABLE",
        "PLATFORM_ACCOUNT_ID",
        "AccountId",
        "Clock",
        "EntityId",
        "FixedClock",
        "LogFormat",
        "LogLevel",
        "RandomSource",
        "RequestId",
        "Settings",
        "SystemClock",
        "SystemRandom",
        "config_file_path",
        "configure_logging",
        "current_request_id",
        "errors",
        "load_settings",
        "mask_url_password",
        "new_account_id",
        "new_entity_id",
        "new_request_id",
        "parse_account_id",
        "sync_directory",
        "write_atomically",
    ],
    "lakevault.db": [
        "Database",
        "check_schema",
        "current_revision",
        "head_revision",
        "models",
        "upgrade",
    ],
    "lakevault.gate": [
        "GATE_CONTEXT_KEYS",
        "ContextValue",
        "Decision",
        "Gate",
        "PolicyEngine",
        "PolicySource",
        "Proof",
        "ProofVerifier",
        "Request",
        "event_source",
    ],
    "lakevault.identity": [
        "ADMINISTRATOR_POLICY_DOCUMENT",
        "ADMINISTRATOR_POLICY_NAME",
        "ADMIN_USER_NAME",
        "ANONYMOUS",
        "BootstrapCredentials",
        "CredentialScope",
        "DatabasePolicySource",
        "EntityKind",
        "GroupInfo",
        "HeadersNotSigned",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "IssuedToken",
        "MissingAuthenticationToken",
        "OrganizationInfo",
        "PolicyInfo",
        "PolicyVersionInfo",
        "Principal",
        "PrincipalPolicies",
        "RequestExpired",
        "RequestTimeTooSkewed",
        "RoleInfo",
        "SigV4Failure",
        "SigV4Request",
        "SignatureDoesNotMatch",
        "SignatureForm",
        "SignatureParts",
        "SignedRequest",
        "SigningCredential",
        "SigningKeys",
        "SigningRules",
        "TenantInfo",
        "TokenClaims",
        "TokenService",
        "UserInfo",
        "VerifiedRequest",
        "XAmzContentSHA256Mismatch",
        "add_user_to_group",
        "attach_guardrail",
        "attach_policy",
        "authenticate_password",
        "bootstrap_platform",
        "create_group",
        "create_organization",
        "create_policy",
        "create_policy_version",
        "create_role",
        "create_tenant",
        "create_user",
        "delete_group",
        "delete_inline_policy",
        "delete_policy",
        "delete_policy_version",
        "delete_role",
        "delete_user",
        "detach_guardrail",
        "detach_policy",
        "entity_arn",
        "generate_password",
        "get_group",
        "get_inline_policy",
        "get_organization",
        "get_policy",
        "get_policy_version",
        "get_role",
        "get_tenant",
        "get_user",
        "hash_password",
        "is_bootstrapped",
        "list_attached_policies",
        "list_groups",
        "list_groups_for_user",
        "list_inline_policies",
        "list_organizations",
        "list_policies",
        "list_policy_versions",
        "list_roles",
        "list_tenants",
        "list_users",
        "parse_policy_arn",
        "policy_arn",
        "principal_for_token",
        "put_inline_policy",
        "remove_user_from_group",
        "rules_for_service",
        "set_default_policy_version",
        "set_permissions_boundary",
        "set_user_password",
        "sign_request",
        "tag_user",
        "update_trust_policy",
        "user_arn",
        "verify_sigv4",
    ],
    "lakevault.kms": [
        "EncryptionContext",
        "IntegrityError",
        "IntegrityFailure",
        "InvalidRange",
        "ObjectFormatVersion",
        "ObjectHeader",
        "PlaintextDataKey",
        "RangeReadable",
        "Readable",
        "StreamTotals",
        "Writable",
        "decrypt_range",
        "decrypt_stream",
        "encrypt_stream",
        "encrypted_size",
        "plaintext_size",
        "read_object_header",
        "read_object_header_at",
    ],
    "lakevault.runtime": ["InitResult", "Platform", "initialise", "prepare_home", "require_home"],
    "lakevault.api": ["create_app"],
    "lakevault.cli": ["app", "main"],
    "lakevault.directory": [
        "CallContext",
        "Directory",
        "DirectoryCore",
        "NewTenant",
        "organization_arn",
        "tenant_arn",
    ],
}


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_public_names_are_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(EXPORTS[package])
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which does not exist"


def test_importing_lakevault_has_no_side_effects() -> None:
    """Importing every package reads no settings and opens nothing (STYLE.md §8)."""
    import subprocess
    import sys

    code = (
        "import os, sys; before = set(os.listdir('/proc/self/fd'));"
        + "".join(f"import {p};" for p in EXPORTS)
        + "after = set(os.listdir('/proc/self/fd')); sys.exit(len(after - before))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
