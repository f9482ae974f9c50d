"""Block-public-access of a bucket, and the organization allowance that permits turning it off.

* ``GET|PUT /api/v1/buckets/{bucket}/public-access-block`` — ``s3:GetBucketPublicAccessBlock``,
  ``s3:PutBucketPublicAccessBlock`` (``{"blockPublicAccess": false}`` needs the allowance);
* ``GET|PUT /api/v1/organizations/{organization_id}/public-buckets`` — the platform
  administrator's ``lakevault:GetOrganizationPublicBuckets`` /
  ``lakevault:PutOrganizationPublicBuckets`` (``{"allowed": true}``).

docs/storage.md, "Public buckets".
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lakevault import storage
from lakevault.api._auth import caller_dependency
from lakevault.api._routes_storage import _caller
from lakevault.api._streaming import read_model
from lakevault.directory import CallContext
from lakevault.runtime import Platform


class PublicAccessBlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    block_public_access: bool = Field(alias="blockPublicAccess")


class AllowanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed: bool


def _block_json(block: storage.PublicAccessBlock) -> dict[str, Any]:
    return {
        "bucket": block.bucket,
        "blockPublicAccess": block.block_public_access,
        "organizationAllowsPublicBuckets": block.organization_allows_public,
    }


def public_access_router(platform: Platform) -> APIRouter:
    """Block-public-access per bucket; the organization allowance."""
    router = APIRouter(tags=["storage"])
    public = platform.storage.public_access
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.get("/api/v1/buckets/{bucket}/public-access-block")
    async def get_block(bucket: str, call: Caller) -> JSONResponse:
        block = await run_in_threadpool(public.get_public_access_block, _caller(call), bucket)
        return JSONResponse(_block_json(block))

    @router.put("/api/v1/buckets/{bucket}/public-access-block")
    async def put_block(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, PublicAccessBlockBody)
        block = await run_in_threadpool(
            lambda: public.put_public_access_block(
                _caller(call), bucket, block_public_access=body.block_public_access
            )
        )
        return JSONResponse(_block_json(block))

    @router.get("/api/v1/organizations/{organization_id}/public-buckets")
    async def get_allowance(organization_id: str, call: Caller) -> JSONResponse:
        allowed = await run_in_threadpool(
            public.get_organization_allowance, _caller(call), organization_id
        )
        return JSONResponse({"organizationId": organization_id, "allowed": allowed})

    @router.put("/api/v1/organizations/{organization_id}/public-buckets")
    async def put_allowance(organization_id: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, AllowanceBody)
        allowed = await run_in_threadpool(
            lambda: public.put_organization_allowance(
                _caller(call), organization_id, allowed=body.allowed
            )
        )
        return JSONResponse({"organizationId": organization_id, "allowed": allowed})

    return router
