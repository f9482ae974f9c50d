"""Root keys wrapped by an external key service: OpenBao/Vault transit, or AWS KMS.

In both providers the platform root key is 32 random bytes made by lakevault, stored in
``LAKEVAULT_HOME/keys`` only as the external service's ciphertext, and unwrapped by one call
to that service at start. Losing the service's key (or the permission to use it) loses the
root key, exactly as with a hardware-backed key: that is the point.

* ``vault`` — ``keys/platform-root.vault`` holds the transit ciphertext (``vault:v1:...``) of
  the key, made with the transit key ``vault_transit_key`` under ``vault_transit_mount``.
  Needs the ``hvac`` package (``pip install 'lakevault[vault]'``).
* ``aws-kms`` — ``keys/platform-root.aws-kms`` holds the ``CiphertextBlob`` of an AWS KMS
  ``GenerateDataKey`` (AES_256) under ``aws_kms_key_id``, bound to the encryption context
  ``{"lakevault": "platform-root-key"}``. Needs ``boto3`` (``pip install 'lakevault[aws]'``);
  credentials come from the AWS SDK's usual chain (environment, profile, instance role).

Both client libraries are imported lazily, when the provider is used, so a platform that does
not use them neither needs nor loads them. Their exceptions are translated here, once, into
``ConfigurationError`` messages that say which service refused and how to fix it; secret
values never appear in them.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from lakevault.core import RandomSource, Settings
from lakevault.core.errors import ConfigurationError

VAULT_FILE = "platform-root.vault"
AWS_KMS_FILE = "platform-root.aws-kms"
#: The AWS KMS encryption context that binds the ciphertext blob to its purpose.
AWS_ENCRYPTION_CONTEXT = {"lakevault": "platform-root-key"}
#: Seconds an external key service has to answer at start.
TIMEOUT_SECONDS = 15
ROOT_KEY_BYTES = 32


def _read_wrapped(path: Path, provider: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"root_key_provider is {provider!r} but the wrapped root key file {path} is "
            "missing; restore it from your key backup, or run 'lakevault init' for a new "
            "installation"
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the wrapped root key file {path} ({exc.strerror}); check its owner "
            "and mode (0600)"
        ) from exc


# --- OpenBao / HashiCorp Vault transit -------------------------------------------------------


def _vault_client(settings: Settings) -> Any:
    if settings.vault_url is None or settings.vault_token is None:
        raise ConfigurationError(
            "root_key_provider is 'vault' but vault_url or vault_token is not set; set "
            "LAKEVAULT_VAULT_URL (https://vault.example.org:8200) and LAKEVAULT_VAULT_TOKEN"
        )
    try:
        import hvac
    except ImportError as exc:
        raise ConfigurationError(
            "root_key_provider is 'vault' but the hvac package is not installed; install "
            "lakevault with the vault extra: pip install 'lakevault[vault]'"
        ) from exc
    verify: str | bool = str(settings.vault_ca_file) if settings.vault_ca_file else True
    return hvac.Client(
        url=settings.vault_url,
        token=settings.vault_token.get_secret_value(),
        verify=verify,
        timeout=TIMEOUT_SECONDS,
    )


def _vault_failure(settings: Settings, operation: str, exc: Exception) -> ConfigurationError:
    """One message for every way a transit call fails; the cause's class names the kind."""
    import hvac.exceptions
    import requests

    where = f"transit key {settings.vault_transit_key!r} at {settings.vault_transit_mount!r}"
    if isinstance(exc, requests.exceptions.RequestException):
        hint = (
            f"cannot reach Vault at {settings.vault_url} ({type(exc).__name__}); start it or "
            "fix vault_url / vault_ca_file"
        )
    elif isinstance(exc, hvac.exceptions.Forbidden | hvac.exceptions.Unauthorized):
        hint = (
            f"Vault refused the token for {operation} with the {where}; give the token a "
            f"policy allowing transit/{operation} on that key"
        )
    elif isinstance(exc, hvac.exceptions.InvalidPath):
        hint = f"Vault has no {where}; create it (vault write -f transit/keys/NAME)"
    elif isinstance(exc, hvac.exceptions.VaultDown):
        hint = "Vault is sealed; unseal it"
    else:
        hint = (
            f"Vault refused to {operation} the platform root key with the {where} "
            f"({type(exc).__name__}): the transit key does not exist, or the wrapped key file "
            "belongs to another key or is damaged; check vault_transit_key, or restore the file "
            "from your key backup"
        )
    return ConfigurationError(f"root_key_provider 'vault': {hint}")


def load_vault_root_key(settings: Settings, home: Path) -> tuple[bytes, str]:
    """Unwrap ``keys/platform-root.vault`` with Vault transit; return (key, source)."""
    path = home / "keys" / VAULT_FILE
    client = _vault_client(settings)
    ciphertext = _read_wrapped(path, "vault").decode("ascii", errors="replace").strip()
    import hvac.exceptions
    import requests

    try:
        answer = client.secrets.transit.decrypt_data(
            name=settings.vault_transit_key,
            ciphertext=ciphertext,
            mount_point=settings.vault_transit_mount,
        )
        key = base64.b64decode(answer["data"]["plaintext"], validate=True)
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
        raise _vault_failure(settings, "decrypt", exc) from exc
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ConfigurationError(
            f"root_key_provider 'vault': Vault at {settings.vault_url} answered decrypt "
            "without a base64 plaintext; is vault_url a Vault server?"
        ) from exc
    return key, f"{path} (Vault transit key {settings.vault_transit_key!r})"


def create_vault_wrapped_key(settings: Settings, random: RandomSource) -> bytes:
    """A new root key wrapped by Vault transit: the bytes of ``keys/platform-root.vault``."""
    client = _vault_client(settings)
    import hvac.exceptions
    import requests

    key = random.token_bytes(ROOT_KEY_BYTES)
    try:
        answer = client.secrets.transit.encrypt_data(
            name=settings.vault_transit_key,
            plaintext=base64.b64encode(key).decode("ascii"),
            mount_point=settings.vault_transit_mount,
        )
        ciphertext = str(answer["data"]["ciphertext"])
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
        raise _vault_failure(settings, "encrypt", exc) from exc
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"root_key_provider 'vault': Vault at {settings.vault_url} answered encrypt "
            "without a ciphertext; is vault_url a Vault server?"
        ) from exc
    return ciphertext.encode("ascii") + b"\n"


# --- AWS KMS ---------------------------------------------------------------------------------


def _kms_client(settings: Settings) -> Any:
    if settings.aws_kms_key_id is None:
        raise ConfigurationError(
            "root_key_provider is 'aws-kms' but aws_kms_key_id is not set; set "
            "LAKEVAULT_AWS_KMS_KEY_ID to the key's id, ARN or alias (alias/lakevault-root)"
        )
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise ConfigurationError(
            "root_key_provider is 'aws-kms' but boto3 is not installed; install lakevault "
            "with the aws extra: pip install 'lakevault[aws]'"
        ) from exc
    # A session of its own: boto3's default session caches credentials process-wide.
    return boto3.session.Session().client(
        "kms",
        region_name=settings.aws_kms_region,
        endpoint_url=settings.aws_kms_endpoint_url,
        config=Config(
            connect_timeout=TIMEOUT_SECONDS,
            read_timeout=TIMEOUT_SECONDS,
            retries={"max_attempts": 2},
        ),
    )


def _kms_failure(settings: Settings, operation: str, exc: Exception) -> ConfigurationError:
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    key = settings.aws_kms_key_id
    if isinstance(exc, NoCredentialsError):
        hint = "no AWS credentials found; configure the SDK's chain (AWS_PROFILE, a role, ...)"
    elif isinstance(exc, NoRegionError):
        hint = "no AWS region; set LAKEVAULT_AWS_KMS_REGION"
    elif isinstance(exc, EndpointConnectionError):
        hint = f"cannot reach AWS KMS ({exc}); check the network or aws_kms_endpoint_url"
    elif isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        if code in {"InvalidCiphertextException", "IncorrectKeyException"}:
            hint = (
                f"AWS KMS cannot {operation} the wrapped root key file with key {key!r} "
                f"({code}): the file belongs to another key or is damaged; "
                "restore it from your key backup"
            )
        elif code in {"AccessDeniedException", "UnrecognizedClientException"}:
            hint = f"AWS KMS refused kms:{operation} on {key!r} ({code}); grant it to this role"
        elif code in {"NotFoundException", "DisabledException", "KMSInvalidStateException"}:
            hint = f"the AWS KMS key {key!r} cannot be used ({code}); enable or restore it"
        else:
            hint = f"AWS KMS refused kms:{operation} on {key!r} ({code})"
    else:
        hint = f"AWS KMS call failed ({type(exc).__name__})"
    return ConfigurationError(f"root_key_provider 'aws-kms': {hint}")


def load_aws_kms_root_key(settings: Settings, home: Path) -> tuple[bytes, str]:
    """Decrypt ``keys/platform-root.aws-kms`` with AWS KMS; return (key, source)."""
    path = home / "keys" / AWS_KMS_FILE
    client = _kms_client(settings)
    blob = _read_wrapped(path, "aws-kms")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.decrypt(
            CiphertextBlob=blob,
            KeyId=settings.aws_kms_key_id,
            EncryptionContext=AWS_ENCRYPTION_CONTEXT,
        )
    except (BotoCoreError, ClientError) as exc:
        raise _kms_failure(settings, "Decrypt", exc) from exc
    return bytes(answer["Plaintext"]), f"{path} (AWS KMS key {settings.aws_kms_key_id!r})"


def create_aws_kms_wrapped_key(settings: Settings) -> bytes:
    """A new root key made by AWS KMS ``GenerateDataKey``: the bytes of its ciphertext file.

    The plaintext copy is dropped at once; the key is read back through
    :func:`load_aws_kms_root_key` like at every start, which also proves that the decrypt
    permission works.
    """
    client = _kms_client(settings)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.generate_data_key(
            KeyId=settings.aws_kms_key_id,
            KeySpec="AES_256",
            EncryptionContext=AWS_ENCRYPTION_CONTEXT,
        )
    except (BotoCoreError, ClientError) as exc:
        raise _kms_failure(settings, "GenerateDataKey", exc) from exc
    return bytes(answer["CiphertextBlob"])
