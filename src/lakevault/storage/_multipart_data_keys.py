"""Multipart uploads' data keys as the key service's rewrap sees them (``keys.DataKeyRegistry``).

An upload in progress keeps its future version's data key wrapped in its row
(``storage_multipart_uploads``); every UploadPart and the completion unwrap that copy. So that
``lakevault kms rewrap`` leaves no data key under an old key version, this ``storage-uploads``
registry moves it like :class:`ObjectDataKeys` moves a version's (compare-and-set on the row;
part blobs are not touched, their headers keep the old copy, ADR 0213) — with the same code,
:class:`~lakevault.storage._data_key_registry.RowDataKeys`. A completed upload's key is in its
version row, which the ``storage`` registry covers. The reference is the upload id.
"""

from __future__ import annotations

from sqlalchemy import select

from lakevault.db import models
from lakevault.storage._data_key_registry import DataKeyRows, RowDataKeys


class MultipartUploadDataKeys(RowDataKeys):
    """The ``"storage-uploads"`` data-key registry over ``storage_multipart_uploads``."""

    registry_name = "storage-uploads"
    table = models.MultipartUpload
    reference = models.MultipartUpload.upload_id

    def _rows(self) -> DataKeyRows:
        uploads = models.MultipartUpload
        return select(
            uploads.upload_id,
            uploads.account_id,
            uploads.bucket_name,
            uploads.key,
            uploads.version_id,
            uploads.key_version,
            uploads.wrapped_data_key,
        )
