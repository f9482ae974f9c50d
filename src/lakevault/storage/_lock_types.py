"""The values and errors of S3 object lock: retention modes, default retention, legal hold.

Pure: parsing and checking what a caller asked for. What the database holds and what may be
deleted is :mod:`lakevault.storage._lock`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakevault.core.errors import AccessDenied, InvalidParameterValue, InvalidRequest, NotFound

#: S3's bounds on a default retention period.
MAX_DEFAULT_DAYS = 36500
MAX_DEFAULT_YEARS = 100
#: lakevault refuses a retain-until date further ahead than this (a typo would lock forever).
MAX_RETENTION = timedelta(days=MAX_DEFAULT_DAYS)


class RetentionMode(enum.StrEnum):
    """``GOVERNANCE``: removable with ``s3:BypassGovernanceRetention`` and the bypass flag.
    ``COMPLIANCE``: nobody can shorten or remove it, or delete the version, until it ends."""

    GOVERNANCE = "GOVERNANCE"
    COMPLIANCE = "COMPLIANCE"


class ObjectLocked(AccessDenied):
    """A WORM-protected version: retention not yet ended, or a legal hold (403 AccessDenied)."""

    code = "AccessDenied"


class ObjectLockConfigurationNotFound(NotFound):
    """The bucket has no object lock configuration (object lock was never enabled)."""

    code = "ObjectLockConfigurationNotFoundError"


class NoSuchObjectLockConfiguration(NotFound):
    """The version has no retention (or no legal hold) to return."""

    code = "NoSuchObjectLockConfiguration"


def parse_mode(value: str) -> RetentionMode:
    try:
        return RetentionMode(value.upper() if isinstance(value, str) else value)
    except ValueError:
        raise InvalidParameterValue(
            f"the object lock mode must be GOVERNANCE or COMPLIANCE, got {value!r}",
            code="InvalidArgument",
        ) from None


def parse_legal_hold(value: str | bool) -> bool:
    """``ON``/``OFF`` (S3's words) or a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("ON", "OFF"):
        return value.upper() == "ON"
    raise InvalidParameterValue(
        f"the legal hold status must be ON or OFF, got {value!r}", code="InvalidArgument"
    )


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidParameterValue(
            "a retain-until date needs a time zone (ISO 8601 with 'Z' or an offset)",
            code="InvalidArgument",
        )
    return moment.astimezone(UTC)


def parse_retain_until(value: str | datetime) -> datetime:
    """An ISO 8601 date-time with a zone (S3's ``x-amz-object-lock-retain-until-date``)."""
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise InvalidParameterValue(
            f"the retain-until date {value!r} is not an ISO 8601 date-time (e.g. "
            "2030-01-01T00:00:00Z)",
            code="InvalidArgument",
        ) from None
    return as_utc(parsed)


def add_years(moment: datetime, years: int) -> datetime:
    """``moment`` plus calendar years (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True, slots=True, kw_only=True)
class DefaultRetention:
    """A bucket's default retention rule: ``mode`` for ``days`` or ``years`` (exactly one)."""

    mode: RetentionMode
    days: int | None = None
    years: int | None = None

    def __post_init__(self) -> None:
        if (self.days is None) == (self.years is None):
            raise InvalidParameterValue(
                "a default retention names exactly one of Days and Years", code="MalformedXML"
            )
        for name, value, limit in (
            ("Days", self.days, MAX_DEFAULT_DAYS),
            ("Years", self.years, MAX_DEFAULT_YEARS),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit
            ):
                raise InvalidParameterValue(
                    f"the default retention's {name} must be a whole number from 1 to {limit}",
                    code="InvalidArgument",
                )

    def retain_until(self, start: datetime) -> datetime:
        if self.days is not None:
            return start + timedelta(days=self.days)
        assert self.years is not None
        return add_years(start, self.years)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectLockConfiguration:
    """S3's ObjectLockConfiguration: enabled (always, once set) and an optional default rule."""

    enabled: bool = True
    default_retention: DefaultRetention | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectRetention:
    """The retention of one object version."""

    mode: RetentionMode
    retain_until: datetime

    def is_active(self, now: datetime) -> bool:
        return self.retain_until > now


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectLockRequest:
    """What a PUT asks for (``x-amz-object-lock-*``): explicit retention and/or a legal hold.

    ``mode`` and ``retain_until`` come together or not at all; without them the bucket's
    default retention applies.
    """

    mode: RetentionMode | None = None
    retain_until: datetime | None = None
    legal_hold: bool | None = None

    def __post_init__(self) -> None:
        if (self.mode is None) != (self.retain_until is None):
            raise InvalidRequest(
                "x-amz-object-lock-mode and x-amz-object-lock-retain-until-date must be given "
                "together"
            )

    @property
    def is_empty(self) -> bool:
        return self.mode is None and self.legal_hold is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectLockState:
    """The lock of one version as a client sees it."""

    version_id: str | None
    retention: ObjectRetention | None
    legal_hold: bool


def check_future(retain_until: datetime, now: datetime) -> datetime:
    """A retain-until date for a new retention: in the future, at most 100 years ahead."""
    until = as_utc(retain_until)
    if until <= now:
        raise InvalidParameterValue(
            "the retain-until date must be in the future", code="InvalidArgument"
        )
    if until > now + MAX_RETENTION:
        raise InvalidParameterValue(
            f"the retain-until date may be at most {MAX_DEFAULT_DAYS} days ahead",
            code="InvalidArgument",
        )
    return until
