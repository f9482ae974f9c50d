"""The encryption context: the non-secret names a ciphertext is bound to.

As in AWS KMS, an encryption context is a map of strings to strings. It is not secret (it is
recorded in audit events and usable in policy conditions) but it must match exactly for a
decryption to succeed. An object version's context names the tenant, the bucket, the key and the
version id (:meth:`EncryptionContext.for_object`).

Canonical serialisation (version 1), the input of the SHA-256 stored in an object header::

    "lakevault.kms/encryption-context/v1" ‖ 0x00
    ‖ u32(number of pairs)
    ‖ for each pair, in ascending order of the name's UTF-8 bytes:
          u32(len(name)) ‖ name ‖ u32(len(value)) ‖ value

where ``u32`` is a 4-byte big-endian unsigned integer and names and values are UTF-8. Lengths
make the encoding injective (no separator can be forged inside a value); sorting makes it
independent of insertion order. No Unicode normalisation is applied: two spellings of a name
that differ in code points are different contexts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from lakevault.core.errors import InvalidParameterValue

_DOMAIN = b"lakevault.kms/encryption-context/v1\x00"
_MAX_FIELD_BYTES = 2**16


def _utf8(text: str, *, name: str | None) -> bytes:
    """``text`` as UTF-8; ``name`` is the pair's name when ``text`` is its value, ``None`` when
    ``text`` is a name (the error then says "names"). The description is built only for an
    error: this runs four times per object version."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidParameterValue(
            f"encryption context {_field(name)} must be valid Unicode text (it holds a lone "
            "surrogate)"
        ) from exc
    if len(encoded) > _MAX_FIELD_BYTES:
        raise InvalidParameterValue(
            f"encryption context {_field(name)} may be at most {_MAX_FIELD_BYTES} bytes of "
            f"UTF-8, got {len(encoded)} bytes"
        )
    return encoded


def _field(name: str | None) -> str:
    return "names" if name is None else f"value of {name!r}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptionContext:
    """An immutable, canonically ordered map of context names to values.

    Build one with :meth:`from_mapping` or :meth:`for_object`. Raises
    ``InvalidParameterValue`` for an empty name, a non-string, text that is not valid Unicode,
    or a name or value over 64 KiB.
    """

    pairs: tuple[tuple[str, str], ...]
    #: The canonical serialisation, computed once (every key use binds it as associated data).
    _canonical: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded_names = []
        parts = [_DOMAIN, len(self.pairs).to_bytes(4, "big")]
        for name, value in self.pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise InvalidParameterValue("encryption context names and values must be strings")
            if not name:
                raise InvalidParameterValue("encryption context names must not be empty")
            encoded_name = _utf8(name, name=None)
            encoded_value = _utf8(value, name=name)
            encoded_names.append(encoded_name)
            parts += (
                len(encoded_name).to_bytes(4, "big"),
                encoded_name,
                len(encoded_value).to_bytes(4, "big"),
                encoded_value,
            )
        if encoded_names != sorted(set(encoded_names)):
            raise InvalidParameterValue(
                "encryption context pairs must be unique and sorted; build it with from_mapping"
            )
        object.__setattr__(self, "_canonical", b"".join(parts))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> EncryptionContext:
        """Build a context from any mapping, in canonical order."""
        return cls(pairs=tuple(sorted(mapping.items(), key=lambda pair: pair[0].encode())))

    @classmethod
    def for_object(
        cls, *, tenant: str, bucket: str, key: str, version_id: str
    ) -> EncryptionContext:
        """The context of one object version: ``tenant``, ``bucket``, ``key``, ``version-id``.

        The names are fixed, so their canonical order is too; the pairs are given in it rather
        than sorted on every PUT (``__post_init__`` still checks the order and every value).
        """
        return cls(
            pairs=(("bucket", bucket), ("key", key), ("tenant", tenant), ("version-id", version_id))
        )

    def as_dict(self) -> dict[str, str]:
        """The pairs as a plain dict (for audit events and policy condition keys)."""
        return dict(self.pairs)

    def canonical_bytes(self) -> bytes:
        """The canonical serialisation described in the module docstring."""
        return self._canonical

    def sha256(self) -> bytes:
        """SHA-256 of :meth:`canonical_bytes`: what an object header records."""
        return hashlib.sha256(self.canonical_bytes()).digest()
