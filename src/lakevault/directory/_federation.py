"""OIDC federation through the gate: identity providers, sign-in, ``AssumeRoleWithWebIdentity``.

* Registering, reading and deleting a tenant's identity providers are IAM actions
  (``iam:CreateOpenIDConnectProvider``...) on the provider's ARN, decided by the gate.
* A sign-in through a provider (authorization code + PKCE + nonce + state) and the
  ``AssumeRoleWithWebIdentity`` API end the same way: a validated ID token becomes a *web
  identity* principal named by the provider's ARN, and the gate decides
  ``sts:AssumeRoleWithWebIdentity`` on the role with the role's trust policy as the resource
  policy and the token's ``<issuer>:aud``, ``<issuer>:sub`` and ``<issuer>:groups`` as condition
  keys. The trust policy must name the provider (``"Principal": {"Federated": ARN}``); the
  provider belongs to one tenant and the engine refuses cross-tenant grants to it (it has no
  identity policies), so a provider never opens another tenant's role.
* The sign-in picks the role from the provider's team mapping (the token's group claim, the
  first mapped team the person is in, or the team they asked for); the trust policy still
  decides. Its result is the role's temporary credentials (docs/decisions/0101).

Every failure is recorded in the audit log with its precise reason; the caller gets one
error per kind (docs/decisions/0103). No token, code, state or client secret is recorded.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from lakevault import identity
from lakevault.audit import EventResource, IdentityType, append_in
from lakevault.core import PLATFORM_ACCOUNT_ID
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.directory._context import CallContext
from lakevault.directory._role_sessions import RoleSessionIssuer, role_account

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
_FEDERATION_ERRORS = (
    identity.InvalidIdentityToken,
    identity.ExpiredIdentityToken,
    identity.FederatedSignInFailed,
    identity.IDPCommunicationError,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInRedirect:
    """Where to send the person, and the state to bind to their browser (never logged)."""

    authorization_url: str
    state: str

    def __repr__(self) -> str:
        return "SignInRedirect(authorization_url=<redacted>, state=<redacted>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class FederatedSession:
    """A web identity's session: the role's temporary credentials, and how it got that role
    (``team`` is the mapped team of a sign-in; ``None`` for ``AssumeRoleWithWebIdentity``)."""

    credentials: identity.TemporaryCredentials
    team: str | None
    role_arn: str
    provider_arn: str


class FederationOperations(RoleSessionIssuer):
    """Identity providers of tenants, and web identities assuming roles."""

    def __init__(
        self,
        *,
        oidc: identity.OIDCClient | None = None,
        federation_limiter: identity.AttemptLimiter | None = None,
        **core: Any,
    ) -> None:
        """``oidc`` talks to identity providers (default: HTTPS only, no loopback http);
        ``federation_limiter`` bounds the unauthenticated entry points per client address
        (sign-in start, callback, AssumeRoleWithWebIdentity), each of which costs the IdP or
        this server work (default: 30 a minute, in memory)."""
        super().__init__(**core)
        self.oidc = oidc if oidc is not None else identity.OIDCClient(clock=self.clock)
        self.federation_limiter = (
            federation_limiter
            if federation_limiter is not None
            else identity.AttemptLimiter("30/minute", per="per client address")
        )

    def _limit(self, source_ip: str | None) -> None:
        self.federation_limiter.hit(("federation", source_ip or "-"))

    # --- providers ------------------------------------------------------------------------

    def _provider_arn(self, account_id: str, provider_id: str) -> str:
        with self.database.read_session() as session:
            arn = session.scalar(
                select(models.OIDCProvider.arn).where(
                    models.OIDCProvider.provider_id == provider_id,
                    models.OIDCProvider.account_id == account_id,
                )
            )
        return arn if arn is not None else f"arn:aws:iam::{account_id}:oidc-provider/{provider_id}"

    def create_oidc_provider(
        self,
        call: CallContext,
        account_id: str,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        audiences: Sequence[str] = (),
        group_claim: str = "groups",
        team_roles: Sequence[identity.TeamRole] = (),
        signing_algorithms: Sequence[str] = ("RS256",),
        scopes: Sequence[str] = ("openid", "profile", "email"),
    ) -> identity.OIDCProviderInfo:
        """Register an identity provider for the tenant (``iam:CreateOpenIDConnectProvider``).

        The client secret is sealed under the platform root key; it appears in no response,
        log or audit event.
        """
        arn = identity.oidc_provider_arn(account_id, issuer)
        created: identity.OIDCProviderInfo = self.perform(
            call,
            action="iam:CreateOpenIDConnectProvider",
            resource=arn,
            resource_account=account_id,
            resource_type="OpenIDConnectProvider",
            operation=lambda s: identity.create_oidc_provider(
                s,
                account_id=account_id,
                issuer=issuer,
                client_id=client_id,
                client_secret=client_secret,
                audiences=audiences,
                group_claim=group_claim,
                team_roles=team_roles,
                signing_algorithms=signing_algorithms,
                scopes=scopes,
                redirect_uri=redirect_uri,
                allow_http_loopback=self.oidc.allow_http_loopback,
                root_key=self.root_key(),
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={
                "url": issuer,
                "clientIDList": [client_id, *audiences],
                "isConfidentialClient": bool(client_secret),
                "groupClaim": group_claim,
                "teamRoles": [[e.team, e.role_name] for e in team_roles],
            },
            response=lambda p: {"openIDConnectProviderArn": p.arn, "providerId": p.provider_id},
        )
        return created

    def list_oidc_providers(
        self, call: CallContext, account_id: str
    ) -> list[identity.OIDCProviderInfo]:
        found: list[identity.OIDCProviderInfo] = self.perform(
            call,
            action="iam:ListOpenIDConnectProviders",
            resource=f"arn:aws:iam::{account_id}:oidc-provider/*",
            resource_account=account_id,
            resource_type="OpenIDConnectProvider",
            operation=lambda s: identity.list_oidc_providers(s, account_id),
            read_only=True,
        )
        return found

    def get_oidc_provider(
        self, call: CallContext, account_id: str, provider_id: str
    ) -> identity.OIDCProviderInfo:
        found: identity.OIDCProviderInfo = self.perform(
            call,
            action="iam:GetOpenIDConnectProvider",
            resource=self._provider_arn(account_id, provider_id),
            resource_account=account_id,
            resource_type="OpenIDConnectProvider",
            operation=lambda s: identity.get_oidc_provider(s, account_id, provider_id),
            read_only=True,
            parameters={"providerId": provider_id},
        )
        return found

    def delete_oidc_provider(self, call: CallContext, account_id: str, provider_id: str) -> None:
        self.perform(
            call,
            action="iam:DeleteOpenIDConnectProvider",
            resource=self._provider_arn(account_id, provider_id),
            resource_account=account_id,
            resource_type="OpenIDConnectProvider",
            operation=lambda s: identity.delete_oidc_provider(s, account_id, provider_id),
            read_only=False,
            parameters={"providerId": provider_id},
        )

    # --- sign-in --------------------------------------------------------------------------

    def start_federated_sign_in(
        self,
        account_id: str,
        provider_id: str,
        *,
        team: str | None = None,
        source_ip: str | None = None,
    ) -> SignInRedirect:
        """Begin a sign-in: remember it (by the digest of a fresh state) and return the IdP's
        authorization URL with PKCE, nonce and state.

        Not decided by the gate: nobody is authenticated yet, and it grants nothing; the
        callback is where the gate decides.
        """
        self._limit(source_ip)
        with self.database.read_session() as session:
            provider = identity.get_oidc_provider(session, account_id, provider_id)
        if team is not None and team not in {e.team for e in provider.team_roles}:
            raise InvalidParameterValue("team is not one of the provider's mapped teams")
        with self.database.session() as session:
            secrets = identity.begin_sign_in(
                session,
                provider,
                team=team,
                root_key=self.root_key(),
                now=self.clock.now(),
                random=self.random,
            )
        url = self.oidc.authorization_url(
            provider,
            state=secrets.state,
            nonce=secrets.nonce,
            code_verifier=secrets.code_verifier,
        )
        return SignInRedirect(authorization_url=url, state=secrets.state)

    def complete_federated_sign_in(
        self,
        call: CallContext,
        *,
        state: str,
        code: str | None,
        browser_state: str | None,
        provider_error: str | None = None,
        response_issuer: str | None = None,
        duration_seconds: int = 3600,
    ) -> FederatedSession:
        """Finish a sign-in from the IdP's redirect; return the mapped role's credentials.

        ``browser_state`` is the state the browser that started the sign-in holds (a cookie):
        it must equal ``state``, so a callback URL planted in another browser (login CSRF)
        fails. ``response_issuer`` is the redirect's ``iss`` parameter, which must name the
        provider when the IdP sends it (RFC 9207, against mix-up attacks). The state is used up
        whatever happens next. Raises ``FederatedSignInFailed``,
        ``InvalidIdentityToken``, ``ExpiredIdentityToken``, ``IDPCommunicationError`` or the
        gate's ``AccessDenied``.
        """
        self._limit(call.source_ip)
        with self.database.session() as session:
            pending = identity.take_sign_in(session, state, root_key=self.root_key())
        account_id = pending.provider.account_id if pending is not None else PLATFORM_ACCOUNT_ID
        resource = pending.provider.arn if pending is not None else "*"
        try:
            if browser_state is None or not hmac.compare_digest(
                browser_state.encode("utf-8"), state.encode("utf-8")
            ):
                raise identity.FederatedSignInFailed(
                    "sign-in refused: finish the sign-in in the browser that started it",
                    reason=identity.FederationFailure.STATE_NOT_BOUND,
                )
            fresh = identity.check_sign_in_fresh(pending, now=self.clock.now())
            if provider_error is not None or code is None:
                raise identity.FederatedSignInFailed(
                    "sign-in refused by the identity provider; start again",
                    reason=identity.FederationFailure.PROVIDER_ERROR,
                )
            provider = fresh.provider
            if response_issuer is not None and response_issuer != provider.issuer:
                raise identity.FederatedSignInFailed(
                    "sign-in refused: the answer names another identity provider; start again",
                    reason=identity.FederationFailure.WRONG_ISSUER,
                )
            with self.database.read_session() as session:
                client_secret = identity.provider_client_secret(session, provider, self.root_key())
            id_token = self.oidc.exchange_code(
                provider,
                code=code,
                code_verifier=fresh.secrets.code_verifier,
                client_secret=client_secret,
            )
            web_identity = self.oidc.verify(
                id_token, provider, now=self.clock.now(), expected_nonce=fresh.secrets.nonce
            )
            team = identity.choose_team(web_identity.groups, provider.team_roles, fresh.team)
        except _FEDERATION_ERRORS as exc:
            self._record_failure(
                call,
                action=WEB_IDENTITY_ACTION,
                account_id=account_id,
                resource=resource,
                error=exc,
            )
            raise
        role_arn = identity.entity_arn(account_id, identity.EntityKind.ROLE, team.role_name)
        with self.database.read_session() as session:
            role_arn = (
                session.scalar(
                    select(models.Role.arn).where(
                        models.Role.account_id == account_id, models.Role.name == team.role_name
                    )
                )
                or role_arn
            )
        credentials = self._assume_as_web_identity(
            call,
            provider=provider,
            web_identity=web_identity,
            role_arn=role_arn,
            session_name=identity.session_name_for(web_identity),
            duration_seconds=duration_seconds,
            policy=None,
            team=team.team,
        )
        return FederatedSession(
            credentials=credentials, team=team.team, role_arn=role_arn, provider_arn=provider.arn
        )

    # --- AssumeRoleWithWebIdentity ---------------------------------------------------------

    def assume_role_with_web_identity(
        self,
        call: CallContext,
        *,
        role_arn: str,
        web_identity_token: str,
        session_name: str,
        duration_seconds: int = 3600,
        policy: str | Mapping[str, Any] | None = None,
    ) -> FederatedSession:
        """Exchange an ID token of a provider registered in the role's tenant for the role's
        temporary credentials, if the role's trust policy allows that web identity.

        The caller's own credentials play no part (AWS: the call is unsigned); the token is
        validated exactly as at sign-in, except for the nonce, which only the party that
        started the sign-in at the IdP can know.
        """
        self._limit(call.source_ip)
        account_id = role_account(role_arn)
        try:
            issuer = identity.read_unverified_issuer(web_identity_token)
            with self.database.read_session() as session:
                provider = identity.provider_for_issuer(session, account_id, issuer)
            if provider is None:
                raise identity.InvalidIdentityToken(identity.FederationFailure.UNKNOWN_ISSUER)
            web_identity = self.oidc.verify(web_identity_token, provider, now=self.clock.now())
        except _FEDERATION_ERRORS as exc:
            self._record_failure(
                call,
                action=WEB_IDENTITY_ACTION,
                account_id=account_id,
                resource=role_arn,
                error=exc,
            )
            raise
        credentials = self._assume_as_web_identity(
            call,
            provider=provider,
            web_identity=web_identity,
            role_arn=role_arn,
            session_name=session_name,
            duration_seconds=duration_seconds,
            policy=identity.session_policy_text(policy),
            team=None,
        )
        return FederatedSession(
            credentials=credentials, team=None, role_arn=role_arn, provider_arn=provider.arn
        )

    def _assume_as_web_identity(
        self,
        call: CallContext,
        *,
        provider: identity.OIDCProviderInfo,
        web_identity: identity.WebIdentity,
        role_arn: str,
        session_name: str,
        duration_seconds: int,
        policy: str | None,
        team: str | None,
    ) -> identity.TemporaryCredentials:
        web_principal = identity.Principal(
            arn=provider.arn,
            account_id=provider.account_id,
            principal_id=(
                f"{identity.issuer_condition_prefix(provider.issuer)}:"
                f"{web_identity.audience}:{web_identity.subject}"
            ),
            identity_type=IdentityType.FEDERATED_USER,
        )
        context: dict[str, Any] = {
            **identity.web_identity_context(web_identity),
            "sts:RoleSessionName": session_name,
        }
        parameters: dict[str, Any] = {
            "roleArn": role_arn,
            "roleSessionName": session_name,
            "durationSeconds": duration_seconds,
            "providerArn": provider.arn,
            "subject": web_identity.subject,
            "audience": web_identity.audience,
        }
        if team is not None:
            parameters["team"] = team
        return self._issue_role_session(
            call,
            principal=web_principal,
            actions=[WEB_IDENTITY_ACTION],
            role_arn=role_arn,
            context=context,
            parameters=parameters,
            session_name=session_name,
            source_arn=f"{provider.arn}/{web_identity.subject}",
            duration_seconds=duration_seconds,
            policy=policy,
            tags=identity.SessionTags(tags={}, transitive_keys=()),
            elements={"provider": provider.arn},
        )

    def _record_failure(
        self,
        call: CallContext,
        *,
        action: str,
        account_id: str,
        resource: str,
        error: identity.InvalidIdentityToken
        | identity.ExpiredIdentityToken
        | identity.FederatedSignInFailed
        | identity.IDPCommunicationError,
    ) -> None:
        """Record a refused sign-in or exchange, with its precise reason, in the tenant's log
        (the platform's when the tenant is unknown)."""
        with self.database.session() as session:
            recipient = (
                account_id
                if session.get(models.Tenant, account_id) is not None
                else PLATFORM_ACCOUNT_ID
            )
            event = self.events.change(
                call,
                action=action,
                resource=EventResource(arn=resource, account_id=recipient, type="Role"),
                parameters=None,
                elements=None,
            )
            append_in(
                session,
                replace(
                    event,
                    error_code=error.code,
                    error_message=error.message,
                    additional={"failureReason": error.reason.value},
                ),
            )
