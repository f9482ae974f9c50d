"""Tables of operator-blind mode and of the root-key check.

A tenant in operator-blind mode has one :class:`TenantKeyAgent` row: where its key agent listens
and the TLS material the platform presents to it. The agent's CA certificate and the client
certificate are public; the client key is stored only sealed under the platform root key
(``kms.seal_secret``), like an identity provider's client secret. No row holds, or could
derive, the tenant's root key: that lives only in the agent.

:class:`PlatformRootKeyCheck` is one row with a value derived from the platform root key, so a
start with another (well-formed) key is refused instead of silently deriving other secrets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class TenantKeyAgent(Base):
    """The key agent that holds a tenant's root key (docs/keys.md, "Operator-blind mode")."""

    __tablename__ = "tenant_key_agents"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.account_id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    ca_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    client_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_client_key: Mapped[bytes] = mapped_column(LargeBinary)
    client_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PlatformRootKeyCheck(Base):
    """Singleton row (id 1): a check value derived from the platform root key."""

    __tablename__ = "platform_root_key_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
