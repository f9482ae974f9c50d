"""Secret values under a tenant KMS key: sealed with a fresh data key, in the object format.

Each version's value is encrypted with its own 256-bit data key in lakevault's encrypted object
format (C2SP chunked AES-256-GCM; docs/object-format.md), whose header carries the wrapped data
key, the key id and version and the hash of the encryption context. The encryption context is
AWS Secrets Manager's: ``SecretARN`` and ``SecretVersionId``, so a value copied to another
secret or version does not open.

Two keys can wrap the data key:

* the secret's **service key** (no ``KmsKeyId``): a KMS key of the tenant made with the secret
  and bound to its ARN; the key service accepts only the gate's proof of an allowed operation
  on this secret (``lakevault.keys`` contract);
* the tenant's **own KMS key** named by ``KmsKeyId``: used with the caller's identity, so the
  caller also needs ``kms:GenerateDataKey`` (to write) and ``kms:Decrypt`` (to read) on it, as
  in AWS, and the key policy decides.

The platform's rotation job (ADR 0212) has no proof: it passes :data:`PLATFORM_JOB` and the
value goes through the key service's entry for platform jobs, under the secret's service key
only (bound to its ARN; the key policy still decides for the service principal).

Refusals of the key service (disabled, pending deletion, a ciphertext that does not open)
become ``DecryptionFailure``/``EncryptionFailure``; an ``AccessDenied`` of the key's policy
stays ``AccessDenied``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lakevault import kms
from lakevault.gate import Proof
from lakevault.keys import KeyCall, KeyNotFound, KeyService, KMSInvalidStateException
from lakevault.secrets._errors import DecryptionFailure, EncryptionFailure
from lakevault.secrets._types import SecretsCall

MAX_VALUE_BYTES = 65536


class PlatformJob:
    """The marker of the platform's scheduled rotation in place of a gate proof (ADR 0212)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PLATFORM_JOB"


PLATFORM_JOB = PlatformJob()


def encryption_context(arn: str, version_id: str) -> kms.EncryptionContext:
    """AWS Secrets Manager's encryption context of one version."""
    return kms.EncryptionContext.from_mapping({"SecretARN": arn, "SecretVersionId": version_id})


def _key_call(call: SecretsCall) -> KeyCall:
    return KeyCall(
        principal=call.principal,
        request_id=call.request_id,
        source_ip=call.source_ip,
        user_agent=call.user_agent,
        secure_transport=call.secure_transport,
    )


@contextmanager
def _translated(
    error: type[DecryptionFailure] | type[EncryptionFailure], arn: str
) -> Iterator[None]:
    """Turn the key service's refusals into the secrets manager's one error (fail closed)."""
    verb = "decrypt" if error is DecryptionFailure else "encrypt"
    try:
        yield
    except KMSInvalidStateException as exc:
        raise error(
            f"cannot {verb} the value of {arn}: its KMS key is {exc.code.removesuffix('Exception')}"
            " (disabled or pending deletion); enable the key or cancel its deletion"
        ) from exc
    except (kms.IntegrityError, KeyNotFound) as exc:
        raise error(
            f"cannot {verb} the value of {arn}: the stored ciphertext does not open under its "
            "KMS key"
        ) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredKey:
    """The database copy of a version's wrapped data key (under its service key), which
    ``lakevault kms rewrap`` moves to the key's newest version (ADR 0213)."""

    key_id: str
    key_version: int
    wrapped: bytes

    def __repr__(self) -> str:
        return f"StoredKey(key_id={self.key_id!r}, key_version={self.key_version})"


def stored_key_of(ciphertext: bytes, *, service_key_id: str | None) -> StoredKey | None:
    """The header's wrapped data key, to store beside the ciphertext; ``None`` for a value
    under a ``KmsKeyId`` (an ``Encrypt`` blob, not a data key the rewrap can move)."""
    header = kms.read_object_header(io.BytesIO(ciphertext))
    if service_key_id is None or header.key_id != service_key_id:
        return None
    return StoredKey(
        key_id=header.key_id, key_version=header.key_version, wrapped=header.wrapped_data_key
    )


def version_columns(ciphertext: bytes, *, service_key_id: str | None) -> dict[str, Any]:
    """The ``secret_versions`` columns of :func:`stored_key_of` (all ``None`` without one)."""
    stored = stored_key_of(ciphertext, service_key_id=service_key_id)
    return {
        "key_id": stored.key_id if stored else None,
        "key_version": stored.key_version if stored else None,
        "wrapped_data_key": stored.wrapped if stored else None,
    }


class SecretValues:
    """Seal and open secret values through the key service (one per process)."""

    def __init__(self, keys: KeyService) -> None:
        self._keys = keys

    def seal(
        self,
        proof: Proof | PlatformJob,
        call: SecretsCall,
        *,
        arn: str,
        version_id: str,
        service_key_id: str | None,
        kms_key_id: str | None,
        plaintext: bytes,
    ) -> bytes:
        """The ciphertext of ``plaintext`` for version ``version_id`` of secret ``arn``."""
        context = encryption_context(arn, version_id)
        with _translated(EncryptionFailure, arn):
            if kms_key_id is None:
                if service_key_id is None:
                    raise EncryptionFailure(f"the secret {arn} has no KMS key")
                data_key = (
                    self._keys.generate_data_key_for_job(
                        resource_arn=arn, key_id=service_key_id, context=context
                    )
                    if isinstance(proof, PlatformJob)
                    else self._keys.generate_data_key(proof, key_id=service_key_id, context=context)
                )
                key, key_id, version, wrapped = (
                    data_key.plaintext,
                    data_key.key_id,
                    data_key.key_version,
                    data_key.wrapped,
                )
            elif isinstance(proof, PlatformJob):
                raise EncryptionFailure(
                    f"the secret {arn} is under its KmsKeyId, which only a caller can use; "
                    "rotate it with RotateSecret"
                )
            else:
                raw, blob = self._keys.generate_data_key_for(
                    _key_call(call), kms_key_id, context=context
                )
                if raw is None:  # pragma: no cover - with_plaintext is True
                    raise EncryptionFailure(f"the KMS key of {arn} returned no data key")
                # The key service has just made and wrapped these bytes: the hierarchy's unwrap.
                key = kms.PlaintextDataKey.from_unwrapped_bytes_unsafe(raw)
                key_id, version, wrapped = blob.key_id, blob.key_version, blob.blob
        header = kms.ObjectHeader.create(
            key_id=key_id, key_version=version, wrapped_data_key=wrapped, encryption_context=context
        )
        sink = io.BytesIO()
        kms.encrypt_stream(io.BytesIO(plaintext), sink, data_key=key, header=header)
        return sink.getvalue()

    def open(
        self,
        proof: Proof | PlatformJob,
        call: SecretsCall,
        *,
        arn: str,
        version_id: str,
        service_key_id: str | None,
        kms_key_id: str | None,
        ciphertext: bytes,
        stored: StoredKey | None = None,
    ) -> bytes:
        """The plaintext of a version; ``DecryptionFailure`` when it does not open.

        ``stored`` is the database copy of the wrapped data key, used in place of the header's
        once a rewrap has moved it (the data key, and so the header's binding, is the same)."""
        context = encryption_context(arn, version_id)
        with _translated(DecryptionFailure, arn):
            reader = io.BytesIO(ciphertext)
            header = kms.read_object_header(reader)
            # The header names the key that sealed this version: the secret's service key, or a
            # tenant key (its KmsKeyId then or now: UpdateSecret changes the key of new
            # versions only, so older ones keep opening under theirs).
            if service_key_id is not None and header.key_id == service_key_id:
                key_version, wrapped = header.key_version, header.wrapped_data_key
                if stored is not None and stored.key_id == service_key_id:
                    key_version, wrapped = stored.key_version, stored.wrapped
                if isinstance(proof, PlatformJob):
                    key = self._keys.decrypt_data_key_for_job(
                        resource_arn=arn,
                        key_id=service_key_id,
                        key_version=key_version,
                        wrapped=wrapped,
                        context=context,
                    )
                else:
                    key = self._keys.decrypt_data_key(
                        proof,
                        key_id=service_key_id,
                        key_version=key_version,
                        wrapped=wrapped,
                        context=context,
                    )
            elif isinstance(proof, PlatformJob):
                raise DecryptionFailure(
                    f"the version {version_id} of {arn} is under a KmsKeyId, which only a "
                    "caller can use"
                )
            else:
                raw, _, _ = self._keys.decrypt(
                    _key_call(call), header.wrapped_data_key, context=context
                )
                key = kms.PlaintextDataKey.from_unwrapped_bytes_unsafe(raw)
            sink = io.BytesIO()
            kms.decrypt_stream(
                reader, sink, data_key=key, header=header, encryption_context=context
            )
        return sink.getvalue()
