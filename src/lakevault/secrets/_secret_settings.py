"""Secrets' settings besides their values: staging labels, resource policies and tags.

``UpdateSecretVersionStage``, ``PutResourcePolicy``/``GetResourcePolicy``/
``DeleteResourcePolicy`` and ``TagResource``/``UntagResource``: each is decided by the gate and
changes only the secret's row or labels, recorded in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lakevault import iam
from lakevault.core.errors import MalformedPolicyDocument
from lakevault.secrets._errors import InvalidParameterException, ResourceNotFoundException
from lakevault.secrets._inputs import check_tags, tag_context
from lakevault.secrets._rotation_runner import RotationRunner
from lakevault.secrets._stages import labels_after_move
from lakevault.secrets._types import SecretDescription, SecretsCall

_MAX_POLICY_BYTES = 20480


class SecretSettings(RotationRunner):
    """Labels, resource policies and tags of :class:`~lakevault.secrets.SecretsManager`."""

    # -- UpdateSecretVersionStage ------------------------------------------------------------

    def update_secret_version_stage(
        self,
        call: SecretsCall,
        secret_id: str,
        version_stage: str,
        *,
        remove_from_version_id: str | None = None,
        move_to_version_id: str | None = None,
    ) -> SecretDescription:
        """``UpdateSecretVersionStage``: move or remove a label (rules in ``_stages.py``)."""
        action = "secretsmanager:UpdateSecretVersionStage"
        parameters = {
            "versionStage": version_stage,
            "removeFromVersionId": remove_from_version_id,
            "moveToVersionId": move_to_version_id,
        }
        record, _ = self._core.load(
            call,
            secret_id,
            action=action,
            read_only=False,
            parameters=parameters,
            context={"secretsmanager:VersionStage": version_stage},
        )
        refusal: dict[str, Any] = {"action": action, "parameters": parameters, "read_only": False}
        self._require_not_deleted(call, record, **refusal)
        for named in (remove_from_version_id, move_to_version_id):
            if named is not None and named not in record.versions:
                raise self._refuse(
                    call,
                    record,
                    ResourceNotFoundException(
                        f"the secret {record.arn} has no version {named}; DescribeSecret lists "
                        "its versions"
                    ),
                    **refusal,
                )
        move = {
            "remove_from_version_id": remove_from_version_id,
            "move_to_version_id": move_to_version_id,
        }
        try:
            labels_after_move(record.labels, version_stage, **move)
        except InvalidParameterException as error:
            raise self._refuse(call, record, error, **refusal) from error
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            # Checked again on the locked labels: a concurrent move makes this one fail.
            labels = labels_after_move(
                self._current_labels(session, record.arn), version_stage, **move
            )
            self._write_labels(session, record.arn, labels)
            row.last_changed_at = self._core.clock.now()
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
                elements={"arn": record.arn},
            )
        return self._reload(record.arn).description_of()

    # -- resource policies -------------------------------------------------------------------

    def put_resource_policy(
        self, call: SecretsCall, secret_id: str, policy: str
    ) -> SecretDescription:
        """``PutResourcePolicy``: the secret's resource policy, checked by the policy parser."""
        if len(policy.encode("utf-8")) > _MAX_POLICY_BYTES:
            raise InvalidParameterException(
                f"ResourcePolicy must be at most {_MAX_POLICY_BYTES} bytes"
            )
        try:
            document = json.loads(policy)
            iam.parse_policy(document, policy_id="new", kind=iam.PolicyKind.RESOURCE)
        except (ValueError, MalformedPolicyDocument) as exc:
            detail = exc.message if isinstance(exc, MalformedPolicyDocument) else "not JSON"
            raise MalformedPolicyDocument(
                f"ResourcePolicy is not a valid resource policy: {detail}",
                code="MalformedPolicyDocumentException",
            ) from exc
        return self._set_policy(call, secret_id, "secretsmanager:PutResourcePolicy", policy)

    def delete_resource_policy(self, call: SecretsCall, secret_id: str) -> SecretDescription:
        return self._set_policy(call, secret_id, "secretsmanager:DeleteResourcePolicy", None)

    def _set_policy(
        self, call: SecretsCall, secret_id: str, action: str, policy: str | None
    ) -> SecretDescription:
        record, _ = self._core.load(call, secret_id, action=action, read_only=False)
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            row.policy = policy
            row.last_changed_at = self._core.clock.now()
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters={"policyBytes": len(policy.encode("utf-8")) if policy else 0},
                elements={"arn": record.arn},
            )
        return self._reload(record.arn).description_of()

    def get_resource_policy(self, call: SecretsCall, secret_id: str) -> str | None:
        """``GetResourcePolicy``: the policy text, or ``None`` when the secret has none."""
        return self.resource_policy_of(call, secret_id)[2]

    def resource_policy_of(self, call: SecretsCall, secret_id: str) -> tuple[str, str, str | None]:
        """``GetResourcePolicy`` as AWS answers it: the secret's ARN, name and policy text, on
        one gate decision (asking DescribeSecret for the names would be a second decision, on
        another action, and a refusal recorded under the wrong name)."""
        record, _ = self._core.load(
            call, secret_id, action="secretsmanager:GetResourcePolicy", read_only=True
        )
        return record.arn, record.name, record.policy_text

    # -- tags --------------------------------------------------------------------------------

    def tag_resource(
        self, call: SecretsCall, secret_id: str, tags: Mapping[str, str]
    ) -> SecretDescription:
        clean = check_tags(tags)
        return self._retag(
            call, secret_id, "secretsmanager:TagResource", add=clean, remove=(),
            context=tag_context(clean),
        )  # fmt: skip

    def untag_resource(
        self, call: SecretsCall, secret_id: str, tag_keys: Sequence[str]
    ) -> SecretDescription:
        keys = sorted(set(tag_keys))
        return self._retag(
            call, secret_id, "secretsmanager:UntagResource", add={}, remove=keys,
            context={"aws:TagKeys": keys} if keys else {},
        )  # fmt: skip

    def _retag(
        self,
        call: SecretsCall,
        secret_id: str,
        action: str,
        *,
        add: Mapping[str, str],
        remove: Sequence[str],
        context: Mapping[str, Any],
    ) -> SecretDescription:
        parameters = {"tagKeys": sorted(add) or list(remove)}
        record, _ = self._core.load(
            call, secret_id, action=action, read_only=False, parameters=parameters, context=context
        )
        with self._core.database.session() as session:
            row = self._lock(session, record.arn)
            tags = {k: v for k, v in dict(row.tags or {}).items() if k not in remove}
            tags.update(add)
            row.tags = check_tags(tags)
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=record.arn,
                account_id=record.account_id,
                parameters=parameters,
            )
        return self._reload(record.arn).description_of()
