"""Service key records cached per process under the key generation (ADR 0243).

Every object PUT decides its data key on the bucket key's record (state, key policy, bound
resource, current version): one read per PUT. A counter that triggers advance in the same
transaction as any change to ``kms_keys`` (``db/_models_key_generation.py``) lets a process
reuse a record while the counter is unchanged. The counter is read *before* the record, so an
entry is never tagged newer than it is; inside a request's generation snapshot it costs nothing
(the PUT's token read fetched it, ADR 0241). A disabled key, a changed key policy, a rotation or
a scheduled deletion — by any process — advances the counter, so the next request reads the row
again. A key that is not found is never cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from lakevault.db import Database
from lakevault.keys._records import KeyRecord, load_service_record


class ServiceRecordCache:
    """An LRU of ``key id -> KeyRecord`` valid while the key generation is unchanged."""

    def __init__(self, database: Database, *, region: str, size: int = 4096) -> None:
        self._database = database
        self._region = region
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, KeyRecord]] = OrderedDict()

    def get(self, key_id: str) -> KeyRecord:
        """The key's record as of a generation read now (or in the request's snapshot)."""
        generation = self._database.generation("key_generation")
        if generation is not None:
            with self._lock:
                cached = self._entries.get(key_id)
                if cached is not None and cached[0] == generation:
                    self._entries.move_to_end(key_id)
                    return cached[1]
        record = load_service_record(self._database, key_id, region=self._region)
        if generation is not None:
            with self._lock:
                self._entries[key_id] = (generation, record)
                self._entries.move_to_end(key_id)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return record
