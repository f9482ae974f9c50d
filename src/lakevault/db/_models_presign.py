"""Tables of server-minted pre-signed URLs, per-bucket streaming limits, and organizations
that allow public buckets.

A pre-signed URL's row holds what the URL may do (method, bucket, key, conditions, expiry,
single use) and how to find its signer again when it is used — never a secret: the URL's
signing secret is derived from the platform root key and the URL id (docs/decisions/0164).
Both tables reference their bucket with ``ON DELETE CASCADE``: a deleted bucket takes its URLs
and limits with it, so a new bucket of the same name starts clean.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class PresignedUrl(Base):
    """One server-minted pre-signed URL (GET or PUT of one key)."""

    __tablename__ = "storage_presigned_urls"
    __table_args__ = (Index("ix_storage_presigned_urls_expires_at", "expires_at"),)

    url_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket_name: Mapped[str] = mapped_column(
        ForeignKey("storage_buckets.name", ondelete="CASCADE"), index=True
    )
    object_key: Mapped[str] = mapped_column(String(1024))
    method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    min_length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # How the signer authenticated when minting, and how to find it again (no secret).
    signer_kind: Mapped[str] = mapped_column(String(16))
    signer_account_id: Mapped[str] = mapped_column(String(12))
    signer_arn: Mapped[str] = mapped_column(String(2048))
    signer_principal_id: Mapped[str] = mapped_column(String(256))
    signer_credential_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    signer_user_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    signer_token_generation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signer_token_issued_at: Mapped[datetime | None] = mapped_column(nullable=True)
    signer_mfa_authenticated: Mapped[bool] = mapped_column(Boolean, default=False)
    signer_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BucketLimits(Base):
    """A bucket's streaming limits (absent: the platform defaults apply)."""

    __tablename__ = "storage_bucket_limits"

    bucket_name: Mapped[str] = mapped_column(
        ForeignKey("storage_buckets.name", ondelete="CASCADE"), primary_key=True
    )
    max_object_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: The longest an object upload or download may take (docs/decisions/0185).
    max_request_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime]


class OrganizationPublicBuckets(Base):
    """An organization whose tenants may turn block-public-access off for a bucket.

    Set by the platform administrator (``lakevault:PutOrganizationPublicBuckets``); absent means
    not allowed. Removing it turns block-public-access back on for every bucket of the
    organization's tenants, in the same transaction (docs/decisions/0166).
    """

    __tablename__ = "storage_org_public_buckets"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.organization_id", ondelete="CASCADE"), primary_key=True
    )
    updated_at: Mapped[datetime]
