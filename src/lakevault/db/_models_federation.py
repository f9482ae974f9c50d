"""Tables of OIDC federation: a tenant's identity providers and sign-ins in progress.

A provider's client secret is stored only sealed under the platform root key (``kms``): the
database alone does not reveal it. A sign-in in progress keeps only the SHA-256 of its
``state``; its nonce and PKCE verifier are derived from the root key and that digest, so no
value needed to finish someone's sign-in is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class OIDCProvider(Base):
    """An external OpenID Connect identity provider a tenant trusts (IAM's
    ``OpenIDConnectProvider``)."""

    __tablename__ = "oidc_providers"
    __table_args__ = (
        UniqueConstraint("account_id", "issuer", name="uq_oidc_providers_account_id_issuer"),
    )

    provider_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("tenants.account_id", ondelete="RESTRICT"))
    arn: Mapped[str] = mapped_column(String(2048), unique=True)
    issuer: Mapped[str] = mapped_column(String(1024))
    client_id: Mapped[str] = mapped_column(String(255))
    sealed_client_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_claim: Mapped[str] = mapped_column(String(128))
    team_roles: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    signing_algorithms: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime]


class OIDCSignIn(Base):
    """A sign-in through a provider between the redirect to the IdP and the callback."""

    __tablename__ = "oidc_sign_ins"

    state_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(
        ForeignKey("oidc_providers.provider_id", ondelete="CASCADE"), index=True
    )
    team: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
