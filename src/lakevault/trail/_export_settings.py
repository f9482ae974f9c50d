"""Where an account's log is exported and for how long it is kept (ADR 0206).

``PutAuditRetention`` (``lakevault:PutAuditRetention`` on the log's ARN, decided by the gate
with the log's policy) turns the bucket export on for an account, or extends its retention.
The first call creates the audit bucket *as the caller* — ``s3:CreateBucket`` with object lock,
a COMPLIANCE default retention, and the bucket policy of :func:`audit_bucket_policy`, each
decided by the gate for the caller — so the bucket is the tenant's own and the tenant reads it
with ordinary ``s3:GetObject``/``s3:ListBucket``. Retention is 1 day to 7 years (default 90) and
can only grow: a shorter retention would release objects the tenant was promised, and the
locks already set cannot be shortened anyway (COMPLIANCE). The bucket cannot be changed once
chosen (the export's chain lives in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lakevault import storage
from lakevault.audit import DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS
from lakevault.core import parse_account_id
from lakevault.core.errors import InvalidParameterValue, NotFound
from lakevault.db import models
from lakevault.directory import CallContext
from lakevault.trail import _names as names
from lakevault.trail._bucket_export import audit_bucket_policy, log_root
from lakevault.trail._core import TrailCore

DEFAULT_PREFIX = "audit/"


class NoAuditExportConfiguration(NotFound):
    """The account's log is not exported to a bucket."""

    code = "NoSuchAuditExportConfiguration"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportConfiguration:
    """An account's bucket export, as the API shows it."""

    account_id: str
    bucket: str
    prefix: str
    retention_days: int
    enabled: bool
    tree_size: int
    first_sequence: int
    created_at: datetime
    updated_at: datetime
    last_export_at: datetime | None
    last_error: str | None

    @property
    def log_root(self) -> str:
        return log_root(self.prefix, self.account_id)


def default_bucket_name(account_id: str) -> str:
    return f"lakevault-audit-{account_id}"


def check_retention(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidParameterValue(
            f"retentionDays must be a whole number of days from 1 to {MAX_RETENTION_DAYS} "
            f"(7 years), got {days!r}"
        )
    return days


def check_prefix(prefix: str) -> str:
    if prefix and (not prefix.endswith("/") or prefix.startswith("/") or len(prefix) > 200):
        raise InvalidParameterValue(
            f"prefix must be empty or end with '/' (at most 200 characters), got {prefix!r}"
        )
    storage.check_object_key(f"{prefix}000000000000/manifests/x.json")
    return prefix


class AuditExportSettings:
    """``PutAuditRetention`` and ``GetAuditRetention`` on an account's log."""

    def __init__(self, core: TrailCore, object_storage: storage.ObjectStorage) -> None:
        self._core = core
        self._storage = object_storage

    def get(self, call: CallContext, account_id: str) -> ExportConfiguration:
        account_id = parse_account_id(account_id)
        self._core.authorize(call, names.GET_RETENTION, account_id, parameters=None)
        found = self._load(account_id)
        if found is None:
            raise NoAuditExportConfiguration(
                f"the audit log of {account_id} is not exported to a bucket; turn it on with "
                "PUT /api/v1/audit/retention"
            )
        return found

    def put(
        self,
        call: CallContext,
        account_id: str,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> ExportConfiguration:
        """Turn the export on (creating the bucket) or extend the retention; see the module."""
        account_id = parse_account_id(account_id)
        check_retention(retention_days)
        parameters = {
            "retentionDays": retention_days,
            "bucketName": bucket,
            "prefix": prefix,
        }
        self._core.authorize(
            call, names.PUT_RETENTION, account_id, parameters=parameters, read_only=False
        )
        existing = self._load(account_id)
        if existing is not None:
            return self._extend(call, existing, retention_days, bucket, prefix)
        if call.principal.account_id != account_id:
            raise InvalidParameterValue(
                f"the audit bucket is created in account {account_id} by the caller, so only "
                "a principal of that account can turn its bucket export on"
            )
        name = bucket or default_bucket_name(account_id)
        clean_prefix = check_prefix(DEFAULT_PREFIX if prefix is None else prefix)
        self._create_bucket(call, account_id, name, retention_days)
        now = self._core.clock.now()
        with self._core.database.session() as session:
            session.add(
                models.AuditBucketExport(
                    account_id=account_id,
                    bucket_name=name,
                    prefix=clean_prefix,
                    retention_days=retention_days,
                    enabled=True,
                    next_sequence=0,
                    tree_size=0,
                    first_sequence=0,
                    start_range=[],
                    keyring_keys=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._core.record_change(
                session, call, names.PUT_RETENTION, account_id, parameters=parameters
            )
        found = self._load(account_id)
        assert found is not None
        return found

    def _extend(
        self,
        call: CallContext,
        existing: ExportConfiguration,
        retention_days: int,
        bucket: str | None,
        prefix: str | None,
    ) -> ExportConfiguration:
        if bucket is not None and bucket != existing.bucket:
            raise InvalidParameterValue(
                f"the audit log is already exported to the bucket {existing.bucket!r}; its "
                "checkpoint chain lives there, so the bucket cannot be changed"
            )
        if prefix is not None and prefix != existing.prefix:
            raise InvalidParameterValue(
                f"the audit log is already exported under the prefix {existing.prefix!r}; the "
                "prefix cannot be changed"
            )
        if retention_days < existing.retention_days:
            raise InvalidParameterValue(
                f"retention can only be extended: it is {existing.retention_days} days, "
                f"{retention_days} would release events the account was promised to keep",
                code="InvalidRetentionPeriod",
            )
        with self._core.database.session() as session:
            row = session.get(models.AuditBucketExport, existing.account_id)
            assert row is not None
            row.retention_days = retention_days
            row.enabled = True
            row.updated_at = self._core.clock.now()
            self._core.record_change(
                session,
                call,
                names.PUT_RETENTION,
                existing.account_id,
                parameters={"retentionDays": retention_days},
            )
        found = self._load(existing.account_id)
        assert found is not None
        return found

    def _create_bucket(
        self, call: CallContext, account_id: str, name: str, retention_days: int
    ) -> None:
        caller = storage.Caller(
            principal=call.principal,
            request_id=call.request_id,
            source_ip=call.source_ip,
            user_agent=call.user_agent,
            secure_transport=call.secure_transport,
        )
        try:
            info = self._storage.buckets.create_bucket(caller, name, object_lock_enabled=True)
        except storage.BucketAlreadyExists as exc:
            if exc.code != "BucketAlreadyOwnedByYou":
                raise
            info = self._storage.buckets.head_bucket(caller, name)
            try:
                self._storage.lock.get_object_lock_configuration(caller, name)
            except storage.ObjectLockConfigurationNotFound:
                raise InvalidParameterValue(
                    f"the bucket {name!r} exists without object lock; name a new bucket (object "
                    "lock can only be enabled when a bucket is created)"
                ) from None
        if info.account_id != account_id:
            raise InvalidParameterValue(
                f"the audit bucket must belong to account {account_id}; create it as a "
                "principal of that account"
            )
        self._storage.lock.put_object_lock_configuration(
            caller,
            name,
            storage.ObjectLockConfiguration(
                default_retention=storage.DefaultRetention(
                    mode=storage.RetentionMode.COMPLIANCE, days=retention_days
                )
            ),
        )
        self._storage.buckets.put_bucket_policy(caller, name, audit_bucket_policy(name))

    def _load(self, account_id: str) -> ExportConfiguration | None:
        with self._core.database.read_session() as session:
            row = session.get(models.AuditBucketExport, account_id)
            if row is None:
                return None
            return ExportConfiguration(
                account_id=row.account_id,
                bucket=row.bucket_name,
                prefix=row.prefix,
                retention_days=row.retention_days,
                enabled=row.enabled,
                tree_size=row.tree_size,
                first_sequence=row.first_sequence,
                created_at=row.created_at,
                updated_at=row.updated_at,
                last_export_at=row.last_export_at,
                last_error=row.last_error,
            )
