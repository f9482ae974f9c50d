"""Random access to one stored blob, for range reads of whole objects and of multipart parts.

``kms.decrypt_range`` reads the ciphertext it needs through ``read_range``; a blob the metadata
names but the object store no longer has is the one :class:`BackendUnavailable` (restore the
store), never a ``FileNotFoundError`` leaking out of the backend.
"""

from __future__ import annotations

from lakevault.storage._core import StorageCore
from lakevault.storage._errors import BackendUnavailable

#: Plaintext decrypted per random-access window of a range read (a multiple of 16 KiB).
RANGE_WINDOW_BYTES = 4 * 1024 * 1024


def missing_blob(path: str, *, what: str = "an object version") -> BackendUnavailable:
    """The error for the stored bytes of ``what`` missing at ``path``."""
    return BackendUnavailable(
        f"the stored bytes of {what} ({path}) are missing from the object store; restore the "
        "object store from its backup"
    )


class BlobSource:
    """``read_range`` over one blob, for ``kms.decrypt_range``; ``what`` names it in errors."""

    def __init__(self, core: StorageCore, path: str, *, what: str = "an object version") -> None:
        self._core = core
        self._path = path
        self._what = what

    def read_range(self, offset: int, length: int, /) -> bytes:
        try:
            return self._core.backend.read_range(self._path, offset, length)
        except FileNotFoundError as exc:
            raise missing_blob(self._path, what=self._what) from exc
