"""The values of the tenant KMS: key states, key metadata, data keys, the ARNs."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lakevault import kms


class KeyState(enum.StrEnum):
    """AWS ``KeyState`` values lakevault uses. A destroyed key has no row: only a tombstone."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"


def key_arn(region: str, account_id: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def alias_arn(region: str, account_id: str, alias_name: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:{alias_name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyMetadata:
    """``DescribeKey``'s answer (AWS ``KeyMetadata``). No material, ever."""

    key_id: str
    arn: str
    account_id: str
    description: str
    state: KeyState
    creation_date: datetime
    current_version: int
    rotation_enabled: bool
    rotation_period_days: int
    next_rotation_date: datetime | None
    deletion_date: datetime | None
    is_service_key: bool

    @property
    def is_enabled(self) -> bool:
        return self.state is KeyState.ENABLED


@dataclass(frozen=True, slots=True, kw_only=True)
class DataKey:
    """A fresh data key: its plaintext (memory only) and its copy wrapped under a key version.

    Store ``wrapped`` with ``key_id`` and ``key_version`` (an object header does); pass them
    back to ``decrypt_data_key`` with the same encryption context.
    """

    plaintext: kms.PlaintextDataKey
    wrapped: bytes
    key_id: str
    key_version: int
    #: Waits until the ``GenerateDataKey`` audit event is durable (raises if it failed); a
    #: no-op unless the caller asked to overlap that wait with its own work (``defer_audit``).
    recorded: Callable[[], object] = field(default=lambda: None, repr=False, compare=False)

    def wait_recorded(self) -> None:
        """Return once this key's use is in the audit log; raise the write's error if not."""
        self.recorded()

    def __repr__(self) -> str:
        return (
            f"DataKey(key_id={self.key_id!r}, key_version={self.key_version}, "
            f"wrapped=<{len(self.wrapped)} bytes>, plaintext=<redacted>)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Ciphertext:
    """``Encrypt``'s answer: the ciphertext blob names its key and version."""

    blob: bytes
    key_id: str
    key_arn: str
    key_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyVersion:
    """One version of a key's material (``ListKeyRotations``): its number and age, no bytes."""

    key_id: str
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Alias:
    alias_name: str
    alias_arn: str
    target_key_id: str
    creation_date: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """A grant (AWS ``GrantListEntry``); constraints are ``EncryptionContextEquals`` or
    ``EncryptionContextSubset`` maps."""

    grant_id: str
    key_id: str
    name: str | None
    grantee_principal: str
    retiring_principal: str | None
    operations: tuple[str, ...]
    encryption_context_equals: tuple[tuple[str, str], ...] | None
    encryption_context_subset: tuple[tuple[str, str], ...] | None
    issuing_account: str
    creation_date: datetime
