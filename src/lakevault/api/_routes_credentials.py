"""The management API under ``/api/v1``: access keys of users, and STS.

Routes translate HTTP to directory calls and nothing else; every decision and every change
happens in the directory, through the gate.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to each router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from lakevault import identity
from lakevault.api import _schemas as schemas
from lakevault.api._auth import caller_dependency
from lakevault.core.errors import AccessDenied
from lakevault.directory import CallContext
from lakevault.runtime import Platform


def credentials_router(platform: Platform) -> APIRouter:
    """Access keys (``iam:*AccessKey*``), API keys, and STS (``AssumeRole``,
    ``GetSessionToken``, ``GetCallerIdentity``)."""
    router = APIRouter(prefix="/api/v1", tags=["credentials"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    keys = "/tenants/{account_id}/users/{name}/access-keys"

    @router.post(keys, status_code=201, response_model=schemas.CreatedAccessKey)
    def create_access_key(account_id: str, name: str, call: Caller) -> schemas.CreatedAccessKey:
        created = directory.create_access_key(call, account_id, name)
        listed = schemas.AccessKey.of(created.key)
        return schemas.CreatedAccessKey(
            **listed.model_dump(), secretAccessKey=created.secret_access_key
        )

    @router.get(keys, response_model=list[schemas.AccessKey])
    def list_access_keys(account_id: str, name: str, call: Caller) -> list[schemas.AccessKey]:
        return [schemas.AccessKey.of(k) for k in directory.list_access_keys(call, account_id, name)]

    @router.put(keys + "/{key_id}", status_code=204)
    def update_access_key(
        account_id: str, name: str, key_id: str, body: schemas.AccessKeyStatusUpdate, call: Caller
    ) -> Response:
        directory.update_access_key(call, account_id, name, key_id, body.status)
        return Response(status_code=204)

    @router.delete(keys + "/{key_id}", status_code=204)
    def delete_access_key(account_id: str, name: str, key_id: str, call: Caller) -> Response:
        directory.delete_access_key(call, account_id, name, key_id)
        return Response(status_code=204)

    @router.post("/tenants/{account_id}/roles/{name}/revoke-sessions", status_code=204)
    def revoke_sessions(account_id: str, name: str, call: Caller) -> Response:
        directory.revoke_role_sessions(call, account_id, name)
        return Response(status_code=204)

    api_keys = "/tenants/{account_id}/api-keys"

    def _created(new: identity.NewApiKey) -> schemas.CreatedApiKey:
        return schemas.CreatedApiKey(**schemas.ApiKey.of(new.info).model_dump(), apiKey=new.key)

    @router.post(api_keys, status_code=201, response_model=schemas.CreatedApiKey)
    def create_api_key(
        account_id: str, body: schemas.NewApiKey, call: Caller
    ) -> schemas.CreatedApiKey:
        created = directory.create_api_key(
            call,
            account_id,
            name=body.name,
            actions=body.actions,
            resources=body.resources,
            source_cidrs=body.sourceCidrs,
            allowed_origins=body.allowedOrigins,
            ttl_days=body.ttlDays,
        )
        return _created(created)

    @router.get(api_keys, response_model=list[schemas.ApiKey])
    def list_api_keys(account_id: str, call: Caller) -> list[schemas.ApiKey]:
        return [schemas.ApiKey.of(k) for k in directory.list_api_keys(call, account_id)]

    @router.delete(api_keys + "/{name}", status_code=204)
    def delete_api_key(account_id: str, name: str, call: Caller) -> Response:
        directory.delete_api_key(call, account_id, name)
        return Response(status_code=204)

    @router.post(api_keys + "/{name}/rotate", status_code=201, response_model=schemas.CreatedApiKey)
    def rotate_api_key(
        account_id: str, name: str, body: schemas.RotateApiKey, call: Caller
    ) -> schemas.CreatedApiKey:
        rotated = directory.rotate_api_key(
            call, account_id, name, new_name=body.newName, grace_seconds=body.graceSeconds
        )
        return _created(rotated)

    @router.post("/sts/assume-role", response_model=schemas.Credentials)
    def assume_role(body: schemas.AssumeRole, call: Caller) -> schemas.Credentials:
        issued = directory.assume_role(
            call,
            role_arn=body.roleArn,
            session_name=body.roleSessionName,
            duration_seconds=body.durationSeconds,
            external_id=body.externalId,
            policy=body.policy,
            tags=body.tags,
            transitive_tag_keys=body.transitiveTagKeys,
        )
        return schemas.Credentials(
            accessKeyId=issued.access_key_id,
            secretAccessKey=issued.secret_access_key,
            sessionToken=issued.session_token,
            expiration=issued.expiration,
            assumedRoleArn=issued.assumed_role_arn,
            assumedRoleId=issued.assumed_role_id,
        )

    @router.post("/sts/session-token", response_model=schemas.SessionCredentials)
    def get_session_token(
        body: schemas.GetSessionToken, call: Caller
    ) -> schemas.SessionCredentials:
        """Temporary credentials of the calling IAM user, MFA-authenticated with a code."""
        issued = directory.get_session_token(
            call,
            duration_seconds=body.durationSeconds,
            serial_number=body.serialNumber,
            token_code=body.tokenCode.get_secret_value() if body.tokenCode else None,
        )
        return schemas.SessionCredentials(
            accessKeyId=issued.access_key_id,
            secretAccessKey=issued.secret_access_key,
            sessionToken=issued.session_token,
            expiration=issued.expiration,
        )

    @router.get("/sts/caller-identity", response_model=schemas.CallerIdentity)
    def caller_identity(call: Caller) -> schemas.CallerIdentity:
        """Who the credentials belong to; like AWS, every authenticated caller may ask."""
        principal = call.principal
        if principal.is_anonymous:
            raise AccessDenied(
                "GetCallerIdentity needs credentials", code="MissingAuthenticationToken"
            )
        return schemas.CallerIdentity(
            account=principal.account_id, arn=principal.arn, userId=principal.principal_id
        )

    return router
