"""Storage rows' data keys as the key service's rewrap sees them (``keys.DataKeyRegistry``).

Every object version row keeps the data key wrapped under its bucket's key
(``storage_objects.kms_key_id``, ``key_version``, ``wrapped_data_key``), and reads unwrap that
database copy. ``lakevault kms rewrap`` moves it to the key's newest version with a
compare-and-set on the row; the blob is never touched. The object header's own copy of the
wrapped key is part of the authenticated header (ADR 0091) and cannot change without
re-encrypting, so it keeps naming the old version — still valid while that version exists,
and useless like every other copy once the key is destroyed (ADR 0213). The reference is the
version id (lower-case hex, so SQL and Python order it alike); delete markers have no data key.

Multipart uploads keep their future version's data key the same way (``_multipart_data_keys.py``).
:class:`RowDataKeys` is the one implementation of both registries — the paging by reference
and the compare-and-set — so a change to how rewrap lists or swaps data keys (resumability,
batching) is made here once; each registry says only which table, which rows and which columns
name the object its key belongs to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, TypeAlias

from sqlalchemy import Select, select, update
from sqlalchemy.orm import InstrumentedAttribute

from lakevault import kms
from lakevault.db import Database, models
from lakevault.keys import StoredDataKey

#: The tables whose rows each hold one object version's wrapped data key.
DataKeyTable: TypeAlias = type[models.ObjectVersion] | type[models.MultipartUpload]
#: The query of :meth:`RowDataKeys._rows`: reference, tenant, bucket, key, version id, key
#: version and wrapped data key (``None`` where a row has none).
DataKeyRows: TypeAlias = Select[str, str, str, str, str, int, bytes | None]


class RowDataKeys(ABC):
    """A data-key registry over one table whose rows each hold an object version's data key
    (``kms_key_id``, ``key_version``, ``wrapped_data_key``), bound to the object's encryption
    context. Subclasses set :attr:`registry_name`, :attr:`table` and :attr:`reference` (a
    unique column that SQL and Python order alike) and select the rows in :meth:`_rows`."""

    registry_name: ClassVar[str]
    table: ClassVar[DataKeyTable]
    reference: ClassVar[InstrumentedAttribute[str]]

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def name(self) -> str:
        return self.registry_name

    @abstractmethod
    def _rows(self) -> DataKeyRows:
        """The rows that may hold a data key, as :data:`DataKeyRows` (first column the
        reference); the key, version and paging conditions are added here."""

    def stored_data_keys(
        self, key_id: str, *, below_version: int, after: str, limit: int
    ) -> Sequence[StoredDataKey]:
        table, reference = self.table, type(self).reference
        with self._database.read_session() as session:
            rows = session.execute(
                self._rows()
                .where(
                    table.kms_key_id == key_id,
                    table.key_version < below_version,
                    reference > after,
                )
                .order_by(reference)
                .limit(limit)
            ).all()
        return [
            StoredDataKey(
                reference=row_reference,
                key_id=key_id,
                key_version=key_version,
                wrapped=wrapped,
                context=kms.EncryptionContext.for_object(
                    tenant=account_id, bucket=bucket, key=key, version_id=version_id
                ),
            )
            for row_reference, account_id, bucket, key, version_id, key_version, wrapped in rows
            if wrapped is not None
        ]

    def replace_data_key(self, stored: StoredDataKey, *, key_version: int, wrapped: bytes) -> bool:
        table, reference = self.table, type(self).reference
        with self._database.session() as session:
            result = session.execute(
                update(table)
                .where(
                    reference == stored.reference,
                    table.kms_key_id == stored.key_id,
                    table.key_version == stored.key_version,
                    table.wrapped_data_key == stored.wrapped,
                )
                .values(key_version=key_version, wrapped_data_key=wrapped)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)


class ObjectDataKeys(RowDataKeys):
    """The ``"storage"`` data-key registry over ``storage_objects``."""

    registry_name = "storage"
    table = models.ObjectVersion
    reference = models.ObjectVersion.version_id

    def _rows(self) -> DataKeyRows:
        objects = models.ObjectVersion
        return (
            select(
                objects.version_id,
                models.Bucket.account_id,
                objects.bucket_name,
                objects.key,
                objects.version_id,
                objects.key_version,
                objects.wrapped_data_key,
            )
            .join(models.Bucket, models.Bucket.name == objects.bucket_name)
            .where(objects.is_delete_marker.is_(False), objects.wrapped_data_key.is_not(None))
        )
