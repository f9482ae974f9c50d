"""The plaintext data key: the one object in lakevault that holds raw object-key bytes.

.. warning::

   Hazardous material. A :class:`PlaintextDataKey` holds the key that decrypts one object
   version. It exists only in the memory of the process serving an allowed request (DESIGN.md
   principle 3). Its bytes are readable only inside ``kms/_primitives``; everything else passes
   the object around opaquely. It never prints, pickles or compares by value.
"""

from __future__ import annotations

from typing import NoReturn

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidParameterValue

#: AES-256: the object format's data keys are 32 bytes (docs/decisions/0090).
DATA_KEY_BYTES = 32

_CONSTRUCTION_TOKEN = object()


class PlaintextDataKey:
    """An unwrapped AES-256 data key, opaque outside ``kms/_primitives``.

    .. warning::

       Holds plaintext key material. Get one from :meth:`generate` or from the key hierarchy's
       unwrap step; never build one from bytes that came from a request, a log or a file.

    ``repr`` names the field and never the value; equality is identity (no ``==`` on secrets);
    pickling is refused so the key never crosses a process boundary by accident. The plain
    constructor refuses to run: the two ways in are named for what they do.
    """

    __slots__ = ("_material",)

    _material: bytes

    def __init__(self, material: bytes, token: object = None) -> None:
        if token is not _CONSTRUCTION_TOKEN:
            raise TypeError(
                "use PlaintextDataKey.generate(random) or "
                "PlaintextDataKey.from_unwrapped_bytes_unsafe(material)"
            )
        if len(material) != DATA_KEY_BYTES:
            raise InvalidParameterValue(
                f"a data key must be {DATA_KEY_BYTES} bytes (AES-256), got {len(material)} bytes"
            )
        self._material = bytes(material)

    @classmethod
    def generate(cls, random: RandomSource) -> PlaintextDataKey:
        """Draw a fresh data key from ``random`` (pass ``lakevault.core.SystemRandom()``)."""
        return cls(random.token_bytes(DATA_KEY_BYTES), _CONSTRUCTION_TOKEN)

    @classmethod
    def from_unwrapped_bytes_unsafe(cls, material: bytes) -> PlaintextDataKey:
        """Adopt key bytes that the key hierarchy has just unwrapped.

        .. warning::

           Only the unwrap step of the key hierarchy may call this. The bytes must be uniformly
           random (the C2SP construction requires it), which holds for a key this module
           generated and the hierarchy wrapped. Raises ``InvalidParameterValue`` when the
           length is not 32 bytes.
        """
        return cls(material, _CONSTRUCTION_TOKEN)

    def __repr__(self) -> str:
        return "PlaintextDataKey(<256-bit key, redacted>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a PlaintextDataKey cannot be pickled: key material stays in memory")


def data_key_material_unsafe(data_key: PlaintextDataKey) -> bytes:
    """The raw bytes of a data key, for the key hierarchy's wrap step inside ``kms`` only.

    .. warning::

       Hazardous: whoever holds these bytes can decrypt the object. Never log, return or store
       them unwrapped; wrap them and drop the reference.
    """
    return data_key._material
