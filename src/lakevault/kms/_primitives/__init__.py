"""The hazardous layer of kms: AEAD calls, key bytes, key derivation and nonces.

.. warning::

   Imported only by ``lakevault.kms`` (STYLE.md §1, modelled on pyca/cryptography's ``hazmat``).
   Everything here assumes its caller upholds nonce uniqueness and keeps key objects private.
"""

from lakevault.kms._primitives._aead import AES_KEY_BYTES, NONCE_BYTES, TAG_BYTES, AESGCMCipher
from lakevault.kms._primitives._chunked import (
    CHUNK_CIPHERTEXT_BYTES,
    CHUNK_PLAINTEXT_BYTES,
    COMMITMENT_BYTES,
    MAX_CHUNKS,
    OBJECT_SUITE,
    PREFIX_BYTES,
    SALT_BYTES,
    ChunkCipher,
    ChunkedSuite,
    begin_decryption,
    begin_encryption,
    encrypted_length,
    plaintext_length,
)
from lakevault.kms._primitives._keys import (
    DATA_KEY_BYTES,
    PlaintextDataKey,
    data_key_material_unsafe,
)

__all__ = [
    "AES_KEY_BYTES",
    "CHUNK_CIPHERTEXT_BYTES",
    "CHUNK_PLAINTEXT_BYTES",
    "COMMITMENT_BYTES",
    "DATA_KEY_BYTES",
    "MAX_CHUNKS",
    "NONCE_BYTES",
    "OBJECT_SUITE",
    "PREFIX_BYTES",
    "SALT_BYTES",
    "TAG_BYTES",
    "AESGCMCipher",
    "ChunkCipher",
    "ChunkedSuite",
    "PlaintextDataKey",
    "begin_decryption",
    "begin_encryption",
    "data_key_material_unsafe",
    "encrypted_length",
    "plaintext_length",
]
