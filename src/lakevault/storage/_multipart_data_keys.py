"""Multipart uploads' data keys as the key service's rewrap sees them (``keys.DataKeyRegistry``).

An upload in progress keeps its future version's data key wrapped in its row
(``storage_multipart_uploads``); every UploadPart and the completion unwrap that copy. So that
``lakevault kms rewrap`` leaves no data key under an old key version, this ``storage-uploads``
registry moves it like :class:`ObjectDataKeys` moves a version's (compare-and-set on the row;
part blobs are not touched, their headers keep the old copy, ADR 0213). A completed upload's key
is in its version row, which the ``storage`` registry covers. The reference is the upload id.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from lakevault import kms
from lakevault.db import Database, models
from lakevault.keys import StoredDataKey


class MultipartUploadDataKeys:
    """The ``"storage-uploads"`` data-key registry over ``storage_multipart_uploads``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def name(self) -> str:
        return "storage-uploads"

    def stored_data_keys(
        self, key_id: str, *, below_version: int, after: str, limit: int
    ) -> Sequence[StoredDataKey]:
        uploads = models.MultipartUpload
        with self._database.read_session() as session:
            rows = session.execute(
                select(
                    uploads.upload_id,
                    uploads.version_id,
                    uploads.account_id,
                    uploads.bucket_name,
                    uploads.key,
                    uploads.key_version,
                    uploads.wrapped_data_key,
                )
                .where(
                    uploads.kms_key_id == key_id,
                    uploads.key_version < below_version,
                    uploads.upload_id > after,
                )
                .order_by(uploads.upload_id)
                .limit(limit)
            ).all()
        return [
            StoredDataKey(
                reference=upload_id,
                key_id=key_id,
                key_version=key_version,
                wrapped=wrapped,
                context=kms.EncryptionContext.for_object(
                    tenant=account_id, bucket=bucket, key=key, version_id=version_id
                ),
            )
            for upload_id, version_id, account_id, bucket, key, key_version, wrapped in rows
        ]

    def replace_data_key(self, stored: StoredDataKey, *, key_version: int, wrapped: bytes) -> bool:
        uploads = models.MultipartUpload
        with self._database.session() as session:
            result = session.execute(
                update(uploads)
                .where(
                    uploads.upload_id == stored.reference,
                    uploads.kms_key_id == stored.key_id,
                    uploads.key_version == stored.key_version,
                    uploads.wrapped_data_key == stored.wrapped,
                )
                .values(key_version=key_version, wrapped_data_key=wrapped)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)
