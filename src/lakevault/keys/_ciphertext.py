"""The ciphertext blob of ``Encrypt`` and ``GenerateDataKey``: it names its key and version.

Like AWS KMS's, a blob carries what ``Decrypt`` needs to find the key, so callers store only the
blob. Layout (version 1)::

    "LVK" ‖ 0x01 ‖ u8 len(key id) ‖ key id (ASCII) ‖ u32 key version ‖ nonce ‖ ciphertext ‖ tag

The key id and version are not secret; the body is bound to them (and to the encryption
context) as associated data by ``kms.KMSKeyMaterial``, so a blob relabelled with another key or
version does not decrypt. A malformed blob is ``InvalidCiphertextException``.
"""

from __future__ import annotations

from lakevault import kms

_MAGIC = b"LVK\x01"


def encode_blob(key_id: str, key_version: int, body: bytes) -> bytes:
    encoded = key_id.encode("ascii")
    return _MAGIC + bytes([len(encoded)]) + encoded + key_version.to_bytes(4, "big") + body


def decode_blob(blob: bytes) -> tuple[str, int, bytes]:
    """(key id, key version, body); ``kms.IntegrityError`` for anything malformed."""
    if len(blob) < len(_MAGIC) + 1 or blob[: len(_MAGIC)] != _MAGIC:
        raise kms.IntegrityError(kms.IntegrityFailure.MALFORMED_HEADER)
    length = blob[len(_MAGIC)]
    start = len(_MAGIC) + 1
    if len(blob) < start + length + 4:
        raise kms.IntegrityError(kms.IntegrityFailure.MALFORMED_HEADER)
    try:
        key_id = blob[start : start + length].decode("ascii")
    except UnicodeDecodeError as exc:
        raise kms.IntegrityError(kms.IntegrityFailure.MALFORMED_HEADER) from exc
    version = int.from_bytes(blob[start + length : start + length + 4], "big")
    return key_id, version, blob[start + length + 4 :]
