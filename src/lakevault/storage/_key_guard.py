"""A bucket's KMS key stays usable while the bucket has object lock (ADR 0158).

Object lock promises that no one can remove a locked version before its retention ends. Making
the version unreadable does the same harm: a tenant (or an operator acting as one) who disables
the bucket's key or schedules its deletion would crypto-shred data it promised to keep — a
tenant's own audit bucket included. So the key service asks storage before it retires a key
bound to a bucket, and storage answers no for every bucket with object lock enabled. The key is
retired with its bucket: a bucket can be deleted only when empty, which a locked version
prevents until its retention ends.
"""

from __future__ import annotations

from collections.abc import Callable

from lakevault.db import Database, models

_BUCKET_ARN_PREFIX = "arn:aws:s3:::"


def object_lock_key_guard(database: Database) -> Callable[[str], str | None]:
    """The key service's retirement guard for bucket keys (``keys.RetirementGuard``)."""

    def guard(resource_arn: str) -> str | None:
        if not resource_arn.startswith(_BUCKET_ARN_PREFIX) or "/" in resource_arn:
            return None
        bucket = resource_arn[len(_BUCKET_ARN_PREFIX) :]
        with database.read_session() as session:
            locked = session.get(models.BucketObjectLock, bucket) is not None
        if not locked:
            return None
        return (
            f"encrypts the bucket {bucket!r}, which has object lock: its versions must stay "
            "readable until their retention ends"
        )

    return guard
