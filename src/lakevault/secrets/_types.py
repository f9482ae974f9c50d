"""The values the secrets manager hands in and out: frozen, slotted, keyword-only (STYLE.md §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from lakevault.identity import Principal

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretsCall:
    """The authenticated caller of one request and the facts of its connection."""

    principal: Principal
    request_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    secure_transport: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretValue:
    """``GetSecretValue``'s answer. Exactly one of ``secret_string`` and ``secret_binary`` is set.

    .. warning::

       Holds the plaintext value. ``repr`` never shows it; never log or record one.
    """

    arn: str
    name: str
    version_id: str
    version_stages: tuple[str, ...]
    created_date: datetime
    secret_string: str | None = field(default=None, repr=False)
    secret_binary: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        kind = "SecretString" if self.secret_string is not None else "SecretBinary"
        return (
            f"SecretValue(arn={self.arn!r}, version_id={self.version_id!r}, "
            f"version_stages={self.version_stages!r}, {kind}=<redacted>)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionEntry:
    """One version as ``ListSecretVersionIds`` and ``DescribeSecret`` show it: no value."""

    version_id: str
    version_stages: tuple[str, ...]
    created_date: datetime
    last_accessed_date: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretDescription:
    """``DescribeSecret``'s answer (and each entry of ``ListSecrets``). Never a value."""

    arn: str
    name: str
    account_id: str
    description: str
    kms_key_id: str | None
    """The tenant KMS key named at creation, or ``None`` for the secret's own service key."""
    rotation_enabled: bool
    rotation_hook: str | None
    rotation_days: int | None
    last_rotated_date: datetime | None
    last_changed_date: datetime
    last_accessed_date: datetime | None
    created_date: datetime
    deleted_date: datetime | None
    """When the secret was deleted; it is purged at ``purge_date``."""
    purge_date: datetime | None
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    version_ids_to_stages: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    has_policy: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NewVersion:
    """What ``CreateSecret``, ``PutSecretValue`` and ``RotateSecret`` answer: no value."""

    arn: str
    name: str
    version_id: str | None
    version_stages: tuple[str, ...]
