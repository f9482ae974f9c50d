"""Backoff with jitter (lakevault/jobs/_retry.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakevault.core import SystemRandom
from lakevault.core.errors import InvalidParameterValue
from lakevault.jobs import RetryPolicy
from lakevault.jobs._retry import unit_random


def test_delays_double_from_the_base_up_to_the_maximum() -> None:
    policy = RetryPolicy(base_delay_seconds=2.0, max_delay_seconds=30.0, jitter_ratio=0.0)
    assert [policy.delay_seconds(n, 0.5) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=0.999999))
def test_jitter_stays_within_its_ratio(failed_attempts: int, unit: float) -> None:
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=600.0, jitter_ratio=0.25)
    nominal = policy.nominal_delay_seconds(failed_attempts)
    assert 0.75 * nominal <= policy.delay_seconds(failed_attempts, unit) <= 1.25 * nominal


def test_jitter_spreads_retries_that_fail_together() -> None:
    policy = RetryPolicy(base_delay_seconds=10.0, jitter_ratio=0.2)
    delays = {round(policy.delay_seconds(1, unit_random(SystemRandom())), 6) for _ in range(50)}
    assert len(delays) > 40
    assert all(8.0 <= delay <= 12.0 for delay in delays)


def test_the_last_attempt_is_final() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.is_final(n) for n in (1, 2, 3)] == [False, False, True]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay_seconds": 10.0, "max_delay_seconds": 5.0}, "base_delay_seconds <= max"),
        ({"jitter_ratio": 1.0}, r"jitter_ratio must be in \[0, 1\)"),
    ],
)
def test_impossible_policies_are_refused(options: dict[str, float], reason: str) -> None:
    with pytest.raises(InvalidParameterValue, match=reason):
        RetryPolicy(**options)  # type: ignore[arg-type]
