"""A key file wrapped by a passphrase: argon2id stretches it, AES-256-GCM seals the key.

Used for the platform root key (``root_key_provider = "local"``) and for a tenant key agent's
root key. A plain key file is exactly 32 bytes; a wrapped one is longer and starts with
:data:`MAGIC`, so the loader tells them apart without a setting. Format (version 1)::

    magic "LVKEYPW" (7) ‖ version 1 (1) ‖ argon2id time cost (u32) ‖ memory KiB (u32)
    ‖ parallelism (u8) ‖ salt (16) ‖ nonce (12) ‖ AES-256-GCM(key) (32) ‖ tag (16)

Everything before the nonce is the header; it is the GCM associated data, so a file whose cost
parameters were lowered does not open. The argon2id parameters are RFC 9106's second
recommended option (t=3, 64 MiB, p=4): about a quarter of a second here, once per start.

A wrong passphrase and a damaged file are one :class:`~lakevault.core.errors.ConfigurationError`
saying the passphrase does not open the file: GCM cannot tell them apart, and neither should we.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from lakevault.core import RandomSource
from lakevault.core.errors import ConfigurationError
from lakevault.kms._errors import IntegrityError
from lakevault.kms._primitives import NONCE_BYTES, TAG_BYTES, AESGCMCipher

MAGIC = b"LVKEYPW"
FORMAT_VERSION = 1
SALT_BYTES = 16
WRAPPED_KEY_BYTES = 32
#: The shortest passphrase accepted when wrapping (a key file is only as strong as this).
MIN_PASSPHRASE_CHARACTERS = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Argon2Cost:
    """argon2id cost parameters; the defaults are RFC 9106's second recommended option."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


_HEADER_BYTES = len(MAGIC) + 1 + 4 + 4 + 1 + SALT_BYTES
_FILE_BYTES = _HEADER_BYTES + NONCE_BYTES + WRAPPED_KEY_BYTES + TAG_BYTES
#: Floors that a file's own parameters must meet, so a tampered file cannot make opening cheap.
_MIN_COST = Argon2Cost(time_cost=1, memory_kib=8 * 1024, parallelism=1)


def is_passphrase_wrapped(data: bytes) -> bool:
    """Whether ``data`` (a key file's bytes) is a passphrase-wrapped key."""
    return len(data) != WRAPPED_KEY_BYTES and data.startswith(MAGIC)


def _stretch(passphrase: str, salt: bytes, cost: Argon2Cost) -> bytes:
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=salt,
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=cost.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def wrap_with_passphrase(
    key: bytes, passphrase: str, *, random: RandomSource, cost: Argon2Cost | None = None
) -> bytes:
    """The key file bytes holding ``key`` sealed under ``passphrase``.

    Raises ``ConfigurationError`` for a passphrase shorter than
    :data:`MIN_PASSPHRASE_CHARACTERS` characters.
    """
    if len(passphrase) < MIN_PASSPHRASE_CHARACTERS:
        raise ConfigurationError(
            f"a key passphrase needs at least {MIN_PASSPHRASE_CHARACTERS} characters; the one "
            f"given has {len(passphrase)}"
        )
    if len(key) != WRAPPED_KEY_BYTES:
        raise ConfigurationError(
            f"only a {WRAPPED_KEY_BYTES}-byte key can be wrapped; this one has {len(key)} bytes"
        )
    cost = cost if cost is not None else Argon2Cost()
    salt = random.token_bytes(SALT_BYTES)
    header = b"".join(
        (
            MAGIC,
            bytes([FORMAT_VERSION]),
            cost.time_cost.to_bytes(4, "big"),
            cost.memory_kib.to_bytes(4, "big"),
            bytes([cost.parallelism]),
            salt,
        )
    )
    nonce = random.token_bytes(NONCE_BYTES)
    sealed = AESGCMCipher(_stretch(passphrase, salt, cost)).seal(nonce, key, header)
    return header + nonce + sealed


def unwrap_with_passphrase(data: bytes, passphrase: str, *, source: str) -> bytes:
    """The key inside a file made by :func:`wrap_with_passphrase`.

    Raises ``ConfigurationError`` naming ``source`` when the file is malformed, its cost
    parameters are below the floor, or the passphrase does not open it.
    """
    if len(data) != _FILE_BYTES or not data.startswith(MAGIC):
        raise ConfigurationError(
            f"the key file {source} is not a passphrase-wrapped key of this version "
            f"({len(data)} bytes, expected {_FILE_BYTES}); restore it from your key backup"
        )
    offset = len(MAGIC)
    if data[offset] != FORMAT_VERSION:
        raise ConfigurationError(
            f"the key file {source} has wrapping format {data[offset]}; this version of "
            f"lakevault reads format {FORMAT_VERSION}"
        )
    cost = Argon2Cost(
        time_cost=int.from_bytes(data[offset + 1 : offset + 5], "big"),
        memory_kib=int.from_bytes(data[offset + 5 : offset + 9], "big"),
        parallelism=data[offset + 9],
    )
    if (
        cost.time_cost < _MIN_COST.time_cost
        or cost.memory_kib < _MIN_COST.memory_kib
        or cost.parallelism < _MIN_COST.parallelism
        or cost.memory_kib > 4 * 1024 * 1024
        or cost.time_cost > 64
    ):
        raise ConfigurationError(
            f"the key file {source} names argon2id costs outside the accepted range; it was "
            "altered or made by another program: restore it from your key backup"
        )
    salt = data[offset + 10 : _HEADER_BYTES]
    nonce = data[_HEADER_BYTES : _HEADER_BYTES + NONCE_BYTES]
    cipher = AESGCMCipher(_stretch(passphrase, salt, cost))
    try:
        return cipher.open(nonce, data[_HEADER_BYTES + NONCE_BYTES :], data[:_HEADER_BYTES])
    except IntegrityError as exc:
        raise ConfigurationError(
            f"the passphrase does not open the key file {source} (wrong passphrase, or the file "
            "is damaged); give the right passphrase (root_key_passphrase or the prompt) or "
            "restore the file from your key backup"
        ) from exc
