"""C2SP signed notes with Ed25519: format, sign, parse, verify. Pure: no files, no clock.

A signed note (https://c2sp.org/signed-note) is a UTF-8 text ending in a newline, a blank line,
then one line per signature: ``— <key name> <base64(key ID || signature)>``. The key ID is the
first four bytes of ``SHA-256(key name || "\\n" || 0x01 || public key)``, where ``0x01`` is the
Ed25519 signature type, and the signature covers the text (with its final newline) exactly.

Keys are written in the note ecosystem's own strings, so Go's ``golang.org/x/mod/sumdb/note``
and other C2SP tools read them:

* verifier key ``<name>+<key ID hex>+<base64(0x01 || public key)>``;
* signer key ``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || 32-byte seed)>``.

.. warning:: :class:`NoteSigner` holds private key material. It never shows it in ``repr``;
   only :func:`lakevault.audit` key-file code (``_keys.py``) turns it into text, for the key
   file with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lakevault.audit._errors import InvalidCheckpoint

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_MAX_SIGNATURES = 100


def key_id(name: str, public_key: bytes) -> bytes:
    """The four-byte key ID of an Ed25519 note key (C2SP signed-note, "Signatures")."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise InvalidCheckpoint(
            f"note key name {name!r} is not allowed: it must be non-empty and contain no "
            "spaces, newlines or '+'; for example lakevault-audit"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteVerifier:
    """An Ed25519 public key with its note name: checks signatures on notes."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            raise InvalidCheckpoint(
                f"note verifier key {self.name}: an Ed25519 public key is 32 bytes, "
                f"got {len(self.public_key)}"
            )

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return (self.key_id.hex(),)

    @property
    def verifier_key(self) -> str:
        """The key as a C2SP verifier-key string (safe to publish)."""
        encoded = base64.b64encode(ED25519_TYPE + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_verifier_key(cls, text: str) -> NoteVerifier:
        """Parse a verifier-key string; raise ``InvalidCheckpoint`` if it is malformed."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise InvalidCheckpoint(
                "a note verifier key has the form <name>+<key id hex>+<base64 key>; got "
                f"{len(parts)} '+'-separated parts"
            )
        name, id_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            declared = bytes.fromhex(id_hex)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCheckpoint(
                f"note verifier key {name!r}: the key id or key is not valid hex/base64"
            ) from exc
        if raw[:1] != ED25519_TYPE:
            raise InvalidCheckpoint(
                f"note verifier key {name!r} is not an Ed25519 key (type byte 0x01)"
            )
        verifier = cls(name=name, public_key=raw[1:])
        if verifier.key_id != declared:
            raise InvalidCheckpoint(
                f"note verifier key {name!r}: its key id {id_hex} does not match the key"
            )
        return verifier

    def verify(self, note: bytes) -> bytes:
        """Return the note's text if a signature by this key verifies; raise otherwise.

        Signatures by other keys are skipped, as the signed-note spec requires. Every failure is
        ``InvalidCheckpoint`` with the reason.
        """
        text, signatures = split_note(note)
        public = Ed25519PublicKey.from_public_bytes(self.public_key)
        wanted = self.key_id
        for name, blob in signatures:
            if name != self.name or blob[:4] != wanted:
                continue
            try:
                public.verify(blob[4:], text)
            except InvalidSignature as exc:
                raise InvalidCheckpoint(
                    f"the signature by key {self.name} does not verify: the note was changed "
                    "after it was signed, or was signed by another key of the same name"
                ) from exc
            return text
        raise InvalidCheckpoint(f"the note carries no signature by the trusted key {self.name}")


class Verifier(Protocol):
    """What checks a signed note: one key (:class:`NoteVerifier`) or a keyring."""

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The hex key IDs this verifier trusts."""
        ...

    def verify(self, note: bytes) -> bytes:
        """The note's text if a trusted signature verifies; ``InvalidCheckpoint`` otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class NoteVerifiers:
    """A keyring: the current checkpoint key and every retired one (docs/decisions/0203).

    After a signing-key rotation, checkpoints signed by the retired key must still verify, so
    an installation (and every export) carries every public key it ever signed with. A note
    verifies if a signature by any of these keys does; a signature by a key of the ring that
    does not verify fails (a changed note), as with one key.
    """

    keys: tuple[NoteVerifier, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise InvalidCheckpoint("a keyring needs at least one verifier key")

    @classmethod
    def from_text(cls, text: str) -> NoteVerifiers:
        """One C2SP verifier key per line (blank lines ignored), oldest first."""
        keys = [NoteVerifier.from_verifier_key(line) for line in text.splitlines() if line.strip()]
        unique = tuple(dict.fromkeys(keys))
        return cls(unique)

    def text(self) -> str:
        return "".join(key.verifier_key + "\n" for key in self.keys)

    def with_key(self, key: NoteVerifier) -> NoteVerifiers:
        """This ring plus ``key`` (unchanged if it is already in it)."""
        return self if key in self.keys else NoteVerifiers((*self.keys, key))

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key.key_id.hex() for key in self.keys)

    def verify(self, note: bytes) -> bytes:
        """Return the note's text if a signature by a key of the ring verifies; raise otherwise."""
        _, signatures = split_note(note)
        for name, blob in signatures:
            for key in self.keys:
                if key.name == name and blob[:4] == key.key_id:
                    return key.verify(note)
        raise InvalidCheckpoint(
            "the note carries no signature by a trusted key (trusted key ids: "
            f"{', '.join(self.key_ids)})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteSigner:
    """An Ed25519 private key with its note name. ``repr`` shows only the name and key ID."""

    name: str
    _private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_key_name(self.name)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A new key from the operating system's CSPRNG (through pyca/cryptography)."""
        return cls(name=name, _private_key=Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_key(cls, text: str) -> NoteSigner:
        """Parse a ``PRIVATE+KEY+...`` string. The error never echoes the text."""
        if not text.startswith(_PRIVATE_PREFIX):
            raise InvalidCheckpoint("a note signer key starts with PRIVATE+KEY+")
        parts = text.strip()[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise InvalidCheckpoint("a note signer key has the form PRIVATE+KEY+<name>+<id>+<key>")
        name, id_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise InvalidCheckpoint(f"the note signer key {name!r} is not valid base64") from exc
        if raw[:1] != ED25519_TYPE or len(raw) != 33:
            raise InvalidCheckpoint(f"the note signer key {name!r} is not an Ed25519 seed")
        signer = cls(name=name, _private_key=Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != id_hex:
            raise InvalidCheckpoint(f"the note signer key {name!r}: key id does not match")
        return signer

    def signer_key_text_unsafe(self) -> str:
        """The private key as a ``PRIVATE+KEY+...`` string: only for writing the key file."""
        seed = self._private_key.private_bytes_raw()
        encoded = base64.b64encode(ED25519_TYPE + seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    @property
    def verifier(self) -> NoteVerifier:
        public = self._private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return NoteVerifier(name=self.name, public_key=public)

    def sign(self, text: bytes) -> bytes:
        """The signed note: ``text``, a blank line and this key's signature line."""
        check_note_text(text)
        verifier = self.verifier
        blob = verifier.key_id + self._private_key.sign(text)
        line = f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"
        return text + b"\n" + line.encode("utf-8")


def check_note_text(text: bytes) -> None:
    """Raise unless ``text`` may be the text of a note: UTF-8, ends in a newline, no controls."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCheckpoint("a note's text must be UTF-8") from exc
    if not decoded.endswith("\n"):
        raise InvalidCheckpoint("a note's text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise InvalidCheckpoint("a note's text must not contain control characters")


def split_note(note: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split a signed note into its text and its ``(key name, key ID || signature)`` pairs."""
    separator = note.rfind(b"\n\n")
    if separator < 0:
        raise InvalidCheckpoint("a signed note has a blank line between text and signatures")
    text, lines = note[: separator + 1], note[separator + 2 :]
    check_note_text(text)
    if not lines.endswith(b"\n"):
        raise InvalidCheckpoint("a signed note ends with a newline after its last signature")
    try:
        signature_lines = lines.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError as exc:
        raise InvalidCheckpoint("the signature lines of a note must be UTF-8") from exc
    signatures: list[tuple[str, bytes]] = []
    for line in signature_lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise InvalidCheckpoint("every line after the blank line must be a signature line")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise InvalidCheckpoint(f"the signature by {name} is not valid base64") from exc
        if not name or len(blob) < 5:
            raise InvalidCheckpoint("a signature line needs a key name and a key ID + signature")
        signatures.append((name, blob))
    if not signatures or len(signatures) > _MAX_SIGNATURES:
        raise InvalidCheckpoint(
            f"a signed note carries 1 to {_MAX_SIGNATURES} signatures, got {len(signatures)}"
        )
    return text, signatures
