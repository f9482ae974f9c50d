"""Tables of object storage: buckets, object versions, and the journal of blobs in flight.

An object version's bytes are one immutable blob in the object backend (its path is never
reused); this database says which blob is which version and which version is current. A row in
``storage_objects`` is committed only after its blob is durable, so a crash leaves the old
state or the new one. ``storage_blob_journal`` names every blob that is being written or is
waiting to be deleted, so that blobs orphaned by a crash are found and removed (docs/storage.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy import Text as SQLText
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base

#: Object keys sort by their UTF-8 bytes, as S3 lists them: SQLite's default collation does;
#: PostgreSQL needs the "C" collation.
_OBJECT_KEY = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class Bucket(Base):
    """A bucket of a tenant. Names are global, as S3's are (the ARN has no account)."""

    __tablename__ = "storage_buckets"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.account_id", ondelete="RESTRICT"), index=True
    )
    kms_key_id: Mapped[str] = mapped_column(String(2048))
    versioning: Mapped[str] = mapped_column(String(12), default="Unversioned")
    policy: Mapped[str | None] = mapped_column(SQLText, nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    block_public_access: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ObjectVersion(Base):
    """One version of one object, or a delete marker. ``is_latest`` marks the current one."""

    __tablename__ = "storage_objects"
    __table_args__ = (
        Index("ix_storage_objects_listing", "bucket_name", "is_latest", "key"),
        Index("ix_storage_objects_bucket_name_key", "bucket_name", "key"),
    )

    version_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket_name: Mapped[str] = mapped_column(
        ForeignKey("storage_buckets.name", ondelete="RESTRICT")
    )
    key: Mapped[str] = mapped_column(_OBJECT_KEY)
    sequence: Mapped[int] = mapped_column(BigInteger)
    """Order of the versions of one key (1, 2, ...): clocks tie, this does not."""
    is_latest: Mapped[bool] = mapped_column(Boolean)
    is_delete_marker: Mapped[bool] = mapped_column(Boolean, default=False)
    is_null_version: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_size: Mapped[int] = mapped_column(BigInteger, default=0)
    blob_path: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content_type: Mapped[str] = mapped_column(String(255), default="binary/octet-stream")
    user_metadata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    etag: Mapped[str] = mapped_column(String(80), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    kms_key_id: Mapped[str] = mapped_column(String(2048), default="")
    key_version: Mapped[int] = mapped_column(Integer, default=0)
    wrapped_data_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    last_modified: Mapped[datetime]


class InlineObjectData(Base):
    """The stored bytes of a small object version, kept beside its row instead of in a blob
    (docs/decisions/0272).

    The bytes are the same chunked ciphertext a blob would hold. The row is inserted in the
    transaction that commits its version and goes with it (``ON DELETE CASCADE``), so it has
    no journal row and can never be an orphan.
    """

    __tablename__ = "storage_inline_data"

    version_id: Mapped[str] = mapped_column(
        ForeignKey("storage_objects.version_id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class BlobJournal(Base):
    """A blob being written (``writing``) or due for deletion (``deleting``).

    A ``writing`` row is removed in the transaction that commits its object version; one left
    behind by a crash names an orphan blob. A ``deleting`` row is added in the transaction that
    replaces or removes a version, and removed once the blob is gone.
    """

    __tablename__ = "storage_blob_journal"

    blob_path: Mapped[str] = mapped_column(String(256), primary_key=True)
    bucket_name: Mapped[str] = mapped_column(String(63), index=True)
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(index=True)
