"""The table of audit exports into an object-locked bucket (docs/audit.md, "Export to a bucket").

``audit_bucket_exports`` — one row per account whose log is exported into a bucket: where to
(bucket, prefix), for how long each object is locked (retention, never shortened), and how far
the export has got (the next event to export, the tree size of the newest manifest, the start of
the export after expiry and the compact range before it). The bucket is the record; this row is
the exporter's cursor, so a run resumes from it without listing the bucket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class AuditBucketExport(Base):
    """Where an account's log is exported, its retention, and the exporter's cursor."""

    __tablename__ = "audit_bucket_exports"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    bucket_name: Mapped[str] = mapped_column(String(63))
    prefix: Mapped[str] = mapped_column(String(256))
    retention_days: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    first_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    start_range: Mapped[list[str]] = mapped_column(JSON, default=list)
    keyring_keys: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_export_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
