"""Secret versions' data keys as the key service's rewrap sees them (``keys.DataKeyRegistry``).

A version under its secret's service key stores a database copy of its wrapped data key beside
the ciphertext (``secret_versions.key_id``, ``key_version``, ``wrapped_data_key``); reads use
that copy, so ``lakevault kms rewrap`` can move it to the key's newest version without
touching the ciphertext, whose header copy cannot change (ADR 0091, ADR 0213). A service key
serves exactly one secret, so a key's data keys are that secret's versions: few, listed in one
query and ordered here by version id (the registry's reference). Values under a ``KmsKeyId``
are ``Encrypt`` blobs, not data keys of the hierarchy, and are not listed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from lakevault.db import Database, models
from lakevault.keys import StoredDataKey
from lakevault.secrets._values import encryption_context


class SecretDataKeys:
    """The ``"secrets"`` data-key registry over ``secret_versions``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def name(self) -> str:
        return "secrets"

    def stored_data_keys(
        self, key_id: str, *, below_version: int, after: str, limit: int
    ) -> Sequence[StoredDataKey]:
        with self._database.read_session() as session:
            rows = session.execute(
                select(
                    models.SecretVersion.secret_arn,
                    models.SecretVersion.version_id,
                    models.SecretVersion.key_version,
                    models.SecretVersion.wrapped_data_key,
                ).where(
                    models.SecretVersion.key_id == key_id,
                    models.SecretVersion.key_version < below_version,
                    models.SecretVersion.wrapped_data_key.is_not(None),
                )
            ).all()
        found = sorted(
            (
                StoredDataKey(
                    reference=version_id,
                    key_id=key_id,
                    key_version=key_version,
                    wrapped=wrapped,
                    context=encryption_context(arn, version_id),
                )
                for arn, version_id, key_version, wrapped in rows
                if version_id > after and key_version is not None and wrapped is not None
            ),
            key=lambda stored: stored.reference,
        )
        return found[:limit]

    def replace_data_key(self, stored: StoredDataKey, *, key_version: int, wrapped: bytes) -> bool:
        with self._database.session() as session:
            result = session.execute(
                update(models.SecretVersion)
                .where(
                    models.SecretVersion.key_id == stored.key_id,
                    models.SecretVersion.version_id == stored.reference,
                    models.SecretVersion.key_version == stored.key_version,
                    models.SecretVersion.wrapped_data_key == stored.wrapped,
                )
                .values(key_version=key_version, wrapped_data_key=wrapped)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)
