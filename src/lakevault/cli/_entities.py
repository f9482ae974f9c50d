"""The rest of the management API on the command line: reading, changing and deleting what
``_directory.py`` creates (groups, roles, policy versions, attachments, guardrails), the user
pool's administration, and ``AssumeRoleWithWebIdentity``. Results are printed as JSON.

The commands are plain functions; :func:`register` adds them to the Typer apps explicitly.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from lakevault import identity
from lakevault.cli._client import ApiClient, account_of
from lakevault.cli._common import command, error_console, print_json

ACCOUNT = typer.Option(None, "--account", help="Tenant account id [default: your own].")
USER = typer.Option(None, "--user", help="A user (give exactly one of --user, --group, --role).")
GROUP = typer.Option(None, "--group", help="A group.")
ROLE = typer.Option(None, "--role", help="A role.")


def _call(method: str, path: str, body: Any = None, **params: str) -> Any:
    return ApiClient.from_saved_session().call(method, path, body, **params)


def _tenant(account: str | None) -> str:
    return f"/tenants/{account_of(account)}"


def _document(text_or_path: str) -> str:
    """A JSON document given inline, or as ``@file.json``."""
    if text_or_path.startswith("@"):
        return Path(text_or_path[1:]).read_text(encoding="utf-8")
    return text_or_path


def _owner(user: str | None, group: str | None, role: str | None) -> str:
    chosen = [(k, n) for k, n in (("users", user), ("groups", group), ("roles", role)) if n]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --user, --group and --role")
    kind, name = chosen[0]
    return f"/{kind}/{name}"


# --- users, groups, roles ----------------------------------------------------------------


@command
def set_permissions_boundary(user: str, policy_arn: str, account: str | None = ACCOUNT) -> None:
    """Cap a user's permissions with a managed policy (its permissions boundary)."""
    _call("PUT", f"{_tenant(account)}/users/{user}/permissions-boundary", {"policyArn": policy_arn})


@command
def delete_permissions_boundary(user: str, account: str | None = ACCOUNT) -> None:
    """Remove a user's permissions boundary."""
    _call("DELETE", f"{_tenant(account)}/users/{user}/permissions-boundary")


@command
def get_group(name: str, account: str | None = ACCOUNT) -> None:
    """Show a group and its members."""
    print_json(_call("GET", f"{_tenant(account)}/groups/{name}"))


@command
def delete_group(name: str, account: str | None = ACCOUNT) -> None:
    """Delete a group (refused while it has members or policies)."""
    _call("DELETE", f"{_tenant(account)}/groups/{name}")


@command
def get_role(name: str, account: str | None = ACCOUNT) -> None:
    """Show a role and its trust policy."""
    print_json(_call("GET", f"{_tenant(account)}/roles/{name}"))


@command
def delete_role(name: str, account: str | None = ACCOUNT) -> None:
    """Delete a role; its sessions stop at once."""
    _call("DELETE", f"{_tenant(account)}/roles/{name}")


@command
def update_trust_policy(
    name: str,
    document: str = typer.Option(..., help="Trust policy JSON, or @file.json."),
    account: str | None = ACCOUNT,
) -> None:
    """Replace a role's trust policy (who may assume it)."""
    body = {"policyDocument": _document(document)}
    print_json(_call("PUT", f"{_tenant(account)}/roles/{name}/trust-policy", body))


@command
def revoke_sessions(name: str, account: str | None = ACCOUNT) -> None:
    """Make every session of a role issued until now stop working."""
    _call("POST", f"{_tenant(account)}/roles/{name}/revoke-sessions")
    error_console.print(f"sessions of {name} issued until now are revoked")


# --- managed policies ----------------------------------------------------------------------


@command
def get_policy(name: str, account: str | None = ACCOUNT) -> None:
    """Show a managed policy."""
    print_json(_call("GET", f"{_tenant(account)}/policies/{name}"))


@command
def delete_policy(name: str, account: str | None = ACCOUNT) -> None:
    """Delete a managed policy (refused while attached)."""
    _call("DELETE", f"{_tenant(account)}/policies/{name}")


@command
def list_versions(name: str, account: str | None = ACCOUNT) -> None:
    """List a managed policy's versions."""
    print_json(_call("GET", f"{_tenant(account)}/policies/{name}/versions"))


@command
def get_version(name: str, version_id: str, account: str | None = ACCOUNT) -> None:
    """Show one version of a managed policy, with its document."""
    print_json(_call("GET", f"{_tenant(account)}/policies/{name}/versions/{version_id}"))


@command
def delete_version(name: str, version_id: str, account: str | None = ACCOUNT) -> None:
    """Delete a version that is not the default."""
    _call("DELETE", f"{_tenant(account)}/policies/{name}/versions/{version_id}")


@command
def set_default_version(name: str, version_id: str, account: str | None = ACCOUNT) -> None:
    """Make a version the one in force."""
    path = f"{_tenant(account)}/policies/{name}/default-version"
    _call("PUT", path, {"versionId": version_id})


# --- attachments and inline policies -------------------------------------------------------


@command
def list_attached_policies(
    user: str | None = USER,
    group: str | None = GROUP,
    role: str | None = ROLE,
    account: str | None = ACCOUNT,
) -> None:
    """List the managed policies attached to a user, group or role."""
    path = f"{_tenant(account)}{_owner(user, group, role)}/attached-policies"
    print_json(_call("GET", path))


@command
def list_inline_policies(
    user: str | None = USER,
    group: str | None = GROUP,
    role: str | None = ROLE,
    account: str | None = ACCOUNT,
) -> None:
    """List the names of the inline policies of a user, group or role."""
    print_json(_call("GET", f"{_tenant(account)}{_owner(user, group, role)}/policies"))


@command
def get_inline_policy(
    policy_name: str,
    user: str | None = USER,
    group: str | None = GROUP,
    role: str | None = ROLE,
    account: str | None = ACCOUNT,
) -> None:
    """Show an inline policy of a user, group or role."""
    path = f"{_tenant(account)}{_owner(user, group, role)}/policies/{policy_name}"
    print_json(_call("GET", path))


@command
def delete_inline_policy(
    policy_name: str,
    user: str | None = USER,
    group: str | None = GROUP,
    role: str | None = ROLE,
    account: str | None = ACCOUNT,
) -> None:
    """Delete an inline policy of a user, group or role."""
    _call("DELETE", f"{_tenant(account)}{_owner(user, group, role)}/policies/{policy_name}")


# --- tenants and guardrails ------------------------------------------------------------------


@command
def get_tenant(account: str) -> None:
    """Show a tenant (platform administrators)."""
    print_json(_call("GET", f"/tenants/{account}"))


def guardrails_path(tenant: str | None, organization: str | None) -> str:
    """The guardrails of exactly one of a tenant and an organization."""
    if (tenant is None) == (organization is None):
        raise typer.BadParameter("give exactly one of --tenant and --organization")
    if tenant is not None:
        return f"/tenants/{tenant}/guardrails"
    return f"/organizations/{organization}/guardrails"


@command
def detach_guardrail(
    policy_arn: str,
    tenant: str | None = typer.Option(None, help="Tenant account id."),
    organization: str | None = typer.Option(None, help="Organization id."),
) -> None:
    """Detach a guardrail from a tenant or an organization."""
    _call("DELETE", guardrails_path(tenant, organization), policyArn=policy_arn)


# --- the user pool ---------------------------------------------------------------------------


@command
def update_pool(
    mfa: identity.MFAConfiguration = typer.Option(..., "--mfa", help="OFF, OPTIONAL or ON."),
    self_sign_up: bool = typer.Option(True, "--self-sign-up/--no-self-sign-up"),
    minimum_length: int = typer.Option(8, help="Password policy: at least this long (8-256)."),
    require_symbols: bool = typer.Option(False, help="Password policy: a symbol too."),
    account: str | None = ACCOUNT,
) -> None:
    """Change the pool's MFA setting, self sign-up and password policy."""
    body = {
        "mfaConfiguration": mfa.value,
        "allowSelfSignUp": self_sign_up,
        "passwordPolicy": {"minimumLength": minimum_length, "requireSymbols": require_symbols},
    }
    print_json(_call("PUT", f"{_tenant(account)}/user-pool", body))


@command
def list_pool_groups(account: str | None = ACCOUNT) -> None:
    """List the pool's groups and the IAM groups they map to."""
    print_json(_call("GET", f"{_tenant(account)}/user-pool/groups"))


@command
def remove_pool_member(
    group: str = typer.Option(..., "--group"),
    user: str = typer.Option(..., "--user"),
    account: str | None = ACCOUNT,
) -> None:
    """Take a user out of a pool group."""
    _call("DELETE", f"{_tenant(account)}/user-pool/groups/{group}/members/{user}")
    error_console.print(f"{user} is no longer in pool group {group}")


@command
def sign_out_user(user: str = typer.Option(..., "--user"), account: str | None = ACCOUNT) -> None:
    """Stop every access and refresh token of a user now (AdminUserGlobalSignOut)."""
    _call("POST", f"{_tenant(account)}/users/{user}/sign-out")
    error_console.print(f"{user} is signed out everywhere")


@command
def unlock_user(user: str = typer.Option(..., "--user"), account: str | None = ACCOUNT) -> None:
    """End a user's sign-in lockout now, through the API (the tenant administrator's way)."""
    _call("POST", f"{_tenant(account)}/users/{user}/unlock")
    error_console.print(f"{user} is unlocked")


# --- STS -------------------------------------------------------------------------------------


@command
def assume_role_with_web_identity(
    role_arn: str,
    session_name: str = typer.Option(..., help="2 to 64 characters, recorded in audit events."),
    endpoint: str = typer.Option("http://127.0.0.1:8080", help="Where lakevault answers."),
    duration_seconds: int = typer.Option(3600, help="900 up to the role's maximum."),
) -> None:
    """Exchange an ID token of the tenant's identity provider (read from standard input) for the
    role's temporary credentials; unsigned, like AWS's. Secret and token are printed this once."""
    token = sys.stdin.readline().strip()
    if not token:
        raise typer.BadParameter("give the ID token on standard input")
    body = {
        "roleArn": role_arn,
        "roleSessionName": session_name,
        "webIdentityToken": token,
        "durationSeconds": duration_seconds,
    }
    print_json(ApiClient(endpoint).call("POST", "/sts/assume-role-with-web-identity", body))


def register(
    *,
    users: typer.Typer,
    groups: typer.Typer,
    roles: typer.Typer,
    policies: typer.Typer,
    iam: typer.Typer,
    tenants: typer.Typer,
    userpool: typer.Typer,
    sts: typer.Typer,
) -> None:
    """Add the commands above to their apps (explicitly, STYLE.md §8)."""
    for app, name, function in (
        (users, "set-permissions-boundary", set_permissions_boundary),
        (users, "delete-permissions-boundary", delete_permissions_boundary),
        (groups, "get", get_group),
        (groups, "delete", delete_group),
        (roles, "get", get_role),
        (roles, "delete", delete_role),
        (roles, "update-trust-policy", update_trust_policy),
        (roles, "revoke-sessions", revoke_sessions),
        (policies, "get", get_policy),
        (policies, "delete", delete_policy),
        (policies, "list-versions", list_versions),
        (policies, "get-version", get_version),
        (policies, "delete-version", delete_version),
        (policies, "set-default-version", set_default_version),
        (iam, "list-attached-policies", list_attached_policies),
        (iam, "list-inline-policies", list_inline_policies),
        (iam, "get-inline-policy", get_inline_policy),
        (iam, "delete-inline-policy", delete_inline_policy),
        (tenants, "get", get_tenant),
        (tenants, "detach-guardrail", detach_guardrail),
        (userpool, "update", update_pool),
        (userpool, "list-groups", list_pool_groups),
        (userpool, "remove-member", remove_pool_member),
        (userpool, "sign-out-user", sign_out_user),
        (userpool, "unlock-user", unlock_user),
        (sts, "assume-role-with-web-identity", assume_role_with_web_identity),
    ):
        app.command(name)(function)
