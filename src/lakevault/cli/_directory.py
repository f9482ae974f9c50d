"""``lakevault login``, ``lakevault orgs``, ``lakevault tenants`` and ``lakevault iam ...``:
the management API from the command line. Results are printed as JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from lakevault.cli import _entities, _login, _userpool
from lakevault.cli._client import (
    ApiClient,
    account_of,
)
from lakevault.cli._common import command, print_json


def _document(text_or_path: str) -> Any:
    """A policy document given inline as JSON, or as ``@file.json``."""
    text = (
        Path(text_or_path[1:]).read_text(encoding="utf-8")
        if text_or_path.startswith("@")
        else text_or_path
    )
    return text


def _client() -> ApiClient:
    return ApiClient.from_saved_session()


orgs_app = typer.Typer(help="Organizations (platform administrators).", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (platform administrators).", no_args_is_help=True)


@orgs_app.command("create")
@command
def create_org(name: str) -> None:
    """Create an organization."""
    print_json(_client().call("POST", "/organizations", {"name": name}))


@orgs_app.command("list")
@command
def list_orgs() -> None:
    """List organizations."""
    print_json(_client().call("GET", "/organizations"))


@tenants_app.command("create")
@command
def create_tenant(
    name: str,
    organization: str | None = typer.Option(None, help="Organization id (o-...)."),
    admin_user: str = typer.Option("admin", help="Name of the tenant's first administrator."),
) -> None:
    """Create a tenant; its administrator's password is printed this once."""
    print_json(
        _client().call(
            "POST",
            "/tenants",
            {"name": name, "organizationId": organization, "adminUserName": admin_user},
        )
    )


@tenants_app.command("list")
@command
def list_tenants() -> None:
    """List tenants."""
    print_json(_client().call("GET", "/tenants"))


@tenants_app.command("attach-guardrail")
@command
def attach_guardrail(
    policy_arn: str,
    tenant: str | None = typer.Option(None, help="Tenant account id."),
    organization: str | None = typer.Option(None, help="Organization id."),
) -> None:
    """Attach a platform policy as a guardrail of a tenant or an organization."""
    path = _entities.guardrails_path(tenant, organization)
    print_json(_client().call("PUT", path, {"policyArn": policy_arn}))


ACCOUNT = typer.Option(None, "--account", help="Tenant account id [default: your own].")

users_app = typer.Typer(help="Users of a tenant.", no_args_is_help=True)
groups_app = typer.Typer(help="Groups (teams) of a tenant.", no_args_is_help=True)
roles_app = typer.Typer(help="Roles of a tenant.", no_args_is_help=True)
policies_app = typer.Typer(help="Managed policies of a tenant.", no_args_is_help=True)


@users_app.command("create")
@command
def create_user(name: str, path: str = "/", account: str | None = ACCOUNT) -> None:
    """Create a user."""
    print_json(
        _client().call(
            "POST", f"/tenants/{account_of(account)}/users", {"userName": name, "path": path}
        )
    )


@users_app.command("list")
@command
def list_users(account: str | None = ACCOUNT) -> None:
    """List users."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/users"))


@users_app.command("get")
@command
def get_user(name: str, account: str | None = ACCOUNT) -> None:
    """Show a user."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/users/{name}"))


@users_app.command("delete")
@command
def delete_user(name: str, account: str | None = ACCOUNT) -> None:
    """Delete a user (detach its policies and remove it from groups first)."""
    _client().call("DELETE", f"/tenants/{account_of(account)}/users/{name}")


@users_app.command("set-password")
@command
def set_password(
    name: str,
    account: str | None = ACCOUNT,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read it from stdin."),
) -> None:
    """Give a user a sign-in password."""
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    )
    _client().call(
        "PUT", f"/tenants/{account_of(account)}/users/{name}/password", {"password": password}
    )


@groups_app.command("create")
@command
def create_group(name: str, path: str = "/", account: str | None = ACCOUNT) -> None:
    """Create a group."""
    print_json(
        _client().call(
            "POST",
            f"/tenants/{account_of(account)}/groups",
            {"groupName": name, "path": path},
        )
    )


@groups_app.command("list")
@command
def list_groups(account: str | None = ACCOUNT) -> None:
    """List groups."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/groups"))


@groups_app.command("add-user")
@command
def add_user(group: str, user: str, account: str | None = ACCOUNT) -> None:
    """Add a user to a group."""
    _client().call("PUT", f"/tenants/{account_of(account)}/groups/{group}/members/{user}")


@groups_app.command("remove-user")
@command
def remove_user(group: str, user: str, account: str | None = ACCOUNT) -> None:
    """Remove a user from a group."""
    _client().call("DELETE", f"/tenants/{account_of(account)}/groups/{group}/members/{user}")


@roles_app.command("create")
@command
def create_role(
    name: str,
    trust_policy: str = typer.Option(..., help="Trust policy JSON, or @file.json."),
    account: str | None = ACCOUNT,
) -> None:
    """Create a role with a trust policy."""
    body = {"roleName": name, "assumeRolePolicyDocument": _document(trust_policy)}
    print_json(_client().call("POST", f"/tenants/{account_of(account)}/roles", body))


@roles_app.command("list")
@command
def list_roles(account: str | None = ACCOUNT) -> None:
    """List roles."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/roles"))


@policies_app.command("create")
@command
def create_policy(
    name: str,
    document: str = typer.Option(..., help="Policy JSON, or @file.json."),
    account: str | None = ACCOUNT,
) -> None:
    """Create a managed policy."""
    body = {"policyName": name, "policyDocument": _document(document)}
    print_json(_client().call("POST", f"/tenants/{account_of(account)}/policies", body))


@policies_app.command("list")
@command
def list_policies(account: str | None = ACCOUNT) -> None:
    """List managed policies."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/policies"))


@policies_app.command("create-version")
@command
def create_policy_version(
    name: str,
    document: str = typer.Option(..., help="Policy JSON, or @file.json."),
    set_default: bool = typer.Option(False, "--set-default", help="Make it the version in force."),
    account: str | None = ACCOUNT,
) -> None:
    """Add a version to a managed policy (at most five are kept)."""
    body = {"policyDocument": _document(document), "setAsDefault": set_default}
    print_json(
        _client().call("POST", f"/tenants/{account_of(account)}/policies/{name}/versions", body)
    )


keys_app = typer.Typer(help="Access keys of a user (SigV4 credentials).", no_args_is_help=True)
api_keys_app = typer.Typer(help="API keys for ingestion endpoints.", no_args_is_help=True)
sts_app = typer.Typer(help="Temporary credentials (STS).", no_args_is_help=True)


@keys_app.command("create")
@command
def create_access_key(user: str, account: str | None = ACCOUNT) -> None:
    """Create an access key; its secret is printed this once."""
    print_json(_client().call("POST", f"/tenants/{account_of(account)}/users/{user}/access-keys"))


@keys_app.command("list")
@command
def list_access_keys(user: str, account: str | None = ACCOUNT) -> None:
    """List a user's access keys (never their secrets)."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/users/{user}/access-keys"))


@keys_app.command("set-status")
@command
def set_access_key_status(
    user: str,
    key_id: str,
    status: str = typer.Argument(..., help="Active or Inactive."),
    account: str | None = ACCOUNT,
) -> None:
    """Deactivate (or reactivate) an access key."""
    path = f"/tenants/{account_of(account)}/users/{user}/access-keys/{key_id}"
    _client().call("PUT", path, {"status": status})


@keys_app.command("delete")
@command
def delete_access_key(user: str, key_id: str, account: str | None = ACCOUNT) -> None:
    """Delete an access key; requests signed with it fail at once."""
    _client().call("DELETE", f"/tenants/{account_of(account)}/users/{user}/access-keys/{key_id}")


@api_keys_app.command("create")
@command
def create_api_key(
    name: str,
    action: list[str] = typer.Option(..., "--action", help="Allowed action (repeat)."),
    resource: list[str] = typer.Option(..., "--resource", help="Allowed resource ARN (repeat)."),
    source_cidr: list[str] = typer.Option([], "--source-cidr", help="Allowed network (repeat)."),
    origin: list[str] = typer.Option([], "--origin", help="Allowed browser origin (repeat)."),
    ttl_days: int = typer.Option(90, help="Days until it expires (1 to 365)."),
    account: str | None = ACCOUNT,
) -> None:
    """Create an API key acting as you within its scope; the key is printed this once."""
    body = {
        "name": name,
        "actions": action,
        "resources": resource,
        "sourceCidrs": source_cidr,
        "allowedOrigins": origin,
        "ttlDays": ttl_days,
    }
    print_json(_client().call("POST", f"/tenants/{account_of(account)}/api-keys", body))


@api_keys_app.command("list")
@command
def list_api_keys(account: str | None = ACCOUNT) -> None:
    """List API keys (never their secrets)."""
    print_json(_client().call("GET", f"/tenants/{account_of(account)}/api-keys"))


@api_keys_app.command("rotate")
@command
def rotate_api_key(
    name: str,
    new_name: str = typer.Option(..., help="Name of the replacement key."),
    grace_seconds: int = typer.Option(3600, help="How long the old key keeps working."),
    account: str | None = ACCOUNT,
) -> None:
    """Replace a key with one of the same scope; the new key is printed this once."""
    body = {"newName": new_name, "graceSeconds": grace_seconds}
    print_json(
        _client().call("POST", f"/tenants/{account_of(account)}/api-keys/{name}/rotate", body)
    )


@api_keys_app.command("delete")
@command
def delete_api_key(name: str, account: str | None = ACCOUNT) -> None:
    """Delete an API key; it stops working at once."""
    _client().call("DELETE", f"/tenants/{account_of(account)}/api-keys/{name}")


@sts_app.command("assume-role")
@command
def assume_role(
    role_arn: str,
    session_name: str = typer.Option(..., help="2 to 64 characters, recorded in audit events."),
    duration_seconds: int = typer.Option(3600, help="900 up to the role's maximum."),
    external_id: str | None = typer.Option(None, help="The ExternalId the trust policy asks."),
    policy: str | None = typer.Option(None, help="Session policy JSON, or @file.json."),
    tag: list[str] = typer.Option(
        [], "--tag", help="A session tag KEY=VALUE (repeat; needs sts:TagSession)."
    ),
    transitive_tag_key: list[str] = typer.Option(
        [], "--transitive-tag-key", help="A session tag key that carries into chained roles."
    ),
) -> None:
    """Temporary credentials of a role (secret and token are printed this once)."""
    tags: dict[str, str] = {}
    for item in tag:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise typer.BadParameter(f"--tag takes KEY=VALUE, got {item!r}")
        tags[key] = value
    body: dict[str, Any] = {
        "roleArn": role_arn,
        "roleSessionName": session_name,
        "durationSeconds": duration_seconds,
        "externalId": external_id,
        "policy": _document(policy) if policy is not None else None,
        "tags": tags,
        "transitiveTagKeys": transitive_tag_key,
    }
    print_json(_client().call("POST", "/sts/assume-role", body))


@sts_app.command("get-session-token")
@command
def get_session_token(
    duration_seconds: int = typer.Option(43_200, help="900 to 129600 (36 h), within settings."),
    serial_number: str | None = typer.Option(
        None, help="Your MFA device: arn:aws:iam::ACCOUNT:mfa/USER (then a code is asked)."
    ),
    token_code: str | None = typer.Option(
        None, help="A current code of the MFA device (asked for when omitted)."
    ),
) -> None:
    """Temporary credentials of your own user (secret and token are printed this once)."""
    if serial_number is not None and token_code is None:
        token_code = typer.prompt("MFA code", hide_input=True)
    body = {
        "durationSeconds": duration_seconds,
        "serialNumber": serial_number,
        "tokenCode": token_code,
    }
    print_json(_client().call("POST", "/sts/session-token", body))


@sts_app.command("whoami")
@command
def whoami() -> None:
    """Who the saved session's credentials belong to."""
    print_json(_client().call("GET", "/sts/caller-identity"))


def _principal_path(user: str | None, group: str | None, role: str | None) -> str:
    chosen = [
        (kind, name) for kind, name in (("users", user), ("groups", group), ("roles", role)) if name
    ]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --user, --group and --role")
    kind, name = chosen[0]
    return f"/{kind}/{name}"


@command
def attach_policy(
    policy_arn: str,
    user: str | None = typer.Option(None),
    group: str | None = typer.Option(None),
    role: str | None = typer.Option(None),
    account: str | None = ACCOUNT,
) -> None:
    """Attach a managed policy to a user, group or role."""
    path = f"/tenants/{account_of(account)}{_principal_path(user, group, role)}/attached-policies"
    _client().call("PUT", path, {"policyArn": policy_arn})


@command
def detach_policy(
    policy_arn: str,
    user: str | None = typer.Option(None),
    group: str | None = typer.Option(None),
    role: str | None = typer.Option(None),
    account: str | None = ACCOUNT,
) -> None:
    """Detach a managed policy from a user, group or role."""
    path = f"/tenants/{account_of(account)}{_principal_path(user, group, role)}/attached-policies"
    _client().call("DELETE", path, policyArn=policy_arn)


@command
def put_inline_policy(
    policy_name: str,
    document: str = typer.Option(..., help="Policy JSON, or @file.json."),
    user: str | None = typer.Option(None),
    group: str | None = typer.Option(None),
    role: str | None = typer.Option(None),
    account: str | None = ACCOUNT,
) -> None:
    """Embed (or replace) an inline policy in a user, group or role."""
    path = (
        f"/tenants/{account_of(account)}{_principal_path(user, group, role)}/policies/{policy_name}"
    )
    _client().call("PUT", path, {"policyDocument": _document(document)})


def register(iam_app: typer.Typer, root: typer.Typer) -> None:
    """Add the management commands to ``lakevault`` and ``lakevault iam`` (explicitly)."""
    root.command("login")(_login.login)
    root.command("logout")(_login.logout)
    root.add_typer(orgs_app, name="orgs")
    root.add_typer(tenants_app, name="tenants")
    iam_app.add_typer(users_app, name="users")
    iam_app.add_typer(groups_app, name="groups")
    iam_app.add_typer(roles_app, name="roles")
    iam_app.add_typer(policies_app, name="policies")
    iam_app.command("attach-policy")(attach_policy)
    iam_app.command("detach-policy")(detach_policy)
    iam_app.command("put-inline-policy")(put_inline_policy)
    iam_app.add_typer(keys_app, name="access-keys")
    root.add_typer(api_keys_app, name="api-keys")
    root.add_typer(sts_app, name="sts")
    _entities.register(
        users=users_app,
        groups=groups_app,
        roles=roles_app,
        policies=policies_app,
        iam=iam_app,
        tenants=tenants_app,
        userpool=_userpool.app,
        sts=sts_app,
    )
