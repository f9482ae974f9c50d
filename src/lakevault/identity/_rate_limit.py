"""Rate limits on password and code checks and on federated sign-ins (the ``limits`` package,
moving window).

Each check counts against the client's address and against the user name it names, whether or
not that user exists, so that the limit itself tells nothing about who exists and an argon2
verification (tens of milliseconds of CPU) cannot be requested without bound. The platform
counts in the metadata database by default (``database://``, ``_rate_limit_store.py``), so the
limit holds across HTTP processes and servers (ADR 0268); any ``limits`` storage URI
(``memory://`` per process, ``redis://``...) may be configured instead. The window is measured on
the real clock by ``limits``.
"""

from __future__ import annotations

from limits import parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from lakevault.core.errors import ConfigurationError, Throttling
from lakevault.db import Database
from lakevault.identity._rate_limit_store import DATABASE_STORAGE_URL, DatabaseWindows


def limits_storage(url: str, database: Database) -> Storage:
    """The store ``rate_limit_storage_url`` names: ``database://`` is the metadata database;
    anything else a ``limits`` storage URI."""
    if url == DATABASE_STORAGE_URL:
        return DatabaseWindows(database)
    try:
        storage = storage_from_string(url)
    except Exception as exc:  # limits raises ConfigurationError, ImportError, ValueError...
        # Only the error's type: its text may repeat the URL, which may hold a password.
        raise ConfigurationError(
            f"rate_limit_storage_url cannot be used ({type(exc).__name__}); set it to "
            f"{DATABASE_STORAGE_URL!r} (the metadata database), 'memory://' or a 'limits' "
            "storage URI whose client library is installed"
        ) from exc
    if not isinstance(storage, Storage):  # an async storage (``async+...``)
        raise ConfigurationError(
            "rate_limit_storage_url names an asynchronous 'limits' storage "
            f"({url.split(':', maxsplit=1)[0]}); use its synchronous form"
        )
    return storage


class AttemptLimiter:
    """Allows ``rate`` (e.g. ``"20/minute"``) attempts per key; raises ``Throttling`` beyond.

    ``per`` says in the error what the keys count (the user pool counts per client and per
    user name; federation per client).
    """

    def __init__(
        self,
        rate: str,
        *,
        storage: Storage | None = None,
        per: str = "per client and per user name",
    ) -> None:
        """``storage`` defaults to this process's memory (:func:`limits_storage` for others)."""
        self._limit = parse(rate)
        self._limiter = MovingWindowRateLimiter(storage if storage is not None else MemoryStorage())
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
