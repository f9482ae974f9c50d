"""TOTP multi-factor authentication (RFC 6238, pyotp): enrolment and code checks.

* A device's secret is derived from the platform root key and the device's random enrollment
  id (``PlatformRootKey.derive_secret``), like access-key secrets: the database holds no TOTP
  secret, and the secret is shown once, when the device is associated.
* Codes are 6 digits over 30-second steps; one step of clock drift either way is accepted.
  Every candidate step is compared with ``hmac.compare_digest`` (no early exit), and a step
  once used is never accepted again for that device, so an observed code cannot be replayed.
* A confirmed device is replaced only by a caller who signed in with it (the service checks),
  so a stolen password-only token cannot move MFA to the thief's phone.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
from sqlalchemy.orm import Session

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidInput
from lakevault.db import models
from lakevault.kms import PlatformRootKey

TOTP_PURPOSE = "totp-secret"
STEP_SECONDS = 30
DIGITS = 6
ALLOWED_DRIFT_STEPS = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class MFAEnrollment:
    """A newly associated TOTP device: its secret exists readable only in this value."""

    secret: str = field(repr=False)
    provisioning_uri: str = field(repr=False)


def totp_secret(root_key: PlatformRootKey, enrollment_id: str) -> str:
    """The base32 TOTP secret (160 bits) of a device, derived, never stored."""
    derived = root_key.derive_secret(purpose=TOTP_PURPOSE, identifier=enrollment_id)
    raw = base64.urlsafe_b64decode(derived)[:20]
    return base64.b32encode(raw).decode("ascii")


def matching_step(
    secret: str, code: str, *, now: datetime, last_used_step: int | None
) -> int | None:
    """The time step ``code`` is valid for (within the drift), or ``None``.

    Steps at or before ``last_used_step`` never match: each code works once.
    """
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    candidate = code.strip().encode("ascii", "replace")
    found: int | None = None
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        expected = totp.at(step * STEP_SECONDS).encode("ascii")
        is_match = hmac.compare_digest(expected, candidate)
        if is_match and (last_used_step is None or step > last_used_step) and found is None:
            found = step
    return found


def _invalid_code() -> InvalidInput:
    return InvalidInput(
        "the MFA code is wrong or was already used; enter the current code of the authenticator",
        code="CodeMismatchException",
    )


def associate_device(
    session: Session,
    user: models.User,
    *,
    root_key: PlatformRootKey,
    issuer: str,
    now: datetime,
    random: RandomSource,
) -> MFAEnrollment:
    """Start (or restart) enrolment: a new unconfirmed device replaces any earlier one."""
    enrollment_id = base64.b32encode(random.token_bytes(15)).decode("ascii")
    device = session.get(models.UserMFADevice, user.user_id)
    if device is None:
        device = models.UserMFADevice(user_id=user.user_id, created_at=now)
        session.add(device)
    device.enrollment_id = enrollment_id
    device.is_confirmed = False
    device.last_used_step = None
    device.created_at = now
    device.confirmed_at = None
    session.flush()
    secret = totp_secret(root_key, enrollment_id)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=f"{user.account_id}/{user.name}", issuer_name=issuer
    )
    return MFAEnrollment(secret=secret, provisioning_uri=uri)


def confirm_device(
    session: Session, user_id: str, code: str, *, root_key: PlatformRootKey, now: datetime
) -> None:
    """Confirm the pending device with a first code; raise ``CodeMismatchException``."""
    device = session.get(models.UserMFADevice, user_id)
    if device is None:
        raise InvalidInput(
            "there is no authenticator to verify; associate one first",
            code="InvalidParameterException",
        )
    check_device_code(session, device, code, root_key=root_key, now=now)
    device.is_confirmed = True
    device.confirmed_at = now
    session.flush()


def check_device_code(
    session: Session,
    device: models.UserMFADevice,
    code: str,
    *,
    root_key: PlatformRootKey,
    now: datetime,
) -> None:
    """Accept ``code`` once for ``device`` (recording its step) or raise."""
    step = matching_step(
        totp_secret(root_key, device.enrollment_id),
        code,
        now=now,
        last_used_step=device.last_used_step,
    )
    if step is None:
        raise _invalid_code()
    device.last_used_step = step
    session.flush()


def confirmed_device(session: Session, user_id: str) -> models.UserMFADevice | None:
    device = session.get(models.UserMFADevice, user_id)
    return device if device is not None and device.is_confirmed else None
