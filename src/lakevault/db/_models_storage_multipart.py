"""Tables of S3 multipart uploads: the uploads in progress and the parts of each.

An upload row holds what CreateMultipartUpload fixed for the future object version: its key,
version id, content type, metadata and the version's data key (wrapped under the bucket's KMS
key, bound to the version's encryption context). A part row names one encrypted blob under the
version's blob prefix. CompleteMultipartUpload turns the upload into an ``storage_objects`` row
in one transaction and keeps the chosen part rows (now with their plaintext offsets) as the
object's layout; abort and cleanup remove the upload, its part rows and, after the commit, its
blobs (docs/decisions/0160).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base

#: Object keys sort by their UTF-8 bytes, as S3 lists them (see ``_models_storage``).
_OBJECT_KEY = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class MultipartUpload(Base):
    """One multipart upload in progress (removed by complete, abort or cleanup)."""

    __tablename__ = "storage_multipart_uploads"
    __table_args__ = (Index("ix_storage_multipart_uploads_listing", "bucket_name", "key"),)

    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[str] = mapped_column(String(32), unique=True)
    bucket_name: Mapped[str] = mapped_column(
        ForeignKey("storage_buckets.name", ondelete="RESTRICT")
    )
    account_id: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(_OBJECT_KEY)
    content_type: Mapped[str] = mapped_column(String(255), default="binary/octet-stream")
    user_metadata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    kms_key_id: Mapped[str] = mapped_column(String(2048))
    key_version: Mapped[int] = mapped_column(Integer)
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    initiator_arn: Mapped[str] = mapped_column(String(2048))
    initiated_at: Mapped[datetime] = mapped_column(index=True)


class MultipartPart(Base):
    """One uploaded part: an encrypted blob of its own, under the version's blob prefix.

    ``offset`` is the part's first plaintext byte in the completed object (0 until then).
    """

    __tablename__ = "storage_multipart_parts"

    version_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[str] = mapped_column(String(64), index=True)
    blob_path: Mapped[str] = mapped_column(String(256))
    size: Mapped[int] = mapped_column(BigInteger)
    stored_size: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    etag: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime]
