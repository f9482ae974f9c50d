"""The management API under ``/api/v1``: users, groups and roles of a tenant.

Routes translate HTTP to directory calls and nothing else; every decision and every change
happens in the directory, through the gate.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to each router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from lakevault.api import _schemas as schemas
from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.identity import EntityKind
from lakevault.runtime import Platform


def _no_content() -> Response:
    return Response(status_code=204)


def principals_router(platform: Platform) -> APIRouter:
    """Users and groups (teams) of a tenant."""
    router = APIRouter(prefix="/api/v1", tags=["users and groups"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    base = "/tenants/{account_id}"

    # Users --------------------------------------------------------------------------------

    @router.post(base + "/users", status_code=201, response_model=schemas.User)
    def create_user(account_id: str, body: schemas.NewUser, call: Caller) -> schemas.User:
        user = directory.create_user(
            call, account_id, name=body.userName, path=body.path, tags=body.tags
        )
        return schemas.User.of(user)

    @router.get(base + "/users", response_model=list[schemas.User])
    def list_users(account_id: str, call: Caller) -> list[schemas.User]:
        return [schemas.User.of(u) for u in directory.list_users(call, account_id)]

    @router.get(base + "/users/{name}", response_model=schemas.User)
    def get_user(account_id: str, name: str, call: Caller) -> schemas.User:
        return schemas.User.of(directory.get_user(call, account_id, name))

    @router.delete(base + "/users/{name}", status_code=204)
    def delete_user(account_id: str, name: str, call: Caller) -> Response:
        directory.delete_user(call, account_id, name)
        return _no_content()

    @router.put(base + "/users/{name}/password", status_code=204)
    def set_password(
        account_id: str, name: str, body: schemas.NewPassword, call: Caller
    ) -> Response:
        directory.set_login_password(call, account_id, name, body.password.get_secret_value())
        return _no_content()

    @router.put(base + "/users/{name}/permissions-boundary", status_code=204)
    def put_user_boundary(
        account_id: str, name: str, body: schemas.PolicyReference, call: Caller
    ) -> Response:
        directory.set_permissions_boundary(call, EntityKind.USER, account_id, name, body.policyArn)
        return _no_content()

    @router.delete(base + "/users/{name}/permissions-boundary", status_code=204)
    def delete_user_boundary(account_id: str, name: str, call: Caller) -> Response:
        directory.set_permissions_boundary(call, EntityKind.USER, account_id, name, None)
        return _no_content()

    # Groups -------------------------------------------------------------------------------

    @router.post(base + "/groups", status_code=201, response_model=schemas.Group)
    def create_group(account_id: str, body: schemas.NewGroup, call: Caller) -> schemas.Group:
        group = directory.create_group(call, account_id, name=body.groupName, path=body.path)
        return schemas.Group.of(group)

    @router.get(base + "/groups", response_model=list[schemas.Group])
    def list_groups(account_id: str, call: Caller) -> list[schemas.Group]:
        return [schemas.Group.of(g) for g in directory.list_groups(call, account_id)]

    @router.get(base + "/groups/{name}", response_model=schemas.GroupWithMembers)
    def get_group(account_id: str, name: str, call: Caller) -> schemas.GroupWithMembers:
        group, members = directory.get_group(call, account_id, name)
        return schemas.GroupWithMembers(
            group=schemas.Group.of(group), users=[schemas.User.of(m) for m in members]
        )

    @router.delete(base + "/groups/{name}", status_code=204)
    def delete_group(account_id: str, name: str, call: Caller) -> Response:
        directory.delete_group(call, account_id, name)
        return _no_content()

    @router.put(base + "/groups/{name}/members/{user_name}", status_code=204)
    def add_member(account_id: str, name: str, user_name: str, call: Caller) -> Response:
        directory.add_user_to_group(call, account_id, group_name=name, user_name=user_name)
        return _no_content()

    @router.delete(base + "/groups/{name}/members/{user_name}", status_code=204)
    def remove_member(account_id: str, name: str, user_name: str, call: Caller) -> Response:
        directory.remove_user_from_group(call, account_id, group_name=name, user_name=user_name)
        return _no_content()

    return router


def roles_router(platform: Platform) -> APIRouter:
    """Roles of a tenant and their trust policies."""
    router = APIRouter(prefix="/api/v1", tags=["roles"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    base = "/tenants/{account_id}"

    # Roles --------------------------------------------------------------------------------

    @router.post(base + "/roles", status_code=201, response_model=schemas.Role)
    def create_role(account_id: str, body: schemas.NewRole, call: Caller) -> schemas.Role:
        role = directory.create_role(
            call,
            account_id,
            name=body.roleName,
            trust_policy=body.assumeRolePolicyDocument,
            path=body.path,
            description=body.description,
            max_session_duration_seconds=body.maxSessionDuration,
        )
        return schemas.Role.of(role)

    @router.get(base + "/roles", response_model=list[schemas.Role])
    def list_roles(account_id: str, call: Caller) -> list[schemas.Role]:
        return [schemas.Role.of(r) for r in directory.list_roles(call, account_id)]

    @router.get(base + "/roles/{name}", response_model=schemas.Role)
    def get_role(account_id: str, name: str, call: Caller) -> schemas.Role:
        return schemas.Role.of(directory.get_role(call, account_id, name))

    @router.put(base + "/roles/{name}/trust-policy", response_model=schemas.Role)
    def update_trust_policy(
        account_id: str, name: str, body: schemas.TrustPolicy, call: Caller
    ) -> schemas.Role:
        role = directory.update_trust_policy(call, account_id, name, body.policyDocument)
        return schemas.Role.of(role)

    @router.delete(base + "/roles/{name}", status_code=204)
    def delete_role(account_id: str, name: str, call: Caller) -> Response:
        directory.delete_role(call, account_id, name)
        return _no_content()

    return router
