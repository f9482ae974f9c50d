"""Rate limits on password and code checks and on federated sign-ins (the ``limits`` package,
moving window).

Each check counts against the client's address and against the user name it names, whether or
not that user exists, so that the limit itself tells nothing about who exists and an argon2
verification (tens of milliseconds of CPU) cannot be requested without bound. Storage is in
memory by default (per process); a shared store (``redis://``, ``memcached://``...) makes the
limit hold across API servers. The window is measured on the real clock by ``limits``.
"""

from __future__ import annotations

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from lakevault.core.errors import Throttling


class AttemptLimiter:
    """Allows ``rate`` (e.g. ``"20/minute"``) attempts per key; raises ``Throttling`` beyond.

    ``per`` says in the error what the keys count (the user pool counts per client and per
    user name; federation per client).
    """

    def __init__(
        self,
        rate: str,
        *,
        storage_uri: str = "memory://",
        per: str = "per client and per user name",
    ) -> None:
        self._limit = parse(rate)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._rate = rate
        self._per = per

    def __repr__(self) -> str:
        return f"AttemptLimiter(rate={self._rate!r})"

    def hit(self, *keys: tuple[str, ...]) -> None:
        """Count one attempt under every key; raise ``TooManyRequestsException`` when any key
        is over its limit (the attempt is then not made)."""
        for key in keys:
            if not self._limiter.hit(self._limit, *key):
                raise Throttling(
                    f"too many sign-in attempts; at most {self._rate} are allowed {self._per}, "
                    "try again later",
                    code="TooManyRequestsException",
                )
