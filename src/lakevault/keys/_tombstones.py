"""The tombstone journal: which keys were crypto-shredded, kept apart from the database.

Destroying a key deletes every wrapped copy of its material from the metadata store and writes
a tombstone row. But a *database backup* taken before the destruction still holds the wrapped
material and no tombstone: restoring it would bring the key back, and with it every object the
tenant meant to destroy. So each destruction is also appended, before the database commits,
to a journal file beside the installation's other key files (``<home>/keys/kms-tombstones``),
which a database restore does not roll back. The key service refuses to unwrap material of any
key named in either place unless the operator sets ``kms_allow_restored_destroyed_keys``.

Format: one JSON object per line, ``{"keyId", "keyArn", "destroyedAt"}``; appended with
``O_APPEND`` and fsynced. Written first (fail closed): if the database commit then fails, the
key is refused although its material still exists — an operator can recover it with the
override; the opposite order could resurrect destroyed material.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path

from lakevault.core.errors import ConfigurationError

JOURNAL_FILE = "kms-tombstones"


def journal_path(home: Path) -> Path:
    return home / "keys" / JOURNAL_FILE


class TombstoneJournal:
    """Append-only record of destroyed key ids; re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[float, int] | None = None
        self._keys: frozenset[str] = frozenset()

    def record(self, *, key_id: str, key_arn: str, destroyed_at: datetime) -> None:
        line = json.dumps(
            {"keyId": key_id, "keyArn": key_arn, "destroyedAt": destroyed_at.isoformat()},
            sort_keys=True,
        )
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, (line + "\n").encode("utf-8"))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def destroyed_keys(self) -> frozenset[str]:
        """Every key id in the journal (empty when there is no journal yet)."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return frozenset()
        seen = (status.st_mtime, status.st_size)
        with self._lock:
            if seen != self._seen:
                self._keys = frozenset(self._read())
                self._seen = seen
            return self._keys

    def _read(self) -> list[str]:
        keys = []
        with self.path.open(encoding="utf-8") as journal:
            for number, line in enumerate(journal, start=1):
                if not line.strip():
                    continue
                try:
                    keys.append(str(json.loads(line)["keyId"]))
                except (ValueError, KeyError, TypeError) as exc:
                    if not line.endswith("\n"):
                        continue  # A torn last line of a crash mid-append: not yet committed.
                    raise ConfigurationError(
                        f"line {number} of the KMS tombstone journal {self.path} is damaged; "
                        "restore the file from its backup (never delete it: it is what keeps "
                        "destroyed keys destroyed)"
                    ) from exc
        return keys
