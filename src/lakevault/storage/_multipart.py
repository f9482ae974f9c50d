"""Multipart uploads: create, upload part, list parts and uploads, complete, abort, clean up.

The design (docs/decisions/0160):

* **One data key per object version, fixed at creation.** CreateMultipartUpload chooses the
  future version's id and asks the bucket's KMS key for its data key, bound to the version's
  encryption context ``{tenant, bucket, key, version-id}`` exactly as a single PUT does; the
  wrapped key is kept in the upload row (and, after completion, in the version row, where
  ``lakevault kms rewrap`` finds it; uploads in progress are the ``storage-uploads`` registry).
* **Parts are encrypted as they arrive.** UploadPart unwraps the data key (with the gate's
  proof of ``s3:PutObject``) and streams the body through ``kms.encrypt_stream`` into a blob
  of its own, ``ACCOUNT/BUCKET/VERSION-ID/NNNNN-RANDOM``, whose header binds a context that also
  names the upload id and the part number: a part blob moved to another part, upload or object
  does not decrypt. Memory is constant whatever the part size. The part row commits only after
  the blob is durable; until then the blob is journalled like any blob being written.
* **Complete is one transaction.** It validates the list (ascending part numbers, ETags,
  minimum size), checks the write conditions, retires the current version as a PUT would, adds
  the version row (its ``blob_path`` is the prefix ``ACCOUNT/BUCKET/VERSION-ID/``), records the
  parts' offsets, journals unused parts for deletion, deletes the upload row and appends the
  audit event — all or nothing. A crash leaves the upload or the object, never half of one.
* **Abort and cleanup** delete the upload's rows and journal its blob prefix in one
  transaction, then remove every blob under the prefix; the journal makes a crash in between
  harmless (the orphan sweep finishes it). No wrapped data key outlives the rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lakevault import kms
from lakevault.core import Clock
from lakevault.core.errors import InvalidParameterValue, InvalidRequest
from lakevault.db import Database, models
from lakevault.gate import Proof
from lakevault.storage._core import BucketRecord, StorageCore
from lakevault.storage._errors import EntityTooLarge, InvalidPart, NoSuchUpload
from lakevault.storage._limits import BucketLimits
from lakevault.storage._lock import apply_object_lock
from lakevault.storage._multipart_read import multipart_prefix, part_context
from lakevault.storage._multipart_types import (
    DEFAULT_MIN_PART_BYTES,
    MAX_LISTED,
    MAX_PART_BYTES,
    MAX_PART_NUMBER,
    MIN_PART_NUMBER,
    CompletedPart,
    PartInfo,
    PartsPage,
    UploadInfo,
    UploadsPage,
)
from lakevault.storage._names import bucket_arn, check_object_key, object_arn
from lakevault.storage._objects import (
    Objects,
    _info,
    check_content_type,
    check_metadata,
    check_write_conditions,
)
from lakevault.storage._streams import HashingReader, Pipe
from lakevault.storage._sweep import forget_blob
from lakevault.storage._types import ByteRange, Caller, Conditions, ObjectInfo, Versioning
from lakevault.storage._write_admission import ObjectWrite, authorize_object_write

_WRITING = "writing"
_DELETING = "deleting"
#: The audit events' names, as CloudTrail's: the operations, not their IAM action (most are
#: ``s3:PutObject``; docs/decisions/0186).
_CREATE = "CreateMultipartUpload"
_UPLOAD_PART = "UploadPart"
_UPLOAD_PART_COPY = "UploadPartCopy"
_COMPLETE = "CompleteMultipartUpload"


def _upload_info(row: models.MultipartUpload) -> UploadInfo:
    return UploadInfo(
        bucket=row.bucket_name,
        key=row.key,
        upload_id=row.upload_id,
        initiator_arn=row.initiator_arn,
        initiated_at=row.initiated_at,
        content_type=row.content_type,
        metadata=MappingProxyType(dict(row.user_metadata or {})),
    )


def _part_info(row: models.MultipartPart) -> PartInfo:
    return PartInfo(
        part_number=row.part_number,
        size=row.size,
        etag=row.etag,
        sha256=row.sha256,
        last_modified=row.last_modified,
    )


def _check_part_number(part_number: int) -> None:
    if not MIN_PART_NUMBER <= part_number <= MAX_PART_NUMBER:
        raise InvalidParameterValue(
            f"partNumber must be {MIN_PART_NUMBER} to {MAX_PART_NUMBER}, got {part_number}",
            code="InvalidArgument",
        )


def _bare(etag: str) -> str:
    return etag.strip().strip('"')


def multipart_etag(part_sha256s: Sequence[str]) -> tuple[str, str]:
    """The ETag and composite SHA-256 of an object made of parts with these SHA-256s (hex).

    As S3's multipart ETag (the MD5 of the parts' MD5s, then ``-N``) but with SHA-256, the hash
    lakevault pays for anyway (docs/decisions/0154): the composite is the SHA-256 of the parts'
    binary SHA-256s, and the ETag its first 128 bits with ``-N``.
    """
    composite = hashlib.sha256(b"".join(bytes.fromhex(s) for s in part_sha256s)).hexdigest()
    return f'"{composite[:32]}-{len(part_sha256s)}"', composite


class MultipartUploads:
    """S3 multipart uploads over one storage core; every operation is an S3 action."""

    def __init__(
        self,
        core: StorageCore,
        objects: Objects,
        *,
        min_part_bytes: int = DEFAULT_MIN_PART_BYTES,
        limits: BucketLimits | None = None,
    ) -> None:
        if min_part_bytes < 1:
            raise InvalidParameterValue(
                f"the minimum part size must be at least 1 byte, got {min_part_bytes}"
            )
        self._core = core
        self._objects = objects
        self.min_part_bytes = min_part_bytes
        self._limits = limits

    # -- shared --------------------------------------------------------------------------------

    def _load_upload(self, bucket: str, upload_id: str) -> models.MultipartUpload:
        """The upload ``upload_id`` of ``bucket`` (detached), or ``NoSuchUpload``."""
        with self._core.database.read_session() as session:
            row = session.get(models.MultipartUpload, upload_id)
            if row is None or row.bucket_name != bucket:
                raise NoSuchUpload(
                    f"the bucket {bucket!r} has no multipart upload {upload_id!r}: it was never "
                    "created there, or it was completed or aborted; start a new upload"
                )
            session.expunge(row)
            return row

    def _authorize_upload(
        self,
        caller: Caller,
        bucket: str,
        upload_id: str,
        *,
        action: str,
        read_only: bool,
        event_name: str,
    ) -> tuple[BucketRecord, models.MultipartUpload, Proof]:
        core = self._core
        record = core.load_bucket(bucket)
        upload = self._load_upload(bucket, upload_id)
        proof = core.authorize(
            caller,
            action=action,
            resource=object_arn(bucket, upload.key),
            bucket=record,
            read_only=read_only,
            parameters={"bucketName": bucket, "key": upload.key, "uploadId": upload_id},
            event_name=event_name,
        )
        return record, upload, proof

    def _authorize_upload_write(
        self, caller: Caller, bucket: str, upload_id: str, *, event_name: str
    ) -> tuple[ObjectWrite, models.MultipartUpload]:
        """``s3:PutObject`` on the upload's key (a part, or the completion), with the bucket's
        limit: the admission every object write shares (``authorize_object_write``)."""
        state = self._core.bucket_state(bucket)
        upload = self._load_upload(bucket, upload_id)
        admitted = authorize_object_write(
            self._core,
            self._limits,
            caller,
            state,
            upload.key,
            parameters={"bucketName": bucket, "key": upload.key, "uploadId": upload_id},
            event_name=event_name,
        )
        return admitted, upload

    @staticmethod
    def _lock_upload(
        session: Session, upload_id: str, *, is_sqlite: bool
    ) -> models.MultipartUpload:
        row = session.get(models.MultipartUpload, upload_id, with_for_update=not is_sqlite)
        if row is None:
            raise NoSuchUpload(
                f"the multipart upload {upload_id!r} was completed or aborted meanwhile; "
                "start a new upload"
            )
        return row

    def _version_context(self, upload: models.MultipartUpload) -> kms.EncryptionContext:
        return kms.EncryptionContext.for_object(
            tenant=upload.account_id,
            bucket=upload.bucket_name,
            key=upload.key,
            version_id=upload.version_id,
        )

    # -- create --------------------------------------------------------------------------------

    def create_upload(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> UploadInfo:
        """CreateMultipartUpload (``s3:PutObject``): the upload id to send parts to.

        The version's data key is generated now, bound to the version's encryption context,
        and kept wrapped in the upload row.
        """
        core = self._core
        check_object_key(key)
        clean_metadata = check_metadata(metadata or {})
        clean_type = check_content_type(content_type)
        admitted = authorize_object_write(
            core,
            self._limits,
            caller,
            core.bucket_state(bucket),
            key,
            event_name=_CREATE,
        )
        record, proof = admitted.record, admitted.proof
        version_id = core.random.token_bytes(16).hex()
        upload_id = core.random.token_bytes(24).hex()
        data_key = core.keys.generate_data_key(
            proof,
            key_id=record.kms_key_id,
            context=kms.EncryptionContext.for_object(
                tenant=record.account_id, bucket=bucket, key=key, version_id=version_id
            ),
        )
        row = models.MultipartUpload(
            upload_id=upload_id,
            version_id=version_id,
            bucket_name=bucket,
            account_id=record.account_id,
            key=key,
            content_type=clean_type,
            user_metadata=clean_metadata,
            kms_key_id=data_key.key_id,
            key_version=data_key.key_version,
            wrapped_data_key=data_key.wrapped,
            initiator_arn=caller.principal.arn,
            initiated_at=core.clock.now(),
        )
        with core.database.session() as session:
            core.lock_bucket(session, bucket)
            session.add(row)
            info = _upload_info(row)
            core.record_change(
                session,
                caller,
                action="s3:PutObject",
                resource=object_arn(bucket, key),
                resource_account=record.account_id,
                parameters={"bucketName": bucket, "key": key},
                elements={"uploadId": upload_id},
                event_name=_CREATE,
            )
        return info

    # -- parts ---------------------------------------------------------------------------------

    def upload_part(
        self,
        caller: Caller,
        bucket: str,
        upload_id: str,
        part_number: int,
        body: kms.Readable,
        *,
        content_length: int | None = None,
        expected_sha256: str | None = None,
    ) -> PartInfo:
        """UploadPart (``s3:PutObject``): encrypt ``body`` as it arrives into the part's blob.

        Uploading a part number again replaces that part. ``content_length``, when given, must
        be exact (``IncompleteBody``); ``expected_sha256`` (hex) must match (``BadDigest``).
        A part over 5 GiB is ``EntityTooLarge``.
        """
        return self._upload_part(
            caller,
            bucket,
            upload_id,
            part_number,
            body,
            content_length=content_length,
            expected_sha256=expected_sha256,
        )

    def upload_part_copy(
        self,
        caller: Caller,
        bucket: str,
        upload_id: str,
        part_number: int,
        *,
        source_bucket: str,
        source_key: str,
        source_version_id: str | None = None,
        byte_range: ByteRange | None = None,
        conditions: Conditions | None = None,
    ) -> PartInfo:
        """UploadPartCopy: ``s3:GetObject`` on the source (``byte_range`` of it, S3's
        ``x-amz-copy-source-range``), ``s3:PutObject`` on the upload's object.

        The source is decrypted with its data key and re-encrypted as the part, under the
        upload's data key, through a pipe (constant memory), as CopyObject does.
        """
        _check_part_number(part_number)
        self._load_upload(bucket, upload_id)  # NoSuchUpload before the source is opened
        download = self._objects.open_object(
            caller,
            source_bucket,
            source_key,
            version_id=source_version_id,
            conditions=conditions,
            byte_range=byte_range,
        )
        pipe = Pipe(download.write_to)
        try:
            return self._upload_part(
                caller,
                bucket,
                upload_id,
                part_number,
                pipe.reader,
                content_length=download.length,
                pipe=pipe,
            )
        finally:
            pipe.close()

    def _upload_part(
        self,
        caller: Caller,
        bucket: str,
        upload_id: str,
        part_number: int,
        body: kms.Readable,
        *,
        content_length: int | None,
        expected_sha256: str | None = None,
        pipe: Pipe | None = None,
    ) -> PartInfo:
        core = self._core
        _check_part_number(part_number)
        if content_length is not None and content_length > MAX_PART_BYTES:
            raise EntityTooLarge(
                f"a part may have at most {MAX_PART_BYTES} bytes, the request declared "
                f"{content_length}; use more parts"
            )
        # UploadPartCopy's part comes through a pipe from the source it read.
        event_name = _UPLOAD_PART if pipe is None else _UPLOAD_PART_COPY
        admitted, upload = self._authorize_upload_write(
            caller, bucket, upload_id, event_name=event_name
        )
        record, proof = admitted.record, admitted.proof
        data_key = core.keys.decrypt_data_key(
            proof,
            key_id=upload.kms_key_id,
            key_version=upload.key_version,
            wrapped=upload.wrapped_data_key,
            context=self._version_context(upload),
        )
        header = kms.ObjectHeader.create(
            key_id=upload.kms_key_id,
            key_version=upload.key_version,
            wrapped_data_key=upload.wrapped_data_key,
            encryption_context=part_context(
                tenant=upload.account_id,
                bucket=bucket,
                key=upload.key,
                version_id=upload.version_id,
                upload_id=upload_id,
                part_number=part_number,
            ),
        )
        blob_path = (
            multipart_prefix(upload.account_id, bucket, upload.version_id)
            + f"{part_number:05d}-{core.random.token_bytes(8).hex()}"
        )
        with core.database.session() as session:
            session.add(
                models.BlobJournal(
                    blob_path=blob_path,
                    bucket_name=bucket,
                    state=_WRITING,
                    created_at=core.clock.now(),
                )
            )
        # No part, and so no object, over the bucket's largest object (streaming limits).
        body = admitted.limit_body(body, content_length)
        reader = HashingReader(body, expected_length=content_length)
        writer = core.backend.open_write(blob_path)
        replaced: str | None = None
        try:
            totals = kms.encrypt_stream(
                _Limited(reader), writer, data_key=data_key, header=header, random=core.random
            )
            if pipe is not None:
                pipe.finish()  # the source decrypted whole and verified
            sha256 = reader.finish()
            if expected_sha256 is not None and expected_sha256.lower() != sha256:
                raise InvalidParameterValue(
                    "the part's SHA-256 does not match the one the request declared; nothing "
                    "was stored",
                    code="BadDigest",
                )
            writer.commit()
            now = core.clock.now()
            with core.database.session() as session:
                self._lock_upload(session, upload_id, is_sqlite=core.database.is_sqlite)
                old = session.get(
                    models.MultipartPart, (upload.version_id, part_number), with_for_update=False
                )
                if old is not None:
                    replaced = old.blob_path
                    session.add(
                        models.BlobJournal(
                            blob_path=old.blob_path,
                            bucket_name=bucket,
                            state=_DELETING,
                            created_at=now,
                        )
                    )
                    session.delete(old)
                    session.flush()
                row = models.MultipartPart(
                    version_id=upload.version_id,
                    part_number=part_number,
                    upload_id=upload_id,
                    blob_path=blob_path,
                    size=reader.length,
                    stored_size=totals.ciphertext_bytes,
                    offset=0,
                    etag=f'"{sha256[:32]}"',
                    sha256=sha256,
                    last_modified=now,
                )
                session.add(row)
                session.execute(
                    delete(models.BlobJournal).where(models.BlobJournal.blob_path == blob_path)
                )
                info = _part_info(row)
                core.record_change(
                    session,
                    caller,
                    action="s3:PutObject",
                    resource=object_arn(bucket, upload.key),
                    resource_account=record.account_id,
                    parameters={
                        "bucketName": bucket,
                        "key": upload.key,
                        "uploadId": upload_id,
                        "partNumber": part_number,
                    },
                    elements={"etag": info.etag, "size": info.size},
                    event_name=event_name,
                )
        except BaseException:
            writer.abort()
            forget_blob(core.database, core.backend, blob_path)
            raise
        if replaced is not None:
            forget_blob(core.database, core.backend, replaced)
        return info

    def list_parts(
        self,
        caller: Caller,
        bucket: str,
        upload_id: str,
        *,
        max_parts: int = MAX_LISTED,
        part_number_marker: int = 0,
    ) -> PartsPage:
        """ListParts (``s3:ListMultipartUploadParts``): the parts after ``part_number_marker``."""
        if not 0 <= max_parts <= MAX_LISTED:
            raise InvalidParameterValue(
                f"max-parts must be 0 to {MAX_LISTED}, got {max_parts}", code="InvalidArgument"
            )
        _record, upload, _proof = self._authorize_upload(
            caller,
            bucket,
            upload_id,
            action="s3:ListMultipartUploadParts",
            read_only=True,
            event_name="ListParts",
        )
        with self._core.database.read_session() as session:
            rows = session.scalars(
                select(models.MultipartPart)
                .where(
                    models.MultipartPart.version_id == upload.version_id,
                    models.MultipartPart.upload_id == upload_id,
                    models.MultipartPart.part_number > part_number_marker,
                )
                .order_by(models.MultipartPart.part_number)
                .limit(max_parts + 1)
            ).all()
            parts = tuple(_part_info(row) for row in rows[:max_parts])
        truncated = len(rows) > max_parts
        return PartsPage(
            bucket=bucket,
            key=upload.key,
            upload_id=upload_id,
            parts=parts,
            max_parts=max_parts,
            part_number_marker=part_number_marker,
            is_truncated=truncated,
            next_part_number_marker=parts[-1].part_number if truncated and parts else None,
        )

    def list_uploads(
        self,
        caller: Caller,
        bucket: str,
        *,
        prefix: str = "",
        max_uploads: int = MAX_LISTED,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
    ) -> UploadsPage:
        """ListMultipartUploads (``s3:ListBucketMultipartUploads``), ordered by key, then
        upload id; ``key_marker``/``upload_id_marker`` continue after a truncated page."""
        if not 0 <= max_uploads <= MAX_LISTED:
            raise InvalidParameterValue(
                f"max-uploads must be 0 to {MAX_LISTED}, got {max_uploads}",
                code="InvalidArgument",
            )
        core = self._core
        record = core.load_bucket(bucket)
        core.authorize(
            caller,
            action="s3:ListBucketMultipartUploads",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=True,
            parameters={"bucketName": bucket, "prefix": prefix},
            context={"s3:prefix": prefix},
            event_name="ListMultipartUploads",
        )
        uploads = models.MultipartUpload
        query = select(uploads).where(uploads.bucket_name == bucket)
        if prefix:
            query = query.where(uploads.key >= prefix)
        if key_marker is not None:
            if upload_id_marker is not None:
                query = query.where(
                    (uploads.key > key_marker)
                    | ((uploads.key == key_marker) & (uploads.upload_id > upload_id_marker))
                )
            else:
                query = query.where(uploads.key > key_marker)
        found: list[UploadInfo] = []
        truncated = False
        with core.database.read_session() as session:
            for row in session.scalars(query.order_by(uploads.key, uploads.upload_id)):
                if not row.key.startswith(prefix):
                    break
                if len(found) == max_uploads:
                    truncated = True
                    break
                found.append(_upload_info(row))
        last = found[-1] if truncated and found else None
        return UploadsPage(
            bucket=bucket,
            prefix=prefix,
            uploads=tuple(found),
            max_uploads=max_uploads,
            is_truncated=truncated,
            next_key_marker=last.key if last else None,
            next_upload_id_marker=last.upload_id if last else None,
        )

    # -- complete ------------------------------------------------------------------------------

    def _check_part_list(self, parts: Sequence[CompletedPart]) -> None:
        if not parts:
            raise InvalidRequest(
                "CompleteMultipartUpload needs at least one part; list the parts you uploaded"
            )
        previous = 0
        for part in parts:
            _check_part_number(part.part_number)
            if part.part_number <= previous:
                raise InvalidPart(
                    f"part numbers must be in ascending order without repeats; {part.part_number} "
                    f"follows {previous}",
                    code="InvalidPartOrder",
                )
            previous = part.part_number

    def complete_upload(
        self,
        caller: Caller,
        bucket: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        *,
        conditions: Conditions | None = None,
    ) -> ObjectInfo:
        """CompleteMultipartUpload (``s3:PutObject``): the listed parts become the object.

        Refuses (and leaves the upload as it was) part numbers out of order
        (``InvalidPartOrder``), a part not uploaded or with another ETag (``InvalidPart``), a
        part but the last under the minimum size (``EntityTooSmall``), and failed conditions
        (``PreconditionFailed``: ``If-None-Match: *``, ``If-Match``). One transaction.
        """
        core = self._core
        conditions = conditions or Conditions()
        self._check_part_list(parts)
        admitted, upload = self._authorize_upload_write(
            caller, bucket, upload_id, event_name=_COMPLETE
        )
        record = admitted.record
        key = upload.key
        max_bytes = admitted.max_object_bytes
        replaced: list[str] = []
        unused: list[str] = []
        with core.database.session() as session:
            bucket_row = core.lock_bucket(session, bucket)
            self._lock_upload(session, upload_id, is_sqlite=core.database.is_sqlite)
            stored = {
                row.part_number: row
                for row in session.scalars(
                    select(models.MultipartPart).where(
                        models.MultipartPart.version_id == upload.version_id
                    )
                )
            }
            chosen: list[models.MultipartPart] = []
            for index, part in enumerate(parts):
                row = stored.get(part.part_number)
                if row is None or _bare(row.etag) != _bare(part.etag):
                    raise InvalidPart(
                        f"part {part.part_number} of upload {upload_id!r} was not uploaded or "
                        f"has another ETag than {part.etag!r}; use the ETags UploadPart or "
                        "ListParts returned"
                    )
                if index < len(parts) - 1 and row.size < self.min_part_bytes:
                    raise InvalidPart(
                        f"part {part.part_number} has {row.size} bytes; every part but the last "
                        f"needs at least {self.min_part_bytes}",
                        code="EntityTooSmall",
                    )
                chosen.append(row)
            latest = self._objects._latest_row(session, bucket, key)
            check_write_conditions(
                None if latest is None or latest.is_delete_marker else _info(latest), conditions
            )
            now = core.clock.now()
            offset = 0
            for row in chosen:
                row.offset = offset
                offset += row.size
            if max_bytes is not None and offset > max_bytes:
                raise EntityTooLarge(
                    f"the parts add up to {offset} bytes; the bucket {bucket!r} takes objects of "
                    f"at most {max_bytes} bytes; complete with fewer parts or raise its limit"
                )
            chosen_numbers = {row.part_number for row in chosen}
            for number, row in stored.items():
                if number not in chosen_numbers:
                    unused.append(row.blob_path)
                    session.add(
                        models.BlobJournal(
                            blob_path=row.blob_path,
                            bucket_name=bucket,
                            state=_DELETING,
                            created_at=now,
                        )
                    )
                    session.delete(row)
            versioning = Versioning(bucket_row.versioning)
            sequence = self._objects._next_sequence(session, bucket, key)
            replaced = self._objects._retire(session, bucket, key, versioning)
            etag, composite = multipart_etag([row.sha256 for row in chosen])
            version = models.ObjectVersion(
                version_id=upload.version_id,
                bucket_name=bucket,
                key=key,
                sequence=sequence,
                is_latest=True,
                is_delete_marker=False,
                is_null_version=versioning is not Versioning.ENABLED,
                size=offset,
                stored_size=sum(row.stored_size for row in chosen),
                blob_path=multipart_prefix(upload.account_id, bucket, upload.version_id),
                content_type=upload.content_type,
                user_metadata=dict(upload.user_metadata or {}),
                etag=etag,
                sha256=composite,
                kms_key_id=upload.kms_key_id,
                key_version=upload.key_version,
                wrapped_data_key=upload.wrapped_data_key,
                last_modified=now,
            )
            session.add(version)
            if versioning is Versioning.ENABLED:
                # The bucket's default retention, as for a PUT (docs/decisions/0156).
                apply_object_lock(session, bucket=bucket, version_id=upload.version_id, now=now)
            session.execute(
                delete(models.MultipartUpload).where(models.MultipartUpload.upload_id == upload_id)
            )
            info = _info(version)
            core.record_change(
                session,
                caller,
                action="s3:PutObject",
                resource=object_arn(bucket, key),
                resource_account=record.account_id,
                parameters={
                    "bucketName": bucket,
                    "key": key,
                    "uploadId": upload_id,
                },
                elements={
                    "versionId": info.version_id,
                    "size": info.size,
                    "etag": info.etag,
                    "parts": len(chosen),
                },
                event_name=_COMPLETE,
            )
        for path in [*replaced, *unused]:
            forget_blob(core.database, core.backend, path)
        return info

    # -- abort and cleanup ---------------------------------------------------------------------

    def abort_upload(self, caller: Caller, bucket: str, upload_id: str) -> None:
        """AbortMultipartUpload (``s3:AbortMultipartUpload``): the upload and its parts go."""
        core = self._core
        record, upload, _proof = self._authorize_upload(
            caller,
            bucket,
            upload_id,
            action="s3:AbortMultipartUpload",
            read_only=False,
            event_name="AbortMultipartUpload",
        )
        with core.database.session() as session:
            prefix = drop_upload(session, core.database, core.clock, upload_id)
            core.record_change(
                session,
                caller,
                action="s3:AbortMultipartUpload",
                resource=object_arn(bucket, upload.key),
                resource_account=record.account_id,
                parameters={"bucketName": bucket, "key": upload.key, "uploadId": upload_id},
            )
        forget_blob(core.database, core.backend, prefix)


def drop_upload(session: Session, database: Database, clock: Clock, upload_id: str) -> str:
    """Delete an upload's rows and journal its blob prefix, in the caller's transaction; return
    the prefix, whose blobs :func:`forget_blob` removes once the transaction has committed."""
    row = session.get(models.MultipartUpload, upload_id, with_for_update=not database.is_sqlite)
    if row is None:
        raise NoSuchUpload(f"the multipart upload {upload_id!r} was completed or aborted meanwhile")
    prefix = multipart_prefix(row.account_id, row.bucket_name, row.version_id)
    session.execute(
        delete(models.MultipartPart).where(models.MultipartPart.version_id == row.version_id)
    )
    if session.get(models.BlobJournal, prefix) is None:
        session.add(
            models.BlobJournal(
                blob_path=prefix,
                bucket_name=row.bucket_name,
                state=_DELETING,
                created_at=clock.now(),
            )
        )
    session.delete(row)
    return prefix


class _Limited:
    """Refuses a part body past :data:`MAX_PART_BYTES` while it streams (no declared length)."""

    def __init__(self, reader: HashingReader) -> None:
        self._reader = reader

    def readinto(self, buffer: memoryview, /) -> int:
        count = self._reader.readinto(buffer)
        if self._reader.length > MAX_PART_BYTES:
            raise EntityTooLarge(f"a part may have at most {MAX_PART_BYTES} bytes; use more parts")
        return count
