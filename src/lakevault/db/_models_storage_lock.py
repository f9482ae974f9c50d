"""Tables of S3 object lock and lifecycle: a bucket's lock configuration and lifecycle rules,
and the retention and legal hold of each locked object version.

A version's lock row references the version with ``ON DELETE RESTRICT``: while the row exists
the version row cannot be deleted by any code path, so a path that forgot to ask
``lakevault.storage.release_version_lock`` (which checks retention and legal hold and only then
removes the lock row) fails with an integrity error instead of deleting a WORM-protected
version (docs/decisions/0156).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class BucketObjectLock(Base):
    """A bucket's object lock configuration (a row exists once object lock is enabled)."""

    __tablename__ = "storage_bucket_object_lock"

    bucket_name: Mapped[str] = mapped_column(
        ForeignKey("storage_buckets.name", ondelete="CASCADE"), primary_key=True
    )
    default_mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    default_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    default_years: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime]


class BucketLifecycle(Base):
    """A bucket's lifecycle configuration: the rules as S3's JSON shape, validated."""

    __tablename__ = "storage_bucket_lifecycle"

    bucket_name: Mapped[str] = mapped_column(
        ForeignKey("storage_buckets.name", ondelete="CASCADE"), primary_key=True
    )
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class ObjectVersionLock(Base):
    """The retention and legal hold of one object version (absent: not locked)."""

    __tablename__ = "storage_object_locks"

    version_id: Mapped[str] = mapped_column(
        ForeignKey("storage_objects.version_id", ondelete="RESTRICT"), primary_key=True
    )
    bucket_name: Mapped[str] = mapped_column(String(63), index=True)
    mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    retain_until: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
