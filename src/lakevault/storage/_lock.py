"""S3 object lock: WORM protection of object versions, enforced in the storage domain.

A bucket with object lock enabled (at creation, or later on a versioned bucket) keeps
versioning on for good and may carry a default retention rule that every new version gets.
A version is *locked* while its retention has not ended or its legal hold is on. A locked
version cannot be deleted by anyone — a delete without a version id only adds a delete marker.
``COMPLIANCE`` retention can only be extended: not by the tenant root, a platform admin, a
lifecycle rule, a job or a bucket deletion. ``GOVERNANCE`` retention can be shortened, removed
or bypassed only with ``s3:BypassGovernanceRetention`` *and* the request's explicit bypass
flag (docs/decisions/0156).

Every path that removes a version row must first call :func:`release_version_lock` in the same
transaction: it refuses a locked version (:class:`ObjectLocked`) and otherwise removes the lock
row. The lock row references the version with ``ON DELETE RESTRICT``, so a path that forgets
fails with an integrity error rather than deleting protected data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault.audit import AuditEvent, EventResource, UserIdentity, append_in
from lakevault.core import new_request_id
from lakevault.core.errors import AccessDenied, InvalidRequest, NoSuchKey
from lakevault.db import models
from lakevault.gate import Proof, event_source
from lakevault.storage._core import BucketRecord, StorageCore
from lakevault.storage._errors import InvalidBucketState, NoSuchVersion
from lakevault.storage._lock_types import (
    DefaultRetention,
    NoSuchObjectLockConfiguration,
    ObjectLockConfiguration,
    ObjectLockConfigurationNotFound,
    ObjectLocked,
    ObjectLockRequest,
    ObjectLockState,
    ObjectRetention,
    RetentionMode,
    check_future,
)
from lakevault.storage._names import bucket_arn, check_object_key, object_arn
from lakevault.storage._types import Caller, Versioning, VisibleObjectLock

BYPASS_ACTION = "s3:BypassGovernanceRetention"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(bucket: str, key: str, version_id: str) -> str:
    return f"the version {version_id} of {key!r} in bucket {bucket!r}"


def _is_bypass(proof: Proof | None, bucket: str, key: str) -> bool:
    return (
        isinstance(proof, Proof)
        and proof.action == BYPASS_ACTION
        and proof.resource == object_arn(bucket, key)
    )


def check_version_deletable(
    lock: models.ObjectVersionLock | None,
    *,
    bucket: str,
    key: str,
    now: datetime,
    bypass: Proof | None = None,
) -> None:
    """Raise :class:`ObjectLocked` unless the version under ``lock`` may be removed now.

    ``bypass`` is the gate's proof of ``s3:BypassGovernanceRetention`` on this object, for a
    request that asked to bypass governance retention; nothing bypasses compliance retention
    or a legal hold.
    """
    if lock is None:
        return
    what = _describe(bucket, key, lock.version_id)
    if lock.legal_hold:
        raise ObjectLocked(
            f"{what} is WORM protected by a legal hold; nothing can delete it until the hold "
            "is removed (s3:PutObjectLegalHold, status OFF)"
        )
    if lock.retain_until is None or lock.retain_until <= now or lock.mode is None:
        return
    until = _when(lock.retain_until)
    if lock.mode == RetentionMode.COMPLIANCE.value:
        raise ObjectLocked(
            f"{what} is WORM protected until {until} (COMPLIANCE mode); nobody can delete it "
            "or shorten its retention before then"
        )
    if not _is_bypass(bypass, bucket, key):
        raise ObjectLocked(
            f"{what} is WORM protected until {until} (GOVERNANCE mode); deleting it needs "
            f"{BYPASS_ACTION} and the bypass flag (x-amz-bypass-governance-retention: true)"
        )


def release_version_lock(
    session: Session,
    *,
    bucket: str,
    key: str,
    version_id: str,
    now: datetime,
    bypass: Proof | None = None,
) -> None:
    """Before a version row is deleted: refuse if it is locked, else drop its lock row.

    Call it in the transaction that deletes the version (the bucket row locked), so a
    concurrent PutObjectRetention/PutObjectLegalHold cannot slip in between.
    """
    lock = session.get(models.ObjectVersionLock, version_id)
    check_version_deletable(lock, bucket=bucket, key=key, now=now, bypass=bypass)
    if lock is not None:
        session.delete(lock)
        session.flush()


def lock_configuration(session: Session, bucket: str) -> ObjectLockConfiguration | None:
    """The bucket's object lock configuration, or ``None`` when object lock is not enabled."""
    row = session.get(models.BucketObjectLock, bucket)
    if row is None:
        return None
    default = None
    if row.default_mode is not None:
        default = DefaultRetention(
            mode=RetentionMode(row.default_mode), days=row.default_days, years=row.default_years
        )
    return ObjectLockConfiguration(enabled=True, default_retention=default)


def enable_object_lock(
    session: Session, bucket: str, *, now: datetime, default: DefaultRetention | None = None
) -> None:
    """Turn object lock on for ``bucket`` (its row locked, versioning already ``Enabled``)."""
    row = session.get(models.BucketObjectLock, bucket)
    if row is None:
        row = models.BucketObjectLock(bucket_name=bucket, updated_at=now)
        session.add(row)
    row.default_mode = default.mode.value if default is not None else None
    row.default_days = default.days if default is not None else None
    row.default_years = default.years if default is not None else None
    row.updated_at = now


def apply_object_lock(
    session: Session,
    *,
    bucket: str,
    version_id: str,
    now: datetime,
    request: ObjectLockRequest | None = None,
) -> ObjectLockState | None:
    """Give a new version its lock, in the transaction that commits the version.

    Explicit retention from ``request`` wins over the bucket's default retention; a legal hold
    comes only from ``request``. Returns the lock given, or ``None``. Every path that commits
    a new object version (put, copy, multipart completion) calls this after adding the row.
    """
    config = lock_configuration(session, bucket)
    if config is None:
        if request is not None and not request.is_empty:
            raise InvalidRequest(
                f"the bucket {bucket!r} does not have object lock enabled; object lock "
                "headers are refused (Bucket is missing Object Lock Configuration)"
            )
        return None
    mode: RetentionMode | None = None
    until: datetime | None = None
    if request is not None and request.mode is not None and request.retain_until is not None:
        mode, until = request.mode, request.retain_until
    elif config.default_retention is not None:
        mode = config.default_retention.mode
        until = config.default_retention.retain_until(now)
    legal_hold = bool(request is not None and request.legal_hold)
    if mode is None and not legal_hold:
        return None
    session.flush()
    session.add(
        models.ObjectVersionLock(
            version_id=version_id,
            bucket_name=bucket,
            mode=mode.value if mode is not None else None,
            retain_until=until,
            legal_hold=legal_hold,
        )
    )
    return ObjectLockState(
        version_id=version_id,
        retention=ObjectRetention(mode=mode, retain_until=until)
        if mode is not None and until is not None
        else None,
        legal_hold=legal_hold,
    )


def refuse_versioning_change(session: Session, bucket: str, status: str) -> None:
    """Versioning of a bucket with object lock cannot be suspended (S3's InvalidBucketState).

    Called in the transaction that changes versioning, with the bucket row locked, so it cannot
    race :meth:`ObjectLock.put_object_lock_configuration`.
    """
    if status == Versioning.ENABLED.value:
        return
    if session.get(models.BucketObjectLock, bucket) is not None:
        raise InvalidBucketState(
            f"the bucket {bucket!r} has object lock enabled, so its versioning cannot be suspended"
        )


def record_refusal(
    core: StorageCore,
    caller: Caller,
    *,
    action: str,
    bucket: str,
    key: str,
    account_id: str,
    parameters: Mapping[str, Any],
    refused: ObjectLocked,
) -> None:
    """Audit a request that object lock refused (the gate had allowed it), as CloudTrail logs a
    failed call: ``errorCode`` ``AccessDenied`` and the message. Its own transaction: the
    refused one was rolled back."""
    principal = caller.principal
    arn = object_arn(bucket, key)
    with core.database.session() as session:
        append_in(
            session,
            AuditEvent(
                event_id=new_request_id(core.random),
                event_time=core.clock.now(),
                event_source=event_source(action),
                event_name=action.partition(":")[2],
                region=core.region,
                source_ip_address=caller.source_ip,
                user_agent=caller.user_agent,
                user_identity=UserIdentity(
                    type=principal.identity_type,
                    principal_id=principal.principal_id,
                    arn=principal.arn,
                    account_id=principal.account_id,
                ),
                request_id=caller.request_id,
                read_only=False,
                recipient_account_id=account_id,
                resources=(EventResource(arn=arn, account_id=account_id, type="AWS::S3::Object"),),
                request_parameters=parameters,
                error_code=refused.code,
                error_message=refused.message,
            ),
        )


def _state(row: models.ObjectVersion, lock: models.ObjectVersionLock | None) -> ObjectLockState:
    retention = None
    if lock is not None and lock.mode is not None and lock.retain_until is not None:
        retention = ObjectRetention(mode=RetentionMode(lock.mode), retain_until=lock.retain_until)
    return ObjectLockState(
        version_id=None if row.is_null_version else row.version_id,
        retention=retention,
        legal_hold=bool(lock is not None and lock.legal_hold),
    )


class ObjectLock:
    """The object lock operations of S3, each an action through the gate."""

    def __init__(self, core: StorageCore) -> None:
        self._core = core

    # -- the bucket's configuration ------------------------------------------------------------

    def put_object_lock_configuration(
        self, caller: Caller, bucket: str, configuration: ObjectLockConfiguration
    ) -> ObjectLockConfiguration:
        """``s3:PutBucketObjectLockConfiguration``: enable object lock (versioning must be
        ``Enabled``) and set or clear the default retention rule."""
        core = self._core
        if not configuration.enabled:
            raise InvalidRequest(
                "ObjectLockEnabled must be 'Enabled'; object lock cannot be turned off"
            )
        record = core.load_bucket(bucket)
        parameters: dict[str, object] = {"bucketName": bucket, **_config_parameters(configuration)}
        core.authorize(
            caller,
            action="s3:PutBucketObjectLockConfiguration",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=False,
            parameters=parameters,
        )
        with core.database.session() as session:
            row = core.lock_bucket(session, bucket)
            if row.versioning != Versioning.ENABLED.value:
                raise InvalidBucketState(
                    f"object lock needs versioning: enable versioning on {bucket!r} first "
                    "(versioning is "
                    f"{row.versioning})"
                )
            enable_object_lock(
                session, bucket, now=core.clock.now(), default=configuration.default_retention
            )
            core.record_change(
                session,
                caller,
                action="s3:PutBucketObjectLockConfiguration",
                resource=bucket_arn(bucket),
                resource_account=record.account_id,
                parameters=parameters,
            )
        return configuration

    def get_object_lock_configuration(self, caller: Caller, bucket: str) -> ObjectLockConfiguration:
        """``s3:GetBucketObjectLockConfiguration``."""
        core = self._core
        record = core.load_bucket(bucket)
        core.authorize(
            caller,
            action="s3:GetBucketObjectLockConfiguration",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=True,
            parameters={"bucketName": bucket},
        )
        with core.database.read_session() as session:
            config = lock_configuration(session, bucket)
        if config is None:
            raise ObjectLockConfigurationNotFound(
                f"object lock is not enabled on the bucket {bucket!r}"
            )
        return config

    # -- one version's retention and legal hold ------------------------------------------------

    def bypass_proof(self, caller: Caller, record: BucketRecord, key: str) -> Proof | None:
        """The proof of ``s3:BypassGovernanceRetention`` for a request that set the bypass flag,
        or ``None`` when the caller lacks it (the denial is audited; the operation then fails
        only if governance retention is actually in the way)."""
        try:
            return self._core.authorize(
                caller,
                action=BYPASS_ACTION,
                resource=object_arn(record.name, key),
                bucket=record,
                read_only=False,
                parameters={"bucketName": record.name, "key": key},
            )
        except AccessDenied:
            return None

    def refuse_locked_delete(
        self,
        caller: Caller,
        record: BucketRecord,
        key: str,
        version_id: str | None,
        *,
        bypass: Proof | None,
        action: str,
        parameters: Mapping[str, Any],
    ) -> None:
        """Before a DeleteObjectVersion's transaction: refuse (and audit the refusal) when the
        version is locked. The transaction checks again, under the bucket row's lock, with
        :func:`release_version_lock`; this read only makes the refusal visible in the log."""
        if version_id is None:
            return
        core = self._core
        with core.database.read_session() as session:
            try:
                row = self._version(session, record.name, key, version_id)
            except (NoSuchKey, NoSuchVersion):
                return
            lock = session.get(models.ObjectVersionLock, row.version_id)
        try:
            check_version_deletable(
                lock, bucket=record.name, key=key, now=core.clock.now(), bypass=bypass
            )
        except ObjectLocked as refused:
            record_refusal(
                core,
                caller,
                action=action,
                bucket=record.name,
                key=key,
                account_id=record.account_id,
                parameters=parameters,
                refused=refused,
            )
            raise

    def check_put_request(
        self, caller: Caller, record: BucketRecord, key: str, request: ObjectLockRequest | None
    ) -> ObjectLockRequest | None:
        """Before a PUT reads its body: the lock headers are valid, the bucket has object lock,
        and the caller holds ``s3:PutObjectRetention`` / ``s3:PutObjectLegalHold`` for them."""
        if request is None or request.is_empty:
            return None
        core = self._core
        with core.database.read_session() as session:
            if session.get(models.BucketObjectLock, record.name) is None:
                raise InvalidRequest(
                    f"the bucket {record.name!r} does not have object lock enabled; object lock "
                    "headers are refused (Bucket is missing Object Lock Configuration)"
                )
        if request.retain_until is not None:
            check_future(request.retain_until, core.clock.now())
            core.authorize(
                caller,
                action="s3:PutObjectRetention",
                resource=object_arn(record.name, key),
                bucket=record,
                read_only=False,
                parameters={"bucketName": record.name, "key": key},
            )
        if request.legal_hold is not None:
            core.authorize(
                caller,
                action="s3:PutObjectLegalHold",
                resource=object_arn(record.name, key),
                bucket=record,
                read_only=False,
                parameters={"bucketName": record.name, "key": key},
            )
        return request

    def _version(
        self, session: Session, bucket: str, key: str, version_id: str | None
    ) -> models.ObjectVersion:
        objects = models.ObjectVersion
        if version_id is None:
            row = session.scalars(
                select(objects).where(
                    objects.bucket_name == bucket, objects.key == key, objects.is_latest.is_(True)
                )
            ).first()
        elif version_id == "null":
            row = session.scalars(
                select(objects).where(
                    objects.bucket_name == bucket,
                    objects.key == key,
                    objects.is_null_version.is_(True),
                )
            ).first()
        else:
            row = session.get(objects, version_id)
            if row is not None and (row.bucket_name != bucket or row.key != key):
                row = None
        if row is None and version_id is not None:
            raise NoSuchVersion(
                f"the object {key!r} in bucket {bucket!r} has no version {version_id!r}"
            )
        if row is None or row.is_delete_marker:
            raise NoSuchKey(f"the object {key!r} does not exist in bucket {bucket!r}")
        return row

    def _authorize(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        version_id: str | None,
        *,
        action: str,
        read_only: bool,
        extra: dict[str, object] | None = None,
    ) -> tuple[BucketRecord, dict[str, object]]:
        core = self._core
        check_object_key(key)
        record = core.load_bucket(bucket)
        parameters: dict[str, object] = {"bucketName": bucket, "key": key, **(extra or {})}
        if version_id is not None:
            parameters["versionId"] = version_id
        core.authorize(
            caller,
            action=action,
            resource=object_arn(bucket, key),
            bucket=record,
            read_only=read_only,
            parameters=parameters,
        )
        return record, parameters

    def _require_lock_enabled(self, session: Session, bucket: str) -> None:
        if session.get(models.BucketObjectLock, bucket) is None:
            raise InvalidRequest(
                f"the bucket {bucket!r} does not have object lock enabled (Bucket is missing "
                "Object Lock Configuration)"
            )

    def put_object_retention(
        self,
        caller: Caller,
        bucket: str,
        key: str,
        retention: ObjectRetention | None,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> ObjectLockState:
        """``s3:PutObjectRetention``: set, extend, shorten or (``None``) remove a retention.

        Extending (a later date, or GOVERNANCE to COMPLIANCE) is always allowed. Shortening or
        removing GOVERNANCE retention needs ``bypass_governance`` and
        ``s3:BypassGovernanceRetention``; active COMPLIANCE retention cannot be shortened,
        removed or turned into GOVERNANCE by anyone.
        """
        core = self._core
        extra: dict[str, object] = {"bypassGovernanceRetention": bypass_governance}
        if retention is not None:
            extra["mode"] = retention.mode.value
            extra["retainUntilDate"] = _when(retention.retain_until)
        record, parameters = self._authorize(
            caller,
            bucket,
            key,
            version_id,
            action="s3:PutObjectRetention",
            read_only=False,
            extra=extra,
        )
        now = core.clock.now()
        new = (
            ObjectRetention(
                mode=retention.mode, retain_until=check_future(retention.retain_until, now)
            )
            if retention is not None
            else None
        )
        bypass = self.bypass_proof(caller, record, key) if bypass_governance else None
        try:
            return self._put_retention(
                caller, record, key, version_id, new, now=now, bypass=bypass, parameters=parameters
            )
        except ObjectLocked as refused:
            record_refusal(
                core,
                caller,
                action="s3:PutObjectRetention",
                bucket=bucket,
                key=key,
                account_id=record.account_id,
                parameters=parameters,
                refused=refused,
            )
            raise

    def _put_retention(
        self,
        caller: Caller,
        record: BucketRecord,
        key: str,
        version_id: str | None,
        new: ObjectRetention | None,
        *,
        now: datetime,
        bypass: Proof | None,
        parameters: dict[str, object],
    ) -> ObjectLockState:
        core = self._core
        bucket = record.name
        with core.database.session() as session:
            core.lock_bucket(session, bucket)
            self._require_lock_enabled(session, bucket)
            row = self._version(session, bucket, key, version_id)
            lock = session.get(models.ObjectVersionLock, row.version_id)
            _check_retention_change(lock, new, bucket=bucket, key=key, now=now, bypass=bypass)
            if lock is None:
                lock = models.ObjectVersionLock(
                    version_id=row.version_id, bucket_name=bucket, legal_hold=False
                )
                session.add(lock)
            lock.mode = new.mode.value if new is not None else None
            lock.retain_until = new.retain_until if new is not None else None
            state = _state(row, lock)
            core.record_change(
                session,
                caller,
                action="s3:PutObjectRetention",
                resource=object_arn(bucket, key),
                resource_account=record.account_id,
                parameters=parameters,
                elements={"versionId": state.version_id},
            )
        return state

    def get_object_retention(
        self, caller: Caller, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectRetention:
        """``s3:GetObjectRetention``: ``NoSuchObjectLockConfiguration`` when it has none."""
        state = self._read(caller, bucket, key, version_id, action="s3:GetObjectRetention")
        if state.retention is None:
            raise NoSuchObjectLockConfiguration(
                f"the object {key!r} in bucket {bucket!r} has no retention"
            )
        return state.retention

    def get_object_lock_state(
        self, caller: Caller, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectLockState:
        """Retention and legal hold together (``s3:GetObjectRetention``)."""
        return self._read(caller, bucket, key, version_id, action="s3:GetObjectRetention")

    def put_object_legal_hold(
        self, caller: Caller, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> ObjectLockState:
        """``s3:PutObjectLegalHold``: ON protects the version regardless of retention."""
        core = self._core
        record, parameters = self._authorize(
            caller,
            bucket,
            key,
            version_id,
            action="s3:PutObjectLegalHold",
            read_only=False,
            extra={"legalHold": "ON" if on else "OFF"},
        )
        with core.database.session() as session:
            core.lock_bucket(session, bucket)
            self._require_lock_enabled(session, bucket)
            row = self._version(session, bucket, key, version_id)
            lock = session.get(models.ObjectVersionLock, row.version_id)
            if lock is None:
                lock = models.ObjectVersionLock(
                    version_id=row.version_id, bucket_name=bucket, mode=None, retain_until=None
                )
                session.add(lock)
            lock.legal_hold = on
            state = _state(row, lock)
            core.record_change(
                session,
                caller,
                action="s3:PutObjectLegalHold",
                resource=object_arn(bucket, key),
                resource_account=record.account_id,
                parameters=parameters,
                elements={"versionId": state.version_id},
            )
        return state

    def get_object_legal_hold(
        self, caller: Caller, bucket: str, key: str, *, version_id: str | None = None
    ) -> bool:
        """``s3:GetObjectLegalHold``: whether the version is under a legal hold."""
        state = self._read(caller, bucket, key, version_id, action="s3:GetObjectLegalHold")
        return state.legal_hold

    def visible_lock(
        self, caller: Caller, record: BucketRecord, key: str, version_id: str
    ) -> VisibleObjectLock | None:
        """The lock of the version ``version_id`` (its row id) as the headers of a GET or HEAD
        the caller was already allowed show it: the retention only with
        ``s3:GetObjectRetention``, the legal hold only with ``s3:GetObjectLegalHold``, as in
        S3. Each decision is recorded; a denial only hides the header (docs/decisions/0183).
        A version without lock state costs one primary-key read and no decision."""
        core = self._core
        with core.database.read_session() as session:
            lock = session.get(models.ObjectVersionLock, version_id)
            if lock is None:
                return None
            mode, retain_until, legal_hold = lock.mode, lock.retain_until, bool(lock.legal_hold)
        resource = object_arn(record.name, key)
        parameters = {"bucketName": record.name, "key": key, "versionId": version_id}
        has_retention = mode is not None and retain_until is not None
        show_retention = has_retention and core.allows(
            caller,
            action="s3:GetObjectRetention",
            resource=resource,
            bucket=record,
            parameters=parameters,
        )
        show_hold = core.allows(
            caller,
            action="s3:GetObjectLegalHold",
            resource=resource,
            bucket=record,
            parameters=parameters,
        )
        if not show_retention and not show_hold:
            return None
        return VisibleObjectLock(
            mode=RetentionMode(mode) if show_retention and mode is not None else None,
            retain_until=retain_until if show_retention else None,
            legal_hold=legal_hold if show_hold else None,
        )

    def _read(
        self, caller: Caller, bucket: str, key: str, version_id: str | None, *, action: str
    ) -> ObjectLockState:
        core = self._core
        self._authorize(caller, bucket, key, version_id, action=action, read_only=True)
        with core.database.read_session() as session:
            self._require_lock_enabled(session, bucket)
            row = self._version(session, bucket, key, version_id)
            return _state(row, session.get(models.ObjectVersionLock, row.version_id))


def _check_retention_change(
    lock: models.ObjectVersionLock | None,
    new: ObjectRetention | None,
    *,
    bucket: str,
    key: str,
    now: datetime,
    bypass: Proof | None,
) -> None:
    """Extending is free; weakening active retention needs a governance bypass, never for
    compliance."""
    if lock is None or lock.mode is None or lock.retain_until is None:
        return
    if lock.retain_until <= now:
        return
    old_mode = RetentionMode(lock.mode)
    stricter_mode = new is not None and (
        new.mode is RetentionMode.COMPLIANCE or old_mode is RetentionMode.GOVERNANCE
    )
    if new is not None and stricter_mode and new.retain_until >= lock.retain_until:
        return
    what = _describe(bucket, key, lock.version_id)
    until = _when(lock.retain_until)
    if old_mode is RetentionMode.COMPLIANCE:
        raise ObjectLocked(
            f"{what} is WORM protected until {until} (COMPLIANCE mode); its retention can only "
            "be extended, never shortened, removed or changed to GOVERNANCE"
        )
    if not _is_bypass(bypass, bucket, key):
        raise ObjectLocked(
            f"{what} is WORM protected until {until} (GOVERNANCE mode); shortening or removing "
            f"its retention needs {BYPASS_ACTION} and the bypass flag "
            "(x-amz-bypass-governance-retention: true)"
        )


def _config_parameters(configuration: ObjectLockConfiguration) -> dict[str, object]:
    default = configuration.default_retention
    if default is None:
        return {"objectLockEnabled": "Enabled"}
    rule: dict[str, object] = {"mode": default.mode.value}
    if default.days is not None:
        rule["days"] = default.days
    if default.years is not None:
        rule["years"] = default.years
    return {"objectLockEnabled": "Enabled", "defaultRetention": rule}
