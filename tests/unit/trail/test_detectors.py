"""The detectors' pure rules: what each event counts toward, and when a count is an alarm."""

from __future__ import annotations

from typing import Any

import pytest

from lakevault.core.errors import ConfigurationError
from lakevault.trail import Detector, Observation, Thresholds, judge, observe

ALICE = "arn:aws:iam::123456789012:user/alice"
KEY = "arn:aws:kms:local:123456789012:key/1234"


def _record(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventSource": "iam.amazonaws.com",
        "eventName": "GetUser",
        "userIdentity": {"arn": ALICE},
        "recipientAccountId": "123456789012",
        "resources": [],
    }
    record.update(fields)
    return record


def test_a_gate_decision_counts_as_a_call_and_a_denial_as_both() -> None:
    allowed = _record(decision={"effect": "Allowed"})
    denied = _record(decision={"effect": "ExplicitlyDenied"}, errorCode="AccessDenied")
    assert observe(allowed) == [Observation(detector=Detector.API_RATE, subject=ALICE)]
    assert observe(denied) == [
        Observation(detector=Detector.API_RATE, subject=ALICE),
        Observation(detector=Detector.DENIED_BURST, subject=ALICE),
    ]


def test_key_uses_count_per_key_and_disabled_keys_at_once() -> None:
    use = _record(eventSource="kms.amazonaws.com", eventName="Decrypt", resources=[{"ARN": KEY}])
    assert Observation(detector=Detector.KEY_USAGE, subject=KEY) in observe(use)
    disabled = _record(
        eventSource="kms.amazonaws.com",
        eventName="Decrypt",
        errorCode="DisabledException",
        resources=[{"ARN": KEY}],
    )
    assert observe(disabled) == [Observation(detector=Detector.DISABLED_KEY_USE, subject=KEY)]
    pending = _record(eventName="Encrypt", errorCode="KMSInvalidStateException")
    assert observe(pending) == [Observation(detector=Detector.DISABLED_KEY_USE, subject=ALICE)]
    management = _record(eventSource="kms.amazonaws.com", eventName="CreateKey")
    assert observe(management) == []


def test_secret_reads_and_sign_in_failures() -> None:
    read = _record(eventSource="secretsmanager.amazonaws.com", eventName="GetSecretValue")
    assert observe(read) == [Observation(detector=Detector.SECRET_READS, subject=ALICE)]
    refused = _record(
        eventSource="secretsmanager.amazonaws.com",
        eventName="GetSecretValue",
        errorCode="AccessDenied",
    )
    assert observe(refused) == []
    failed = _record(eventName="ConsoleLogin", errorCode="SignInFailure")
    assert observe(failed) == [Observation(detector=Detector.SIGN_IN_FAILURES, subject=ALICE)]
    assert observe(_record(eventName="ConsoleLogin")) == []
    unknown_user = _record(
        eventName="InitiateAuth",
        errorCode="NotAuthorizedException",
        userIdentity={"arn": ""},
        requestParameters={"userName": "ghost"},
    )
    assert observe(unknown_user) == [
        Observation(detector=Detector.SIGN_IN_FAILURES, subject="123456789012:ghost")
    ]


def test_an_alarm_never_feeds_another() -> None:
    alarm = _record(
        decision={"effect": "ImplicitlyDenied"},
        errorCode="DisabledException",
        additionalEventData={"alarm": True},
    )
    assert observe(alarm) == []


def test_fixed_thresholds() -> None:
    thresholds = Thresholds(denied_burst=3, window_seconds=60, baseline_seconds=600)
    assert (
        judge(Detector.DENIED_BURST, ALICE, window_count=2, baseline_count=0, thresholds=thresholds)
        is None
    )
    verdict = judge(
        Detector.DENIED_BURST, ALICE, window_count=3, baseline_count=0, thresholds=thresholds
    )
    assert verdict is not None and (verdict.count, verdict.threshold) == (3, 3)
    assert (
        judge(
            Detector.DISABLED_KEY_USE, KEY, window_count=1, baseline_count=0, thresholds=thresholds
        )
        is not None
    )


def test_the_rate_alarm_compares_with_the_baseline() -> None:
    thresholds = Thresholds(
        window_seconds=60, baseline_seconds=660, rate_factor=5.0, rate_min_calls=10
    )
    # Ten windows of baseline with 40 calls: 4 per window; 5 x 4 = 20 needed.
    assert (
        judge(Detector.API_RATE, ALICE, window_count=19, baseline_count=40, thresholds=thresholds)
        is None
    )
    verdict = judge(
        Detector.API_RATE, ALICE, window_count=20, baseline_count=40, thresholds=thresholds
    )
    assert verdict is not None and verdict.baseline_per_window == 4.0
    # Below the minimum, even a principal never seen before does not alarm.
    assert (
        judge(Detector.API_RATE, ALICE, window_count=9, baseline_count=0, thresholds=thresholds)
        is None
    )


def test_thresholds_refuse_windows_that_are_not_whole_minutes() -> None:
    with pytest.raises(ConfigurationError):
        Thresholds(window_seconds=90)
    with pytest.raises(ConfigurationError):
        Thresholds(window_seconds=600, baseline_seconds=900)


@pytest.mark.parametrize("name", ["ReEncrypt", "ReEncryptFrom", "ReEncryptTo"])
def test_re_encrypt_decisions_count_as_key_uses(name: str) -> None:
    use = _record(
        eventSource="kms.amazonaws.com",
        eventName=name,
        resources=[{"ARN": KEY}],
        decision={"effect": "Allowed"},
    )
    assert Observation(detector=Detector.KEY_USAGE, subject=KEY) in observe(use)
    refused = _record(
        eventSource="kms.amazonaws.com",
        eventName=name,
        errorCode="AccessDenied",
        resources=[{"ARN": KEY}],
        decision={"effect": "ImplicitlyDenied"},
    )
    assert Observation(detector=Detector.KEY_USAGE, subject=KEY) not in observe(refused)


@pytest.mark.parametrize(
    ("detector", "subject"), [(Detector.KEY_USAGE, KEY), (Detector.SECRET_READS, ALICE)]
)
def test_key_uses_and_secret_reads_also_alarm_on_a_surge_over_their_baseline(
    detector: Detector, subject: str
) -> None:
    thresholds = Thresholds(
        window_seconds=60,
        baseline_seconds=660,
        rate_factor=5.0,
        key_uses=1000,
        key_surge_min_uses=10,
        secret_reads=1000,
        secret_surge_min_reads=10,
    )

    def verdict(window: int, baseline: int) -> Any:
        return judge(
            detector, subject, window_count=window, baseline_count=baseline, thresholds=thresholds
        )

    # Ten baseline windows with 40 uses: 4 per window; 5 x 4 = 20 needed.
    assert verdict(19, 40) is None
    surge = verdict(20, 40)
    assert surge is not None and (surge.threshold, surge.baseline_per_window) == (10, 4.0)
    # Without history the line is the minimum (5 x 1 < 10), and below it nothing alarms.
    assert verdict(9, 0) is None
    assert verdict(10, 0) is not None
    # A subject that always works hard never reaches 5 x its baseline, yet the fixed line holds.
    assert verdict(999, 5000) is None
    fixed = verdict(1000, 100000)
    assert fixed is not None and (fixed.threshold, fixed.baseline_per_window) == (1000, None)
