"""The secrets API under ``/api/v1/secrets``: AWS Secrets Manager's operations over HTTP.

Routes translate HTTP to ``secrets.SecretsManager`` calls and nothing else; every decision
happens in the secrets manager, through the gate (docs/secrets.md). A secret is named by
``secretId`` (a name of the caller's account, or an ARN) in the body or the query, since names
may contain ``/``. Responses that carry a value send ``Cache-Control: no-store``.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to each router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from lakevault.api import _schemas_secrets as schemas
from lakevault.api._auth import caller_dependency
from lakevault.api._routes_secret_functions import add_rotation_function_routes
from lakevault.directory import CallContext
from lakevault.runtime import Platform
from lakevault.secrets import SecretsCall

_SECRET_ID = Query(min_length=1, max_length=2048, description="A name or an ARN.")


def _call(call: CallContext) -> SecretsCall:
    return SecretsCall(
        principal=call.principal,
        request_id=call.request_id,
        source_ip=call.source_ip,
        user_agent=call.user_agent,
        secure_transport=call.secure_transport,
    )


def secrets_router(platform: Platform) -> APIRouter:
    """``secretsmanager:*`` operations; each one is one gate decision."""
    router = APIRouter(prefix="/api/v1/secrets", tags=["secrets"])
    manager = platform.secrets
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    SecretId = Annotated[str, _SECRET_ID]

    @router.post("", status_code=201, response_model=schemas.Version)
    def create_secret(body: schemas.NewSecret, call: Caller) -> schemas.Version:
        return schemas.Version.of(
            manager.create_secret(
                _call(call),
                body.name,
                secret_string=schemas.plain(body.secretString),
                secret_binary=schemas.decode_binary(body.secretBinary),
                description=body.description,
                kms_key_id=body.kmsKeyId,
                tags=body.tags,
                client_request_token=body.clientRequestToken,
            )
        )

    @router.get("", response_model=schemas.SecretList)
    def list_secrets(call: Caller, includePlannedDeletion: bool = False) -> schemas.SecretList:
        found = manager.list_secrets(_call(call), include_planned_deletion=includePlannedDeletion)
        return schemas.SecretList(secretList=[schemas.Description.of(s) for s in found])

    @router.get("/describe", response_model=schemas.Description)
    def describe_secret(call: Caller, secretId: SecretId) -> schemas.Description:
        return schemas.Description.of(manager.describe_secret(_call(call), secretId))

    @router.get("/value", response_model=schemas.Value)
    def get_secret_value(
        call: Caller,
        response: Response,
        secretId: SecretId,
        versionId: str | None = None,
        versionStage: str | None = None,
    ) -> schemas.Value:
        value = manager.get_secret_value(
            _call(call), secretId, version_id=versionId, version_stage=versionStage
        )
        response.headers["Cache-Control"] = "no-store"
        return schemas.Value.of(value)

    @router.put("/value", response_model=schemas.Version)
    def put_secret_value(body: schemas.NewValue, call: Caller) -> schemas.Version:
        return schemas.Version.of(
            manager.put_secret_value(
                _call(call),
                body.secretId,
                secret_string=schemas.plain(body.secretString),
                secret_binary=schemas.decode_binary(body.secretBinary),
                client_request_token=body.clientRequestToken,
                version_stages=body.versionStages,
            )
        )

    @router.delete("", response_model=schemas.Description)
    def delete_secret(
        call: Caller,
        secretId: SecretId,
        recoveryWindowInDays: int | None = None,
        forceDeleteWithoutRecovery: bool = False,
    ) -> schemas.Description:
        return schemas.Description.of(
            manager.delete_secret(
                _call(call),
                secretId,
                recovery_window_in_days=recoveryWindowInDays,
                force_delete_without_recovery=forceDeleteWithoutRecovery,
            )
        )

    @router.post("/restore", response_model=schemas.Description)
    def restore_secret(body: schemas.SecretReference, call: Caller) -> schemas.Description:
        return schemas.Description.of(manager.restore_secret(_call(call), body.secretId))

    @router.post("/stage", response_model=schemas.Description)
    def update_secret_version_stage(body: schemas.StageMove, call: Caller) -> schemas.Description:
        return schemas.Description.of(
            manager.update_secret_version_stage(
                _call(call),
                body.secretId,
                body.versionStage,
                remove_from_version_id=body.removeFromVersionId,
                move_to_version_id=body.moveToVersionId,
            )
        )

    @router.get("/policy", response_model=schemas.PolicyAnswer)
    def get_resource_policy(call: Caller, secretId: SecretId) -> schemas.PolicyAnswer:
        arn, name, policy = manager.resource_policy_of(_call(call), secretId)
        return schemas.PolicyAnswer(arn=arn, name=name, resourcePolicy=policy)

    @router.put("/policy", response_model=schemas.Description)
    def put_resource_policy(body: schemas.ResourcePolicy, call: Caller) -> schemas.Description:
        return schemas.Description.of(
            manager.put_resource_policy(_call(call), body.secretId, body.resourcePolicy)
        )

    @router.delete("/policy", response_model=schemas.Description)
    def delete_resource_policy(call: Caller, secretId: SecretId) -> schemas.Description:
        return schemas.Description.of(manager.delete_resource_policy(_call(call), secretId))

    @router.post("/tags", response_model=schemas.Description)
    def tag_resource(body: schemas.Tags, call: Caller) -> schemas.Description:
        return schemas.Description.of(manager.tag_resource(_call(call), body.secretId, body.tags))

    @router.delete("/tags", response_model=schemas.Description)
    def untag_resource(
        call: Caller, secretId: SecretId, tagKeys: Annotated[list[str], Query()]
    ) -> schemas.Description:
        return schemas.Description.of(manager.untag_resource(_call(call), secretId, tagKeys))

    @router.post("/rotate", response_model=schemas.Version)
    def rotate_secret(body: schemas.Rotation, call: Caller) -> schemas.Version:
        return schemas.Version.of(
            manager.rotate_secret(
                _call(call),
                body.secretId,
                rotation_hook=body.rotationHook or body.rotationLambdaArn,
                automatically_after_days=body.automaticallyAfterDays,
                rotate_immediately=body.rotateImmediately,
                client_request_token=body.clientRequestToken,
            )
        )

    @router.post("/update", response_model=schemas.Version)
    def update_secret(body: schemas.SecretUpdate, call: Caller) -> schemas.Version:
        return schemas.Version.of(
            manager.update_secret(
                _call(call),
                body.secretId,
                description=body.description,
                kms_key_id=body.kmsKeyId,
                secret_string=schemas.plain(body.secretString),
                secret_binary=schemas.decode_binary(body.secretBinary),
                client_request_token=body.clientRequestToken,
            )
        )

    @router.get("/versions", response_model=schemas.VersionIds)
    def list_secret_version_ids(
        call: Caller, secretId: SecretId, includeDeprecated: bool = False
    ) -> schemas.VersionIds:
        arn, name, found = manager.version_ids_of(
            _call(call), secretId, include_deprecated=includeDeprecated
        )
        return schemas.VersionIds(
            arn=arn,
            name=name,
            versions=[
                {
                    "versionId": v.version_id,
                    "versionStages": list(v.version_stages),
                    "createdDate": v.created_date.isoformat(),
                    "lastAccessedDate": v.last_accessed_date.isoformat()
                    if v.last_accessed_date
                    else None,
                }
                for v in found
            ],
        )

    add_rotation_function_routes(router, platform)
    return router
