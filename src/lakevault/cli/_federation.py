"""``lakevault iam oidc-provider ...``: a tenant's OIDC identity providers (federation).

Like the other ``iam`` commands these call the management API with the saved session
(``lakevault login``) and print JSON. The client secret is read from standard input
(``--client-secret-stdin``), never from an option, so it stays out of shell history and
process listings. docs/federation.md walks through connecting a corporate IdP.
"""

from __future__ import annotations

import sys

import typer

from lakevault.cli._client import ApiClient, account_of
from lakevault.cli._common import command, print_json

app = typer.Typer(
    help="OIDC identity providers of a tenant: sign-in through a corporate IdP.",
    no_args_is_help=True,
)

ACCOUNT = typer.Option(None, "--account", help="Tenant account id [default: your own].")


def _team_roles(values: list[str]) -> list[dict[str, str]]:
    mapping = []
    for value in values:
        team, separator, role = value.rpartition("=")
        if not separator or not team or not role:
            raise typer.BadParameter(
                "--team-role takes TEAM=ROLE_NAME, for example --team-role data-eng=DataEngineer"
            )
        mapping.append({"team": team, "roleName": role})
    return mapping


@app.command("create")
@command
def create(
    issuer_url: str = typer.Option(..., help="The IdP's issuer, exactly as its discovery says."),
    client_id: str = typer.Option(..., help="lakevault's client id at the IdP."),
    redirect_uri: str = typer.Option(
        ..., help="https://YOUR-LAKEVAULT/api/v1/federation/callback, as registered at the IdP."
    ),
    client_secret_stdin: bool = typer.Option(
        False, "--client-secret-stdin", help="Read the client secret from standard input."
    ),
    team_role: list[str] = typer.Option(
        [], "--team-role", help="TEAM=ROLE_NAME, in priority order; repeat for each team."
    ),
    audience: list[str] = typer.Option(
        [], "--audience", help="Another accepted audience (client id); repeatable."
    ),
    group_claim: str = typer.Option("groups", help="The ID token claim listing the groups."),
    signing_algorithm: list[str] = typer.Option(
        ["RS256"], "--signing-algorithm", help="Accepted ID token algorithm; repeatable."
    ),
    scope: list[str] = typer.Option(
        ["openid", "profile", "email"], "--scope", help="Scope to request; repeatable."
    ),
    account: str | None = ACCOUNT,
) -> None:
    """Register an identity provider; prints it (never its client secret)."""
    secret = sys.stdin.readline().rstrip("\n") if client_secret_stdin else None
    body = {
        "issuerUrl": issuer_url,
        "clientId": client_id,
        "clientSecret": secret or None,
        "redirectUri": redirect_uri,
        "audiences": audience,
        "groupClaim": group_claim,
        "teamRoles": _team_roles(team_role),
        "signingAlgorithms": signing_algorithm,
        "scopes": scope,
    }
    print_json(
        ApiClient.from_saved_session().call(
            "POST", f"/tenants/{account_of(account)}/oidc-providers", body
        )
    )


@app.command("list")
@command
def list_providers(account: str | None = ACCOUNT) -> None:
    """List the tenant's identity providers."""
    print_json(
        ApiClient.from_saved_session().call("GET", f"/tenants/{account_of(account)}/oidc-providers")
    )


@app.command("get")
@command
def get(provider_id: str, account: str | None = ACCOUNT) -> None:
    """Show one identity provider."""
    print_json(
        ApiClient.from_saved_session().call(
            "GET", f"/tenants/{account_of(account)}/oidc-providers/{provider_id}"
        )
    )


@app.command("delete")
@command
def delete(provider_id: str, account: str | None = ACCOUNT) -> None:
    """Delete an identity provider (sessions already issued run until they expire)."""
    ApiClient.from_saved_session().call(
        "DELETE", f"/tenants/{account_of(account)}/oidc-providers/{provider_id}"
    )
