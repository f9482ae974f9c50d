"""The platform root key: where it lives, how it is loaded, what is derived from it.

Providers (``root_key_provider``):

* ``local`` — 32 random bytes in ``LAKEVAULT_HOME/keys/platform-root.key``, mode 0600, created
  by ``lakevault init`` and never overwritten. Back it up apart from the database: without it
  the secrets derived from it (access keys, temporary credentials) are gone, and with it alone
  the database's secrets are not readable.
* ``env`` — base64 of 32 bytes in ``LAKEVAULT_ROOT_KEY``, for deployments whose secret store
  injects it.

The platform refuses to start when the configured key is missing or malformed. Vault/OpenBao
transit, AWS KMS and passphrase wrapping are issue #5.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from lakevault.core import RandomSource, RootKeyProvider, Settings, write_atomically
from lakevault.core.errors import ConfigurationError
from lakevault.kms._primitives._derivation import ROOT_KEY_BYTES, derive_bytes

ROOT_KEY_FILE = "platform-root.key"


def root_key_path(home: Path) -> Path:
    return home / "keys" / ROOT_KEY_FILE


class PlatformRootKey:
    """The root key in memory. Its bytes never leave this object; ``repr`` shows none."""

    __slots__ = ("_key", "source")

    def __init__(self, key: bytes, *, source: str) -> None:
        if len(key) != ROOT_KEY_BYTES:
            raise ConfigurationError(
                f"the platform root key from {source} must be {ROOT_KEY_BYTES} bytes; it has "
                f"{len(key)}"
            )
        self._key = key
        self.source = source

    def __repr__(self) -> str:
        return f"PlatformRootKey(source={self.source!r})"

    def derive_secret(self, *, purpose: str, identifier: str) -> str:
        """A 40-character secret (240 bits, URL-safe base64) that only this key can produce.

        Deterministic: the same purpose and identifier always give the same secret, so such
        secrets are never stored — the database keeps only who they belong to.
        """
        raw = derive_bytes(self._key, purpose=purpose, identifier=identifier, length=30)
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def load(cls, settings: Settings) -> PlatformRootKey:
        """Load the configured root key; raise ``ConfigurationError`` saying how to fix it."""
        if settings.root_key_provider is RootKeyProvider.ENV:
            if settings.root_key is None:
                raise ConfigurationError(
                    "root_key_provider is 'env' but LAKEVAULT_ROOT_KEY is not set; set it to "
                    "the base64 of 32 random bytes (openssl rand -base64 32)"
                )
            try:
                key = base64.b64decode(settings.root_key.get_secret_value(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ConfigurationError(
                    "LAKEVAULT_ROOT_KEY is not valid base64; set it to the base64 of 32 random "
                    "bytes (openssl rand -base64 32)"
                ) from exc
            return cls(key, source="LAKEVAULT_ROOT_KEY")
        path = root_key_path(settings.resolved_home)
        try:
            key = path.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"the platform root key file {path} is missing; restore it from your key "
                "backup, or run 'lakevault init' for a new installation"
            ) from exc
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the platform root key file {path} ({exc.strerror}); check its "
                "owner and mode (0600)"
            ) from exc
        return cls(key, source=str(path))


def ensure_root_key(settings: Settings, random: RandomSource) -> bool:
    """Create the local root key file if the local provider is used and it does not exist.

    Returns whether a key was created. An existing file is never touched.
    """
    if settings.root_key_provider is not RootKeyProvider.LOCAL:
        return False
    path = root_key_path(settings.resolved_home)
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(path, random.token_bytes(ROOT_KEY_BYTES), mode=0o600)
    return True
