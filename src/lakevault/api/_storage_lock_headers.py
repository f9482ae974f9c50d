"""S3's object lock request headers, read once for the object routes.

``x-amz-object-lock-mode`` and ``x-amz-object-lock-retain-until-date`` (together),
``x-amz-object-lock-legal-hold`` (``ON``/``OFF``) on a PUT, ``x-amz-bypass-governance-retention``
on a DELETE or a retention change, ``x-amz-bucket-object-lock-enabled`` on bucket creation;
and the same three on the response of a GET or HEAD, as far as the caller may see them
(docs/decisions/0183).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from lakevault import storage
from lakevault.core.errors import InvalidParameterValue

MODE = "x-amz-object-lock-mode"
RETAIN_UNTIL = "x-amz-object-lock-retain-until-date"
LEGAL_HOLD = "x-amz-object-lock-legal-hold"
BYPASS = "x-amz-bypass-governance-retention"
BUCKET_LOCK = "x-amz-bucket-object-lock-enabled"


def flag(headers: Mapping[str, str], name: str) -> bool:
    """A boolean header: absent or ``false`` is ``False``, ``true`` is ``True``."""
    value = headers.get(name)
    if value is None or value.strip().lower() == "false":
        return False
    if value.strip().lower() == "true":
        return True
    raise InvalidParameterValue(
        f"the header {name} must be 'true' or 'false'", code="InvalidArgument"
    )


def lock_request(headers: Mapping[str, str]) -> storage.ObjectLockRequest | None:
    """The object lock a PUT asks for, or ``None`` when it names none."""
    mode = headers.get(MODE)
    until = headers.get(RETAIN_UNTIL)
    hold = headers.get(LEGAL_HOLD)
    if mode is None and until is None and hold is None:
        return None
    return storage.ObjectLockRequest(
        mode=_mode(mode) if mode is not None else None,
        retain_until=_until(until) if until is not None else None,
        legal_hold=_hold(hold) if hold is not None else None,
    )


def _mode(value: str) -> storage.RetentionMode:
    try:
        return storage.RetentionMode(value.strip().upper())
    except ValueError:
        raise InvalidParameterValue(
            f"{MODE} must be GOVERNANCE or COMPLIANCE", code="InvalidArgument"
        ) from None


def _until(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterValue(
            f"{RETAIN_UNTIL} must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z",
            code="InvalidArgument",
        ) from None
    if parsed.tzinfo is None:
        raise InvalidParameterValue(
            f"{RETAIN_UNTIL} needs a time zone ('Z' or an offset)", code="InvalidArgument"
        )
    return parsed


def _hold(value: str) -> bool:
    if value.strip().upper() not in ("ON", "OFF"):
        raise InvalidParameterValue(f"{LEGAL_HOLD} must be ON or OFF", code="InvalidArgument")
    return value.strip().upper() == "ON"


def lock_headers(visible: storage.VisibleObjectLock) -> dict[str, str]:
    """The ``x-amz-object-lock-*`` response headers of what the caller may see of a lock."""
    headers: dict[str, str] = {}
    if visible.mode is not None and visible.retain_until is not None:
        headers[MODE] = visible.mode.value
        headers[RETAIN_UNTIL] = visible.retain_until.strftime("%Y-%m-%dT%H:%M:%SZ")
    if visible.legal_hold is not None:
        headers[LEGAL_HOLD] = "ON" if visible.legal_hold else "OFF"
    return headers
