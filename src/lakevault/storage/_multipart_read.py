"""Reading an object that was uploaded in parts: the parts' blobs in order, each verified.

A completed multipart object's version row points at a blob *prefix* (its path ends with
``/``), under which each part is an encrypted blob of its own in the chunked format, under the
version's one data key but bound by its header to a context that also names the upload id and
the part number (docs/decisions/0160). A whole read streams the parts in order; a range read
decrypts, part by part, only the chunks the range covers. A part that does not authenticate, or
whose plaintext length differs from the recorded one, is the one :class:`kms.IntegrityError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from lakevault import kms
from lakevault.db import models
from lakevault.storage._blob_source import RANGE_WINDOW_BYTES, BlobSource, missing_blob
from lakevault.storage._core import StorageCore


def is_multipart_blob(blob_path: str) -> bool:
    """Whether a version's ``blob_path`` is the prefix of a multipart object's part blobs."""
    return blob_path.endswith("/")


def multipart_prefix(account_id: str, bucket: str, version_id: str) -> str:
    """The blob prefix of one multipart version: ``ACCOUNT/BUCKET/VERSION-ID/``."""
    return f"{account_id}/{bucket}/{version_id}/"


def part_context(
    *, tenant: str, bucket: str, key: str, version_id: str, upload_id: str, part_number: int
) -> kms.EncryptionContext:
    """The context a part blob's header binds: the version's, plus upload id and part number."""
    return kms.EncryptionContext.from_mapping(
        {
            "tenant": tenant,
            "bucket": bucket,
            "key": key,
            "version-id": version_id,
            "upload-id": upload_id,
            "part-number": str(part_number),
        }
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Part:
    part_number: int
    upload_id: str
    blob_path: str
    size: int
    stored_size: int
    offset: int


#: How errors name a part's blob.
_PART = "a part of an object version"


def _write_all(writer: kms.Writable, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        count = writer.write(view)
        view = view[len(view) if count is None else count :]


class _CountingWriter:
    def __init__(self, writer: kms.Writable) -> None:
        self._writer = writer
        self.count = 0

    def write(self, data: memoryview, /) -> int:
        _write_all(self._writer, data)
        self.count += len(data)
        return len(data)


def write_multipart(
    core: StorageCore,
    *,
    account_id: str,
    bucket: str,
    key: str,
    version_id: str,
    data_key: kms.PlaintextDataKey,
    offset: int,
    length: int,
    writer: kms.Writable,
) -> int:
    """Decrypt plaintext ``[offset, offset + length)`` of a multipart version into ``writer``.

    Returns the bytes written. Raises ``kms.IntegrityError`` when a part does not authenticate
    (``writer`` may hold a verified prefix the caller must discard) and ``BackendUnavailable``
    when a part's blob is missing.
    """
    with core.database.read_session() as session:
        parts = [
            _Part(
                part_number=row.part_number,
                upload_id=row.upload_id,
                blob_path=row.blob_path,
                size=row.size,
                stored_size=row.stored_size,
                offset=row.offset,
            )
            for row in session.scalars(
                select(models.MultipartPart)
                .where(models.MultipartPart.version_id == version_id)
                .order_by(models.MultipartPart.part_number)
            )
        ]
    end = offset + length
    done = 0
    for part in parts:
        part_end = part.offset + part.size
        if part_end <= offset or part.offset >= end:
            continue
        context = part_context(
            tenant=account_id,
            bucket=bucket,
            key=key,
            version_id=version_id,
            upload_id=part.upload_id,
            part_number=part.part_number,
        )
        first = max(offset, part.offset) - part.offset
        last = min(end, part_end) - part.offset
        if first == 0 and last == part.size:
            done += _write_whole_part(core, part, data_key, context, writer)
        else:
            done += _write_part_range(
                core,
                part,
                data_key=data_key,
                context=context,
                first=first,
                length=last - first,
                writer=writer,
            )
    return done


def _write_whole_part(
    core: StorageCore,
    part: _Part,
    data_key: kms.PlaintextDataKey,
    context: kms.EncryptionContext,
    writer: kms.Writable,
) -> int:
    try:
        reader = core.backend.open_read(part.blob_path)
    except FileNotFoundError as exc:
        raise missing_blob(part.blob_path, what=_PART) from exc
    header = kms.read_object_header(reader)
    counting = _CountingWriter(writer)
    totals = kms.decrypt_stream(
        reader, counting, data_key=data_key, header=header, encryption_context=context
    )
    if totals.plaintext_bytes != part.size:
        raise kms.IntegrityError(kms.IntegrityFailure.INVALID_LENGTH)
    return counting.count


def _write_part_range(
    core: StorageCore,
    part: _Part,
    *,
    data_key: kms.PlaintextDataKey,
    context: kms.EncryptionContext,
    first: int,
    length: int,
    writer: kms.Writable,
) -> int:
    source = BlobSource(core, part.blob_path, what=_PART)
    header = kms.read_object_header_at(source)
    done = 0
    while done < length:
        piece = min(RANGE_WINDOW_BYTES, length - done)
        data = kms.decrypt_range(
            source,
            data_key=data_key,
            header=header,
            encryption_context=context,
            ciphertext_length=part.stored_size,
            offset=first + done,
            length=piece,
        )
        if len(data) != piece:
            raise kms.IntegrityError(kms.IntegrityFailure.INVALID_LENGTH)
        _write_all(writer, data)
        done += piece
    return done
