"""The platform root key: where it lives, how it is loaded, what is derived from it.

Providers (``root_key_provider``; docs/operations.md, "Key ceremony"):

* ``local`` — 32 random bytes in ``LAKEVAULT_HOME/keys/platform-root.key``, mode 0600, created
  by ``lakevault init`` and never overwritten. Optionally wrapped by a passphrase (argon2id and
  AES-256-GCM, ``kms._root_key_passphrase``): ``lakevault init --passphrase`` makes it so, and
  ``lakevault root-key protect`` converts a plain file. Back it up apart from the database:
  without it the secrets derived from it (access keys, temporary credentials) are gone, and
  with it alone the database's secrets are not readable.
* ``env`` — base64 of 32 bytes in ``LAKEVAULT_ROOT_KEY``, for deployments whose secret store
  injects it.
* ``vault`` — wrapped by OpenBao/HashiCorp Vault transit (``keys/platform-root.vault``).
* ``aws-kms`` — wrapped by an AWS KMS key (``keys/platform-root.aws-kms``).

The platform refuses to start when the configured key is missing, malformed, or does not open
(wrong passphrase, wrong external key, unreachable service), with a ``ConfigurationError`` that
says what to fix (``kms._root_key_external`` for the external services).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from lakevault.core import RandomSource, RootKeyProvider, Settings, write_atomically
from lakevault.core.errors import ConfigurationError
from lakevault.kms._primitives._derivation import ROOT_KEY_BYTES, derive_bytes
from lakevault.kms._root_key_external import (
    AWS_KMS_FILE,
    VAULT_FILE,
    create_aws_kms_wrapped_key,
    create_vault_wrapped_key,
    load_aws_kms_root_key,
    load_vault_root_key,
)
from lakevault.kms._root_key_passphrase import (
    is_passphrase_wrapped,
    unwrap_with_passphrase,
    wrap_with_passphrase,
)

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
        home = settings.resolved_home
        match settings.root_key_provider:
            case RootKeyProvider.ENV:
                return cls(_env_key(settings), source="LAKEVAULT_ROOT_KEY")
            case RootKeyProvider.VAULT:
                key, source = load_vault_root_key(settings, home)
                return cls(key, source=source)
            case RootKeyProvider.AWS_KMS:
                key, source = load_aws_kms_root_key(settings, home)
                return cls(key, source=source)
            case RootKeyProvider.LOCAL:
                path = root_key_path(home)
                data = _read_key_file(path)
                if not is_passphrase_wrapped(data):
                    return cls(data, source=str(path))
                if settings.root_key_passphrase is None:
                    raise ConfigurationError(
                        f"the platform root key file {path} is wrapped by a passphrase and none "
                        "was given; set LAKEVAULT_ROOT_KEY_PASSPHRASE, or start 'lakevault "
                        "serve' on a terminal to be asked for it"
                    )
                key = unwrap_with_passphrase(
                    data, settings.root_key_passphrase.get_secret_value(), source=str(path)
                )
                return cls(key, source=f"{path} (passphrase-wrapped)")


def _env_key(settings: Settings) -> bytes:
    if settings.root_key is None:
        raise ConfigurationError(
            "root_key_provider is 'env' but LAKEVAULT_ROOT_KEY is not set; set it to "
            "the base64 of 32 random bytes (openssl rand -base64 32)"
        )
    try:
        return base64.b64decode(settings.root_key.get_secret_value(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(
            "LAKEVAULT_ROOT_KEY is not valid base64; set it to the base64 of 32 random "
            "bytes (openssl rand -base64 32)"
        ) from exc


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
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


def root_key_needs_passphrase(settings: Settings) -> bool:
    """Whether the configured key is a passphrase-wrapped local file (a missing one is not)."""
    if settings.root_key_provider is not RootKeyProvider.LOCAL:
        return False
    try:
        return is_passphrase_wrapped(root_key_path(settings.resolved_home).read_bytes())
    except OSError:
        return False


def wrapped_root_key_path(settings: Settings) -> Path | None:
    """The file that holds the root key for the configured provider (``None`` for ``env``)."""
    keys = settings.resolved_home / "keys"
    match settings.root_key_provider:
        case RootKeyProvider.LOCAL:
            return keys / ROOT_KEY_FILE
        case RootKeyProvider.VAULT:
            return keys / VAULT_FILE
        case RootKeyProvider.AWS_KMS:
            return keys / AWS_KMS_FILE
        case RootKeyProvider.ENV:
            return None


def ensure_root_key(settings: Settings, random: RandomSource) -> bool:
    """Create the root key file of the configured provider if it does not exist.

    ``local``: 32 random bytes, wrapped by ``root_key_passphrase`` when that is set. ``vault``
    and ``aws-kms``: a new key wrapped by the external service (which must answer). ``env``:
    nothing. Returns whether a key was created. An existing file is never touched.
    """
    path = wrapped_root_key_path(settings)
    if path is None or path.exists():
        return False
    match settings.root_key_provider:
        case RootKeyProvider.VAULT:
            data = create_vault_wrapped_key(settings, random)
        case RootKeyProvider.AWS_KMS:
            data = create_aws_kms_wrapped_key(settings)
        case _:
            data = random.token_bytes(ROOT_KEY_BYTES)
            if settings.root_key_passphrase is not None:
                data = wrap_with_passphrase(
                    data, settings.root_key_passphrase.get_secret_value(), random=random
                )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(path, data, mode=0o600)
    return True


def protect_root_key_file(settings: Settings, new_passphrase: str, random: RandomSource) -> Path:
    """Wrap the local root key file with ``new_passphrase`` (or re-wrap it with a new one).

    A plain file is read as is; a wrapped one is opened with ``root_key_passphrase`` first.
    The key itself does not change, so nothing derived from it does. Returns the file's path.
    """
    if settings.root_key_provider is not RootKeyProvider.LOCAL:
        raise ConfigurationError(
            f"only the local provider's key file takes a passphrase; root_key_provider is "
            f"{settings.root_key_provider.value!r}"
        )
    key = PlatformRootKey.load(settings)
    path = root_key_path(settings.resolved_home)
    write_atomically(
        path, wrap_with_passphrase(key._key, new_passphrase, random=random), mode=0o600
    )
    return path
