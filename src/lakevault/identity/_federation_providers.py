"""A tenant's OIDC identity providers and the sign-ins in progress through them (storage).

Like the rest of identity, these functions act inside the caller's session and do not
authorise: the directory asks the gate first.

Secrets:

* the provider's client secret is sealed under the platform root key
  (:func:`lakevault.kms.seal_secret`, context = the provider's ARN) and opened only to call the
  IdP's token endpoint;
* a sign-in in progress is stored as the SHA-256 of its ``state``; its nonce and PKCE code
  verifier are derived from the root key and that digest when needed, so neither is stored and
  a copy of the database cannot finish anyone's sign-in.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lakevault.core import RandomSource, new_entity_id
from lakevault.core.errors import EntityAlreadyExists, NoSuchEntity
from lakevault.db import models
from lakevault.identity._errors import FederatedSignInFailed, FederationFailure
from lakevault.identity._federation import (
    OIDCProviderInfo,
    SigningAlgorithm,
    TeamRole,
    check_provider_settings,
    oidc_provider_arn,
)
from lakevault.identity._tenants import get_tenant
from lakevault.kms import PlatformRootKey, open_secret, seal_secret

CLIENT_SECRET_PURPOSE = "oidc-client-secret"  # noqa: S105 - a sealing label, not a secret
NONCE_PURPOSE = "oidc-sign-in-nonce"
VERIFIER_PURPOSES = ("oidc-pkce-verifier-1", "oidc-pkce-verifier-2")
#: How long a person has between being sent to the IdP and coming back.
SIGN_IN_TTL_SECONDS = 600
MAX_PROVIDERS_PER_TENANT = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInSecrets:
    """The per-sign-in values that bind the IdP's answer to this sign-in. Never logged."""

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingSignIn:
    """A sign-in taken out of storage by its callback: the provider and the requested team."""

    provider: OIDCProviderInfo
    team: str | None
    secrets: SignInSecrets
    expires_at: datetime


def provider_info(row: models.OIDCProvider) -> OIDCProviderInfo:
    return OIDCProviderInfo(
        provider_id=row.provider_id,
        account_id=row.account_id,
        arn=row.arn,
        issuer=row.issuer,
        client_id=row.client_id,
        has_client_secret=row.sealed_client_secret is not None,
        audiences=tuple(row.audiences),
        group_claim=row.group_claim,
        team_roles=tuple(TeamRole(team=team, role_name=role) for team, role in row.team_roles),
        signing_algorithms=tuple(SigningAlgorithm(a) for a in row.signing_algorithms),
        scopes=tuple(row.scopes),
        redirect_uri=row.redirect_uri,
        created_at=row.created_at,
    )


def create_oidc_provider(
    session: Session,
    *,
    account_id: str,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    audiences: Sequence[str],
    group_claim: str,
    team_roles: Sequence[TeamRole],
    signing_algorithms: Sequence[str],
    scopes: Sequence[str],
    redirect_uri: str,
    allow_http_loopback: bool,
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> OIDCProviderInfo:
    """Register a provider (validated); its client secret is stored sealed, never in clear."""
    allowed, algorithms = check_provider_settings(
        issuer=issuer,
        client_id=client_id,
        audiences=audiences,
        group_claim=group_claim,
        team_roles=team_roles,
        signing_algorithms=signing_algorithms,
        scopes=scopes,
        redirect_uri=redirect_uri,
        allow_http_loopback=allow_http_loopback,
    )
    get_tenant(session, account_id)
    arn = oidc_provider_arn(account_id, issuer)
    if session.scalar(
        select(models.OIDCProvider.provider_id).where(models.OIDCProvider.arn == arn)
    ):
        raise EntityAlreadyExists(f"Provider with url {issuer} already exists.")
    count = len(
        session.scalars(
            select(models.OIDCProvider.provider_id).where(
                models.OIDCProvider.account_id == account_id
            )
        ).all()
    )
    if count >= MAX_PROVIDERS_PER_TENANT:
        raise EntityAlreadyExists(
            f"the tenant has {count} identity providers, the most allowed; delete one first",
            code="LimitExceeded",
        )
    row = models.OIDCProvider(
        provider_id=new_entity_id("LVOP", random),
        account_id=account_id,
        arn=arn,
        issuer=issuer,
        client_id=client_id,
        sealed_client_secret=(
            seal_secret(
                root_key, client_secret, purpose=CLIENT_SECRET_PURPOSE, context=arn, random=random
            )
            if client_secret
            else None
        ),
        audiences=list(allowed),
        group_claim=group_claim,
        team_roles=[[entry.team, entry.role_name] for entry in team_roles],
        signing_algorithms=[a.value for a in algorithms],
        scopes=list(dict.fromkeys(scopes)),
        redirect_uri=redirect_uri,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return provider_info(row)


def _provider_row(session: Session, account_id: str, provider_id: str) -> models.OIDCProvider:
    row = session.get(models.OIDCProvider, provider_id)
    if row is None or row.account_id != account_id:
        raise NoSuchEntity(f"The OpenID Connect provider {provider_id} cannot be found.")
    return row


def get_oidc_provider(session: Session, account_id: str, provider_id: str) -> OIDCProviderInfo:
    return provider_info(_provider_row(session, account_id, provider_id))


def list_oidc_providers(session: Session, account_id: str) -> list[OIDCProviderInfo]:
    rows = session.scalars(
        select(models.OIDCProvider)
        .where(models.OIDCProvider.account_id == account_id)
        .order_by(models.OIDCProvider.issuer)
    )
    return [provider_info(row) for row in rows]


def delete_oidc_provider(session: Session, account_id: str, provider_id: str) -> OIDCProviderInfo:
    """Delete a provider; its sign-ins in progress go with it (sessions already issued stay
    until they expire or the role's sessions are revoked)."""
    row = _provider_row(session, account_id, provider_id)
    info = provider_info(row)
    session.execute(delete(models.OIDCSignIn).where(models.OIDCSignIn.provider_id == provider_id))
    session.delete(row)
    session.flush()
    return info


def provider_for_issuer(session: Session, account_id: str, issuer: str) -> OIDCProviderInfo | None:
    """The tenant's provider for ``issuer`` (the token's ``iss``), if it registered one."""
    row = session.scalar(
        select(models.OIDCProvider).where(
            models.OIDCProvider.account_id == account_id, models.OIDCProvider.issuer == issuer
        )
    )
    return provider_info(row) if row is not None else None


def provider_client_secret(
    session: Session, provider: OIDCProviderInfo, root_key: PlatformRootKey
) -> str | None:
    """The provider's client secret, unsealed for one call to its token endpoint."""
    row = session.get(models.OIDCProvider, provider.provider_id)
    if row is None or row.sealed_client_secret is None:
        return None
    return open_secret(
        root_key, row.sealed_client_secret, purpose=CLIENT_SECRET_PURPOSE, context=row.arn
    )


def _state_digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def _secrets(state: str, root_key: PlatformRootKey) -> SignInSecrets:
    digest = _state_digest(state)
    verifier = "".join(
        root_key.derive_secret(purpose=purpose, identifier=digest) for purpose in VERIFIER_PURPOSES
    )
    return SignInSecrets(
        state=state,
        nonce=root_key.derive_secret(purpose=NONCE_PURPOSE, identifier=digest),
        code_verifier=verifier,
    )


def begin_sign_in(
    session: Session,
    provider: OIDCProviderInfo,
    *,
    team: str | None,
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> SignInSecrets:
    """Start a sign-in: a fresh 256-bit state, and the nonce and verifier derived from it.

    Expired sign-ins are removed on the way, so abandoned ones do not accumulate.
    """
    session.execute(delete(models.OIDCSignIn).where(models.OIDCSignIn.expires_at < now))
    state = base64.urlsafe_b64encode(random.token_bytes(32)).decode("ascii").rstrip("=")
    session.add(
        models.OIDCSignIn(
            state_digest=_state_digest(state),
            provider_id=provider.provider_id,
            team=team,
            created_at=now,
            expires_at=now + timedelta(seconds=SIGN_IN_TTL_SECONDS),
        )
    )
    session.flush()
    return _secrets(state, root_key)


def take_sign_in(
    session: Session, state: str, *, root_key: PlatformRootKey
) -> PendingSignIn | None:
    """Remove the sign-in named by ``state`` from storage and return it; ``None`` when there is
    none (unknown, or already used: a state completes at most one sign-in).

    The caller commits the removal before acting on the result, so that a callback that fails
    later still uses the state up; :func:`check_sign_in_fresh` then checks its age.
    """
    row = session.get(models.OIDCSignIn, _state_digest(state)) if len(state) <= 128 else None
    if row is None:
        return None
    provider = session.get(models.OIDCProvider, row.provider_id)
    session.delete(row)
    session.flush()
    if provider is None:
        return None
    return PendingSignIn(
        provider=provider_info(provider),
        team=row.team,
        secrets=_secrets(state, root_key),
        expires_at=row.expires_at,
    )


def check_sign_in_fresh(pending: PendingSignIn | None, *, now: datetime) -> PendingSignIn:
    """``pending`` if it exists and has not expired; else ``FederatedSignInFailed``."""
    if pending is None:
        raise FederatedSignInFailed(
            "sign-in refused: this sign-in is unknown or was already used; start again",
            reason=FederationFailure.UNKNOWN_STATE,
        )
    expires_at = pending.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=now.tzinfo)
    if now >= expires_at:
        raise FederatedSignInFailed(
            "sign-in refused: this sign-in took longer than "
            f"{SIGN_IN_TTL_SECONDS // 60} minutes; start again",
            reason=FederationFailure.EXPIRED_STATE,
        )
    return pending
