"""OIDC federation over HTTP: identity providers, browser sign-in, ``AssumeRoleWithWebIdentity``.

* ``/api/v1/tenants/{account}/oidc-providers`` — register, list, read, delete a provider
  (``iam:*OpenIDConnectProvider``, decided by the gate);
* ``GET /api/v1/federation/{account}/{provider}/sign-in`` — redirects the browser to the IdP
  and sets a short-lived, HttpOnly cookie holding the sign-in's state (login-CSRF binding);
* ``GET /api/v1/federation/callback`` — the redirect URI to register at the IdP; answers with
  the mapped role's temporary credentials;
* ``POST /api/v1/sts/assume-role-with-web-identity`` — exchange an ID token for a role's
  temporary credentials (unsigned, like AWS's).

Request bodies and answers are defined here, beside their routes (the edge is the only place
for pydantic, STYLE.md §4). No answer ever contains the client secret.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lakevault import identity
from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.runtime import Platform

#: The cookie that binds a sign-in's state to the browser that started it.
STATE_COOKIE = "lakevault_oidc_state"
CALLBACK_PATH = "/api/v1/federation/callback"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamRoleBody(_Body):
    team: str = Field(min_length=1, max_length=128)
    roleName: str = Field(min_length=1, max_length=64)


class CreateOIDCProvider(_Body):
    issuerUrl: str = Field(examples=["https://login.example.com/realms/corp"])
    clientId: str
    clientSecret: SecretStr | None = None
    redirectUri: str = Field(examples=["https://lakevault.example.com" + CALLBACK_PATH])
    audiences: list[str] = Field(default_factory=list)
    groupClaim: str = "groups"
    teamRoles: list[TeamRoleBody] = Field(default_factory=list)
    signingAlgorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])


class OIDCProvider(BaseModel):
    providerId: str
    arn: str
    issuerUrl: str
    clientId: str
    isConfidentialClient: bool
    audiences: list[str]
    groupClaim: str
    teamRoles: list[TeamRoleBody]
    signingAlgorithms: list[str]
    scopes: list[str]
    redirectUri: str
    createdAt: datetime

    @classmethod
    def of(cls, value: identity.OIDCProviderInfo) -> "OIDCProvider":
        return cls(
            providerId=value.provider_id,
            arn=value.arn,
            issuerUrl=value.issuer,
            clientId=value.client_id,
            isConfidentialClient=value.has_client_secret,
            audiences=list(value.audiences),
            groupClaim=value.group_claim,
            teamRoles=[TeamRoleBody(team=e.team, roleName=e.role_name) for e in value.team_roles],
            signingAlgorithms=[a.value for a in value.signing_algorithms],
            scopes=list(value.scopes),
            redirectUri=value.redirect_uri,
            createdAt=value.created_at,
        )


class AssumeRoleWithWebIdentity(_Body):
    roleArn: str
    roleSessionName: str
    webIdentityToken: SecretStr
    durationSeconds: int = 3600
    policy: dict[str, Any] | str | None = None


class WebIdentityCredentials(BaseModel):
    """Temporary credentials: secret and session token are shown in this response only."""

    accessKeyId: str
    secretAccessKey: str
    sessionToken: str
    expiration: datetime
    assumedRoleArn: str
    assumedRoleId: str
    providerArn: str
    team: str | None = None
    roleArn: str

    @classmethod
    def of(
        cls,
        issued: identity.TemporaryCredentials,
        *,
        provider_arn: str,
        role_arn: str,
        team: str | None,
    ) -> "WebIdentityCredentials":
        return cls(
            accessKeyId=issued.access_key_id,
            secretAccessKey=issued.secret_access_key,
            sessionToken=issued.session_token,
            expiration=issued.expiration,
            assumedRoleArn=issued.assumed_role_arn,
            assumedRoleId=issued.assumed_role_id,
            providerArn=provider_arn,
            team=team,
            roleArn=role_arn,
        )


def _anonymous_call(request: Request) -> CallContext:
    """The call context of an unauthenticated federation request: the web identity proves
    who it is by its token, not by the HTTP request's credentials."""
    return CallContext(
        principal=identity.ANONYMOUS,
        request_id=str(request.scope.get("state", {}).get("request_id", "")),
        source_ip=request.client.host if request.client is not None else None,
        user_agent=request.headers.get("user-agent"),
        secure_transport=request.url.scheme == "https",
    )


def federation_router(platform: Platform) -> APIRouter:
    """Identity providers of tenants and the federated sign-in."""
    router = APIRouter(prefix="/api/v1", tags=["federation"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    providers = "/tenants/{account_id}/oidc-providers"

    @router.post(providers, status_code=201, response_model=OIDCProvider)
    def create_provider(account_id: str, body: CreateOIDCProvider, call: Caller) -> OIDCProvider:
        created = directory.create_oidc_provider(
            call,
            account_id,
            issuer=body.issuerUrl,
            client_id=body.clientId,
            client_secret=body.clientSecret.get_secret_value() if body.clientSecret else None,
            redirect_uri=body.redirectUri,
            audiences=body.audiences,
            group_claim=body.groupClaim,
            team_roles=[
                identity.TeamRole(team=e.team, role_name=e.roleName) for e in body.teamRoles
            ],
            signing_algorithms=body.signingAlgorithms,
            scopes=body.scopes,
        )
        return OIDCProvider.of(created)

    @router.get(providers, response_model=list[OIDCProvider])
    def list_providers(account_id: str, call: Caller) -> list[OIDCProvider]:
        return [OIDCProvider.of(p) for p in directory.list_oidc_providers(call, account_id)]

    @router.get(providers + "/{provider_id}", response_model=OIDCProvider)
    def get_provider(account_id: str, provider_id: str, call: Caller) -> OIDCProvider:
        return OIDCProvider.of(directory.get_oidc_provider(call, account_id, provider_id))

    @router.delete(providers + "/{provider_id}", status_code=204)
    def delete_provider(account_id: str, provider_id: str, call: Caller) -> Response:
        directory.delete_oidc_provider(call, account_id, provider_id)
        return Response(status_code=204)

    @router.get("/federation/{account_id}/{provider_id}/sign-in", status_code=302)
    def sign_in(
        account_id: str,
        provider_id: str,
        request: Request,
        team: Annotated[str | None, Query(max_length=128)] = None,
    ) -> RedirectResponse:
        """Send the browser to the identity provider (PKCE, nonce and state included)."""
        redirect = directory.start_federated_sign_in(
            account_id,
            provider_id,
            team=team,
            source_ip=request.client.host if request.client is not None else None,
        )
        response = RedirectResponse(redirect.authorization_url, status_code=302)
        response.set_cookie(
            STATE_COOKIE,
            redirect.state,
            max_age=identity.SIGN_IN_TTL_SECONDS,
            path=CALLBACK_PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/federation/callback", response_model=WebIdentityCredentials)
    def callback(
        request: Request,
        response: Response,
        state: Annotated[str, Query(max_length=128)],
        code: Annotated[str | None, Query(max_length=2048)] = None,
        error: Annotated[str | None, Query(max_length=256)] = None,
        iss: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> WebIdentityCredentials:
        """The redirect URI: finish the sign-in and answer with the role's credentials."""
        response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
        response.headers["Cache-Control"] = "no-store"
        signed_in = directory.complete_federated_sign_in(
            _anonymous_call(request),
            state=state,
            code=code,
            browser_state=request.cookies.get(STATE_COOKIE),
            provider_error=error,
            response_issuer=iss,
        )
        return WebIdentityCredentials.of(
            signed_in.credentials,
            provider_arn=signed_in.provider_arn,
            role_arn=signed_in.role_arn,
            team=signed_in.team,
        )

    @router.post("/sts/assume-role-with-web-identity", response_model=WebIdentityCredentials)
    def assume_role_with_web_identity(
        body: AssumeRoleWithWebIdentity, request: Request
    ) -> WebIdentityCredentials:
        issued = directory.assume_role_with_web_identity(
            _anonymous_call(request),
            role_arn=body.roleArn,
            web_identity_token=body.webIdentityToken.get_secret_value(),
            session_name=body.roleSessionName,
            duration_seconds=body.durationSeconds,
            policy=body.policy,
        )
        return WebIdentityCredentials.of(
            issued.credentials,
            provider_arn=issued.provider_arn,
            role_arn=issued.role_arn,
            team=None,
        )

    return router
