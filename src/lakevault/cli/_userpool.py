"""``lakevault userpool ...``: the tenant's user pool, and the operator's recovery commands.

* Through the API, with the saved session of ``lakevault login``: ``create``, ``describe``,
  ``add-group``, ``add-member``, ``outbox``. Results are printed as JSON.
* On the installation itself, with its configuration and database (no sign-in, so no lockout
  can block them): ``unlock`` (end a lockout; ``--sign-out`` also revokes every token) and
  ``rotate-keys`` (rotate the token signing keys now, keeping the old one until its tokens
  expire). These are the recovery of docs/user-pool.md.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from lakevault import identity
from lakevault.cli._client import ApiClient, account_of
from lakevault.cli._common import command, error_console, print_json, read_settings
from lakevault.runtime import Platform

app = typer.Typer(
    help="User pool: sign-up directory of a tenant; operator recovery (unlock, key rotation).",
    no_args_is_help=True,
)


@app.command("create")
@command
def create(
    name: str = typer.Option(..., "--name", help="Pool name."),
    account: str | None = typer.Option(None, "--account", help="Tenant; default: signed-in."),
    mfa: Annotated[
        identity.MFAConfiguration, typer.Option("--mfa", help="OFF, OPTIONAL or ON (required).")
    ] = identity.MFAConfiguration.OPTIONAL,
    no_self_sign_up: bool = typer.Option(
        False, "--no-self-sign-up", help="Only administrators create users."
    ),
) -> None:
    """Create the tenant's user pool (the password policy defaults to the platform's)."""
    body = {"poolName": name, "mfaConfiguration": mfa.value, "allowSelfSignUp": not no_self_sign_up}
    print_json(
        ApiClient.from_saved_session().call(
            "POST", f"/tenants/{account_of(account)}/user-pool", body
        )
    )


@app.command("describe")
@command
def describe(account: str | None = typer.Option(None, "--account")) -> None:
    """Show the tenant's user pool: its id (for sign-up URLs), MFA and password policy."""
    print_json(
        ApiClient.from_saved_session().call("GET", f"/tenants/{account_of(account)}/user-pool")
    )


@app.command("add-group")
@command
def add_group(
    name: str = typer.Option(..., "--name", help="Pool group, e.g. student."),
    iam_group: str | None = typer.Option(None, "--iam-group", help="IAM group; default: same."),
    mfa_required: bool = typer.Option(False, "--mfa-required", help="Members must use MFA."),
    account: str | None = typer.Option(None, "--account"),
) -> None:
    """Map a pool group to an IAM group (created when missing); its policies apply."""
    body = {"groupName": name, "iamGroupName": iam_group, "mfaRequired": mfa_required}
    print_json(
        ApiClient.from_saved_session().call(
            "POST", f"/tenants/{account_of(account)}/user-pool/groups", body
        )
    )


@app.command("add-member")
@command
def add_member(
    group: str = typer.Option(..., "--group"),
    user: str = typer.Option(..., "--user"),
    account: str | None = typer.Option(None, "--account"),
) -> None:
    """Put a user into a pool group."""
    ApiClient.from_saved_session().call(
        "PUT", f"/tenants/{account_of(account)}/user-pool/groups/{group}/members/{user}"
    )
    error_console.print(f"{user} is in pool group {group}")


@app.command("admin-create-user")
@command
def admin_create_user(
    user: str = typer.Option(..., "--user", help="User name of the new pool user."),
    email: str = typer.Option(..., "--email", help="The user's email address."),
    temporary_password_stdin: bool = typer.Option(
        False,
        "--temporary-password-stdin",
        help="Read the temporary password from standard input (default: one is generated).",
    ),
    resend: bool = typer.Option(
        False, "--resend", help="Give a user still waiting for a first sign-in a new one."
    ),
    account: str | None = typer.Option(None, "--account"),
) -> None:
    """Create a pool user with a temporary password, printed this once; the user must choose a
    new password at the first sign-in ('lakevault login' asks), within 7 days."""
    body: dict[str, Any] = {"userName": user, "email": email}
    if temporary_password_stdin:
        body["temporaryPassword"] = sys.stdin.readline().rstrip("\n")
    if resend:
        body["messageAction"] = "RESEND"
    print_json(
        ApiClient.from_saved_session().call(
            "POST", f"/tenants/{account_of(account)}/user-pool/users", body
        )
    )


@app.command("outbox")
@command
def outbox(
    account: str | None = typer.Option(None, "--account"),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
) -> None:
    """The pool's mail (verification and reset codes) kept by the outbox sender."""
    print_json(
        ApiClient.from_saved_session().call(
            "GET", f"/tenants/{account_of(account)}/user-pool/outbox", limit=str(limit)
        )
    )


@app.command("unlock")
@command
def unlock(
    account: str = typer.Option(..., "--account", help="12-digit account id of the user."),
    user: str = typer.Option(..., "--user", help="User name (e.g. admin)."),
    sign_out: bool = typer.Option(
        False, "--sign-out", help="Also revoke every access and refresh token of the user."
    ),
) -> None:
    """Operator recovery: end a user's sign-in lockout now, on this installation's database."""
    settings = read_settings()
    platform = Platform.build(settings)
    try:
        platform.check_ready()
        identity.recover_user(
            platform.database,
            account_id=account,
            user_name=user,
            sign_out=sign_out,
            clock=platform.clock,
            random=platform.random,
            region=settings.region,
        )
    finally:
        platform.close()
    error_console.print(
        f"{account}/{user} is unlocked" + (" and signed out everywhere" if sign_out else "")
    )


@app.command("rotate-keys")
@command
def rotate_keys() -> None:
    """Operator: rotate the token signing keys now; the old key verifies until its tokens
    expire, then the daily rotation job drops it."""
    settings = read_settings()
    platform = Platform.build(settings)
    try:
        keys = platform.tokens.keys.rotate_due(
            random=platform.random,
            clock=platform.clock,
            rotate_after_seconds=0,
            max_token_seconds=max(settings.access_token_ttl_seconds, settings.id_token_ttl_seconds),
        )
    finally:
        platform.close()
    print_json({"keyIds": list(keys.kids), "signingKeyId": keys.kids[-1]})
