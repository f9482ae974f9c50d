"""Re-wrapping stored data keys under a key's newest version, resumable after a crash.

After a rotation, new data keys use the new version and old ones keep decrypting under theirs.
``lakevault kms rewrap KEY`` moves the old ones to the newest version — unwrapping each data key
under its old version and wrapping it under the new one, with the same encryption context —
without touching the object data it protects (the data key itself does not change).

The key service does not own the places data keys are stored (storage's object versions,
secrets' versions); each owner implements :class:`DataKeyRegistry`, a small interface to list
the data keys wrapped under old versions of a key and to replace one, compare-and-set. Progress
is kept per (key, registry) in ``kms_rewrap_progress``: a crash at any instant loses at most one
batch's cursor advance, and repeating a batch is harmless (a data key already moved is no longer
listed, and a compare-and-set replace of a changed row does nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lakevault import kms


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredDataKey:
    """One stored wrapped data key. ``reference`` is the registry's stable, ordered id for it."""

    reference: str
    key_id: str
    key_version: int
    wrapped: bytes
    context: kms.EncryptionContext

    def __repr__(self) -> str:
        return (
            f"StoredDataKey(reference={self.reference!r}, key_id={self.key_id!r}, "
            f"key_version={self.key_version}, wrapped=<{len(self.wrapped)} bytes>)"
        )


class DataKeyRegistry(Protocol):
    """Where a service stores wrapped data keys, as the rewrap needs to see it.

    ``name`` identifies the registry in the progress table (``"storage"``, ``"secrets"``).
    ``stored_data_keys`` lists, in ascending ``reference`` order, at most ``limit`` data keys of
    ``key_id`` wrapped under a version below ``below_version`` whose reference is greater than
    ``after``. ``replace_data_key`` stores ``wrapped`` (under ``key_version``) in place of
    ``stored`` only if the row still holds ``stored.wrapped`` and ``stored.key_version``, and
    says whether it did.
    """

    @property
    def name(self) -> str: ...

    def stored_data_keys(
        self, key_id: str, *, below_version: int, after: str, limit: int
    ) -> Sequence[StoredDataKey]: ...

    def replace_data_key(
        self, stored: StoredDataKey, *, key_version: int, wrapped: bytes
    ) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RewrapProgress:
    """Where a rewrap stands: ``is_done`` once no data key below ``target_version`` is left."""

    key_id: str
    registry: str
    target_version: int
    rewrapped: int
    failed: int
    cursor: str
    is_done: bool
