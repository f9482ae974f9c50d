"""Objects: put, get (whole or by range), head, delete, copy, through the gate, encrypted.

The write path is the only one there is, and it encrypts: a PUT asks the gate, gets a fresh
data key for the new version from the bucket's KMS key (bound to the version's encryption
context: tenant, bucket, key, version id), streams the body through ``kms.encrypt_stream`` into
a new blob, makes the blob durable, and only then commits the version's row. Until that commit
nothing of the new version is visible; a crash before it leaves an orphan blob named in the blob
journal, which :meth:`Objects.sweep_orphans` removes (docs/storage.md). A body of at most 64 KiB
with a declared length is encrypted into memory instead, and its ciphertext commits in the
version's own transaction (``_inline.py``, ADR 0272): nothing to make durable before, nothing
left behind by a crash.

Reads verify everything: the data key is unwrapped for exactly the version's context, and every
chunk authenticates before its plaintext is written; a flipped bit is the one
:class:`kms.IntegrityError`, never wrong bytes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, Table, bindparam, func, select
from sqlalchemy.orm import Session

from lakevault import kms
from lakevault.audit import CompanionRow
from lakevault.core.errors import InvalidParameterValue, NoSuchKey
from lakevault.db import DriverStatement, models
from lakevault.gate import Proof
from lakevault.storage._blob_source import RANGE_WINDOW_BYTES, BlobSource, missing_blob
from lakevault.storage._core import BucketRecord, StorageCore
from lakevault.storage._deadline import DeadlineWriter, RequestDeadline
from lakevault.storage._errors import (
    NoSuchVersion,
    NotModified,
    PreconditionFailed,
)
from lakevault.storage._inline import (
    INLINE_MAX_BYTES,
    INSERT_INLINE,
    InlineWriter,
    has_stored_blob,
    inline_path,
    is_inline_blob,
    load_inline,
)
from lakevault.storage._keys import GeneratedDataKey
from lakevault.storage._limits import BucketLimits
from lakevault.storage._lock import ObjectLock, apply_object_lock, release_version_lock
from lakevault.storage._lock_types import ObjectLockRequest
from lakevault.storage._multipart_read import is_multipart_blob, write_multipart
from lakevault.storage._names import check_object_key, object_arn
from lakevault.storage._streams import HashingReader, Pipe
from lakevault.storage._sweep import delete_blob, forget_blob, sweep_orphan_blobs
from lakevault.storage._types import (
    ByteRange,
    Caller,
    Conditions,
    DeleteResult,
    ObjectInfo,
    Versioning,
)
from lakevault.storage._version_commits import VersionBatch
from lakevault.storage._write_admission import authorize_object_write

#: S3's limit on user metadata: 2 KB for all names and values together.
MAX_METADATA_BYTES = 2048
_METADATA_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_CONTENT_TYPE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")
_WRITING = "writing"
#: Journal rows of replaced blobs one commit removes at most.
_SETTLED_PER_COMMIT = 256
_DELETING = "deleting"
_OBJECTS: Table = models.ObjectVersion.__table__  # type: ignore[assignment]
_JOURNAL: Table = models.BlobJournal.__table__  # type: ignore[assignment]
#: What the PUT's commit reads of a key's versions.
_VERSION_COLUMNS = (
    _OBJECTS.c.version_id,
    _OBJECTS.c.sequence,
    _OBJECTS.c.is_latest,
    _OBJECTS.c.is_delete_marker,
    _OBJECTS.c.is_null_version,
    _OBJECTS.c.blob_path,
)
#: The PUT path's statements, built once: building a statement per call (``.values(...)``,
#: comparisons with literals) and computing its cache key was a fifth of the PUT's CPU in the
#: storage layer (docs/performance.md, session 5); these carry only bound parameters.
_INSERT_JOURNAL = _JOURNAL.insert()
_INSERT_VERSION = _OBJECTS.insert()
_SELECT_VERSIONS = select(*_VERSION_COLUMNS).where(
    _OBJECTS.c.bucket_name == bindparam("bucket"), _OBJECTS.c.key == bindparam("key")
)
#: The two statements every PUT's version commit runs, on the driver's cursor (ADR 0222).
_DRIVER_SELECT_VERSIONS = DriverStatement(_SELECT_VERSIONS)
_DRIVER_INSERT_VERSION = DriverStatement(
    _INSERT_VERSION, columns={column.name: column for column in _OBJECTS.columns}
)


class _Version(NamedTuple):
    """A row of :data:`_SELECT_VERSIONS` (booleans as the driver gives them: 0/1 on SQLite)."""

    version_id: str
    sequence: int
    is_latest: bool
    is_delete_marker: bool
    is_null_version: bool
    blob_path: str | None


_MARK_DELETING = (
    _JOURNAL.update()
    .where(_JOURNAL.c.blob_path.in_(bindparam("paths", expanding=True)))
    .values(state=_DELETING)
)
_DELETE_VERSIONS = _OBJECTS.delete().where(
    _OBJECTS.c.version_id.in_(bindparam("version_ids", expanding=True))
)
_DEMOTE_VERSIONS = (
    _OBJECTS.update()
    .where(_OBJECTS.c.version_id.in_(bindparam("version_ids", expanding=True)))
    .values(is_latest=False)
)


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata: lower-case names of letters, digits, ``.-_``; printable ASCII values."""
    total = 0
    clean: dict[str, str] = {}
    for name, value in metadata.items():
        lowered = name.lower()
        if not _METADATA_NAME.fullmatch(lowered):
            raise InvalidParameterValue(
                f"metadata name {name!r} is not valid: use letters, digits, '.', '-' and '_'",
                code="InvalidArgument",
            )
        if not isinstance(value, str) or not all(" " <= ch <= "~" for ch in value):
            raise InvalidParameterValue(
                f"the value of metadata {lowered!r} must be printable ASCII",
                code="InvalidArgument",
            )
        total += len(lowered) + len(value)
        clean[lowered] = value
    if total > MAX_METADATA_BYTES:
        raise InvalidParameterValue(
            f"user metadata is {total} bytes; at most {MAX_METADATA_BYTES} are allowed",
            code="MetadataTooLarge",
        )
    return clean


def check_content_type(content_type: str | None) -> str:
    if content_type is None or content_type == "":
        return "binary/octet-stream"
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise InvalidParameterValue(
            "Content-Type must be 1 to 255 printable ASCII characters", code="InvalidArgument"
        )
    return content_type


def _etag_matches(etag: str, condition: str) -> bool:
    wanted = [part.strip() for part in condition.split(",")]
    return any(part == "*" or part.strip('"') == etag.strip('"') for part in wanted)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def check_read_conditions(info: ObjectInfo, conditions: Conditions) -> None:
    """S3's order: If-Match, then If-Unmodified-Since, If-None-Match, If-Modified-Since."""
    modified = _whole_seconds(info.last_modified)
    if conditions.if_match is not None and not _etag_matches(info.etag, conditions.if_match):
        raise PreconditionFailed(
            f"If-Match {conditions.if_match!r} does not match the object's ETag {info.etag}"
        )
    if (
        conditions.if_match is None
        and conditions.if_unmodified_since is not None
        and modified > conditions.if_unmodified_since
    ):
        raise PreconditionFailed("the object was modified after If-Unmodified-Since")
    if conditions.if_none_match is not None:
        if _etag_matches(info.etag, conditions.if_none_match):
            raise NotModified("the object matches If-None-Match")
    elif conditions.if_modified_since is not None and modified <= conditions.if_modified_since:
        raise NotModified("the object was not modified since If-Modified-Since")


def check_write_conditions(current: ObjectInfo | None, conditions: Conditions) -> None:
    """Conditional writes: If-None-Match ``*`` (create only), If-Match (replace only that ETag)."""
    if conditions.if_none_match is not None:
        if conditions.if_none_match.strip() != "*":
            raise InvalidParameterValue(
                "on a write, If-None-Match takes only '*'", code="NotImplemented"
            )
        if current is not None:
            raise PreconditionFailed("the object exists and the write said If-None-Match: *")
    if conditions.if_match is not None and (
        current is None or not _etag_matches(current.etag, conditions.if_match)
    ):
        raise PreconditionFailed(
            f"If-Match {conditions.if_match!r} does not match the current object"
        )


def _info(row: models.ObjectVersion | Row[Any]) -> ObjectInfo:
    """An object version as ``ObjectInfo``, from its ORM row or a Core row of its table."""
    return ObjectInfo(
        bucket=row.bucket_name,
        key=row.key,
        version_id=None if row.is_null_version else row.version_id,
        size=row.size,
        etag=row.etag,
        sha256=row.sha256,
        content_type=row.content_type,
        last_modified=row.last_modified,
        metadata=MappingProxyType(dict(row.user_metadata or {})),
        is_delete_marker=row.is_delete_marker,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _NewVersion:
    """A PUT's written blob, waiting for its version commit (docs/decisions/0221)."""

    caller: Caller
    record: BucketRecord
    key: str
    version_id: str
    blob_path: str
    size: int
    stored_size: int
    sha256: str
    content_type: str
    metadata: Mapping[str, str]
    data_key: GeneratedDataKey
    conditions: Conditions
    object_lock: ObjectLockRequest | None
    action: str
    #: Journal rows of replaced blobs already deleted, removed with this commit.
    settled: list[str]
    #: The ciphertext of a version stored inline (ADR 0272); ``None`` for a blob.
    inline_data: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _StoredVersion:
    """What reading a version needs, detached from the session."""

    info: ObjectInfo
    account_id: str
    version_id: str
    blob_path: str
    stored_size: int
    kms_key_id: str
    key_version: int
    wrapped_data_key: bytes


class ObjectDownload:
    """An authorised, not yet started read of one object version (or a range of it).

    ``offset``/``length`` give the plaintext range; :meth:`write_to` decrypts into a sink.
    Nothing is read from the store until then.
    """

    def __init__(
        self,
        core: StorageCore,
        stored: _StoredVersion,
        data_key: kms.PlaintextDataKey,
        *,
        offset: int,
        length: int,
        is_range: bool,
        deadline: RequestDeadline | None = None,
    ) -> None:
        self._core = core
        self._stored = stored
        self._data_key = data_key
        self._deadline = deadline
        self.info = stored.info
        self.offset = offset
        self.length = length
        self.is_range = is_range

    def _context(self) -> kms.EncryptionContext:
        stored = self._stored
        return kms.EncryptionContext.for_object(
            tenant=stored.account_id,
            bucket=stored.info.bucket,
            key=stored.info.key,
            version_id=stored.version_id,
        )

    def write_to(self, writer: kms.Writable) -> int:
        """Decrypt the object (or the range) into ``writer``; return the plaintext bytes.

        Raises ``kms.IntegrityError`` when the stored bytes do not authenticate, and
        ``RequestTimeout`` once the bucket's maximum request duration has passed. On an error
        ``writer`` may already hold a verified prefix, which the caller must discard.
        """
        if self._deadline is not None:
            writer = DeadlineWriter(writer, self._deadline)
        stored = self._stored
        if is_multipart_blob(stored.blob_path):
            return write_multipart(
                self._core,
                account_id=stored.account_id,
                bucket=stored.info.bucket,
                key=stored.info.key,
                version_id=stored.version_id,
                data_key=self._data_key,
                offset=self.offset,
                length=self.length,
                writer=writer,
            )
        context = self._context()
        inline = (
            load_inline(self._core.database, stored.version_id, stored.blob_path)
            if is_inline_blob(stored.blob_path)
            else None
        )
        if not self.is_range:
            if inline is not None:
                reader: kms.Readable = inline
            else:
                try:
                    reader = self._core.backend.open_read(stored.blob_path)
                except FileNotFoundError as exc:
                    raise missing_blob(stored.blob_path) from exc
            header = kms.read_object_header(reader)
            totals = kms.decrypt_stream(
                reader, writer, data_key=self._data_key, header=header, encryption_context=context
            )
            return totals.plaintext_bytes
        source: kms.RangeReadable = (
            inline if inline is not None else BlobSource(self._core, stored.blob_path)
        )
        header = kms.read_object_header_at(source)
        done = 0
        while done < self.length:
            piece = min(RANGE_WINDOW_BYTES, self.length - done)
            data = kms.decrypt_range(
                source,
                data_key=self._data_key,
                header=header,
                encryption_context=context,
                ciphertext_length=stored.stored_size,
                offset=self.offset + done,
                length=piece,
            )
            view = memoryview(data)
            while view:
                count = writer.write(view)
                view = view[len(view) if count is None else count :]
            done += len(data)
            if len(data) < piece:
                break
        return done

    def read_all(self) -> bytes:
        """The whole plaintext (or range) in memory: for small objects and tests."""
        out = bytearray()

        class _Sink:
            def write(self, data: memoryview, /) -> int:
                out.extend(data)
                return len(data)

        self.write_to(_Sink())
        return bytes(out)


class Objects:
    """Object operations; every one is an S3 action through the gate."""

    def __init__(self, core: StorageCore, *, limits: BucketLimits | None = None) -> None:
        self._core = core
        self._limits = limits
        #: Journal rows of replaced blobs already deleted from the store: the next PUT's commit
        #: removes them (one transaction fewer per overwrite); a crash leaves them to the sweep.
        self._settled: list[str] = []
        self._settled_lock = threading.Lock()
        self._committer = core.version_committer

    # -- writing -------------------------------------------------------------------------------

    def put_object(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        body: kms.Readable,
        *,
        content_length: int | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        conditions: Conditions | None = None,
        expected_sha256: str | None = None,
        object_lock: ObjectLockRequest | None = None,
    ) -> ObjectInfo:
        """``s3:PutObject``: store ``body`` as the new current version of ``key``.

        ``content_length``, when given, must be the body's exact length (``IncompleteBody``
        otherwise); ``expected_sha256`` (hex), when given, must match (``BadDigest``). Nothing
        is visible unless the whole body was stored durably.
        """
        core = self._core
        check_object_key(key)
        clean_metadata = check_metadata(metadata or {})
        clean_type = check_content_type(content_type)
        conditions = conditions or Conditions()
        # The decision's event is only queued (ADR 0230): the data key's wait in ``_store``
        # covers it before the blob is opened, and every earlier answer waits for it here.
        admitted = authorize_object_write(
            core, self._limits, caller, core.bucket_state(bucket), key, defer_audit=True
        )
        record, proof = admitted.record, admitted.proof
        try:
            object_lock = ObjectLock(core).check_put_request(caller, record, key, object_lock)
            body = admitted.limit_body(body, content_length)
            if conditions.if_match is not None or conditions.if_none_match is not None:
                # Early refusal before any byte is read; the commit checks again, atomically.
                check_write_conditions(self._current(bucket, key), conditions)
            return self._store(
                caller,
                record,
                key,
                HashingReader(body, expected_length=content_length),
                proof=proof,
                action="s3:PutObject",
                content_type=clean_type,
                metadata=clean_metadata,
                conditions=conditions,
                expected_sha256=expected_sha256,
                object_lock=object_lock,
            )
        except BaseException:
            proof.wait_recorded()  # no answer, not even an error, before the decision is durable
            raise

    def _store(
        self,
        caller: Caller,
        record: BucketRecord,
        key: str,
        reader: HashingReader,
        *,
        proof: Proof,
        action: str,
        content_type: str,
        metadata: Mapping[str, str],
        conditions: Conditions,
        expected_sha256: str | None = None,
        pipe: Pipe | None = None,
        object_lock: ObjectLockRequest | None = None,
    ) -> ObjectInfo:
        core = self._core
        version_id = core.random.token_bytes(16).hex()
        context = kms.EncryptionContext.for_object(
            tenant=record.account_id, bucket=record.name, key=key, version_id=version_id
        )
        blob_path = f"{record.account_id}/{record.name}/{version_id}"
        # A small body is stored beside its version row (ADR 0272): no blob, so no journal row.
        declared = reader.expected_length
        inline = declared is not None and declared <= INLINE_MAX_BYTES
        # The blob journal names the blob before any byte of it exists, so a crash leaves no
        # blob the sweep cannot find. The row goes in the same transaction as the data key's
        # audit event (ADR 0195): one group commit shared by concurrent uploads instead of a
        # transaction per PUT. Both are durable once ``wait_recorded`` returns.
        data_key: GeneratedDataKey = core.keys.generate_data_key(
            proof,
            key_id=record.kms_key_id,
            context=context,
            defer_audit=True,
            companion=None
            if inline
            else CompanionRow(
                table=_JOURNAL,
                values={
                    "blob_path": blob_path,
                    "bucket_name": record.name,
                    "state": _WRITING,
                    "created_at": core.clock.now(),
                },
            ),
        )
        header = kms.ObjectHeader.create(
            key_id=data_key.key_id,
            key_version=data_key.key_version,
            wrapped_data_key=data_key.wrapped,
            encryption_context=context,
        )
        # The key's use and the journal row are in the audit log's database before the blob
        # exists (and so before the version can); for a small body the wait is the group
        # commit's, shared with the concurrent requests.
        data_key.wait_recorded()
        writer = InlineWriter() if inline else core.backend.open_write(blob_path)
        settled: list[str] = []
        try:
            totals = kms.encrypt_stream(
                reader, writer, data_key=data_key.plaintext, header=header, random=core.random
            )
            if pipe is not None:
                pipe.finish()
            sha256 = reader.finish()
            if expected_sha256 is not None and expected_sha256.lower() != sha256:
                raise InvalidParameterValue(
                    "the body's SHA-256 does not match the one the request declared; nothing "
                    "was stored",
                    code="BadDigest",
                )
            writer.commit()
            settled = self._take_settled()
            stored = _NewVersion(
                caller=caller,
                record=record,
                key=key,
                version_id=version_id,
                blob_path=inline_path(record.account_id, record.name, version_id)
                if isinstance(writer, InlineWriter)
                else blob_path,
                size=reader.length,
                stored_size=totals.ciphertext_bytes,
                sha256=sha256,
                content_type=content_type,
                metadata=metadata,
                data_key=data_key,
                conditions=conditions,
                object_lock=object_lock,
                action=action,
                settled=settled,
                inline_data=writer.data if isinstance(writer, InlineWriter) else None,
            )
            # The version commits with those of concurrent PUTs, in one transaction
            # (docs/decisions/0221); its conditions are checked in that transaction.
            info, replaced = self._committer.commit(
                record.name, lambda batch: self._check_version(batch, stored)
            )
        except BaseException:
            self._settle(settled)
            writer.abort()
            if not inline:
                self._forget_blob(blob_path)
            raise
        for path in replaced:
            if is_multipart_blob(path):
                self._forget_blob(path)  # its part rows go in the same step
            else:
                self._settle(self._delete_blob_only(path))
        return info

    def _check_version(
        self, batch: VersionBatch, new: _NewVersion
    ) -> Callable[[], tuple[ObjectInfo, list[str]]]:
        """The version commit of a PUT, first half: read the key's versions and check the
        write's conditions in the batch's transaction (nothing written; raising refuses this
        PUT only); return the second half, which writes."""
        connection = batch.connection
        record, key, conditions = new.record, new.key, new.conditions
        versioning = batch.versioning(record.name)
        # One read of the key's versions serves the condition, the sequence and the retirement.
        versions = [
            _Version._make(row)
            for row in _DRIVER_SELECT_VERSIONS.execute(
                connection, batch.cursor, {"bucket": record.name, "key": key}
            ).fetchall()
        ]
        if conditions.if_match is not None or conditions.if_none_match is not None:
            latest = next((version for version in versions if version.is_latest), None)
            check_write_conditions(
                None
                if latest is None or latest.is_delete_marker
                else self._current_in(connection, latest.version_id),
                conditions,
            )

        def write() -> tuple[ObjectInfo, list[str]]:
            return self._write_version(batch, new, versioning, versions)

        return write

    def _write_version(
        self,
        batch: VersionBatch,
        new: _NewVersion,
        versioning: Versioning,
        versions: Sequence[_Version],
    ) -> tuple[ObjectInfo, list[str]]:
        """The version commit of a PUT, second half: retire, insert, lock, record the change.
        Returns the new version and the replaced blobs now due for deletion."""
        core = self._core
        connection = batch.connection
        record, key = new.record, new.key
        now = core.clock.now()
        sequence = max((version.sequence for version in versions), default=0) + 1
        replaced = self._retire_in(batch, record.name, versioning, versions, now)
        etag = f'"{new.sha256[:32]}"'
        info = ObjectInfo(
            bucket=record.name,
            key=key,
            version_id=None if versioning is not Versioning.ENABLED else new.version_id,
            size=new.size,
            etag=etag,
            sha256=new.sha256,
            content_type=new.content_type,
            last_modified=now,
            metadata=MappingProxyType(dict(new.metadata)),
            is_delete_marker=False,
        )
        _DRIVER_INSERT_VERSION.execute(
            connection,
            batch.cursor,
            {
                "version_id": new.version_id,
                "bucket_name": record.name,
                "key": key,
                "sequence": sequence,
                "is_latest": True,
                "is_delete_marker": False,
                "is_null_version": versioning is not Versioning.ENABLED,
                "size": new.size,
                "stored_size": new.stored_size,
                "blob_path": new.blob_path,
                "content_type": new.content_type,
                "user_metadata": dict(new.metadata),
                "etag": etag,
                "sha256": new.sha256,
                "kms_key_id": new.data_key.key_id,
                "key_version": new.data_key.key_version,
                "wrapped_data_key": new.data_key.wrapped,
                "last_modified": now,
            },
        )
        if new.inline_data is not None:
            INSERT_INLINE.execute(
                connection, batch.cursor, {"version_id": new.version_id, "data": new.inline_data}
            )
        if versioning is Versioning.ENABLED or new.object_lock is not None:
            # Object lock (docs/decisions/0156): the bucket's default or the request's.
            with Session(
                bind=connection, join_transaction_mode="rollback_only"
            ) as session:  # joins this transaction, never commits or ends it
                apply_object_lock(
                    session,
                    bucket=record.name,
                    version_id=new.version_id,
                    now=now,
                    request=new.object_lock,
                )
                session.flush()
        batch.remove_journal_rows(
            new.settled if new.inline_data is not None else [new.blob_path, *new.settled]
        )
        batch.record_change(
            core.change_event(
                new.caller,
                action=new.action,
                resource=object_arn(record.name, key),
                resource_account=record.account_id,
                parameters={"bucketName": record.name, "key": key},
                elements={"versionId": info.version_id, "size": info.size, "etag": etag},
            )
        )
        return info, replaced

    @staticmethod
    def _current_in(connection: Connection, version_id: str) -> ObjectInfo:
        """The version ``version_id`` as ``ObjectInfo`` (for a conditional write's check)."""
        return _info(
            connection.execute(select(_OBJECTS).where(_OBJECTS.c.version_id == version_id)).one()
        )

    def _retire_in(
        self,
        batch: VersionBatch,
        bucket: str,
        versioning: Versioning,
        versions: Sequence[_Version],
        now: datetime,
    ) -> list[str]:
        """:meth:`_retire` for the PUT path, as Core statements on ``versions`` (the key's
        versions, just read in this transaction); return blobs now due for deletion."""
        connection = batch.connection
        doomed: list[str] = []
        removed: list[str] = []
        demoted: list[str] = []
        for version in versions:
            if versioning is not Versioning.ENABLED and version.is_null_version:
                removed.append(version.version_id)
                if has_stored_blob(version.blob_path):  # inline bytes go with the row
                    doomed.append(version.blob_path)
            elif version.is_latest:
                demoted.append(version.version_id)
        # A version committed earlier in this batch still has its ``writing`` row: it becomes
        # the ``deleting`` row instead of a second one.
        claimed = [path for path in doomed if batch.claim_journal_row(path)]
        if claimed:
            connection.execute(_MARK_DELETING, {"paths": claimed})
        fresh = [path for path in doomed if path not in claimed]
        if fresh:
            connection.execute(
                _INSERT_JOURNAL,
                [
                    {
                        "blob_path": path,
                        "bucket_name": bucket,
                        "state": _DELETING,
                        "created_at": now,
                    }
                    for path in fresh
                ],
            )
        if removed:
            connection.execute(_DELETE_VERSIONS, {"version_ids": removed})
        if demoted:
            connection.execute(_DEMOTE_VERSIONS, {"version_ids": demoted})
        return doomed

    def _delete_blob_only(self, path: str) -> list[str]:
        """Delete a replaced blob now; its journal row goes with a later commit ([] on failure:
        the row stays and the sweep retries)."""
        try:
            delete_blob(self._core.backend, path)
        except Exception:  # noqa: BLE001 - the PUT succeeded; the sweep finishes the deletion
            return []
        return [path]

    def _take_settled(self) -> list[str]:
        with self._settled_lock:
            taken, self._settled = (
                self._settled[:_SETTLED_PER_COMMIT],
                self._settled[_SETTLED_PER_COMMIT:],
            )
        return taken

    def _settle(self, paths: list[str]) -> None:
        with self._settled_lock:
            self._settled.extend(paths)

    def _retire(
        self,
        session: Session,
        bucket: str,
        key: str,
        versioning: Versioning,
        *,
        rows: Sequence[models.ObjectVersion] | None = None,
    ) -> list[str]:
        """Make room for a new current version; return blobs now due for deletion.

        Versioning enabled: the current version stays, as a non-current one. Otherwise the null
        version (S3's only version of an unversioned key) is replaced, and its blob goes.
        ``rows``: the key's versions, when the caller has just read them in this transaction.
        """
        doomed: list[str] = []
        if rows is None:
            rows = self._versions(session, bucket, key)
        for row in rows:
            if versioning is not Versioning.ENABLED and row.is_null_version:
                if has_stored_blob(row.blob_path):  # inline bytes go with the row
                    doomed.append(row.blob_path)
                    session.add(
                        models.BlobJournal(
                            blob_path=row.blob_path,
                            bucket_name=bucket,
                            state=_DELETING,
                            created_at=self._core.clock.now(),
                        )
                    )
                session.delete(row)
            elif row.is_latest:
                row.is_latest = False
        session.flush()
        return doomed

    @staticmethod
    def _versions(session: Session, bucket: str, key: str) -> Sequence[models.ObjectVersion]:
        """Every version of ``key`` (one per key unless versioning was ever enabled)."""
        return session.scalars(
            select(models.ObjectVersion).where(
                models.ObjectVersion.bucket_name == bucket, models.ObjectVersion.key == key
            )
        ).all()

    @staticmethod
    def _next_sequence(session: Session, bucket: str, key: str) -> int:
        """The next version number of ``key`` (the bucket row is locked by the caller)."""
        highest = session.scalar(
            select(func.max(models.ObjectVersion.sequence)).where(
                models.ObjectVersion.bucket_name == bucket, models.ObjectVersion.key == key
            )
        )
        return int(highest or 0) + 1

    def _forget_blob(self, blob_path: str) -> None:
        """Best effort after a failed write or a replacement; the sweep finishes a failure."""
        forget_blob(self._core.database, self._core.backend, blob_path)

    def _delete_blobs(self, paths: list[str]) -> None:
        for path in paths:
            self._forget_blob(path)

    def sweep_orphans(self, *, older_than: timedelta) -> int:
        """Delete blobs whose write never committed (a crash) or whose deletion never finished.

        Only journal rows older than ``older_than`` are touched, so uploads in flight are safe
        as long as none runs longer than that. Returns how many blobs were removed.
        """
        core = self._core
        return sweep_orphan_blobs(core.database, core.backend, core.clock, older_than=older_than)

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def _latest_row(session: Session, bucket: str, key: str) -> models.ObjectVersion | None:
        return session.scalars(
            select(models.ObjectVersion).where(
                models.ObjectVersion.bucket_name == bucket,
                models.ObjectVersion.key == key,
                models.ObjectVersion.is_latest.is_(True),
            )
        ).first()

    def _current(self, bucket: str, key: str) -> ObjectInfo | None:
        with self._core.database.read_session() as session:
            row = self._latest_row(session, bucket, key)
            return None if row is None or row.is_delete_marker else _info(row)

    def _find(self, record: BucketRecord, key: str, version_id: str | None) -> _StoredVersion:
        with self._core.database.read_session() as session:
            if version_id is None:
                row = self._latest_row(session, record.name, key)
            elif version_id == "null":
                row = session.scalars(
                    select(models.ObjectVersion).where(
                        models.ObjectVersion.bucket_name == record.name,
                        models.ObjectVersion.key == key,
                        models.ObjectVersion.is_null_version.is_(True),
                    )
                ).first()
            else:
                row = session.get(models.ObjectVersion, version_id)
                if row is not None and (row.bucket_name != record.name or row.key != key):
                    row = None
            if row is None and version_id is not None:
                raise NoSuchVersion(
                    f"the object {key!r} in bucket {record.name!r} has no version {version_id!r}"
                )
            if row is None or row.is_delete_marker or row.blob_path is None:
                raise NoSuchKey(f"the object {key!r} does not exist in bucket {record.name!r}")
            return _StoredVersion(
                info=_info(row),
                account_id=record.account_id,
                version_id=row.version_id,
                blob_path=row.blob_path,
                stored_size=row.stored_size,
                kms_key_id=row.kms_key_id,
                key_version=row.key_version,
                wrapped_data_key=row.wrapped_data_key or b"",
            )

    def _authorize_read(
        self, caller: Caller, bucket: str, key: str, version_id: str | None
    ) -> tuple[BucketRecord, Proof]:
        core = self._core
        check_object_key(key)
        record = core.load_bucket(bucket)
        parameters: dict[str, object] = {"bucketName": bucket, "key": key}
        if version_id is not None:
            parameters["versionId"] = version_id
        proof = core.authorize(
            caller,
            action="s3:GetObjectVersion" if version_id is not None else "s3:GetObject",
            resource=object_arn(bucket, key),
            bucket=record,
            read_only=True,
            parameters=parameters,
        )
        return record, proof

    def head_object(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        conditions: Conditions | None = None,
    ) -> ObjectInfo:
        """``s3:GetObject`` without the body: metadata, with conditions evaluated, and the lock
        state the caller may see (``info.object_lock``, docs/decisions/0183)."""
        record, _proof = self._authorize_read(caller, bucket, key, version_id)
        stored = self._find(record, key, version_id)
        check_read_conditions(stored.info, conditions or Conditions())
        return self._with_lock(caller, record, stored).info

    def _with_lock(
        self, caller: Caller, record: BucketRecord, stored: _StoredVersion
    ) -> _StoredVersion:
        """``stored`` with the lock state the caller may see (docs/decisions/0183)."""
        visible = ObjectLock(self._core).visible_lock(
            caller, record, stored.info.key, stored.version_id
        )
        if visible is None:
            return stored
        return replace(stored, info=replace(stored.info, object_lock=visible))

    def open_object(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        conditions: Conditions | None = None,
        byte_range: ByteRange | None = None,
        show_object_lock: bool = False,
    ) -> ObjectDownload:
        """``s3:GetObject``: authorise, check conditions, unwrap the data key; read later.

        ``show_object_lock``: fill ``info.object_lock`` for the response headers of a GET
        (a decision on ``s3:GetObjectRetention``/``s3:GetObjectLegalHold`` each when the
        version has lock state; copies and internal reads leave it off).

        Raises ``NoSuchKey``/``NoSuchVersion``, ``PreconditionFailed``, ``NotModified``, or
        ``kms.InvalidRange`` for a range that starts past the end.
        """
        core = self._core
        record, proof = self._authorize_read(caller, bucket, key, version_id)
        stored = self._find(record, key, version_id)
        check_read_conditions(stored.info, conditions or Conditions())
        if show_object_lock:
            stored = self._with_lock(caller, record, stored)
        offset, length = 0, stored.info.size
        if byte_range is not None:
            offset, length = byte_range.resolve(stored.info.size)
            if (byte_range.suffix_length is None and offset >= stored.info.size) or (
                byte_range.suffix_length == 0
            ):
                raise kms.InvalidRange(
                    f"the range starts at byte {offset} but the object has {stored.info.size} bytes"
                )
        context = kms.EncryptionContext.for_object(
            tenant=record.account_id, bucket=bucket, key=key, version_id=stored.version_id
        )
        data_key = core.keys.decrypt_data_key(
            proof,
            key_id=stored.kms_key_id,
            key_version=stored.key_version,
            wrapped=stored.wrapped_data_key,
            context=context,
        )
        return ObjectDownload(
            core,
            stored,
            data_key,
            offset=offset,
            length=length,
            is_range=byte_range is not None,
            deadline=(
                None
                if self._limits is None
                else self._limits.start_deadline(core.bucket_state(bucket))
            ),
        )

    # -- deleting ------------------------------------------------------------------------------

    def delete_object(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> DeleteResult:
        """``s3:DeleteObject`` (or ``s3:DeleteObjectVersion`` with ``version_id``).

        Without a version id: versioning enabled adds a delete marker; otherwise the null
        version goes (suspended: replaced by a null delete marker). With one, that version is
        removed for good. Deleting what does not exist succeeds, as in S3.
        """
        core = self._core
        check_object_key(key)
        record = core.load_bucket(bucket)
        action = "s3:DeleteObjectVersion" if version_id is not None else "s3:DeleteObject"
        parameters: dict[str, object] = {"bucketName": bucket, "key": key}
        if version_id is not None:
            parameters["versionId"] = version_id
        core.authorize(
            caller,
            action=action,
            resource=object_arn(bucket, key),
            bucket=record,
            read_only=False,
            parameters=parameters,
        )
        bypass = (
            ObjectLock(core).bypass_proof(caller, record, key)
            if bypass_governance and version_id is not None
            else None
        )
        ObjectLock(core).refuse_locked_delete(
            caller, record, key, version_id, bypass=bypass, action=action, parameters=parameters
        )
        doomed: list[str] = []
        with core.database.session() as session:
            bucket_row = core.lock_bucket(session, bucket)
            versioning = Versioning(bucket_row.versioning)
            result: DeleteResult
            if version_id is not None:
                result = self._delete_version(
                    session, bucket, key, version_id, doomed, bypass=bypass
                )
            elif versioning is Versioning.ENABLED:
                result = self._add_marker(session, bucket, key, null=False)
            else:
                doomed = self._retire(session, bucket, key, versioning)
                if versioning is Versioning.SUSPENDED:
                    result = self._add_marker(session, bucket, key, null=True)
                else:
                    result = DeleteResult(version_id=None, delete_marker=False)
            core.record_change(
                session,
                caller,
                action=action,
                resource=object_arn(bucket, key),
                resource_account=record.account_id,
                parameters=parameters,
                elements={"deleteMarker": result.delete_marker, "versionId": result.version_id},
            )
        self._delete_blobs(doomed)
        return result

    def _add_marker(self, session: Session, bucket: str, key: str, *, null: bool) -> DeleteResult:
        sequence = self._next_sequence(session, bucket, key)
        for row in session.scalars(
            select(models.ObjectVersion).where(
                models.ObjectVersion.bucket_name == bucket,
                models.ObjectVersion.key == key,
                models.ObjectVersion.is_latest.is_(True),
            )
        ):
            row.is_latest = False
        marker_id = self._core.random.token_bytes(16).hex()
        session.add(
            models.ObjectVersion(
                version_id=marker_id,
                bucket_name=bucket,
                key=key,
                sequence=sequence,
                is_latest=True,
                is_delete_marker=True,
                is_null_version=null,
                size=0,
                stored_size=0,
                blob_path=None,
                content_type="",
                user_metadata={},
                etag="",
                sha256="",
                kms_key_id="",
                key_version=0,
                wrapped_data_key=None,
                last_modified=self._core.clock.now(),
            )
        )
        return DeleteResult(version_id=None if null else marker_id, delete_marker=True)

    def _delete_version(
        self,
        session: Session,
        bucket: str,
        key: str,
        version_id: str,
        doomed: list[str],
        *,
        bypass: Proof | None = None,
    ) -> DeleteResult:
        if version_id == "null":
            row = session.scalars(
                select(models.ObjectVersion).where(
                    models.ObjectVersion.bucket_name == bucket,
                    models.ObjectVersion.key == key,
                    models.ObjectVersion.is_null_version.is_(True),
                )
            ).first()
        else:
            row = session.get(models.ObjectVersion, version_id)
            if row is not None and (row.bucket_name != bucket or row.key != key):
                row = None
        if row is None:
            return DeleteResult(version_id=version_id, delete_marker=False)
        was_latest, was_marker = row.is_latest, row.is_delete_marker
        release_version_lock(
            session,
            bucket=bucket,
            key=key,
            version_id=row.version_id,
            now=self._core.clock.now(),
            bypass=bypass,
        )
        if has_stored_blob(row.blob_path):  # inline bytes go with the row
            doomed.append(row.blob_path)
            session.add(
                models.BlobJournal(
                    blob_path=row.blob_path,
                    bucket_name=bucket,
                    state=_DELETING,
                    created_at=self._core.clock.now(),
                )
            )
        session.delete(row)
        session.flush()
        if was_latest:
            newest = session.scalars(
                select(models.ObjectVersion)
                .where(models.ObjectVersion.bucket_name == bucket, models.ObjectVersion.key == key)
                .order_by(models.ObjectVersion.sequence.desc())
            ).first()
            if newest is not None:
                newest.is_latest = True
        return DeleteResult(version_id=version_id, delete_marker=was_marker)

    # -- copying -------------------------------------------------------------------------------

    def copy_object(
        self,
        caller: Caller,
        *,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        source_version_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        conditions: Conditions | None = None,
        object_lock: ObjectLockRequest | None = None,
    ) -> ObjectInfo:
        """``s3:GetObject`` on the source and ``s3:PutObject`` on the destination.

        The plaintext is decrypted with the source's data key and re-encrypted under a new data
        key from the destination bucket's KMS key, streaming through a pipe (constant memory).
        ``metadata``/``content_type`` ``None`` copy the source's (S3's ``COPY`` directive).
        """
        core = self._core
        check_object_key(key)
        download = self.open_object(
            caller, source_bucket, source_key, version_id=source_version_id, conditions=conditions
        )
        clean_metadata = (
            check_metadata(metadata) if metadata is not None else dict(download.info.metadata)
        )
        clean_type = (
            check_content_type(content_type)
            if content_type is not None
            else download.info.content_type
        )
        record = core.load_bucket(bucket)
        proof = core.authorize(
            caller,
            action="s3:PutObject",
            resource=object_arn(bucket, key),
            bucket=record,
            read_only=False,
            parameters={
                "bucketName": bucket,
                "key": key,
                "copySource": f"{source_bucket}/{source_key}",
            },
        )
        object_lock = ObjectLock(core).check_put_request(caller, record, key, object_lock)
        if self._limits is not None:
            self._limits.check_size(bucket, download.info.size)
        pipe = Pipe(download.write_to)
        try:
            return self._store(
                caller,
                record,
                key,
                HashingReader(pipe.reader, expected_length=download.info.size),
                proof=proof,
                action="s3:PutObject",
                content_type=clean_type,
                metadata=clean_metadata,
                conditions=Conditions(),
                pipe=pipe,
                object_lock=object_lock,
            )
        finally:
            pipe.close()
