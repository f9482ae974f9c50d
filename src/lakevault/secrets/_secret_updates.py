"""``UpdateSecret`` and ``ListSecretVersionIds``.

``UpdateSecret`` changes a secret's description and/or the KMS key of its **new** versions
(``KmsKeyId``), and with a value adds a version labelled ``AWSCURRENT``. Versions already
stored keep opening under the key that sealed them (their header names it), so changing the
key re-encrypts nothing and loses nothing; a new value given in the same call is sealed under
the new key. The new key is used with the caller's identity, as at ``CreateSecret``: writing
needs ``kms:GenerateDataKey`` on it, reading ``kms:Decrypt``. A secret created under a
``KmsKeyId`` has no service key, and one cannot be made outside ``CreateSecret`` (the key
service accepts only a creating proof), so it cannot be moved back to the default key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lakevault.core.errors import LakevaultError
from lakevault.secrets._base import SecretsBase
from lakevault.secrets._errors import InvalidParameterException, InvalidRequestException
from lakevault.secrets._inputs import value_bytes
from lakevault.secrets._stages import AWSCURRENT
from lakevault.secrets._types import NewVersion, SecretsCall, VersionEntry

#: AWS's name for the default key: here, the secret's own service key.
DEFAULT_KEY_ALIAS = "alias/aws/secretsmanager"
MAX_DESCRIPTION = 2048


def _check_update(description: str | None, kms_key_id: str | None, *, has_value: bool) -> None:
    if description is None and kms_key_id is None and not has_value:
        raise InvalidParameterException(
            "UpdateSecret needs Description, KmsKeyId or a new value (SecretString or SecretBinary)"
        )
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidParameterException(
            f"Description is at most {MAX_DESCRIPTION} characters; got {len(description)}"
        )
    if kms_key_id is not None and not kms_key_id.strip():
        raise InvalidParameterException("KmsKeyId must name a KMS key")


class SecretUpdates(SecretsBase):
    """``UpdateSecret`` and ``ListSecretVersionIds`` of the secrets manager."""

    def update_secret(
        self,
        call: SecretsCall,
        secret_id: str,
        *,
        description: str | None = None,
        kms_key_id: str | None = None,
        secret_string: str | None = None,
        secret_binary: bytes | None = None,
        client_request_token: str | None = None,
    ) -> NewVersion:
        """``UpdateSecret``: new description, new key for new versions, optionally a new value
        (``AWSCURRENT``). Nothing given is ``InvalidParameterException``."""
        has_value = secret_string is not None or secret_binary is not None
        _check_update(description, kms_key_id, has_value=has_value)
        data, is_binary = value_bytes(secret_string, secret_binary) if has_value else (b"", False)
        version_id = self._version_id_for(client_request_token)
        action = "secretsmanager:UpdateSecret"
        parameters: dict[str, Any] = {
            "description": description is not None,
            "kmsKeyId": kms_key_id,
            "hasValue": has_value,
            "versionId": version_id if has_value else None,
        }
        context: dict[str, Any] = {}
        if kms_key_id is not None:
            context["secretsmanager:KmsKeyId"] = kms_key_id
        record, proof = self._core.load(
            call, secret_id, action=action, read_only=False, parameters=parameters, context=context
        )
        refusal: dict[str, Any] = {"action": action, "parameters": parameters, "read_only": False}
        self._require_not_deleted(call, record, **refusal)
        if call.principal.account_id != record.account_id and (
            description is not None or kms_key_id is not None
        ):
            # Another account may write values it is allowed to, never change the secret's
            # settings: they are its owner's.
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"only the account {record.account_id} changes the description or key "
                    f"of {record.arn}"
                ),
                **refusal,
            )
        self._require_same_account_for_service_key(call, record, **refusal)
        new_key = record.kms_key_id
        if kms_key_id == DEFAULT_KEY_ALIAS and record.service_key_id is None:
            raise self._refuse(
                call,
                record,
                InvalidRequestException(
                    f"the secret {record.arn} was created under a KmsKeyId and has no service "
                    "key to return to; name another KMS key of the account"
                ),
                **refusal,
            )
        if kms_key_id is not None:
            new_key = None if kms_key_id == DEFAULT_KEY_ALIAS else kms_key_id
        updated = replace(
            record,
            description=description if description is not None else record.description,
            kms_key_id=new_key,
        )
        if has_value and version_id in record.versions:
            # A repeated token: PutSecretValue's idempotency rules (same value: nothing new).
            return self._put(
                call, updated, proof, data=data, is_binary=is_binary, version_id=version_id,
                stages=[AWSCURRENT], action=action, parameters=parameters,
            )  # fmt: skip
        ciphertext = None
        if has_value:
            try:
                ciphertext = self._seal(proof, call, updated, version_id, data)
            except LakevaultError as error:
                raise self._refuse(call, record, error, **refusal) from error
        now = self._core.clock.now()
        with self._core.database.session() as session:
            row = self._lock_live(session, record.arn)
            row.description = updated.description
            row.kms_key_id = updated.kms_key_id
            row.last_changed_at = now
            if ciphertext is not None:
                self._add_version(
                    session, arn=record.arn, service_key_id=record.service_key_id,
                    version_id=version_id, is_binary=is_binary, ciphertext=ciphertext,
                    created_at=now, stages=[AWSCURRENT],
                )  # fmt: skip
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
                elements={"arn": record.arn, "versionId": version_id if has_value else None},
            )
        return NewVersion(
            arn=record.arn,
            name=record.name,
            version_id=version_id if has_value else None,
            version_stages=(AWSCURRENT,) if has_value else (),
        )

    def list_secret_version_ids(
        self, call: SecretsCall, secret_id: str, *, include_deprecated: bool = False
    ) -> list[VersionEntry]:
        """``ListSecretVersionIds``: the versions, oldest first, with their labels (never a
        value). Versions without a label are AWS's "deprecated" ones, listed only if asked."""
        return self.version_ids_of(call, secret_id, include_deprecated=include_deprecated)[2]

    def version_ids_of(
        self, call: SecretsCall, secret_id: str, *, include_deprecated: bool = False
    ) -> tuple[str, str, list[VersionEntry]]:
        """``ListSecretVersionIds`` as AWS answers it: the secret's ARN and name with the
        versions, on one gate decision (see ``resource_policy_of``)."""
        record, _ = self._core.load(
            call,
            secret_id,
            action="secretsmanager:ListSecretVersionIds",
            read_only=True,
            parameters={"includeDeprecated": include_deprecated},
        )
        return (
            record.arn,
            record.name,
            [
                entry
                for entry in record.versions.values()
                if include_deprecated or entry.version_stages
            ],
        )
