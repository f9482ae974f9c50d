"""The KMS API under ``/api/v1/kms``: one route per AWS KMS action, JSON bodies.

Keys are named in the body (``keyId``: an id, ARN, ``alias/NAME`` or alias ARN), as in AWS
KMS's JSON API, since ARNs and aliases contain slashes. Routes translate HTTP to key-service
calls and nothing else; every decision happens in the key service, through the gate.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from lakevault import kms
from lakevault.api import _schemas_kms as schemas
from lakevault.api._auth import caller_dependency
from lakevault.api._routes_key_agent import add_key_agent_routes
from lakevault.directory import CallContext
from lakevault.keys import KeyCall, KeyMetadata, grant_token
from lakevault.runtime import Platform


def _key_call(call: CallContext) -> KeyCall:
    return KeyCall(
        principal=call.principal,
        request_id=call.request_id,
        source_ip=call.source_ip,
        user_agent=call.user_agent,
        secure_transport=call.secure_transport,
    )


def _context(pairs: dict[str, str]) -> kms.EncryptionContext:
    return kms.EncryptionContext.from_mapping(pairs)


def kms_router(platform: Platform) -> APIRouter:
    """Every KMS action of the tenant KMS (docs/keys.md, docs/api.md)."""
    router = APIRouter(prefix="/api/v1/kms", tags=["kms"])
    service = platform.keys
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    def meta(value: KeyMetadata) -> schemas.KeyMetadataResponse:
        return schemas.KeyMetadataResponse(keyMetadata=schemas.KeyMetadata.of(value))

    # Keys ------------------------------------------------------------------------------------

    @router.post("/keys", status_code=201, response_model=schemas.KeyMetadataResponse)
    def create_key(body: schemas.NewKey, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(
            service.create_key(
                _key_call(call),
                description=body.description,
                policy=body.policy,
                tags=body.tags,
                bypass_policy_lockout_safety_check=body.bypassPolicyLockoutSafetyCheck,
            )
        )

    @router.get("/keys", response_model=list[schemas.KeyMetadata])
    def list_keys(call: Caller) -> list[schemas.KeyMetadata]:
        return [schemas.KeyMetadata.of(k) for k in service.list_keys(_key_call(call))]

    @router.post("/describe-key", response_model=schemas.KeyMetadataResponse)
    def describe_key(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.describe_key(_key_call(call), body.keyId))

    @router.post("/enable-key", response_model=schemas.KeyMetadataResponse)
    def enable_key(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.enable_key(_key_call(call), body.keyId))

    @router.post("/disable-key", response_model=schemas.KeyMetadataResponse)
    def disable_key(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.disable_key(_key_call(call), body.keyId))

    @router.post("/schedule-key-deletion", response_model=schemas.KeyMetadataResponse)
    def schedule_key_deletion(
        body: schemas.ScheduleDeletion, call: Caller
    ) -> schemas.KeyMetadataResponse:
        return meta(
            service.schedule_key_deletion(
                _key_call(call), body.keyId, days=body.pendingWindowInDays
            )
        )

    @router.post("/cancel-key-deletion", response_model=schemas.KeyMetadataResponse)
    def cancel_key_deletion(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.cancel_key_deletion(_key_call(call), body.keyId))

    # Rotation --------------------------------------------------------------------------------

    @router.post("/enable-key-rotation", response_model=schemas.KeyMetadataResponse)
    def enable_key_rotation(
        body: schemas.EnableRotation, call: Caller
    ) -> schemas.KeyMetadataResponse:
        return meta(
            service.enable_key_rotation(
                _key_call(call), body.keyId, period_days=body.rotationPeriodInDays
            )
        )

    @router.post("/disable-key-rotation", response_model=schemas.KeyMetadataResponse)
    def disable_key_rotation(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.disable_key_rotation(_key_call(call), body.keyId))

    @router.post("/get-key-rotation-status", response_model=schemas.KeyMetadataResponse)
    def get_key_rotation_status(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.get_key_rotation_status(_key_call(call), body.keyId))

    @router.post("/list-key-rotations", response_model=list[schemas.KeyVersion])
    def list_key_rotations(body: schemas.KeyRef, call: Caller) -> list[schemas.KeyVersion]:
        return [
            schemas.KeyVersion.of(version)
            for version in service.list_key_rotations(_key_call(call), body.keyId)
        ]

    @router.post("/rotate-key-on-demand", response_model=schemas.KeyMetadataResponse)
    def rotate_key_on_demand(body: schemas.KeyRef, call: Caller) -> schemas.KeyMetadataResponse:
        return meta(service.rotate_key_on_demand(_key_call(call), body.keyId))

    @router.post("/rewrap", response_model=list[schemas.RewrapProgress])
    def rewrap(body: schemas.RewrapRequest, call: Caller) -> list[schemas.RewrapProgress]:
        return [
            schemas.RewrapProgress.of(progress)
            for progress in service.rewrap_all(
                _key_call(call),
                body.keyId,
                batch_size=body.batchSize,
                max_batches=body.maxBatches,
            )
        ]

    # Cryptographic operations ----------------------------------------------------------------

    @router.post("/encrypt", response_model=schemas.CiphertextResponse)
    def encrypt(body: schemas.EncryptRequest, call: Caller) -> schemas.CiphertextResponse:
        result = service.encrypt(
            _key_call(call),
            body.keyId,
            schemas.decode_base64(body.plaintext, field="plaintext"),
            context=_context(body.encryptionContext),
            grant_tokens=body.grantTokens,
        )
        return schemas.CiphertextResponse(
            ciphertextBlob=schemas.encode_base64(result.blob),
            keyId=result.key_arn,
            keyVersion=result.key_version,
        )

    @router.post("/decrypt", response_model=schemas.DecryptResponse)
    def decrypt(body: schemas.DecryptRequest, call: Caller) -> schemas.DecryptResponse:
        plaintext, record, version = service.decrypt(
            _key_call(call),
            schemas.decode_base64(body.ciphertextBlob, field="ciphertextBlob"),
            context=_context(body.encryptionContext),
            key=body.keyId,
            grant_tokens=body.grantTokens,
        )
        return schemas.DecryptResponse(
            plaintext=schemas.encode_base64(plaintext), keyId=record.arn, keyVersion=version
        )

    @router.post("/re-encrypt", response_model=schemas.CiphertextResponse)
    def re_encrypt(body: schemas.ReEncryptRequest, call: Caller) -> schemas.CiphertextResponse:
        result = service.re_encrypt(
            _key_call(call),
            schemas.decode_base64(body.ciphertextBlob, field="ciphertextBlob"),
            source_context=_context(body.sourceEncryptionContext),
            destination_key=body.destinationKeyId,
            destination_context=_context(body.destinationEncryptionContext),
            grant_tokens=body.grantTokens,
        )
        return schemas.CiphertextResponse(
            ciphertextBlob=schemas.encode_base64(result.blob),
            keyId=result.key_arn,
            keyVersion=result.key_version,
        )

    def _generate(
        body: schemas.GenerateDataKeyRequest, call: CallContext, *, with_plaintext: bool
    ) -> schemas.GenerateDataKeyResponse:
        plaintext, result = service.generate_data_key_for(
            _key_call(call),
            body.keyId,
            context=_context(body.encryptionContext),
            number_of_bytes=body.numberOfBytes,
            with_plaintext=with_plaintext,
            grant_tokens=body.grantTokens,
        )
        return schemas.GenerateDataKeyResponse(
            ciphertextBlob=schemas.encode_base64(result.blob),
            plaintext=schemas.encode_base64(plaintext) if plaintext is not None else None,
            keyId=result.key_arn,
            keyVersion=result.key_version,
        )

    @router.post("/generate-data-key", response_model=schemas.GenerateDataKeyResponse)
    def generate_data_key(
        body: schemas.GenerateDataKeyRequest, call: Caller
    ) -> schemas.GenerateDataKeyResponse:
        return _generate(body, call, with_plaintext=True)

    @router.post(
        "/generate-data-key-without-plaintext",
        response_model=schemas.GenerateDataKeyResponse,
        response_model_exclude_none=True,
    )
    def generate_data_key_without_plaintext(
        body: schemas.GenerateDataKeyRequest, call: Caller
    ) -> schemas.GenerateDataKeyResponse:
        return _generate(body, call, with_plaintext=False)

    # Policies, aliases, tags, grants -----------------------------------------------------------

    @router.post("/get-key-policy", response_model=schemas.KeyPolicyResponse)
    def get_key_policy(body: schemas.KeyRef, call: Caller) -> schemas.KeyPolicyResponse:
        return schemas.KeyPolicyResponse(policy=service.get_key_policy(_key_call(call), body.keyId))

    @router.post("/put-key-policy", status_code=204)
    def put_key_policy(body: schemas.KeyPolicy, call: Caller) -> Response:
        service.put_key_policy(
            _key_call(call),
            body.keyId,
            body.policy,
            bypass_policy_lockout_safety_check=body.bypassPolicyLockoutSafetyCheck,
        )
        return Response(status_code=204)

    @router.post("/create-alias", status_code=201, response_model=schemas.Alias)
    def create_alias(body: schemas.NewAlias, call: Caller) -> schemas.Alias:
        return schemas.Alias.of(
            service.create_alias(_key_call(call), body.aliasName, body.targetKeyId)
        )

    @router.post("/update-alias", response_model=schemas.Alias)
    def update_alias(body: schemas.NewAlias, call: Caller) -> schemas.Alias:
        return schemas.Alias.of(
            service.update_alias(_key_call(call), body.aliasName, body.targetKeyId)
        )

    @router.post("/delete-alias", status_code=204)
    def delete_alias(body: schemas.AliasRef, call: Caller) -> Response:
        service.delete_alias(_key_call(call), body.aliasName)
        return Response(status_code=204)

    @router.get("/aliases", response_model=list[schemas.Alias])
    def list_aliases(call: Caller) -> list[schemas.Alias]:
        return [schemas.Alias.of(a) for a in service.list_aliases(_key_call(call))]

    @router.post("/tag-resource", status_code=204)
    def tag_resource(body: schemas.TagRequest, call: Caller) -> Response:
        service.tag_resource(_key_call(call), body.keyId, body.tags)
        return Response(status_code=204)

    @router.post("/untag-resource", status_code=204)
    def untag_resource(body: schemas.UntagRequest, call: Caller) -> Response:
        service.untag_resource(_key_call(call), body.keyId, body.tagKeys)
        return Response(status_code=204)

    @router.post("/list-resource-tags", response_model=schemas.TagsResponse)
    def list_resource_tags(body: schemas.KeyRef, call: Caller) -> schemas.TagsResponse:
        return schemas.TagsResponse(tags=service.list_resource_tags(_key_call(call), body.keyId))

    @router.post("/create-grant", status_code=201, response_model=schemas.Grant)
    def create_grant(body: schemas.NewGrant, call: Caller) -> schemas.Grant:
        constraints = body.constraints or schemas.GrantConstraints()
        created = schemas.Grant.of(
            service.create_grant(
                _key_call(call),
                body.keyId,
                grantee_principal=body.granteePrincipal,
                operations=body.operations,
                encryption_context_equals=constraints.encryptionContextEquals,
                encryption_context_subset=constraints.encryptionContextSubset,
                retiring_principal=body.retiringPrincipal,
                name=body.name,
            )
        )
        return created.model_copy(
            update={"grantToken": grant_token(created.keyId, created.grantId)}
        )

    @router.post("/list-grants", response_model=list[schemas.Grant])
    def list_grants(body: schemas.KeyRef, call: Caller) -> list[schemas.Grant]:
        return [schemas.Grant.of(g) for g in service.list_grants(_key_call(call), body.keyId)]

    @router.post("/retire-grant", status_code=204)
    def retire_grant(body: schemas.RevokeGrant, call: Caller) -> Response:
        service.retire_grant(_key_call(call), body.keyId, body.grantId)
        return Response(status_code=204)

    @router.post("/revoke-grant", status_code=204)
    def revoke_grant(body: schemas.RevokeGrant, call: Caller) -> Response:
        service.revoke_grant(_key_call(call), body.keyId, body.grantId)
        return Response(status_code=204)

    add_key_agent_routes(router, platform)
    return router
