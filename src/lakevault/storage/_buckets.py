"""Buckets: create, list, delete (only when empty), tags, versioning, bucket policies.

Every bucket gets a dedicated KMS key of its tenant when it is created (one key per dataset,
DESIGN.md "Keys and encryption"); deleting the bucket schedules that key's deletion (the
minimum wait, 7 days: the bucket is empty, so nothing can be lost).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.storage._bucket_policy import check_bucket_policy
from lakevault.storage._core import StorageCore
from lakevault.storage._errors import BucketAlreadyExists, BucketNotEmpty, NoSuchBucketPolicy
from lakevault.storage._lock import enable_object_lock, refuse_versioning_change
from lakevault.storage._names import bucket_arn, check_bucket_name
from lakevault.storage._types import BucketInfo, Caller, Versioning

#: Days between deleting a bucket and the deletion of its (then unused) KMS key.
KEY_DELETION_DAYS = 7
MAX_TAGS = 50


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """S3's tag rules: at most 50; keys 1-128 characters, values 0-256; no ``aws:`` keys."""
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValue(
            f"a bucket has at most {MAX_TAGS} tags, got {len(tags)}", code="InvalidTag"
        )
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidParameterValue("tag keys must be 1 to 128 characters", code="InvalidTag")
        if not isinstance(value, str) or len(value) > 256:
            raise InvalidParameterValue(
                f"the value of tag {key!r} must be at most 256 characters", code="InvalidTag"
            )
        if key.lower().startswith("aws:"):
            raise InvalidParameterValue(
                f"tag key {key!r} uses the reserved prefix 'aws:'", code="InvalidTag"
            )
    return dict(tags)


class Buckets:
    """Bucket operations; every one is an S3 action through the gate."""

    def __init__(self, core: StorageCore) -> None:
        self._core = core

    def create_bucket(
        self,
        caller: Caller,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        object_lock_enabled: bool = False,
    ) -> BucketInfo:
        """``s3:CreateBucket``: a new, empty, unversioned bucket with its own KMS key.

        ``object_lock_enabled`` (S3's ``ObjectLockEnabledForBucket``) also needs
        ``s3:PutBucketObjectLockConfiguration``; the bucket is then versioned for good.
        """
        core = self._core
        check_bucket_name(name)
        clean_tags = check_tags(tags or {})
        account = caller.principal.account_id
        proof = core.authorize(
            caller,
            action="s3:CreateBucket",
            resource=bucket_arn(name),
            bucket=None,
            resource_account=account,
            read_only=False,
            parameters={"bucketName": name},
        )
        if object_lock_enabled:
            core.authorize(
                caller,
                action="s3:PutBucketObjectLockConfiguration",
                resource=bucket_arn(name),
                bucket=None,
                resource_account=account,
                read_only=False,
                parameters={"bucketName": name, "objectLockEnabled": "Enabled"},
            )
        with core.database.read_session() as session:
            existing = session.get(models.Bucket, name)
            if existing is not None:
                raise _already_exists(name, existing.account_id == account)
        key_id = core.keys.create_service_key(
            proof, tenant_id=account, description=f"lakevault bucket {name}"
        )
        now = core.clock.now()
        try:
            with core.database.session() as session:
                if session.get(models.Bucket, name) is not None:
                    raise _already_exists(name, same_account=False)
                session.add(
                    models.Bucket(
                        name=name,
                        account_id=account,
                        kms_key_id=key_id,
                        versioning=(
                            Versioning.ENABLED if object_lock_enabled else Versioning.UNVERSIONED
                        ).value,
                        policy=None,
                        tags=clean_tags,
                        block_public_access=True,
                        created_at=now,
                    )
                )
                if object_lock_enabled:
                    session.flush()
                    enable_object_lock(session, name, now=now)
                core.record_change(
                    session,
                    caller,
                    action="s3:CreateBucket",
                    resource=bucket_arn(name),
                    resource_account=account,
                    parameters={"bucketName": name, "objectLockEnabled": object_lock_enabled},
                    elements={"kmsKeyId": key_id},
                )
        except BaseException:
            # The bucket was not created: its fresh key protects nothing, so it goes.
            core.keys.schedule_service_key_deletion(proof, key_id=key_id, days=KEY_DELETION_DAYS)
            raise
        return core.load_bucket(name).info()

    def list_buckets(self, caller: Caller) -> list[BucketInfo]:
        """``s3:ListAllMyBuckets``: the caller's account's buckets, by name."""
        core = self._core
        account = caller.principal.account_id
        core.authorize(
            caller,
            action="s3:ListAllMyBuckets",
            resource="arn:aws:s3:::*",
            bucket=None,
            resource_account=account,
            read_only=True,
        )
        with core.database.read_session() as session:
            rows = session.scalars(
                select(models.Bucket)
                .where(models.Bucket.account_id == account)
                .order_by(models.Bucket.name)
            ).all()
            return [core.record_from_row(row).info() for row in rows]

    def head_bucket(self, caller: Caller, name: str) -> BucketInfo:
        """``s3:ListBucket`` on the bucket: whether it exists and the caller may use it."""
        core = self._core
        record = core.load_bucket(name)
        core.authorize(
            caller,
            action="s3:ListBucket",
            resource=bucket_arn(name),
            bucket=record,
            read_only=True,
            parameters={"bucketName": name},
        )
        return record.info()

    def delete_bucket(self, caller: Caller, name: str) -> None:
        """``s3:DeleteBucket``: only an empty bucket (no version, no delete marker) goes."""
        core = self._core
        record = core.load_bucket(name)
        proof = core.authorize(
            caller,
            action="s3:DeleteBucket",
            resource=bucket_arn(name),
            bucket=record,
            read_only=False,
            parameters={"bucketName": name},
        )
        with core.database.session() as session:
            row = core.lock_bucket(session, name)
            remaining = session.scalar(
                select(func.count())
                .select_from(models.ObjectVersion)
                .where(models.ObjectVersion.bucket_name == name)
            )
            if remaining:
                raise BucketNotEmpty(
                    f"the bucket {name!r} is not empty ({remaining} object versions or delete "
                    "markers); delete every version first"
                )
            uploads = session.scalar(
                select(func.count())
                .select_from(models.MultipartUpload)
                .where(models.MultipartUpload.bucket_name == name)
            )
            if uploads:
                raise BucketNotEmpty(
                    f"the bucket {name!r} has {uploads} multipart uploads in progress; complete "
                    "or abort them first (lakevault uploads abort)"
                )
            session.delete(row)
            core.record_change(
                session,
                caller,
                action="s3:DeleteBucket",
                resource=bucket_arn(name),
                resource_account=record.account_id,
                parameters={"bucketName": name},
            )
        core.keys.schedule_service_key_deletion(
            proof, key_id=record.kms_key_id, days=KEY_DELETION_DAYS
        )

    def _update(
        self,
        caller: Caller,
        name: str,
        *,
        action: str,
        parameters: Mapping[str, object],
        change: str,
        value: object,
        check: Callable[[Session], None] | None = None,
    ) -> BucketInfo:
        core = self._core
        record = core.load_bucket(name)
        core.authorize(
            caller,
            action=action,
            resource=bucket_arn(name),
            bucket=record,
            read_only=False,
            parameters=parameters,
        )
        with core.database.session() as session:
            row = core.lock_bucket(session, name)
            if check is not None:
                check(session)  # under the bucket row's lock, after the gate
            setattr(row, change, value)
            core.record_change(
                session,
                caller,
                action=action,
                resource=bucket_arn(name),
                resource_account=record.account_id,
                parameters=parameters,
            )
        return core.load_bucket(name).info()

    def _read(self, caller: Caller, name: str, *, action: str) -> BucketInfo:
        core = self._core
        record = core.load_bucket(name)
        core.authorize(
            caller,
            action=action,
            resource=bucket_arn(name),
            bucket=record,
            read_only=True,
            parameters={"bucketName": name},
        )
        return record.info()

    def put_bucket_tagging(self, caller: Caller, name: str, tags: Mapping[str, str]) -> BucketInfo:
        """``s3:PutBucketTagging``: replace the bucket's tags."""
        clean = check_tags(tags)
        return self._update(
            caller,
            name,
            action="s3:PutBucketTagging",
            parameters={"bucketName": name, "tagKeys": sorted(clean)},
            change="tags",
            value=clean,
        )

    def get_bucket_tagging(self, caller: Caller, name: str) -> Mapping[str, str]:
        """``s3:GetBucketTagging``."""
        return self._read(caller, name, action="s3:GetBucketTagging").tags

    def put_bucket_versioning(self, caller: Caller, name: str, status: str) -> BucketInfo:
        """``s3:PutBucketVersioning``: ``Enabled`` or ``Suspended`` (never back to unversioned)."""
        if status not in (Versioning.ENABLED.value, Versioning.SUSPENDED.value):
            raise InvalidParameterValue(
                f"versioning status must be 'Enabled' or 'Suspended', got {status!r}",
                code="MalformedXML",
            )
        return self._update(
            caller,
            name,
            action="s3:PutBucketVersioning",
            parameters={"bucketName": name, "status": status},
            change="versioning",
            value=status,
            check=lambda session: refuse_versioning_change(session, name, status),
        )

    def get_bucket_versioning(self, caller: Caller, name: str) -> Versioning:
        """``s3:GetBucketVersioning``."""
        return self._read(caller, name, action="s3:GetBucketVersioning").versioning

    def put_bucket_policy(self, caller: Caller, name: str, document: str) -> BucketInfo:
        """``s3:PutBucketPolicy``: a resource policy over this bucket and its objects only."""
        core = self._core
        record = core.load_bucket(name)
        if not isinstance(document, str):
            document = json.dumps(document)
        check_bucket_policy(name, document, block_public_access=record.block_public_access)
        return self._update(
            caller,
            name,
            action="s3:PutBucketPolicy",
            parameters={"bucketName": name},
            change="policy",
            value=document,
        )

    def get_bucket_policy(self, caller: Caller, name: str) -> str:
        """``s3:GetBucketPolicy``: the policy text, or ``NoSuchBucketPolicy``."""
        core = self._core
        self._read(caller, name, action="s3:GetBucketPolicy")
        record = core.load_bucket(name)
        if record.policy_text is None:
            raise NoSuchBucketPolicy(f"the bucket {name!r} has no bucket policy")
        return record.policy_text

    def delete_bucket_policy(self, caller: Caller, name: str) -> BucketInfo:
        """``s3:DeleteBucketPolicy``."""
        return self._update(
            caller,
            name,
            action="s3:DeleteBucketPolicy",
            parameters={"bucketName": name},
            change="policy",
            value=None,
        )


def _already_exists(name: str, same_account: bool) -> BucketAlreadyExists:
    if same_account:
        return BucketAlreadyExists(
            f"you already own the bucket {name!r}", code="BucketAlreadyOwnedByYou"
        )
    return BucketAlreadyExists(
        f"the bucket name {name!r} is taken (bucket names are global); choose another name"
    )
