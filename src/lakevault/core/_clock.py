"""Time and randomness, injected.

The pure core never reads the real clock or the OS random source itself: services receive a
:class:`Clock` and a :class:`RandomSource` and tests pass fixed ones. The system versions are thin
wrappers that read the real thing and delegate, like ``fernet.encrypt_at_time`` beside
``fernet.encrypt`` in pyca/cryptography.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from lakevault.core._entropy import POOL


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class RandomSource(Protocol):
    """Gives cryptographically strong random bytes."""

    def token_bytes(self, length: int) -> bytes: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SystemRandom:
    """The operating system's CSPRNG, drawn a page at a time (``core._entropy``, ADR 0265)."""

    def token_bytes(self, length: int) -> bytes:
        return POOL.take(length)


@dataclass(slots=True)
class FixedClock:
    """A clock that only moves when told to; for tests and simulations.

    Raises ``ValueError`` when given a naive datetime, since every time in lakevault is UTC.
    """

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime (tzinfo=UTC), got a naive one")

    def now(self) -> datetime:
        return self.current

    def advance(self, *, seconds: float) -> None:
        self.current = self.current + timedelta(seconds=seconds)
