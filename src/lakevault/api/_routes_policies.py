"""The management API under ``/api/v1``: managed policies and their versions, attachments
and inline policies.

Routes translate HTTP to directory calls and nothing else; every decision and every change
happens in the directory, through the gate.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to each router factory, as an evaluated annotation.

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from lakevault.api import _schemas as schemas
from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.identity import EntityKind, entity_arn
from lakevault.runtime import Platform


def _no_content() -> Response:
    return Response(status_code=204)


class PrincipalKind(StrEnum):
    users = "users"
    groups = "groups"
    roles = "roles"


_KINDS = {
    PrincipalKind.users: EntityKind.USER,
    PrincipalKind.groups: EntityKind.GROUP,
    PrincipalKind.roles: EntityKind.ROLE,
}


def policies_router(platform: Platform) -> APIRouter:
    """Managed policies of a tenant and their versions."""
    router = APIRouter(prefix="/api/v1", tags=["policies"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    base = "/tenants/{account_id}"

    # Managed policies (named by tenant and policy name) --------------------------------------

    @router.post(base + "/policies", status_code=201, response_model=schemas.Policy)
    def create_policy(account_id: str, body: schemas.NewPolicy, call: Caller) -> schemas.Policy:
        policy = directory.create_policy(
            call,
            account_id,
            name=body.policyName,
            document=body.policyDocument,
            path=body.path,
            description=body.description,
        )
        return schemas.Policy.of(policy)

    @router.get(base + "/policies", response_model=list[schemas.Policy])
    def list_policies(account_id: str, call: Caller) -> list[schemas.Policy]:
        return [schemas.Policy.of(p) for p in directory.list_policies(call, account_id)]

    @router.get(base + "/policies/{name}", response_model=schemas.Policy)
    def get_policy(account_id: str, name: str, call: Caller) -> schemas.Policy:
        return schemas.Policy.of(
            directory.get_policy(call, entity_arn(account_id, EntityKind.POLICY, name))
        )

    @router.delete(base + "/policies/{name}", status_code=204)
    def delete_policy(account_id: str, name: str, call: Caller) -> Response:
        directory.delete_policy(call, entity_arn(account_id, EntityKind.POLICY, name))
        return _no_content()

    @router.post(
        base + "/policies/{name}/versions", status_code=201, response_model=schemas.PolicyVersion
    )
    def create_policy_version(
        account_id: str, name: str, body: schemas.NewPolicyVersion, call: Caller
    ) -> schemas.PolicyVersion:
        version = directory.create_policy_version(
            call,
            entity_arn(account_id, EntityKind.POLICY, name),
            body.policyDocument,
            set_as_default=body.setAsDefault,
        )
        return schemas.PolicyVersion.of(version)

    @router.get(base + "/policies/{name}/versions", response_model=list[schemas.PolicyVersion])
    def list_policy_versions(
        account_id: str, name: str, call: Caller
    ) -> list[schemas.PolicyVersion]:
        arn = entity_arn(account_id, EntityKind.POLICY, name)
        return [schemas.PolicyVersion.of(v) for v in directory.list_policy_versions(call, arn)]

    @router.get(
        base + "/policies/{name}/versions/{version_id}", response_model=schemas.PolicyVersion
    )
    def get_policy_version(
        account_id: str, name: str, version_id: str, call: Caller
    ) -> schemas.PolicyVersion:
        arn = entity_arn(account_id, EntityKind.POLICY, name)
        return schemas.PolicyVersion.of(directory.get_policy_version(call, arn, version_id))

    @router.put(base + "/policies/{name}/default-version", status_code=204)
    def set_default_version(
        account_id: str, name: str, body: schemas.DefaultVersion, call: Caller
    ) -> Response:
        arn = entity_arn(account_id, EntityKind.POLICY, name)
        directory.set_default_policy_version(call, arn, body.versionId)
        return _no_content()

    @router.delete(base + "/policies/{name}/versions/{version_id}", status_code=204)
    def delete_policy_version(
        account_id: str, name: str, version_id: str, call: Caller
    ) -> Response:
        arn = entity_arn(account_id, EntityKind.POLICY, name)
        directory.delete_policy_version(call, arn, version_id)
        return _no_content()

    return router


def attachments_router(platform: Platform) -> APIRouter:
    """Policies attached to, and embedded in, users, groups and roles."""
    router = APIRouter(prefix="/api/v1", tags=["attachments"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    base = "/tenants/{account_id}"

    # Attachments and inline policies of users, groups and roles -----------------------------

    @router.put(base + "/{kind}/{name}/attached-policies", status_code=204)
    def attach_policy(
        account_id: str, kind: PrincipalKind, name: str, body: schemas.PolicyReference, call: Caller
    ) -> Response:
        directory.attach_policy(call, _KINDS[kind], account_id, name, body.policyArn)
        return _no_content()

    @router.get(base + "/{kind}/{name}/attached-policies", response_model=list[schemas.Policy])
    def list_attached_policies(
        account_id: str, kind: PrincipalKind, name: str, call: Caller
    ) -> list[schemas.Policy]:
        found = directory.list_attached_policies(call, _KINDS[kind], account_id, name)
        return [schemas.Policy.of(p) for p in found]

    @router.delete(base + "/{kind}/{name}/attached-policies", status_code=204)
    def detach_policy(
        account_id: str, kind: PrincipalKind, name: str, policyArn: str, call: Caller
    ) -> Response:
        directory.detach_policy(call, _KINDS[kind], account_id, name, policyArn)
        return _no_content()

    @router.put(base + "/{kind}/{name}/policies/{policy_name}", status_code=204)
    def put_inline_policy(
        account_id: str,
        kind: PrincipalKind,
        name: str,
        policy_name: str,
        body: schemas.InlinePolicy,
        call: Caller,
    ) -> Response:
        directory.put_inline_policy(
            call,
            _KINDS[kind],
            account_id,
            name,
            policy_name=policy_name,
            document=body.policyDocument,
        )
        return _no_content()

    @router.get(base + "/{kind}/{name}/policies", response_model=list[str])
    def list_inline_policies(
        account_id: str, kind: PrincipalKind, name: str, call: Caller
    ) -> list[str]:
        return directory.list_inline_policies(call, _KINDS[kind], account_id, name)

    @router.get(
        base + "/{kind}/{name}/policies/{policy_name}",
        response_model=schemas.InlinePolicyDocument,
    )
    def get_inline_policy(
        account_id: str, kind: PrincipalKind, name: str, policy_name: str, call: Caller
    ) -> schemas.InlinePolicyDocument:
        document = directory.get_inline_policy(call, _KINDS[kind], account_id, name, policy_name)
        return schemas.InlinePolicyDocument(policyName=policy_name, policyDocument=document)

    @router.delete(base + "/{kind}/{name}/policies/{policy_name}", status_code=204)
    def delete_inline_policy(
        account_id: str, kind: PrincipalKind, name: str, policy_name: str, call: Caller
    ) -> Response:
        directory.delete_inline_policy(call, _KINDS[kind], account_id, name, policy_name)
        return _no_content()

    return router
