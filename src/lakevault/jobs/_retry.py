"""Retries with exponential backoff and jitter.

After failed attempt ``n`` (1-based) the next attempt waits
``min(max_delay, base_delay * 2 ** (n - 1))`` seconds, spread by ``±jitter_ratio`` so that many
tasks failing together (a dependency was down) do not all come back at the same instant. After
``max_attempts`` failed attempts the job is dead.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidParameterValue


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how late a failing task is tried again. Raises on impossible values."""

    max_attempts: int = 5
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 300.0
    jitter_ratio: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidParameterValue(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 <= self.base_delay_seconds <= self.max_delay_seconds:
            raise InvalidParameterValue(
                "retry delays must satisfy 0 <= base_delay_seconds <= max_delay_seconds, got "
                f"{self.base_delay_seconds} and {self.max_delay_seconds}"
            )
        if not 0 <= self.jitter_ratio < 1:
            raise InvalidParameterValue(f"jitter_ratio must be in [0, 1), got {self.jitter_ratio}")

    def is_final(self, failed_attempts: int) -> bool:
        """Whether the job is dead after this many failed attempts."""
        return failed_attempts >= self.max_attempts

    def nominal_delay_seconds(self, failed_attempts: int) -> float:
        """The delay before the next attempt, without jitter."""
        exponent = min(max(failed_attempts - 1, 0), 62)
        return min(self.max_delay_seconds, self.base_delay_seconds * 2.0**exponent)

    def delay_seconds(self, failed_attempts: int, unit: float) -> float:
        """The delay with jitter; ``unit`` is a number in [0, 1) (see :func:`unit_random`)."""
        nominal = self.nominal_delay_seconds(failed_attempts)
        return nominal * (1.0 + self.jitter_ratio * (2.0 * unit - 1.0))


def unit_random(random: RandomSource) -> float:
    """A uniform number in [0, 1) from the injected random source (53 bits)."""
    return (int.from_bytes(random.token_bytes(7), "big") >> 3) / float(1 << 53)
