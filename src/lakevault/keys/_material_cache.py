"""A short-lived in-memory cache of unwrapped KMS key material.

Unwrapping a key version's material costs an HKDF and an AES-GCM open with the platform tenant
level, but a network round trip to the tenant's key agent in operator-blind mode. Every key use
(each object PUT and GET) needs the material, so it is kept in memory for a short while.

Why the TTL is short (default 60 s) and why it is safe:

* Every use still reads the key's row (state, policy, grants) from the metadata store first, so
  disabling, scheduling deletion of, or destroying a key takes effect at once in every process,
  cached material or not.
* The TTL bounds how long material lingers in memory after its last use, and how long a process
  keeps working after a tenant stops its key agent (operator-blind mode: stopping the agent must
  stop decryption within a minute).
* The cache is per process and never written anywhere; entries are dropped on disable,
  deletion and destruction in the process that made the change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lakevault import kms

DEFAULT_MATERIAL_TTL_SECONDS = 60.0
_MAX_ENTRIES = 10_000


class MaterialCache:
    """(key id, version) → material, each entry living at most ``ttl_seconds``."""

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_MATERIAL_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._entries: dict[tuple[str, int], tuple[kms.KMSKeyMaterial, float]] = {}
        self._lock = threading.Lock()

    def get(
        self, key_id: str, version: int, load: Callable[[], kms.KMSKeyMaterial]
    ) -> kms.KMSKeyMaterial:
        """The cached material, or ``load()``'s (cached when ``ttl_seconds`` is positive)."""
        now = self._monotonic()
        entry = self._entries.get((key_id, version))
        if entry is not None and entry[1] > now:
            return entry[0]
        material = load()
        if self._ttl > 0:
            with self._lock:
                if len(self._entries) >= _MAX_ENTRIES:
                    self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
                    if len(self._entries) >= _MAX_ENTRIES:
                        self._entries.clear()
                self._entries[(key_id, version)] = (material, now + self._ttl)
        return material

    def forget_key(self, key_id: str) -> None:
        """Drop every version of ``key_id`` (on disable, deletion, destruction)."""
        with self._lock:
            for cached in [k for k in self._entries if k[0] == key_id]:
                del self._entries[cached]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
