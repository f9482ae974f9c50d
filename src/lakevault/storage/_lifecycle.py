"""Bucket lifecycle configuration: rules that expire objects, old versions and stale uploads.

The rules are S3's JSON shape (``Rules``: ``ID``, ``Status``, ``Filter.Prefix``,
``Expiration.Days`` or ``Expiration.ExpiredObjectDeleteMarker``,
``NoncurrentVersionExpiration.NoncurrentDays``/``NewerNoncurrentVersions``,
``AbortIncompleteMultipartUpload.DaysAfterInitiation``), checked here and stored normalised.
The periodic job in :mod:`lakevault.storage._lifecycle_job` applies them; object lock wins
over every rule (docs/decisions/0157). Multipart cleanup reads a key's abort age through
:func:`abort_after_days`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lakevault.core.errors import InvalidParameterValue, NotFound
from lakevault.db import Database, models
from lakevault.storage._core import StorageCore
from lakevault.storage._names import bucket_arn
from lakevault.storage._types import Caller

MAX_RULES = 1000
MAX_RULE_ID = 255
MAX_NEWER_NONCURRENT = 100
_RULE_FIELDS = frozenset(
    {
        "ID",
        "Status",
        "Filter",
        "Prefix",
        "Expiration",
        "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    }
)


class NoSuchLifecycleConfiguration(NotFound):
    code = "NoSuchLifecycleConfiguration"


def _malformed(message: str) -> InvalidParameterValue:
    return InvalidParameterValue(message, code="MalformedXML")


def _invalid(message: str) -> InvalidParameterValue:
    return InvalidParameterValue(message, code="InvalidArgument")


def _whole(value: object, name: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class LifecycleRule:
    """One rule. ``None`` actions are absent; ``prefix`` ``""`` applies to the whole bucket."""

    id: str
    enabled: bool
    prefix: str = ""
    expiration_days: int | None = None
    expired_object_delete_marker: bool = False
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_incomplete_days: int | None = None

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix)

    def to_json(self) -> dict[str, Any]:
        """The rule in S3's JSON shape (what GetBucketLifecycleConfiguration answers)."""
        rule: dict[str, Any] = {
            "ID": self.id,
            "Status": "Enabled" if self.enabled else "Disabled",
            "Filter": {"Prefix": self.prefix},
        }
        if self.expiration_days is not None:
            rule["Expiration"] = {"Days": self.expiration_days}
        elif self.expired_object_delete_marker:
            rule["Expiration"] = {"ExpiredObjectDeleteMarker": True}
        if self.noncurrent_days is not None:
            noncurrent: dict[str, int] = {"NoncurrentDays": self.noncurrent_days}
            if self.newer_noncurrent_versions is not None:
                noncurrent["NewerNoncurrentVersions"] = self.newer_noncurrent_versions
            rule["NoncurrentVersionExpiration"] = noncurrent
        if self.abort_incomplete_days is not None:
            rule["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": self.abort_incomplete_days
            }
        return rule


def _parse_filter(raw: Mapping[str, Any]) -> str:
    has_filter, has_prefix = "Filter" in raw, "Prefix" in raw
    if has_filter and has_prefix:
        raise _malformed("a rule has either Filter or (legacy) Prefix, not both")
    if has_prefix:
        prefix = raw["Prefix"]
    elif has_filter:
        found = raw["Filter"]
        if not isinstance(found, Mapping):
            raise _malformed("Filter must be an object")
        unknown = set(found) - {"Prefix"}
        if unknown & {"Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan"}:
            raise InvalidParameterValue(
                "lifecycle filters by object tags or sizes are not supported; filter by Prefix",
                code="NotImplemented",
            )
        if unknown:
            raise _malformed(f"unknown Filter fields: {sorted(unknown)}")
        prefix = found.get("Prefix", "")
    else:
        raise _malformed("a rule needs a Filter (use {} for the whole bucket)")
    if not isinstance(prefix, str) or len(prefix.encode("utf-8")) > 1024:
        raise _invalid("a rule's Prefix must be a string of at most 1,024 bytes")
    return prefix


def parse_rule(raw: object) -> LifecycleRule:
    """One rule from S3's JSON shape, checked."""
    if not isinstance(raw, Mapping):
        raise _malformed("each lifecycle rule must be an object")
    unknown = set(raw) - _RULE_FIELDS
    if unknown & {"Transitions", "NoncurrentVersionTransitions", "Transition"}:
        raise InvalidParameterValue(
            "lifecycle transitions are not supported (lakevault has one storage class)",
            code="NotImplemented",
        )
    if unknown:
        raise _malformed(f"unknown lifecycle rule fields: {sorted(unknown)}")
    rule_id = raw.get("ID", "")
    if not isinstance(rule_id, str) or not 1 <= len(rule_id) <= MAX_RULE_ID:
        raise _invalid(f"a rule's ID must be 1 to {MAX_RULE_ID} characters")
    status = raw.get("Status")
    if status not in ("Enabled", "Disabled"):
        raise _malformed(f"rule {rule_id!r}: Status must be 'Enabled' or 'Disabled'")
    prefix = _parse_filter(raw)
    expiration_days: int | None = None
    expired_marker = False
    if "Expiration" in raw:
        expiration = raw["Expiration"]
        if not isinstance(expiration, Mapping) or set(expiration) - {
            "Days",
            "ExpiredObjectDeleteMarker",
            "Date",
        }:
            raise _malformed(
                f"rule {rule_id!r}: Expiration takes Days or ExpiredObjectDeleteMarker"
            )
        if "Date" in expiration:
            raise InvalidParameterValue(
                f"rule {rule_id!r}: Expiration by Date is not supported; use Days",
                code="NotImplemented",
            )
        if "Days" in expiration and "ExpiredObjectDeleteMarker" in expiration:
            raise _invalid(
                f"rule {rule_id!r}: ExpiredObjectDeleteMarker cannot be specified with Days"
            )
        if "Days" in expiration:
            expiration_days = _whole(expiration["Days"], "Expiration.Days", low=1, high=36500)
        elif expiration.get("ExpiredObjectDeleteMarker") is True:
            expired_marker = True
        elif expiration.get("ExpiredObjectDeleteMarker") is not False:
            raise _malformed(
                f"rule {rule_id!r}: Expiration needs Days or ExpiredObjectDeleteMarker"
            )
    noncurrent_days: int | None = None
    newer: int | None = None
    if "NoncurrentVersionExpiration" in raw:
        noncurrent = raw["NoncurrentVersionExpiration"]
        if not isinstance(noncurrent, Mapping) or set(noncurrent) - {
            "NoncurrentDays",
            "NewerNoncurrentVersions",
        }:
            raise _malformed(
                f"rule {rule_id!r}: NoncurrentVersionExpiration takes NoncurrentDays and "
                "NewerNoncurrentVersions"
            )
        noncurrent_days = _whole(
            noncurrent.get("NoncurrentDays"), "NoncurrentDays", low=1, high=36500
        )
        if "NewerNoncurrentVersions" in noncurrent:
            newer = _whole(
                noncurrent["NewerNoncurrentVersions"],
                "NewerNoncurrentVersions",
                low=1,
                high=MAX_NEWER_NONCURRENT,
            )
    abort_days: int | None = None
    if "AbortIncompleteMultipartUpload" in raw:
        abort = raw["AbortIncompleteMultipartUpload"]
        if not isinstance(abort, Mapping) or set(abort) != {"DaysAfterInitiation"}:
            raise _malformed(
                f"rule {rule_id!r}: AbortIncompleteMultipartUpload takes DaysAfterInitiation"
            )
        abort_days = _whole(abort["DaysAfterInitiation"], "DaysAfterInitiation", low=1, high=36500)
    if (
        expiration_days is None
        and not expired_marker
        and noncurrent_days is None
        and (abort_days is None)
    ):
        raise _invalid(
            f"rule {rule_id!r} has no action (Expiration, NoncurrentVersionExpiration "
            "or AbortIncompleteMultipartUpload)"
        )
    return LifecycleRule(
        id=rule_id,
        enabled=status == "Enabled",
        prefix=prefix,
        expiration_days=expiration_days,
        expired_object_delete_marker=expired_marker,
        noncurrent_days=noncurrent_days,
        newer_noncurrent_versions=newer,
        abort_incomplete_days=abort_days,
    )


def parse_configuration(document: object) -> tuple[LifecycleRule, ...]:
    """A whole configuration (``{"Rules": [...]}``), checked: 1 to 1,000 rules, unique IDs."""
    if not isinstance(document, Mapping) or set(document) != {"Rules"}:
        raise _malformed('a lifecycle configuration is {"Rules": [...]}')
    raw_rules = document["Rules"]
    if not isinstance(raw_rules, Sequence) or isinstance(raw_rules, str) or not raw_rules:
        raise _malformed("Rules must be a list of 1 to 1,000 rules")
    if len(raw_rules) > MAX_RULES:
        raise _invalid(f"a lifecycle configuration has at most {MAX_RULES} rules")
    rules = tuple(parse_rule(raw) for raw in raw_rules)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise _invalid(f"rule ID {rule.id!r} is used twice; rule IDs must be unique")
        seen.add(rule.id)
    return rules


def rules_from_row(row: models.BucketLifecycle | None) -> tuple[LifecycleRule, ...]:
    if row is None:
        return ()
    return tuple(parse_rule(raw) for raw in row.rules)


def lifecycle_rules(session: Session, bucket: str) -> tuple[LifecycleRule, ...]:
    """The bucket's rules (none when it has no lifecycle configuration)."""
    return rules_from_row(session.get(models.BucketLifecycle, bucket))


def abort_after_days(database: Database, bucket: str, key: str) -> int | None:
    """Days after which an incomplete multipart upload of ``key`` is aborted by the bucket's
    lifecycle (the smallest ``DaysAfterInitiation`` of the enabled rules matching ``key``), or
    ``None`` when no rule says."""
    with database.read_session() as session:
        rules = lifecycle_rules(session, bucket)
    days = [
        rule.abort_incomplete_days
        for rule in rules
        if rule.enabled and rule.abort_incomplete_days is not None and rule.matches(key)
    ]
    return min(days) if days else None


class BucketLifecycle:
    """PutBucketLifecycleConfiguration, Get and Delete, through the gate."""

    def __init__(self, core: StorageCore) -> None:
        self._core = core

    def put_bucket_lifecycle_configuration(
        self, caller: Caller, bucket: str, document: Mapping[str, Any]
    ) -> tuple[LifecycleRule, ...]:
        """``s3:PutLifecycleConfiguration``: replace the bucket's rules."""
        rules = parse_configuration(document)
        self._write(caller, bucket, rules)
        return rules

    def get_bucket_lifecycle_configuration(
        self, caller: Caller, bucket: str
    ) -> tuple[LifecycleRule, ...]:
        """``s3:GetLifecycleConfiguration``; ``NoSuchLifecycleConfiguration`` when unset."""
        core = self._core
        record = core.load_bucket(bucket)
        core.authorize(
            caller,
            action="s3:GetLifecycleConfiguration",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=True,
            parameters={"bucketName": bucket},
        )
        with core.database.read_session() as session:
            rules = lifecycle_rules(session, bucket)
        if not rules:
            raise NoSuchLifecycleConfiguration(
                f"the bucket {bucket!r} has no lifecycle configuration"
            )
        return rules

    def delete_bucket_lifecycle(self, caller: Caller, bucket: str) -> None:
        """``s3:PutLifecycleConfiguration`` (S3 has no separate delete permission)."""
        self._write(caller, bucket, None)

    def _write(self, caller: Caller, bucket: str, rules: tuple[LifecycleRule, ...] | None) -> None:
        core = self._core
        record = core.load_bucket(bucket)
        parameters: dict[str, object] = {"bucketName": bucket}
        if rules is not None:
            parameters["rules"] = [rule.to_json() for rule in rules]
        else:
            parameters["delete"] = True
        core.authorize(
            caller,
            action="s3:PutLifecycleConfiguration",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=False,
            parameters=parameters,
        )
        with core.database.session() as session:
            core.lock_bucket(session, bucket)
            row = session.get(models.BucketLifecycle, bucket)
            if rules is None:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(
                    models.BucketLifecycle(
                        bucket_name=bucket,
                        rules=[rule.to_json() for rule in rules],
                        updated_at=core.clock.now(),
                    )
                )
            else:
                row.rules = [rule.to_json() for rule in rules]
                row.updated_at = core.clock.now()
            core.record_change(
                session,
                caller,
                action="s3:PutLifecycleConfiguration",
                resource=bucket_arn(bucket),
                resource_account=record.account_id,
                parameters=parameters,
            )
