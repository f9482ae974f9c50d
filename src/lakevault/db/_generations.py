"""The request's generation snapshot: the cache generations read once, on the request's first read.

The policy generation (ADR 0168), the storage generation (ADR 0177) and the key generation
(ADR 0243) tag the per-process caches of policies, bucket state and service key records; each
request used to read each counter on its own, and a 4 KiB PUT read two of them in separate
statements besides its token lookup. Inside a
:func:`generation_snapshot` the counters are read at most once per database: piggybacked on
the request's first ``fetch_one(..., with_generations=True)`` (the token lookup), or else in one
statement at the first :meth:`Database.generation` call, and served from the snapshot after
that (ADR 0241).

Why that is as correct as reading each counter when it is needed: every value in the snapshot
was read after the request began, so every change committed before the request began is seen,
in every process. A change committed while the request runs may be missed by it — as it could
be before, between the storage generation's read and the policy generation's. A cache entry
loaded later in the request is tagged with the snapshot's older value, never a newer one, so
the next request that reads a newer counter reloads it.

What the snapshot must never span: a write, inside the block, to a table that advances a
generation (a bucket's settings, a user or policy) followed by a read of a cache — the block
would serve the value from before its own write. Open it only around a request that writes no
such table (an object PUT writes versions, journal rows and events, none of them watched).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

#: The counters, in the order the snapshot holds them.
Generation = Literal["policy_generation", "storage_generation", "key_generation"]
NAMES: tuple[Generation, ...] = ("policy_generation", "storage_generation", "key_generation")

#: The columns appended to a piggybacking read, one per counter, in :data:`NAMES` order.
COLUMNS = (
    "(SELECT value FROM policy_generation WHERE id = 1), "
    "(SELECT value FROM storage_generation WHERE id = 1), "
    "(SELECT value FROM key_generation WHERE id = 1)"
)

#: One counter alone (outside a snapshot) and all at once (inside one).
ONE_SQL: dict[Generation, str] = {
    "policy_generation": "SELECT value FROM policy_generation WHERE id = 1",
    "storage_generation": "SELECT value FROM storage_generation WHERE id = 1",
    "key_generation": "SELECT value FROM key_generation WHERE id = 1",
}
ALL_SQL = "SELECT " + COLUMNS

#: Per database (by identity) of the current block: the counters, once read.
_SNAPSHOT: ContextVar[dict[int, tuple[int | None, ...]] | None] = ContextVar(
    "lakevault_generation_snapshot", default=None
)


@contextmanager
def generation_snapshot() -> Iterator[None]:
    """Read each generation at most once inside the block (see the module's rules)."""
    token = _SNAPSHOT.set({})
    try:
        yield
    finally:
        _SNAPSHOT.reset(token)


def wanted(database: object) -> dict[int, tuple[int | None, ...]] | None:
    """The open snapshot still missing ``database``'s counters, else ``None``."""
    snapshot = _SNAPSHOT.get()
    if snapshot is None or id(database) in snapshot:
        return None
    return snapshot


def taken(database: object) -> tuple[int | None, ...] | None:
    """``database``'s counters from the open snapshot, if it holds them."""
    snapshot = _SNAPSHOT.get()
    return None if snapshot is None else snapshot.get(id(database))


def piggybacked(sql: str) -> str:
    """``sql`` (one row) with the counters appended as its last columns."""
    # ``sql`` is the caller's own constant statement (values are bound parameters).
    return f"SELECT q.*, {COLUMNS} FROM ({sql}) AS q"  # noqa: S608


def counters(values: tuple[Any, ...]) -> tuple[int | None, ...]:
    return tuple(None if value is None else int(value) for value in values)
