"""The management API under ``/api/v1``: organizations, tenants and their guardrails.

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
from lakevault.runtime import Platform


def _no_content() -> Response:
    return Response(status_code=204)


def tenants_router(platform: Platform) -> APIRouter:
    """Organizations and tenants (platform administration)."""
    router = APIRouter(prefix="/api/v1", tags=["tenants"])
    directory = platform.directory
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    # Organizations and tenants ------------------------------------------------------------

    @router.post("/organizations", status_code=201, response_model=schemas.Organization)
    def create_organization(body: schemas.NewOrganization, call: Caller) -> schemas.Organization:
        return schemas.Organization.of(directory.create_organization(call, name=body.name))

    @router.get("/organizations", response_model=list[schemas.Organization])
    def list_organizations(call: Caller) -> list[schemas.Organization]:
        return [schemas.Organization.of(o) for o in directory.list_organizations(call)]

    @router.post("/tenants", status_code=201, response_model=schemas.CreatedTenant)
    def create_tenant(body: schemas.NewTenant, call: Caller) -> schemas.CreatedTenant:
        created = directory.create_tenant(
            call,
            name=body.name,
            organization_id=body.organizationId,
            admin_user_name=body.adminUserName,
        )
        return schemas.CreatedTenant(
            tenant=schemas.Tenant.of(created.tenant),
            adminUserName=created.admin.name,
            adminPassword=created.admin_password,
        )

    @router.get("/tenants", response_model=list[schemas.Tenant])
    def list_tenants(call: Caller) -> list[schemas.Tenant]:
        return [schemas.Tenant.of(t) for t in directory.list_tenants(call)]

    @router.get("/tenants/{account_id}", response_model=schemas.Tenant)
    def describe_tenant(account_id: str, call: Caller) -> schemas.Tenant:
        return schemas.Tenant.of(directory.describe_tenant(call, account_id))

    @router.put("/organizations/{organization_id}/guardrails", status_code=204)
    def attach_organization_guardrail(
        organization_id: str, body: schemas.PolicyReference, call: Caller
    ) -> Response:
        directory.attach_guardrail(
            call, target_kind="organization", target_id=organization_id, policy_arn=body.policyArn
        )
        return _no_content()

    @router.put("/tenants/{account_id}/guardrails", status_code=204)
    def attach_tenant_guardrail(
        account_id: str, body: schemas.PolicyReference, call: Caller
    ) -> Response:
        directory.attach_guardrail(
            call, target_kind="tenant", target_id=account_id, policy_arn=body.policyArn
        )
        return _no_content()

    @router.delete("/organizations/{organization_id}/guardrails", status_code=204)
    def detach_organization_guardrail(
        organization_id: str, policyArn: str, call: Caller
    ) -> Response:
        directory.detach_guardrail(
            call, target_kind="organization", target_id=organization_id, policy_arn=policyArn
        )
        return _no_content()

    @router.delete("/tenants/{account_id}/guardrails", status_code=204)
    def detach_tenant_guardrail(account_id: str, policyArn: str, call: Caller) -> Response:
        directory.detach_guardrail(
            call, target_kind="tenant", target_id=account_id, policy_arn=policyArn
        )
        return _no_content()

    return router
