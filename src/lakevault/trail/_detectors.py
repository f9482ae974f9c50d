"""Alarm detectors: which events count toward which alarm, and when a count is an alarm. Pure.

A detector looks at each logged event record and says which *subject* it counts for (a
principal, a key, a user signing in); the scanner keeps per-minute counts of those observations
and asks :func:`judge` whether the count in the last window is an alarm (docs/decisions/0202):

===================  ===========================================  ==========================
detector             counts                                       alarm when, in the window
===================  ===========================================  ==========================
``denied-burst``     gate decisions that denied, per principal    count >= denied_burst
``api-rate``         gate decisions, per principal                count >= rate_min_calls and
                                                                  count >= rate_factor x the
                                                                  principal's baseline
``key-usage``        KMS key uses (``kms.amazonaws.com``), per    count >= key_uses, or
                     key                                          count >= key_surge_min_uses
                                                                  and count >= rate_factor x
                                                                  the key's baseline
``disabled-key-use`` any event with errorCode ``DisabledException``  count >= 1
                     or ``KMSInvalidStateException``, per key
``secret-reads``     ``secretsmanager:GetSecretValue``, per       count >= secret_reads, or
                     principal                                    count >= secret_surge_min_reads
                                                                  and count >= rate_factor x
                                                                  the principal's baseline
``sign-in-failures`` failed sign-ins, per user                    count >= sign_in_failures
===================  ===========================================  ==========================

A *baseline* is the subject's average count per window over the baseline period before the
window: a key used ten times a day that is suddenly used 150 times in five minutes alarms long
before the fixed ``key_uses`` line, while a key that always works hard does not (ADR 0189).

Alarm events themselves (``additionalEventData.alarm``) count for nothing, so an alarm never
feeds another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lakevault.core import Settings
from lakevault.core.errors import ConfigurationError

KMS_SOURCE = "kms.amazonaws.com"
SECRETS_SOURCE = "secretsmanager.amazonaws.com"
#: errorCodes that mean a disabled key, or one pending deletion, was used.
UNUSABLE_KEY_ERRORS = frozenset({"DisabledException", "KMSInvalidStateException"})
#: KMS operations that use key material (CloudTrail event names).
KEY_USE_EVENTS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        # The gate's decisions of a ReEncrypt (and of 'lakevault kms rewrap') carry the IAM
        # action names.
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "VerifyMac",
        "Sign",
        "Verify",
    }
)
#: Event names of sign-in attempts (password sign-in and the user pool's flows).
SIGN_IN_EVENTS = frozenset({"ConsoleLogin", "InitiateAuth", "RespondToAuthChallenge"})


class Detector(StrEnum):
    DENIED_BURST = "denied-burst"
    API_RATE = "api-rate"
    KEY_USAGE = "key-usage"
    DISABLED_KEY_USE = "disabled-key-use"
    SECRET_READS = "secret-reads"  # noqa: S105 - a detector's name, not a secret
    SIGN_IN_FAILURES = "sign-in-failures"


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """When a count becomes an alarm; read from the ``audit_alarm_*`` settings."""

    window_seconds: int = 300
    denied_burst: int = 20
    rate_factor: float = 10.0
    rate_min_calls: int = 300
    baseline_seconds: int = 86400
    key_uses: int = 1000
    key_surge_min_uses: int = 100
    secret_reads: int = 20
    secret_surge_min_reads: int = 10
    sign_in_failures: int = 5
    cooldown_seconds: int = 900

    def __post_init__(self) -> None:
        if self.window_seconds < 60 or self.window_seconds % 60:
            raise ConfigurationError(
                "audit_alarm_window_seconds is whole minutes, at least 60; got "
                f"{self.window_seconds}"
            )
        if self.baseline_seconds % 60 or self.baseline_seconds < 2 * self.window_seconds:
            raise ConfigurationError(
                "audit_alarm_baseline_seconds must be whole minutes and span at least two "
                f"windows ({2 * self.window_seconds} s); got {self.baseline_seconds}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            window_seconds=settings.audit_alarm_window_seconds,
            denied_burst=settings.audit_alarm_denied_burst,
            rate_factor=settings.audit_alarm_rate_factor,
            rate_min_calls=settings.audit_alarm_rate_min_calls,
            baseline_seconds=settings.audit_alarm_baseline_seconds,
            key_uses=settings.audit_alarm_key_uses,
            key_surge_min_uses=settings.audit_alarm_key_surge_min_uses,
            secret_reads=settings.audit_alarm_secret_reads,
            secret_surge_min_reads=settings.audit_alarm_secret_surge_min_reads,
            sign_in_failures=settings.audit_alarm_sign_in_failures,
            cooldown_seconds=settings.audit_alarm_cooldown_seconds,
        )

    @property
    def window_minutes(self) -> int:
        return self.window_seconds // 60

    @property
    def baseline_minutes(self) -> int:
        return self.baseline_seconds // 60

    def threshold(self, detector: Detector) -> int | None:
        """The fixed count that raises ``detector`` whatever its baseline (``None``: none)."""
        return {
            Detector.DENIED_BURST: self.denied_burst,
            Detector.API_RATE: None,
            Detector.KEY_USAGE: self.key_uses,
            Detector.DISABLED_KEY_USE: 1,
            Detector.SECRET_READS: self.secret_reads,
            Detector.SIGN_IN_FAILURES: self.sign_in_failures,
        }[detector]

    def surge_minimum(self, detector: Detector) -> int | None:
        """The fewest counts before ``detector`` may alarm on its baseline (``None``: it has
        no baseline rule)."""
        return {
            Detector.API_RATE: self.rate_min_calls,
            Detector.KEY_USAGE: self.key_surge_min_uses,
            Detector.SECRET_READS: self.secret_surge_min_reads,
        }.get(detector)


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    detector: Detector
    subject: str


def observe(record: Mapping[str, Any]) -> list[Observation]:
    """What one logged event counts toward (often nothing)."""
    additional = record.get("additionalEventData") or {}
    if additional.get("alarm"):
        return []
    found: list[Observation] = []
    identity = record.get("userIdentity") or {}
    principal = str(identity.get("arn") or "") or f"anonymous@{record.get('sourceIPAddress')}"
    source = record.get("eventSource")
    name = record.get("eventName")
    error_code = record.get("errorCode")
    decision = record.get("decision")
    key = _first_resource(record) or principal
    if isinstance(decision, Mapping):
        found.append(Observation(detector=Detector.API_RATE, subject=principal))
        if decision.get("effect") != "Allowed":
            found.append(Observation(detector=Detector.DENIED_BURST, subject=principal))
    is_change_record = bool(additional.get("stateChange"))
    if source == KMS_SOURCE and name in KEY_USE_EVENTS and not is_change_record and not error_code:
        found.append(Observation(detector=Detector.KEY_USAGE, subject=key))
    if error_code in UNUSABLE_KEY_ERRORS:
        found.append(Observation(detector=Detector.DISABLED_KEY_USE, subject=key))
    is_allowed = error_code is None and (decision is None or decision.get("effect") == "Allowed")
    if (
        source == SECRETS_SOURCE
        and name == "GetSecretValue"
        and not is_change_record
        and is_allowed
    ):
        found.append(Observation(detector=Detector.SECRET_READS, subject=principal))
    if name in SIGN_IN_EVENTS and error_code is not None:
        user = str(identity.get("arn") or "")
        if not user:
            user_name = (record.get("requestParameters") or {}).get("userName", "")
            user = f"{record.get('recipientAccountId')}:{user_name}"
        found.append(Observation(detector=Detector.SIGN_IN_FAILURES, subject=user))
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """Why a count is an alarm: the count, the threshold it reached, the baseline it beat."""

    detector: Detector
    subject: str
    count: int
    threshold: int
    baseline_per_window: float | None = None


def judge(
    detector: Detector,
    subject: str,
    *,
    window_count: int,
    baseline_count: int,
    thresholds: Thresholds,
) -> Verdict | None:
    """An alarm if ``window_count`` (events in the last window) crosses the detector's line.

    First the fixed line (:meth:`Thresholds.threshold`); then, for detectors with a baseline
    rule, the surge: at least :meth:`Thresholds.surge_minimum` and ``rate_factor`` times the
    average per window of ``baseline_count`` (the count over the baseline period before the
    window). A subject without history has a baseline of one per window, so the surge line is
    then ``max(minimum, rate_factor)``.
    """
    fixed = thresholds.threshold(detector)
    if fixed is not None and window_count >= fixed:
        return Verdict(detector=detector, subject=subject, count=window_count, threshold=fixed)
    minimum = thresholds.surge_minimum(detector)
    if minimum is None or window_count < minimum:
        return None
    windows = (thresholds.baseline_minutes - thresholds.window_minutes) / (
        thresholds.window_minutes
    )
    baseline = baseline_count / windows
    if window_count < thresholds.rate_factor * max(baseline, 1.0):
        return None
    return Verdict(
        detector=detector,
        subject=subject,
        count=window_count,
        threshold=minimum,
        baseline_per_window=round(baseline, 3),
    )


def _first_resource(record: Mapping[str, Any]) -> str | None:
    for resource in record.get("resources") or []:
        arn = resource.get("ARN") if isinstance(resource, Mapping) else None
        if arn:
            return str(arn)
    return None
