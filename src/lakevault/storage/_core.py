"""What every storage operation shares: the gate, the bucket lookup, and change events.

Each operation is one S3 action (``s3:PutObject``...) on one ARN. It loads the bucket (for its
owner, policy and tags), asks the gate with the bucket policy as the resource policy, and only
with the gate's proof touches keys, blobs or metadata. A state change and its audit event commit
in the same transaction (the pattern of ``lakevault.directory``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.audit import AuditEvent, EventResource, append_in
from lakevault.core import Clock, RandomSource
from lakevault.db import Database, models
from lakevault.gate import ContextValue, EventFactory, Gate, Proof, Request
from lakevault.storage._backends import ObjectBackend
from lakevault.storage._bucket_cache import GenerationCache
from lakevault.storage._errors import NoSuchBucket
from lakevault.storage._keys import BucketKeys
from lakevault.storage._names import bucket_arn, resource_type
from lakevault.storage._public_access import policy_for_request
from lakevault.storage._types import BucketInfo, Caller, Versioning
from lakevault.storage._version_commits import VersionCommitter

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketRecord:
    """A bucket as loaded for one request (its policy parsed)."""

    name: str
    account_id: str
    kms_key_id: str
    versioning: Versioning
    created_at: datetime
    policy: iam.Policy | None = None
    policy_text: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    block_public_access: bool = True

    def info(self) -> BucketInfo:
        return BucketInfo(
            name=self.name,
            account_id=self.account_id,
            created_at=self.created_at,
            versioning=self.versioning,
            kms_key_id=self.kms_key_id,
            tags=self.tags,
            block_public_access=self.block_public_access,
            has_policy=self.policy_text is not None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketState:
    """What a request needs of a bucket: its record and its own streaming limit (``None``: the
    platform default applies). Cached per process under the storage generation (ADR 0177)."""

    record: BucketRecord
    max_object_bytes: int | None
    #: The bucket's maximum request duration (``None``: none; docs/decisions/0185).
    max_request_seconds: int | None = None


class StorageCore:
    """Authorise through the gate, find buckets, record changes."""

    def __init__(
        self,
        *,
        database: Database,
        gate: Gate,
        keys: BucketKeys,
        backend: ObjectBackend,
        clock: Clock,
        random: RandomSource,
        region: str,
    ) -> None:
        self.database = database
        self.gate = gate
        self.keys = keys
        self.backend = backend
        self.clock = clock
        self.random = random
        self.region = region
        self.events = EventFactory(clock=clock, random=random, region=region)
        self._policies: dict[tuple[str, str], iam.Policy] = {}
        self._policies_lock = threading.Lock()
        self._buckets = GenerationCache(database, load=self._load_bucket_state)
        #: The group commit of new object versions (docs/decisions/0221).
        self.version_committer = VersionCommitter(database)

    def parsed_policy(self, bucket: str, text: str) -> iam.Policy:
        """The bucket policy ``text``, parsed once per (bucket, text)."""
        cache_key = (bucket, text)
        with self._policies_lock:
            found = self._policies.get(cache_key)
        if found is None:
            found = iam.parse_policy(
                text, policy_id=bucket_arn(bucket), kind=iam.PolicyKind.RESOURCE
            )
            with self._policies_lock:
                if len(self._policies) > 4096:
                    self._policies.clear()
                self._policies[cache_key] = found
        return found

    def record_from_row(self, row: models.Bucket) -> BucketRecord:
        return BucketRecord(
            name=row.name,
            account_id=row.account_id,
            kms_key_id=row.kms_key_id,
            versioning=Versioning(row.versioning),
            created_at=row.created_at,
            policy=self.parsed_policy(row.name, row.policy) if row.policy else None,
            policy_text=row.policy,
            tags=MappingProxyType(dict(row.tags or {})),
            block_public_access=row.block_public_access,
        )

    def load_bucket(self, name: str) -> BucketRecord:
        """The bucket ``name``, or ``NoSuchBucket`` (as of the latest committed change)."""
        return self._buckets.get(name).record

    def bucket_state(self, name: str) -> BucketState:
        """The bucket ``name`` and its own streaming limit, or ``NoSuchBucket``: one cached
        lookup, current as of the latest committed change in any process (ADR 0177)."""
        return self._buckets.get(name)

    def _load_bucket_state(self, name: str) -> BucketState:
        with self.database.read_session() as session:
            row = session.get(models.Bucket, name)
            if row is None:
                raise NoSuchBucket(
                    f"the bucket {name!r} does not exist; check the name or create it first"
                )
            limits = session.get(models.BucketLimits, name)
            return BucketState(
                record=self.record_from_row(row),
                max_object_bytes=limits.max_object_bytes if limits is not None else None,
                max_request_seconds=limits.max_request_seconds if limits is not None else None,
            )

    def authorize(
        self,
        caller: Caller,
        *,
        action: str,
        resource: str,
        bucket: BucketRecord | None,
        read_only: bool,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, ContextValue] | None = None,
        resource_account: str | None = None,
        event_name: str | None = None,
    ) -> Proof:
        """The gate's proof for ``action`` on ``resource``, or ``AccessDenied``.

        The bucket's policy is the resource policy and its tags are ``aws:ResourceTag/*``.
        """
        return self.gate.require(
            _request(
                caller,
                action=action,
                resource=resource,
                bucket=bucket,
                read_only=read_only,
                parameters=parameters,
                context=context,
                resource_account=resource_account,
                event_name=event_name,
            )
        )

    def allows(
        self,
        caller: Caller,
        *,
        action: str,
        resource: str,
        bucket: BucketRecord,
        parameters: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether the gate allows the read-only ``action`` — decided and recorded like any
        other, but a denial is an answer, not an error: for what a response shows only to
        callers allowed to see it (the object lock headers of a GET, docs/decisions/0183)."""
        decision = self.gate.authorize(
            _request(
                caller,
                action=action,
                resource=resource,
                bucket=bucket,
                read_only=True,
                parameters=parameters,
            )
        )
        return decision.is_allowed

    def record_change(
        self,
        session: Session | Connection,
        caller: Caller,
        *,
        action: str,
        resource: str,
        resource_account: str,
        parameters: Mapping[str, Any] | None,
        elements: Mapping[str, Any] | None = None,
        event_name: str | None = None,
    ) -> None:
        """Append the change event inside the transaction that makes the change."""
        append_in(
            session,
            self.change_event(
                caller,
                action=action,
                resource=resource,
                resource_account=resource_account,
                parameters=parameters,
                elements=elements,
                event_name=event_name,
            ),
        )

    def change_event(
        self,
        caller: Caller,
        *,
        action: str,
        resource: str,
        resource_account: str,
        parameters: Mapping[str, Any] | None,
        elements: Mapping[str, Any] | None = None,
        event_name: str | None = None,
    ) -> AuditEvent:
        """The change event :meth:`record_change` appends, for a caller that appends several
        in one transaction (the group commit of object versions, docs/decisions/0221)."""
        return self.events.change(
            caller,
            action=action,
            resource=EventResource(
                arn=resource,
                account_id=resource_account,
                type=resource_type(resource),
            ),
            parameters=parameters,
            elements=elements,
            event_name=event_name,
        )

    def lock_bucket(self, session: Session, name: str) -> models.Bucket:
        """The bucket row, locked until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite
        write transactions are already serialised by ``BEGIN IMMEDIATE``)."""
        row = session.get(models.Bucket, name, with_for_update=not self.database.is_sqlite)
        if row is None:
            raise NoSuchBucket(f"the bucket {name!r} does not exist; check the name")
        return row


def _request(
    caller: Caller,
    *,
    action: str,
    resource: str,
    bucket: BucketRecord | None,
    read_only: bool,
    parameters: Mapping[str, Any] | None,
    context: Mapping[str, ContextValue] | None = None,
    resource_account: str | None = None,
    event_name: str | None = None,
) -> Request:
    return Request(
        principal=caller.principal,
        action=action,
        resource=resource,
        resource_account=bucket.account_id if bucket is not None else resource_account,
        resource_type=resource_type(resource),
        resource_policy=(
            policy_for_request(bucket, caller.principal) if bucket is not None else None
        ),
        resource_tags=bucket.tags if bucket is not None else _EMPTY,
        context=MappingProxyType(dict(context or {})),
        request_id=caller.request_id,
        source_ip=caller.source_ip,
        user_agent=caller.user_agent,
        secure_transport=caller.secure_transport,
        read_only=read_only,
        request_parameters=parameters,
        event_name=event_name,
    )
