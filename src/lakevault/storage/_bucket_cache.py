"""What a request needs of a bucket, cached per process under the storage generation.

Every object request loaded its bucket (owner, KMS key, versioning, policy, tags, public
access) and, for a write, its streaming limit: two ORM read sessions per PUT. Both now come from
a per-process cache whose entries are tagged with the storage generation they were loaded
under: a counter that database triggers advance in the same transaction as any change to
``storage_buckets`` or ``storage_bucket_limits`` (migration ``z001``,
ADR 0177). Each lookup reads the counter (one indexed row on
the raw driver path); an entry loaded under another value is reloaded. A bucket deleted, its
policy changed, its limit lowered — in this process or any other — applies to the very next
request. An entry is tagged with the generation read *before* loading it, so it is never
tagged newer than it is. A missing counter row (never on a migrated database) caches nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from lakevault.db import Database

_Value = TypeVar("_Value")


class GenerationCache(Generic[_Value]):
    """An LRU of ``name -> value`` valid while the storage generation is unchanged.

    ``load(name)`` produces a value (or raises: nothing is cached then, so a missing bucket is
    looked up again by the next request).
    """

    def __init__(
        self, database: Database, *, load: Callable[[str], _Value], size: int = 4096
    ) -> None:
        self._database = database
        self._load = load
        self._size = size
        self._entries: OrderedDict[str, tuple[int, _Value]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> _Value:
        generation = self._generation()
        if generation is not None:
            with self._lock:
                cached = self._entries.get(name)
                if cached is not None and cached[0] == generation:
                    self._entries.move_to_end(name)
                    return cached[1]
        value = self._load(name)
        if generation is not None:
            with self._lock:
                self._entries[name] = (generation, value)
                self._entries.move_to_end(name)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return value

    def _generation(self) -> int | None:
        # Read now, or once per request inside a generation snapshot (ADR 0241).
        return self._database.generation("storage_generation")
