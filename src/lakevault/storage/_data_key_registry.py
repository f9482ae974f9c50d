"""Object versions' data keys as the key service's rewrap sees them (``keys.DataKeyRegistry``).

Every object version row keeps the data key wrapped under its bucket's key
(``storage_objects.kms_key_id``, ``key_version``, ``wrapped_data_key``), and reads unwrap that
database copy. ``lakevault kms rewrap`` moves it to the key's newest version with a
compare-and-set on the row; the blob is never touched. The object header's own copy of the
wrapped key is part of the authenticated header (ADR 0091) and cannot change without
re-encrypting, so it keeps naming the old version — still valid while that version exists,
and useless like every other copy once the key is destroyed (ADR 0213). The reference is the
version id (lower-case hex, so SQL and Python order it alike); delete markers have no data key.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from lakevault import kms
from lakevault.db import Database, models
from lakevault.keys import StoredDataKey


class ObjectDataKeys:
    """The ``"storage"`` data-key registry over ``storage_objects``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def name(self) -> str:
        return "storage"

    def stored_data_keys(
        self, key_id: str, *, below_version: int, after: str, limit: int
    ) -> Sequence[StoredDataKey]:
        objects = models.ObjectVersion
        with self._database.read_session() as session:
            rows = session.execute(
                select(
                    objects.version_id,
                    objects.bucket_name,
                    objects.key,
                    objects.key_version,
                    objects.wrapped_data_key,
                    models.Bucket.account_id,
                )
                .join(models.Bucket, models.Bucket.name == objects.bucket_name)
                .where(
                    objects.kms_key_id == key_id,
                    objects.key_version < below_version,
                    objects.is_delete_marker.is_(False),
                    objects.wrapped_data_key.is_not(None),
                    objects.version_id > after,
                )
                .order_by(objects.version_id)
                .limit(limit)
            ).all()
        return [
            StoredDataKey(
                reference=version_id,
                key_id=key_id,
                key_version=key_version,
                wrapped=wrapped,
                context=kms.EncryptionContext.for_object(
                    tenant=account_id, bucket=bucket, key=key, version_id=version_id
                ),
            )
            for version_id, bucket, key, key_version, wrapped, account_id in rows
            if wrapped is not None
        ]

    def replace_data_key(self, stored: StoredDataKey, *, key_version: int, wrapped: bytes) -> bool:
        objects = models.ObjectVersion
        with self._database.session() as session:
            result = session.execute(
                update(objects)
                .where(
                    objects.version_id == stored.reference,
                    objects.kms_key_id == stored.key_id,
                    objects.key_version == stored.key_version,
                    objects.wrapped_data_key == stored.wrapped,
                )
                .values(key_version=key_version, wrapped_data_key=wrapped)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)
