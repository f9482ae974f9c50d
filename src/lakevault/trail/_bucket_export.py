"""Export of audit logs into each account's object-locked audit bucket (ADR 0205, 0206).

The exporter is the platform's background action. It acts as the service principal
``cloudtrail.amazonaws.com`` (its events say so, as CloudTrail's deliveries do in AWS), through
the storage service's ordinary gate-checked API: the audit bucket is the tenant's, and its bucket
policy (set when the export was configured, :func:`audit_bucket_policy`) is what lets the service
write, read, list and — once a lock has ended — delete there, and what stops everyone else from
writing or deleting. Every object is put with ``If-None-Match: *`` and a COMPLIANCE retention
of the account's retention period, so nothing the exporter wrote can be replaced or removed by
anyone, the tenant's root and the platform administrator included, until it ends.

A run (:meth:`BucketExporter.export`) signs a checkpoint, writes the events since the last run as
segments with signed digests, the new checkpoints, the keyring when it grew, and finally a
manifest naming the new tree size (the format is :mod:`lakevault.audit`'s incremental export).
The cursor in ``audit_bucket_exports`` advances after each segment; a run that crashed is
resumed by the next one, which adopts a segment left without its cursor update only if its
bytes are exactly the log's events — no gap, no duplicate, no second version.

Expiry (:meth:`BucketExporter.expire`) verifies the bucket's export, moves the start past the
oldest whole segments whose events are all older than the retention and whose locks have ended
(a new manifest with the new start and compact range, as ``audit/_retention.py`` does for a
directory), and only then deletes those objects; the rest still verifies.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import orjson
from sqlalchemy import select

from lakevault import storage
from lakevault.audit import (
    DEFAULT_SEGMENT_EVENTS,
    Checkpointer,
    ExportVerificationFailed,
    IdentityType,
    Materialized,
    VerifiedLog,
    Verifier,
    adopt_segment,
    advance_start,
    build_segment,
    checkpoint_key,
    digest_key,
    keyring,
    keyring_key,
    manifest_bytes,
    manifest_key,
    materialize,
    number_of,
    parse_manifest_key,
    segment_key,
    selected_names,
    sign_digest,
    verify_log,
)
from lakevault.core import Clock, RandomSource, new_request_id
from lakevault.core.errors import LakevaultError, NoSuchKey
from lakevault.db import Database, models
from lakevault.identity import Principal

#: The service principal the exporter acts as (bucket policies name it as for CloudTrail).
EXPORT_SERVICE = "cloudtrail.amazonaws.com"
#: How many leading events of a run are inspected to skip runs that would only export the
#: exporter's own previous writes.
_OWN_EVENTS_PROBE = 1000

_T = TypeVar("_T")


def export_service_caller(account_id: str, random: RandomSource) -> storage.Caller:
    """The exporter as the caller of one storage request in ``account_id``'s bucket."""
    return storage.Caller(
        principal=Principal(
            arn=EXPORT_SERVICE,
            account_id=account_id,
            principal_id=EXPORT_SERVICE,
            identity_type=IdentityType.AWS_SERVICE,
        ),
        request_id=new_request_id(random),
        user_agent=EXPORT_SERVICE,
        secure_transport=True,
    )


def log_root(prefix: str, account_id: str) -> str:
    """Where an account's export lives in its bucket: ``<prefix><account id>/``."""
    return f"{prefix}{account_id}/"


def audit_bucket_policy(bucket: str) -> str:
    """The audit bucket's policy: the exporter writes, reads, lists and deletes (storage refuses
    deleting a locked version); nobody else puts, deletes, or changes the policy or versioning.

    Reads stay with the tenant's own identity policies (a tenant administrator can read), and
    another account reads only if the tenant adds nothing: this policy grants no one else.
    """
    objects = f"arn:aws:s3:::{bucket}/*"
    whole = f"arn:aws:s3:::{bucket}"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditExportWritesObjects",
                "Effect": "Allow",
                "Principal": {"Service": EXPORT_SERVICE},
                "Action": [
                    "s3:PutObject",
                    "s3:PutObjectRetention",
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:DeleteObjectVersion",
                ],
                "Resource": objects,
            },
            {
                "Sid": "AuditExportListsBucket",
                "Effect": "Allow",
                "Principal": {"Service": EXPORT_SERVICE},
                "Action": "s3:ListBucket",
                "Resource": whole,
            },
            {
                "Sid": "OnlyTheAuditExportWrites",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "s3:PutObject",
                    "s3:PutObjectRetention",
                    "s3:PutObjectLegalHold",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:BypassGovernanceRetention",
                    "s3:PutBucketPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketVersioning",
                    "s3:PutBucketObjectLockConfiguration",
                    "s3:PutLifecycleConfiguration",
                    "s3:DeleteBucket",
                ],
                "Resource": [whole, objects],
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": EXPORT_SERVICE}},
            },
        ],
    }
    return json.dumps(document, sort_keys=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketExportRun:
    """What one run did for one account."""

    account_id: str
    bucket: str
    tree_size: int
    segments_written: int
    segments_adopted: int
    checkpoints_written: int
    skipped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketExpiry:
    """What one expiry did for one account."""

    account_id: str
    expired_segments: int
    first_sequence: int
    deleted_objects: int
    verified: VerifiedLog


class BucketExporter:
    """Exports every configured account's log into its audit bucket, and expires it."""

    def __init__(
        self,
        *,
        database: Database,
        object_storage: storage.ObjectStorage,
        checkpointer: Checkpointer,
        clock: Clock,
        random: RandomSource,
        segment_events: int = DEFAULT_SEGMENT_EVENTS,
    ) -> None:
        self._database = database
        self._storage = object_storage
        self._checkpointer = checkpointer
        self._clock = clock
        self._random = random
        self._segment_events = segment_events

    # -- the periodic runs ----------------------------------------------------------------------

    def configured_accounts(self) -> list[str]:
        with self._database.read_session() as session:
            return list(
                session.scalars(
                    select(models.AuditBucketExport.account_id)
                    .where(models.AuditBucketExport.enabled.is_(True))
                    .order_by(models.AuditBucketExport.account_id)
                )
            )

    def export_all(self) -> list[BucketExportRun]:
        """Run :meth:`export` for every account; one account's failure is recorded on its row
        (``last_error``) and does not stop the others. Raises the first failure at the end, so
        the job is retried."""
        return self._each(self.export)

    def expire_all(self) -> list[BucketExpiry]:
        return self._each(self.expire)

    def _each(self, run: Callable[[str], _T]) -> list[_T]:
        results: list[_T] = []
        failure: LakevaultError | None = None
        for account_id in self.configured_accounts():
            try:
                results.append(run(account_id))
            except LakevaultError as exc:
                self._record_error(account_id, f"{exc.code}: {exc.message}")
                failure = failure or exc
        if failure is not None:
            raise failure
        return results

    # -- export ---------------------------------------------------------------------------------

    def export(self, account_id: str) -> BucketExportRun:
        """Append the events since the last run to the account's bucket; see the module doc."""
        row = self._row(account_id)
        bucket, root = row.bucket_name, log_root(row.prefix, account_id)
        exported_before = row.last_export_at is not None
        if exported_before and self._only_own_events(account_id, row.tree_size):
            return BucketExportRun(
                account_id=account_id,
                bucket=bucket,
                tree_size=row.tree_size,
                segments_written=0,
                segments_adopted=0,
                checkpoints_written=0,
                skipped=True,
            )
        caller = export_service_caller(account_id, self._random)
        retain_until = self._clock.now() + timedelta(days=row.retention_days)
        end = self._checkpointer.checkpoint(account_id).checkpoint.tree_size
        cursor = row.next_sequence
        written = adopted = 0
        while cursor < end:
            existing = self._read(caller, bucket, root + segment_key(cursor))
            if existing is not None:
                count = adopt_segment(self._database, account_id, cursor, existing)
                digest = sign_digest(self._checkpointer, account_id, cursor, count, existing)
                self._put_once(caller, bucket, root + digest_key(cursor), digest, retain_until)
                adopted += 1
                cursor += count
            else:
                last = min(cursor + self._segment_events, end)
                piece = build_segment(self._database, self._checkpointer, account_id, cursor, last)
                if not self._put_once(
                    caller, bucket, root + segment_key(cursor), piece.data, retain_until
                ):
                    continue  # Written meanwhile by another run: adopt it on the next turn.
                self._put_once(
                    caller, bucket, root + digest_key(cursor), piece.digest, retain_until
                )
                written += 1
                cursor = last
            self._update(account_id, next_sequence=cursor)
        checkpoints = 0
        since = row.tree_size + 1 if exported_before else 0
        for signed in self._checkpointer.history(account_id, min_tree_size=since):
            size = signed.checkpoint.tree_size
            if size > end:
                break
            checkpoints += self._put_once(
                caller, bucket, root + checkpoint_key(size), signed.note, retain_until
            )
        count, text = keyring(self._checkpointer)
        if count != row.keyring_keys:
            self._put_once(caller, bucket, root + keyring_key(count), text, retain_until)
        start_range = [bytes.fromhex(h) for h in row.start_range]
        self._put_once(
            caller,
            bucket,
            root + manifest_key(end, row.first_sequence),
            manifest_bytes(
                account_id,
                first_sequence=row.first_sequence,
                tree_size=end,
                start_range=start_range,
            ),
            retain_until,
        )
        self._update(
            account_id,
            next_sequence=end,
            tree_size=end,
            keyring_keys=count,
            last_export_at=self._clock.now(),
            last_error=None,
        )
        return BucketExportRun(
            account_id=account_id,
            bucket=bucket,
            tree_size=end,
            segments_written=written,
            segments_adopted=adopted,
            checkpoints_written=checkpoints,
        )

    def _only_own_events(self, account_id: str, since: int) -> bool:
        """Whether every event after the last export is the exporter's own (or there is none):
        exporting only those would make each run the cause of the next one."""
        with self._database.read_session() as session:
            bodies = session.scalars(
                select(models.AuditEvent.body)
                .where(models.AuditEvent.account_id == account_id)
                .where(models.AuditEvent.sequence >= since)
                .order_by(models.AuditEvent.sequence)
                .limit(_OWN_EVENTS_PROBE + 1)
            ).all()
        if len(bodies) > _OWN_EVENTS_PROBE:
            return False
        return all(
            orjson.loads(body).get("userIdentity", {}).get("arn") == EXPORT_SERVICE
            for body in bodies
        )

    # -- expiry ---------------------------------------------------------------------------------

    def expire(self, account_id: str, *, verifier: Verifier | None = None) -> BucketExpiry:
        """Remove the oldest whole segments past retention; the export verifies before and after.

        A segment expires when every event in it is older than the retention *and* its object's
        lock has ended. Raises ``ExportVerificationFailed`` (changing nothing) if the bucket's
        export does not verify first.
        """
        row = self._row(account_id)
        bucket, root = row.bucket_name, log_root(row.prefix, account_id)
        caller = export_service_caller(account_id, self._random)
        now = self._clock.now()
        retention = timedelta(days=row.retention_days)
        listing = list(_list_all(self._storage, caller, bucket, root))
        deleted = self._delete_leftovers(caller, bucket, root, listing, first=row.first_sequence)
        before = self.verify(account_id, verifier=verifier)
        segments = sorted(
            (number, info)
            for info in listing
            if (name := info.key[len(root) :]).endswith(".jsonl")
            and name.startswith("segments/")
            and (number := number_of(name)) is not None
            and row.first_sequence <= number < row.tree_size
        )
        expiring: list[bytes] = []
        for _, info in segments:
            if info.last_modified + retention > now:
                break  # Still locked: this and every later segment stay.
            data = self._read(caller, bucket, info.key)
            if data is None or _newest_event_time(data) >= now - retention:
                break
            expiring.append(data)
        if not expiring:
            return BucketExpiry(
                account_id=account_id,
                expired_segments=0,
                first_sequence=row.first_sequence,
                deleted_objects=deleted,
                verified=before,
            )
        start_range = [bytes.fromhex(h) for h in row.start_range]
        first, frontier = advance_start(row.first_sequence, start_range, expiring)
        self._put_once(
            caller,
            bucket,
            root + manifest_key(row.tree_size, first),
            manifest_bytes(
                account_id, first_sequence=first, tree_size=row.tree_size, start_range=frontier
            ),
            now + retention,
        )
        self._update(account_id, first_sequence=first, start_range=[h.hex() for h in frontier])
        deleted += self._delete_leftovers(caller, bucket, root, listing, first=first)
        after = self.verify(account_id, verifier=verifier)
        return BucketExpiry(
            account_id=account_id,
            expired_segments=len(expiring),
            first_sequence=first,
            deleted_objects=deleted,
            verified=after,
        )

    def _delete_leftovers(
        self,
        caller: storage.Caller,
        bucket: str,
        root: str,
        listing: Sequence[storage.ObjectInfo],
        *,
        first: int,
    ) -> int:
        """Delete the objects the export no longer needs whose locks have ended: segments and
        digests before ``first``, checkpoints before ``first`` (oldest first, stopping at the
        first still locked, so the chain left is unbroken), and superseded manifests."""
        newest = max(
            (parsed for info in listing if (parsed := parse_manifest_key(info.key[len(root) :]))),
            default=None,
        )
        doomed: list[storage.ObjectInfo] = []
        checkpoints: list[tuple[int, storage.ObjectInfo]] = []
        for info in listing:
            name = info.key[len(root) :]
            number = number_of(name)
            if name.startswith("segments/") and number is not None and number < first:
                doomed.append(info)
            elif name.startswith("checkpoints/") and number is not None and number < first:
                checkpoints.append((number, info))
            elif (parsed := parse_manifest_key(name)) is not None and newest and parsed < newest:
                doomed.append(info)
        deleted = 0
        for info in doomed:
            deleted += self._delete_version(caller, bucket, info)
        for _, info in sorted(checkpoints, key=lambda pair: pair[0]):
            if not self._delete_version(caller, bucket, info):
                break
            deleted += 1
        return deleted

    def _delete_version(
        self, caller: storage.Caller, bucket: str, info: storage.ObjectInfo
    ) -> bool:
        try:
            self._storage.objects.delete_object(
                caller, bucket, info.key, version_id=info.version_id
            )
        except storage.ObjectLocked:
            return False  # Its lock has not ended (a longer retention): the next expiry.
        return True

    # -- verification ---------------------------------------------------------------------------

    def verify(self, account_id: str, *, verifier: Verifier | None = None) -> VerifiedLog:
        """Verify the account's export in its bucket, as the exporter reads it."""
        row = self._row(account_id)
        caller = export_service_caller(account_id, self._random)
        with tempfile.TemporaryDirectory(prefix="lakevault-audit-") as scratch:
            materialized = download_export(
                self._storage,
                caller,
                row.bucket_name,
                log_root(row.prefix, account_id),
                Path(scratch),
            )
            return verify_log(materialized.directory, verifier=verifier)

    # -- storage and rows -----------------------------------------------------------------------

    def _put_once(
        self,
        caller: storage.Caller,
        bucket: str,
        key: str,
        data: bytes,
        retain_until: datetime,
    ) -> bool:
        """Put ``data`` as a new, COMPLIANCE-locked object; ``False`` if the key already exists."""
        try:
            self._storage.objects.put_object(
                caller,
                bucket,
                key,
                io.BytesIO(data),
                content_length=len(data),
                content_type=_content_type(key),
                conditions=storage.Conditions(if_none_match="*"),
                object_lock=storage.ObjectLockRequest(
                    mode=storage.RetentionMode.COMPLIANCE, retain_until=retain_until
                ),
            )
        except storage.PreconditionFailed:
            return False
        return True

    def _read(self, caller: storage.Caller, bucket: str, key: str) -> bytes | None:
        try:
            return self._storage.objects.open_object(caller, bucket, key).read_all()
        except NoSuchKey:
            return None

    def _row(self, account_id: str) -> models.AuditBucketExport:
        with self._database.read_session() as session:
            row = session.get(models.AuditBucketExport, account_id)
            if row is None:
                raise ExportVerificationFailed(
                    "no bucket export is configured for this account; configure one with "
                    "PUT /api/v1/audit/export",
                    position=account_id,
                )
            session.expunge(row)
            return row

    def _update(self, account_id: str, **values: object) -> None:
        with self._database.session() as session:
            row = session.get(models.AuditBucketExport, account_id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = self._clock.now()

    def _record_error(self, account_id: str, message: str) -> None:
        self._update(account_id, last_error=message[:2000])


def _content_type(key: str) -> str:
    if key.endswith(".jsonl"):
        return "application/x-ndjson"
    if key.endswith(".json"):
        return "application/json"
    return "text/plain; charset=utf-8"


def _newest_event_time(data: bytes) -> datetime:
    newest: datetime | None = None
    for line in data.splitlines():
        event = orjson.loads(line)["event"]
        moment = datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))
        newest = moment if newest is None or moment > newest else newest
    assert newest is not None
    return newest


def _list_all(
    object_storage: storage.ObjectStorage, caller: storage.Caller, bucket: str, prefix: str
) -> Iterator[storage.ObjectInfo]:
    token: str | None = None
    while True:
        page = object_storage.list_objects(caller, bucket, prefix=prefix, continuation_token=token)
        yield from page.objects
        if not page.is_truncated:
            return
        token = page.next_continuation_token


def download_export(
    object_storage: storage.ObjectStorage,
    caller: storage.Caller,
    bucket: str,
    root: str,
    directory: Path,
) -> Materialized:
    """Read the export under ``root`` of ``bucket`` as ``caller`` (``s3:ListBucket`` and
    ``s3:GetObject``, decided by the gate) into ``directory``, in the directory format."""
    names = [info.key[len(root) :] for info in _list_all(object_storage, caller, bucket, root)]
    chosen, pending = selected_names(names)
    objects = {
        name: object_storage.objects.open_object(caller, bucket, root + name).read_all()
        for name in chosen
    }
    return materialize(objects, directory, pending=pending)
