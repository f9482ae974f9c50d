"""Bucket lifecycle configuration: rules that expire objects, old versions and stale uploads.

The rules are S3's JSON shape (``Rules``: ``ID``, ``Status``, ``Filter`` by ``Prefix``,
``ObjectSizeGreaterThan``/``ObjectSizeLessThan`` or an ``And`` of them,
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
#: S3's largest object: the bound of the object size filters.
_MAX_SIZE = 5 * 1024**4
_GREATER = "ObjectSizeGreaterThan"
_LESS = "ObjectSizeLessThan"
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
    """One rule. ``None`` actions are absent; ``prefix`` ``""`` applies to the whole bucket.

    ``size_greater_than``/``size_less_than`` (bytes, exclusive) select object versions by
    size, as S3's ``ObjectSizeGreaterThan``/``ObjectSizeLessThan``: the current version for
    ``Expiration``, each noncurrent version for ``NoncurrentVersionExpiration``; a delete
    marker has no size and never matches them.
    """

    id: str
    enabled: bool
    prefix: str = ""
    size_greater_than: int | None = None
    size_less_than: int | None = None
    expiration_days: int | None = None
    expired_object_delete_marker: bool = False
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_incomplete_days: int | None = None

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix)

    @property
    def has_size_filter(self) -> bool:
        return self.size_greater_than is not None or self.size_less_than is not None

    def matches_size(self, size: int) -> bool:
        """Whether an object version of ``size`` bytes is within the rule's size filter."""
        if self.size_greater_than is not None and not size > self.size_greater_than:
            return False
        return self.size_less_than is None or size < self.size_less_than

    def _filter_json(self) -> dict[str, Any]:
        conditions: dict[str, Any] = {}
        if self.prefix or not self.has_size_filter:
            conditions["Prefix"] = self.prefix
        if self.size_greater_than is not None:
            conditions[_GREATER] = self.size_greater_than
        if self.size_less_than is not None:
            conditions[_LESS] = self.size_less_than
        return conditions if len(conditions) == 1 else {"And": conditions}

    def to_json(self) -> dict[str, Any]:
        """The rule in S3's JSON shape (what GetBucketLifecycleConfiguration answers)."""
        rule: dict[str, Any] = {
            "ID": self.id,
            "Status": "Enabled" if self.enabled else "Disabled",
            "Filter": self._filter_json(),
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Filter:
    prefix: str = ""
    size_greater_than: int | None = None
    size_less_than: int | None = None


def _no_tags() -> InvalidParameterValue:
    return InvalidParameterValue(
        "lifecycle filters by object tag are not supported: lakevault objects have no tags; "
        "filter by Prefix and object size",
        code="NotImplemented",
    )


def _parse_filter(raw: Mapping[str, Any]) -> _Filter:
    """S3's rule filter: ``Prefix`` (or the legacy top-level one), one size bound, or an
    ``And`` of a prefix and size bounds. Tags are ``NotImplemented`` (objects have none)."""
    has_filter, has_prefix = "Filter" in raw, "Prefix" in raw
    if has_filter and has_prefix:
        raise _malformed("a rule has either Filter or (legacy) Prefix, not both")
    if has_prefix:
        conditions: Mapping[str, Any] = {"Prefix": raw["Prefix"]}
    elif has_filter:
        found = raw["Filter"]
        if not isinstance(found, Mapping):
            raise _malformed("Filter must be an object")
        if "Tag" in found:
            raise _no_tags()
        unknown = set(found) - {"Prefix", _GREATER, _LESS, "And"}
        if unknown:
            raise _malformed(f"unknown Filter fields: {sorted(unknown)}")
        if len(found) > 1:
            raise _malformed("a Filter has one condition; combine several in And")
        conditions = found
        if "And" in found:
            conditions = found["And"]
            if not isinstance(conditions, Mapping):
                raise _malformed("Filter.And must be an object")
            if "Tags" in conditions:
                raise _no_tags()
            unknown = set(conditions) - {"Prefix", _GREATER, _LESS}
            if unknown:
                raise _malformed(f"unknown Filter.And fields: {sorted(unknown)}")
            if len(conditions) < 2:
                raise _malformed("Filter.And combines two or more conditions")
    else:
        raise _malformed("a rule needs a Filter (use {} for the whole bucket)")
    prefix = conditions.get("Prefix", "")
    if not isinstance(prefix, str) or len(prefix.encode("utf-8")) > 1024:
        raise _invalid("a rule's Prefix must be a string of at most 1,024 bytes")
    greater = (
        _whole(conditions[_GREATER], _GREATER, low=0, high=_MAX_SIZE - 1)
        if _GREATER in conditions
        else None
    )
    less = _whole(conditions[_LESS], _LESS, low=1, high=_MAX_SIZE) if _LESS in conditions else None
    if greater is not None and less is not None and not greater < less:
        raise _invalid(f"{_GREATER} ({greater}) must be less than {_LESS} ({less})")
    return _Filter(prefix=prefix, size_greater_than=greater, size_less_than=less)


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
    selected = _parse_filter(raw)
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
    if (selected.size_greater_than is not None or selected.size_less_than is not None) and (
        expired_marker or abort_days is not None
    ):
        # Delete markers and incomplete uploads have no object size to compare.
        raise _invalid(
            f"rule {rule_id!r}: an object size filter cannot be used with "
            "ExpiredObjectDeleteMarker or AbortIncompleteMultipartUpload"
        )
    return LifecycleRule(
        id=rule_id,
        enabled=status == "Enabled",
        prefix=selected.prefix,
        size_greater_than=selected.size_greater_than,
        size_less_than=selected.size_less_than,
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
